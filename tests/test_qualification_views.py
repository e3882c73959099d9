import os

import pytest
from django.urls import reverse

from smsconsole.models import AuditLog
from templates_app.models import Qualification
from tests.factories import png
from tests.qualification_helpers import PDF, pdf, qualification_post

PENDING = Qualification.Status.PENDING_REVIEW
APPROVED = Qualification.Status.APPROVED
REJECTED = Qualification.Status.REJECTED


def url(name, *args):
    return reverse(f"templates_app:{name}", args=args)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def rejected(factories, acme, rita):
    qualification = factories.create_qualification(acme, name="Rejected one", status=PENDING)
    qualification.reject(rita, "qual_document_unreadable", "The licence photo is blurred.")
    return qualification


# --- List --------------------------------------------------------------------------------------------


def test_the_list_shows_the_accounts_qualifications_with_the_rejection_reason(
    alice_client, factories, acme, other_co, rejected
):
    factories.create_qualification(acme, name="Approved one", company_name="Acme Trading")
    factories.create_qualification(other_co, name="Not ours")
    response = alice_client.get(url("qualification_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved one" in html and "Acme Trading" in html
    assert "Rejected one" in html and "unreadable" in html and "blurred" in html
    assert "Not ours" not in html


def test_the_list_runs_a_fixed_number_of_queries(alice_client, factories, acme, django_assert_max_num_queries):
    for number in range(30):
        factories.create_qualification(acme, name=f"q{number}")
    with django_assert_max_num_queries(8):
        response = alice_client.get(url("qualification_list"))
    assert response.content.decode().count('name="ids"') == 30


def test_a_read_only_member_sees_the_list_without_change_controls(client, bob, factories, acme):
    factories.create_qualification(acme, name="Visible")
    client.force_login(bob)
    html = client.get(url("qualification_list")).content.decode()
    assert "Visible" in html
    assert url("qualification_create") not in html
    assert 'name="ids"' not in html


def test_the_list_needs_a_login(client):
    response = client.get(url("qualification_list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- Create ------------------------------------------------------------------------------------------


def test_creating_a_qualification_submits_it_for_review_and_audits(alice_client, alice, acme):
    response = alice_client.post(url("qualification_create"), qualification_post())
    qualification = Qualification.objects.get(account=acme, name="Acme filing")
    assert response.status_code == 302
    assert response["Location"] == url("qualification_detail", qualification.pk)
    assert qualification.status == PENDING
    assert qualification.submitted_at is not None
    assert os.path.basename(qualification.business_licence.name) == "licence.png"
    assert f"qualifications/{acme.pk}/" in qualification.business_licence.name
    entry = AuditLog.objects.get(action="create", object_type="qualification")
    assert entry.actor == alice and entry.account == acme and entry.object_id == str(qualification.pk)


def test_the_create_form_renders(alice_client):
    response = alice_client.get(url("qualification_create"))
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_a_duplicate_name_is_an_error_on_the_name_field(alice_client, factories, acme, other_co):
    factories.create_qualification(other_co, name="Acme filing")
    assert alice_client.post(url("qualification_create"), qualification_post()).status_code == 302
    response = alice_client.post(url("qualification_create"), qualification_post())
    assert response.status_code == 200
    assert "already have a qualification" in str(response.context["form"].errors["name"])
    assert Qualification.objects.filter(account=acme).count() == 1


def test_third_party_use_needs_the_letter_next_to_its_field(alice_client, acme):
    response = alice_client.post(url("qualification_create"), qualification_post(purpose="third_party"))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["authorisation_letter"]
    assert 'class="field has-error"' in response.content.decode()
    assert not Qualification.objects.filter(account=acme).exists()


def test_third_party_use_with_the_letter_is_accepted(alice_client, acme):
    data = qualification_post(purpose="third_party", authorisation_letter=pdf("authorisation.pdf"))
    assert alice_client.post(url("qualification_create"), data).status_code == 302
    assert Qualification.objects.get(account=acme).authorisation_letter


def test_a_bad_document_is_an_error_on_its_field(alice_client, acme):
    data = qualification_post(legal_person_id=png("legal person.png"))
    response = alice_client.post(url("qualification_create"), data)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["legal_person_id"]
    assert not Qualification.objects.exists()


def test_renamed_content_is_refused(alice_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = qualification_post(business_licence=SimpleUploadedFile("licence.png", PDF))
    response = alice_client.post(url("qualification_create"), data)
    assert "business_licence" in response.context["form"].errors


def test_every_required_document_must_be_uploaded(alice_client):
    response = alice_client.post(url("qualification_create"), qualification_post(handler_id_back=None))
    assert list(response.context["form"].errors) == ["handler_id_back"]


# --- Detail and documents ------------------------------------------------------------------------------


def test_the_detail_links_documents_through_the_documents_view(alice_client, rejected):
    response = alice_client.get(url("qualification_detail", rejected.pk))
    html = response.content.decode()
    assert url("qualification_document", rejected.pk, "business_licence") in html
    assert "/media/" not in html
    assert "unreadable" in html and "The licence photo is blurred." in html
    assert url("qualification_edit", rejected.pk) in html


def test_an_image_document_is_streamed_inline_to_a_member(client, bob, factories, acme):
    qualification = factories.create_qualification(acme)
    client.force_login(bob)
    response = client.get(url("qualification_document", qualification.pk, "business_licence"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == qualification.business_licence.open("rb").read()


def test_a_pdf_document_is_downloaded_as_an_attachment(alice_client, factories, acme):
    qualification = factories.create_qualification(acme, purpose="third_party", authorisation_letter=pdf("letter.pdf"))
    response = alice_client.get(url("qualification_document", qualification.pk, "authorisation_letter"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="letter.pdf"' in response["Content-Disposition"]


def test_a_reviewer_can_read_any_accounts_documents(client, rita, factories, other_co):
    qualification = factories.create_qualification(other_co)
    client.force_login(rita)
    assert client.get(url("qualification_document", qualification.pk, "handler_id_front")).status_code == 200


def test_staff_without_the_view_permission_cannot_read_documents(client, factories, acme):
    qualification = factories.create_qualification(acme)
    client.force_login(factories.create_user("sam", staff=True))
    assert client.get(url("qualification_document", qualification.pk, "business_licence")).status_code == 403


@pytest.mark.parametrize("field", ["authorisation_letter", "name", "company_name", "status", "__class__"])
def test_empty_or_unknown_document_fields_are_404(alice_client, factories, acme, field):
    qualification = factories.create_qualification(acme)
    assert alice_client.get(url("qualification_document", qualification.pk, field)).status_code == 404


def test_documents_are_not_served_under_the_media_url(alice_client, factories, acme):
    qualification = factories.create_qualification(acme)
    assert alice_client.get("/media/" + qualification.business_licence.name).status_code == 404


def test_anonymous_visitors_are_sent_to_login_for_documents(client, factories, acme):
    qualification = factories.create_qualification(acme)
    response = client.get(url("qualification_document", qualification.pk, "business_licence"))
    assert response.status_code == 302


# --- Edit and resubmit -------------------------------------------------------------------------------


def test_a_rejected_qualification_can_be_corrected_and_resubmitted(alice_client, alice, rejected):
    old_licence = rejected.business_licence.name
    data = qualification_post(
        name="Rejected one",
        company_name="Acme Holdings",
        business_licence=png("licence-sharp.png"),
        legal_person_id=None,
        handler_id_front=None,
        handler_id_back=None,
    )
    response = alice_client.post(url("qualification_edit", rejected.pk), data)
    assert response.status_code == 302
    rejected.refresh_from_db()
    assert rejected.status == PENDING
    assert rejected.company_name == "Acme Holdings"
    assert rejected.business_licence.name != old_licence
    assert rejected.business_licence.name.endswith("licence-sharp.png")
    entry = AuditLog.objects.get(action="resubmit", object_id=str(rejected.pk))
    assert entry.before["status"] == REJECTED and entry.after["status"] == PENDING


def test_the_edit_form_links_current_files_through_the_documents_view(alice_client, rejected):
    html = alice_client.get(url("qualification_edit", rejected.pk)).content.decode()
    assert url("qualification_document", rejected.pk, "business_licence") in html
    assert "/media/" not in html


def test_renaming_onto_another_qualification_is_a_field_error(alice_client, factories, acme, rejected):
    factories.create_qualification(acme, name="Taken")
    data = qualification_post(
        name="Taken", business_licence=None, legal_person_id=None, handler_id_front=None, handler_id_back=None
    )
    response = alice_client.post(url("qualification_edit", rejected.pk), data)
    assert "name" in response.context["form"].errors
    rejected.refresh_from_db()
    assert rejected.status == REJECTED


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_only_rejected_qualifications_can_be_edited(alice_client, factories, acme, status):
    qualification = factories.create_qualification(acme, status=status)
    response = alice_client.post(url("qualification_edit", qualification.pk), qualification_post())
    assert response.status_code == 302
    qualification.refresh_from_db()
    assert qualification.status == status
    assert qualification.name == "Acme licence"


# --- Delete ------------------------------------------------------------------------------------------


def test_deleting_a_rejected_qualification_removes_it_and_its_files(
    alice_client, rejected, django_capture_on_commit_callbacks
):
    storage, name = rejected.business_licence.storage, rejected.business_licence.name
    assert alice_client.get(url("qualification_delete", rejected.pk)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url("qualification_delete", rejected.pk))
    assert response.status_code == 302
    assert not Qualification.objects.filter(pk=rejected.pk).exists()
    assert not storage.exists(name)
    assert AuditLog.objects.filter(action="delete", object_type="qualification", object_id=str(rejected.pk)).exists()


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_approved_or_pending_qualifications_cannot_be_deleted(alice_client, factories, acme, status):
    qualification = factories.create_qualification(acme, status=status)
    response = alice_client.post(url("qualification_delete", qualification.pk), follow=True)
    assert Qualification.objects.filter(pk=qualification.pk).exists()
    assert any("cannot be deleted" in m for m in messages_of(response))


def test_a_qualification_used_by_a_signature_is_kept_with_a_message(alice_client, factories, shop, rejected):
    factories.create_signature(shop, status="rejected", qualification=rejected)
    response = alice_client.post(url("qualification_delete", rejected.pk), follow=True)
    assert Qualification.objects.filter(pk=rejected.pk).exists()
    assert any("Signatures use this qualification" in m for m in messages_of(response))
    assert not AuditLog.objects.filter(action="delete").exists()


# --- Batch delete ------------------------------------------------------------------------------------


def make_rejected(factories, account, count, prefix="r"):
    return [factories.create_qualification(account, name=f"{prefix}{n}", status=REJECTED) for n in range(count)]


def test_batch_delete_removes_the_selected_rejected_qualifications(alice_client, factories, acme):
    selected = make_rejected(factories, acme, 3)
    kept = factories.create_qualification(acme, name="kept", status=REJECTED)
    response = alice_client.post(url("qualification_batch_delete"), {"ids": [q.pk for q in selected]}, follow=True)
    assert list(Qualification.objects.all()) == [kept]
    assert AuditLog.objects.filter(action="delete").count() == 3
    assert any("3 qualifications were deleted" in m for m in messages_of(response))


def test_batch_delete_refuses_the_whole_batch_if_one_is_approved_or_pending(alice_client, factories, acme):
    selected = make_rejected(factories, acme, 2)
    approved = factories.create_qualification(acme, name="live", status=APPROVED)
    pending = factories.create_qualification(acme, name="waiting", status=PENDING)
    response = alice_client.post(
        url("qualification_batch_delete"), {"ids": [q.pk for q in [*selected, approved, pending]]}, follow=True
    )
    assert Qualification.objects.count() == 4
    [message] = messages_of(response)
    assert "approved or in-review qualifications cannot be deleted" in message.lower()
    assert "live" in message and "waiting" in message


def test_batch_delete_refuses_more_than_the_limit(alice_client, factories, acme, settings):
    settings.SMS_QUALIFICATION_BATCH_DELETE_MAX = 2
    selected = make_rejected(factories, acme, 3)
    response = alice_client.post(url("qualification_batch_delete"), {"ids": [q.pk for q in selected]}, follow=True)
    assert Qualification.objects.count() == 3
    assert any("At most 2" in m for m in messages_of(response))
    response = alice_client.post(url("qualification_batch_delete"), {"ids": [q.pk for q in selected[:2]]})
    assert Qualification.objects.count() == 1


def test_batch_delete_with_nothing_selected_says_so(alice_client):
    response = alice_client.post(url("qualification_batch_delete"), {}, follow=True)
    assert any("Select the qualifications" in m for m in messages_of(response))


def test_batch_delete_only_accepts_post(alice_client):
    assert alice_client.get(url("qualification_batch_delete")).status_code == 405


def test_batch_delete_ignores_other_accounts_ids(client, charlie, factories, acme):
    acme_qualifications = make_rejected(factories, acme, 2)
    client.force_login(charlie)
    client.post(url("qualification_batch_delete"), {"ids": [q.pk for q in acme_qualifications]})
    assert Qualification.objects.count() == 2


# --- Tenancy and roles ------------------------------------------------------------------------------


OBJECT_URLS = [
    ("qualification_detail", ()),
    ("qualification_edit", ()),
    ("qualification_delete", ()),
    ("qualification_document", ("business_licence",)),
    ("qualification_document", ("handler_id_back",)),
]


@pytest.mark.parametrize("name, extra", OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404_on_every_object_url(client, charlie, rejected, name, extra, method):
    client.force_login(charlie)
    response = getattr(client, method)(url(name, rejected.pk, *extra))
    assert response.status_code == 404
    rejected.refresh_from_db()
    assert rejected.status == REJECTED


def test_another_accounts_member_sees_nothing_in_the_list(client, charlie, rejected):
    client.force_login(charlie)
    html = client.get(url("qualification_list")).content.decode()
    assert "Rejected one" not in html


@pytest.mark.parametrize("name", ["qualification_edit", "qualification_delete"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_read_only_member_gets_403_on_changes(client, bob, rejected, name, method):
    client.force_login(bob)
    assert getattr(client, method)(url(name, rejected.pk)).status_code == 403
    assert Qualification.objects.filter(pk=rejected.pk, status=REJECTED).exists()


def test_a_read_only_member_cannot_create_or_batch_delete(client, bob, rejected):
    client.force_login(bob)
    assert client.get(url("qualification_create")).status_code == 403
    assert client.post(url("qualification_create"), qualification_post()).status_code == 403
    assert client.post(url("qualification_batch_delete"), {"ids": [rejected.pk]}).status_code == 403
    assert Qualification.objects.count() == 1


def test_a_read_only_member_can_read_the_detail(client, bob, rejected):
    client.force_login(bob)
    response = client.get(url("qualification_detail", rejected.pk))
    assert response.status_code == 200
    assert url("qualification_edit", rejected.pk) not in response.content.decode()
