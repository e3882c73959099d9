from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from smsconsole.models import AuditLog
from templates_app.models import Qualification, Signature, Template

PENDING = "pending_review"


@pytest.fixture
def rita_client(client, rita, factories):
    assert client.login(username="rita", password=factories.PASSWORD)
    return client


def changelist(model):
    return reverse(f"admin:templates_app_{model}_changelist")


def act(client, model, action, objects, query="", **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(changelist(model) + query, data)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_signature_queue_puts_an_urged_newer_signature_before_an_older_one(rita_client, factories, shop):
    now = timezone.now()
    older = factories.create_signature(shop, name="Older", status=PENDING)
    newer = factories.create_signature(shop, name="Newer", status=PENDING)
    oldest = factories.create_signature(shop, name="Oldest", status=PENDING)
    Signature.objects.filter(pk=older.pk).update(submitted_at=now - timedelta(days=2))
    Signature.objects.filter(pk=oldest.pk).update(submitted_at=now - timedelta(days=3))
    Signature.objects.filter(pk=newer.pk).update(submitted_at=now - timedelta(hours=1))
    newer.refresh_from_db()
    newer.urge()

    response = rita_client.get(changelist("signature"))

    assert response.status_code == 200
    assert [s.name for s in response.context["cl"].result_list] == ["Newer", "Oldest", "Older"]


def test_the_queue_opens_on_pending_items_and_can_show_every_status(rita_client, factories, shop):
    factories.create_signature(shop, name="Waiting", status=PENDING)
    factories.create_signature(shop, name="Done")  # approved

    pending = rita_client.get(changelist("signature"))
    everything = rita_client.get(changelist("signature") + "?status=all")
    approved = rita_client.get(changelist("signature") + "?status=approved")

    assert [s.name for s in pending.context["cl"].result_list] == ["Waiting"]
    assert sorted(s.name for s in everything.context["cl"].result_list) == ["Done", "Waiting"]
    assert [s.name for s in approved.context["cl"].result_list] == ["Done"]


def test_the_queue_can_be_filtered_by_account_and_type(rita_client, factories, shop, other_co):
    other_shop = factories.create_application(other_co, "Other shop")
    factories.create_signature(shop, name="Acme", status=PENDING)
    factories.create_signature(shop, name="Promo", type="promotion", status=PENDING)
    factories.create_signature(other_shop, name="Other", status=PENDING)

    by_account = rita_client.get(changelist("signature") + f"?application__account__id__exact={other_co.pk}")
    by_type = rita_client.get(changelist("signature") + "?type__exact=promotion")

    assert [s.name for s in by_account.context["cl"].result_list] == ["Other"]
    assert [s.name for s in by_type.context["cl"].result_list] == ["Promo"]


def test_approving_a_signature_files_it_with_the_carrier_and_is_audited(rita_client, rita, factories, shop, acme):
    signature = factories.create_signature(shop, status=PENDING)

    response = act(rita_client, "signature", "approve_selected", [signature])

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.status == Signature.Status.FILING
    assert signature.reviewed_by == rita and signature.filed_at is not None
    # The carrier issues the channel number when it approves the filing.
    assert signature.channel_number is None
    entry = AuditLog.objects.get(action="approve", object_type="signature", object_id=str(signature.pk))
    assert entry.actor == rita
    assert entry.account == acme
    assert entry.before == {"status": "pending_review"}
    assert entry.after["status"] == "filing"
    assert messages_of(response) == ["1 item approved."]


def test_rejecting_shows_the_reason_form_before_deciding(rita_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)

    response = act(rita_client, "signature", "reject_selected", [signature])

    assert response.status_code == 200
    codes = [code for code, _label in response.context["form"].fields["reason_code"].choices]
    assert "sig_owner_mismatch" in codes and "other" in codes
    assert "tpl_symbols" not in codes
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW
    assert not AuditLog.objects.exists()


def test_rejecting_a_signature_records_the_reason_and_comment(rita_client, rita, factories, shop, acme):
    signature = factories.create_signature(shop, status=PENDING)

    response = act(
        rita_client,
        "signature",
        "reject_selected",
        [signature],
        apply="yes",
        reason_code="sig_not_company_name",
        reason_text="Use the company's short name.",
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.status == Signature.Status.REJECTED
    assert signature.reviewed_by == rita
    assert signature.reason_code == "sig_not_company_name"
    assert signature.reason_text == "Use the company's short name."
    assert signature.channel_number is None
    entry = AuditLog.objects.get(action="reject", object_id=str(signature.pk))
    assert entry.account == acme
    assert entry.before == {"status": "pending_review"}
    assert entry.after == {
        "status": "rejected",
        "reason_code": "sig_not_company_name",
        "reason_text": "Use the company's short name.",
    }


def test_other_as_the_reason_is_refused_without_a_comment(rita_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)

    response = act(
        rita_client, "signature", "reject_selected", [signature], apply="yes", reason_code="other", reason_text="  "
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason_text"] == ["Describe the reason when choosing “Other”."]
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW


def test_other_as_the_reason_is_accepted_with_a_comment(rita_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)

    act(
        rita_client,
        "signature",
        "reject_selected",
        [signature],
        apply="yes",
        reason_code="other",
        reason_text="Blurry scan",
    )

    signature.refresh_from_db()
    assert (signature.status, signature.reason_code, signature.reason_text) == ("rejected", "other", "Blurry scan")


def test_a_reason_from_another_kinds_catalogue_is_refused(rita_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)

    response = act(rita_client, "signature", "reject_selected", [signature], apply="yes", reason_code="tpl_symbols")

    assert response.status_code == 200
    assert "reason_code" in response.context["form"].errors
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW


def test_refused_items_are_skipped_and_reported_while_the_others_are_approved(rita_client, factories, shop):
    pending_signature = factories.create_signature(shop, name="Later", status=PENDING)
    blocked = factories.create_template(shop, signature=pending_signature, name="Blocked", status=PENDING)
    ready = factories.create_template(shop, name="Ready", status=PENDING)

    response = act(rita_client, "template", "approve_selected", [blocked, ready])

    blocked.refresh_from_db()
    ready.refresh_from_db()
    assert blocked.status == Template.Status.PENDING_REVIEW
    assert ready.status == Template.Status.ACTIVE
    assert messages_of(response) == [
        "“Blocked” was skipped: Approve the template's signature first.",
        "1 item approved.",
    ]
    assert list(AuditLog.objects.values_list("object_id", flat=True)) == [str(ready.pk)]


def test_an_already_decided_item_is_skipped(rita_client, factories, shop):
    done = factories.create_signature(shop, name="Done")

    response = act(rita_client, "signature", "approve_selected", [done], query="?status=all")

    assert messages_of(response) == ["“【Done】” was skipped: Not allowed while the status is “Approved”."]
    assert not AuditLog.objects.exists()


def test_a_signature_waits_for_its_qualification(rita_client, factories, shop, acme):
    qualification = factories.create_qualification(acme, name="New licence", status=PENDING)
    signature = factories.create_signature(shop, status=PENDING, qualification=qualification)

    act(rita_client, "signature", "approve_selected", [signature])
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW

    act(rita_client, "qualification", "approve_selected", [qualification])
    act(rita_client, "signature", "approve_selected", [signature])
    qualification.refresh_from_db()
    signature.refresh_from_db()
    assert qualification.status == Qualification.Status.APPROVED
    assert signature.status == Signature.Status.FILING


def test_rejecting_a_qualification_uses_the_qualification_catalogue(rita_client, rita, factories, acme):
    qualification = factories.create_qualification(acme, status=PENDING)

    act(rita_client, "qualification", "reject_selected", [qualification], apply="yes", reason_code="qual_id_mismatch")

    qualification.refresh_from_db()
    assert (qualification.status, qualification.reason_code, qualification.reviewed_by) == (
        "rejected",
        "qual_id_mismatch",
        rita,
    )
    assert AuditLog.objects.get(action="reject").account == acme


def test_deactivating_active_templates_needs_a_comment_and_is_audited(rita_client, rita, factories, shop, acme):
    template = factories.create_template(shop)

    asked = act(rita_client, "template", "deactivate_selected", [template], query="?status=all")
    refused = act(
        rita_client, "template", "deactivate_selected", [template], query="?status=all", apply="yes", reason_text=""
    )
    template.refresh_from_db()
    assert asked.status_code == refused.status_code == 200
    assert template.status == Template.Status.ACTIVE

    act(
        rita_client,
        "template",
        "deactivate_selected",
        [template],
        query="?status=all",
        apply="yes",
        reason_text="Carrier rule 12",
    )

    template.refresh_from_db()
    assert template.status == Template.Status.INACTIVE
    assert template.reason_text == "Carrier rule 12"
    entry = AuditLog.objects.get(action="deactivate")
    assert (entry.actor, entry.account, entry.before) == (rita, acme, {"status": "active"})
    assert entry.after == {"status": "inactive", "reason_code": "", "reason_text": "Carrier rule 12"}


def test_the_template_queue_shows_signed_content_with_its_segment_count(rita_client, factories, shop):
    factories.create_template(shop, content="x" * 200, status=PENDING)

    response = rita_client.get(changelist("template"))

    assert "【Acme】" + "x" * 200 in response.content.decode()
    assert "206 characters, 4 segment(s), UCS-2" in response.content.decode()


def test_the_queue_shows_urged_items_with_a_badge(rita_client, factories, shop):
    factories.create_template(shop, name="Hurry", status=PENDING).urge()

    response = rita_client.get(changelist("template"))

    assert "⚑ Urged" in response.content.decode()


def test_qualification_documents_are_linked_through_the_document_view(rita_client, factories, acme):
    qualification = factories.create_qualification(acme, status=PENDING)

    listing = rita_client.get(changelist("qualification")).content.decode()
    page = rita_client.get(
        reverse("admin:templates_app_qualification_change", args=[qualification.pk])
    ).content.decode()

    for field in ("business_licence", "legal_person_id", "handler_id_front", "handler_id_back"):
        url = reverse("templates_app:qualification_document", args=[qualification.pk, field])
        assert url in listing and url in page
    assert (
        reverse("templates_app:qualification_document", args=[qualification.pk, "authorisation_letter"]) not in listing
    )
    assert "/media/" not in page


def test_the_change_page_is_read_only(rita_client, factories, shop):
    template = factories.create_template(shop, status=PENDING)
    url = reverse("admin:templates_app_template_change", args=[template.pk])

    page = rita_client.get(url)
    posted = rita_client.post(url, {"name": "Changed", "content": "Changed"})

    assert page.status_code == 200
    assert 'name="content"' not in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    template.refresh_from_db()
    assert template.name == "Order shipped"


def test_the_change_page_approves_and_rejects_one_item(rita_client, rita, factories, shop):
    approve_me = factories.create_signature(shop, name="Yes", status=PENDING)
    reject_me = factories.create_signature(shop, name="No", status=PENDING)

    page = rita_client.get(reverse("admin:templates_app_signature_change", args=[approve_me.pk]))
    approved = rita_client.post(reverse("admin:templates_app_signature_approve", args=[approve_me.pk]))
    form = rita_client.get(reverse("admin:templates_app_signature_reject", args=[reject_me.pk]))
    rejected = rita_client.post(
        reverse("admin:templates_app_signature_reject", args=[reject_me.pk]),
        {"apply": "yes", "reason_code": "sig_neutral"},
    )

    assert reverse("admin:templates_app_signature_approve", args=[approve_me.pk]) in page.content.decode()
    assert approved.status_code == rejected.status_code == 302
    assert form.status_code == 200
    approve_me.refresh_from_db()
    reject_me.refresh_from_db()
    assert (approve_me.status, approve_me.reviewed_by) == ("filing", rita)
    assert (reject_me.status, reject_me.reason_code) == ("rejected", "sig_neutral")


def test_approve_by_get_is_refused(rita_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)

    response = rita_client.get(reverse("admin:templates_app_signature_approve", args=[signature.pk]))

    assert response.status_code == 405
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW


@pytest.mark.parametrize("user", ["alice", "bob", "charlie"])
def test_account_members_cannot_reach_the_admin(client, request, factories, shop, user):
    request.getfixturevalue(user)
    signature = factories.create_signature(shop, status=PENDING)
    client.login(username=user, password=factories.PASSWORD)

    listing = client.get(changelist("signature"))
    approve = client.post(reverse("admin:templates_app_signature_approve", args=[signature.pk]))
    action = act(client, "signature", "approve_selected", [signature])

    for response in (listing, approve, action):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW


def test_staff_without_the_change_permission_cannot_decide(client, factories, shop):
    viewer = factories.create_user("victor", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_signature"))
    signature = factories.create_signature(shop, status=PENDING)
    client.force_login(viewer)

    listing = client.get(changelist("signature"))
    approve = client.post(reverse("admin:templates_app_signature_approve", args=[signature.pk]))
    act(client, "signature", "approve_selected", [signature])

    assert listing.status_code == 200
    assert "approve_selected" not in listing.content.decode()
    assert approve.status_code == 403
    signature.refresh_from_db()
    assert signature.status == Signature.Status.PENDING_REVIEW


def test_the_template_queue_does_not_query_per_row(rita_client, factories, shop):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert rita_client.get(changelist("template")).status_code == 200
        return len(queries)

    factories.create_template(shop, name="T0", status=PENDING)
    few = count_queries()
    for n in range(1, 8):
        factories.create_template(shop, signature=Template.objects.first().signature, name=f"T{n}", status=PENDING)
    assert count_queries() == few
