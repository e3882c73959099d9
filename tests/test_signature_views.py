import pytest
from django.urls import reverse

from smsconsole.models import AuditLog
from templates_app.models import Signature

PENDING = Signature.Status.PENDING_REVIEW
APPROVED = Signature.Status.APPROVED
REJECTED = Signature.Status.REJECTED


def url(name, *args):
    return reverse(f"templates_app:{name}", args=args)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def qualification(factories, acme):
    return factories.create_qualification(acme, name="Acme filing")


@pytest.fixture
def rejected(factories, shop, qualification, rita):
    signature = factories.create_signature(shop, name="Acme", status=PENDING, qualification=qualification)
    signature.reject(rita, "sig_neutral", "Name the shop.")
    return signature


def signature_post(application, qualification, **overrides):
    data = {
        "application": application.pk,
        "name": "AcmeShop",
        "type": "notification",
        "source": "enterprise",
        "qualification": qualification.pk,
        "description": "Order notices for our shop.",
    }
    data.update(overrides)
    return data


# --- List --------------------------------------------------------------------------------------------


def test_the_list_shows_name_in_brackets_channel_number_and_rejection_reason(alice_client, factories, shop, rejected):
    factories.create_signature(shop, name="Approved", channel_number="106912345678")
    factories.create_signature(shop, name="Waiting", status=PENDING)
    html = alice_client.get(url("signature_list")).content.decode()
    assert "【Approved】" in html and "106912345678" in html
    assert "【Waiting】" in html
    assert "【Acme】" in html and "Neutral signature" in html and "Name the shop." in html


def test_a_pending_signature_shows_no_channel_number(alice_client, factories, shop):
    factories.create_signature(shop, name="Waiting", status=PENDING, channel_number="106999999999")
    assert "106999999999" not in alice_client.get(url("signature_list")).content.decode()


def test_the_list_filters_by_application_type_and_status(alice_client, factories, acme, shop):
    other_app = factories.create_application(acme, "Blog")
    factories.create_signature(shop, name="ShopNotice", type="notification")
    factories.create_signature(shop, name="ShopPromo", type="promotion", status=PENDING)
    factories.create_signature(other_app, name="BlogNotice", type="notification")

    def names(**params):
        page = alice_client.get(url("signature_list"), params).context["page"]
        return sorted(s.name for s in page)

    assert names() == ["BlogNotice", "ShopNotice", "ShopPromo"]
    assert names(application=shop.pk) == ["ShopNotice", "ShopPromo"]
    assert names(type="promotion") == ["ShopPromo"]
    assert names(status="approved") == ["BlogNotice", "ShopNotice"]
    assert names(application=other_app.pk, type="notification", status="approved") == ["BlogNotice"]


def test_filtering_by_another_accounts_application_shows_nothing_of_it(client, charlie, factories, shop, other_co):
    factories.create_signature(shop, name="AcmeOnly")
    client.force_login(charlie)
    response = client.get(url("signature_list"), {"application": shop.pk})
    assert "AcmeOnly" not in response.content.decode()
    assert list(response.context["page"]) == []


def test_the_list_runs_a_fixed_number_of_queries(alice_client, factories, acme, shop, django_assert_max_num_queries):
    other_app = factories.create_application(acme, "Blog")
    for number in range(15):
        factories.create_signature(shop, name=f"Shop{number}")
        factories.create_signature(other_app, name=f"Blog{number}", status=PENDING)
    with django_assert_max_num_queries(9):
        response = alice_client.get(url("signature_list"))
    assert len(response.context["page"]) == 30


def test_another_accounts_member_sees_nothing_of_acme_in_the_list(client, charlie, factories, shop):
    factories.create_signature(shop, name="AcmeSecret")
    client.force_login(charlie)
    html = client.get(url("signature_list")).content.decode()
    assert "AcmeSecret" not in html and "Shop" not in html


# --- Create ------------------------------------------------------------------------------------------


def test_creating_a_signature_submits_it_for_review_and_audits(alice_client, alice, acme, shop, qualification):
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification))
    signature = Signature.objects.get(name="AcmeShop")
    assert response.status_code == 302
    assert response["Location"] == url("signature_detail", signature.pk)
    assert signature.status == PENDING and signature.submitted_at is not None
    assert signature.channel_number is None
    entry = AuditLog.objects.get(action="create", object_type="signature")
    assert entry.actor == alice and entry.account == acme


def test_the_create_form_offers_only_the_accounts_applications_and_usable_qualifications(
    alice_client, factories, acme, other_co, shop, qualification
):
    pending = factories.create_qualification(acme, name="In review", status="pending_review")
    factories.create_qualification(acme, name="Refused", status="rejected")
    factories.create_qualification(other_co, name="Theirs")
    factories.create_application(other_co, "TheirApp")
    form = alice_client.get(url("signature_create")).context["form"]
    assert list(form.fields["application"].queryset) == [shop]
    assert set(form.fields["qualification"].queryset) == {qualification, pending}


def test_a_rejected_qualification_cannot_be_chosen(alice_client, factories, acme, shop):
    refused = factories.create_qualification(acme, name="Refused", status="rejected")
    response = alice_client.post(url("signature_create"), signature_post(shop, refused))
    assert "qualification" in response.context["form"].errors
    assert not Signature.objects.exists()


def test_another_accounts_application_or_qualification_cannot_be_chosen(
    client, charlie, factories, other_co, shop, qualification
):
    client.force_login(charlie)
    their_app = factories.create_application(other_co, "Theirs")
    their_qualification = factories.create_qualification(other_co, name="Theirs")
    errors = client.post(url("signature_create"), signature_post(shop, their_qualification)).context["form"].errors
    assert "application" in errors
    errors = client.post(url("signature_create"), signature_post(their_app, qualification)).context["form"].errors
    assert "qualification" in errors
    assert not Signature.objects.exists()


@pytest.mark.parametrize("name", ["A", "【Acme】", "Acme Shop", "123456", "云" * 33])
def test_invalid_names_are_errors_on_the_name_field(alice_client, shop, qualification, name):
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification, name=name))
    assert list(response.context["form"].errors) == ["name"]


def test_the_name_length_follows_the_setting(alice_client, shop, qualification, settings):
    settings.SMS_SIGNATURE_NAME_MAX_LENGTH = 16
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification, name="云" * 17))
    assert "16" in str(response.context["form"].errors["name"])


def test_the_same_name_and_type_twice_is_an_error_on_the_name_field(alice_client, factories, shop, qualification):
    factories.create_signature(shop, name="AcmeShop", type="notification")
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification))
    assert list(response.context["form"].errors) == ["name"]
    assert "【AcmeShop】" in str(response.context["form"].errors["name"])


def test_the_same_name_under_another_type_is_allowed(alice_client, factories, shop, qualification):
    factories.create_signature(shop, name="AcmeShop", type="notification")
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification, type="promotion"))
    assert response.status_code == 302


def test_the_quota_per_application_is_an_error_on_the_application_field(
    alice_client, factories, acme, shop, qualification, settings
):
    settings.SMS_MAX_SIGNATURES_PER_APPLICATION = 1
    factories.create_signature(shop, name="First")
    response = alice_client.post(url("signature_create"), signature_post(shop, qualification))
    assert "at most 1 signatures" in str(response.context["form"].errors["application"])
    other_app = factories.create_application(acme, "Blog")
    assert alice_client.post(url("signature_create"), signature_post(other_app, qualification)).status_code == 302


# --- Detail, edit, urge, delete ----------------------------------------------------------------------


def test_the_detail_shows_reason_and_actions(alice_client, rejected):
    html = alice_client.get(url("signature_detail", rejected.pk)).content.decode()
    assert "【Acme】" in html and "Name the shop." in html
    assert url("signature_edit", rejected.pk) in html
    assert url("signature_delete", rejected.pk) in html
    assert url("signature_urge", rejected.pk) not in html


def test_a_rejected_signature_can_be_corrected_and_resubmitted(alice_client, factories, shop, qualification, rejected):
    data = signature_post(shop, qualification, name="AcmeStore", source="shop")
    response = alice_client.post(url("signature_edit", rejected.pk), data)
    assert response.status_code == 302
    rejected.refresh_from_db()
    assert rejected.status == PENDING
    assert rejected.name == "AcmeStore" and rejected.source == "shop"
    entry = AuditLog.objects.get(action="resubmit", object_id=str(rejected.pk))
    assert entry.before["name"] == "Acme" and entry.after["status"] == PENDING


def test_editing_cannot_move_the_signature_to_another_application(
    alice_client, factories, acme, shop, qualification, rejected
):
    other_app = factories.create_application(acme, "Blog")
    alice_client.post(url("signature_edit", rejected.pk), signature_post(other_app, qualification))
    rejected.refresh_from_db()
    assert rejected.application == shop


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_only_rejected_signatures_can_be_edited(alice_client, factories, shop, qualification, status):
    signature = factories.create_signature(shop, name="Fixed", status=status, qualification=qualification)
    response = alice_client.post(url("signature_edit", signature.pk), signature_post(shop, qualification), follow=True)
    signature.refresh_from_db()
    assert signature.name == "Fixed" and signature.status == status
    assert any("Only a rejected signature" in m for m in messages_of(response))


def test_urging_a_pending_signature_once(alice_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)
    response = alice_client.post(url("signature_urge", signature.pk), follow=True)
    signature.refresh_from_db()
    assert signature.urged_at is not None
    assert "Urged" in response.content.decode()
    assert url("signature_urge", signature.pk) not in response.content.decode()
    assert AuditLog.objects.filter(action="urge", object_id=str(signature.pk)).count() == 1
    response = alice_client.post(url("signature_urge", signature.pk), follow=True)
    assert any("once" in m for m in messages_of(response))
    assert AuditLog.objects.filter(action="urge").count() == 1


def test_urging_needs_post(alice_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)
    assert alice_client.get(url("signature_urge", signature.pk)).status_code == 405


def test_the_list_shows_urged_signatures(alice_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)
    signature.urge()
    assert "Urged" in alice_client.get(url("signature_list")).content.decode()


def test_deleting_a_rejected_signature(alice_client, rejected):
    assert alice_client.get(url("signature_delete", rejected.pk)).status_code == 200
    response = alice_client.post(url("signature_delete", rejected.pk))
    assert response.status_code == 302
    assert not Signature.objects.exists()
    assert AuditLog.objects.filter(action="delete", object_type="signature").exists()


def test_a_pending_signature_cannot_be_deleted(alice_client, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)
    response = alice_client.post(url("signature_delete", signature.pk), follow=True)
    assert Signature.objects.filter(pk=signature.pk).exists()
    assert any("cannot be deleted" in m for m in messages_of(response))


def test_a_signature_used_by_templates_is_kept_with_a_message(alice_client, factories, shop):
    signature = factories.create_signature(shop)
    factories.create_template(shop, signature=signature)
    response = alice_client.post(url("signature_delete", signature.pk), follow=True)
    assert Signature.objects.filter(pk=signature.pk).exists()
    assert any("Templates use this signature" in m for m in messages_of(response))
    assert not AuditLog.objects.filter(action="delete").exists()


# --- Tenancy and roles ------------------------------------------------------------------------------


OBJECT_URLS = ["signature_detail", "signature_edit", "signature_urge", "signature_delete"]


@pytest.mark.parametrize("name", OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404_on_every_object_url(client, charlie, factories, shop, name, method):
    signature = factories.create_signature(shop, status=REJECTED)
    client.force_login(charlie)
    response = getattr(client, method)(url(name, signature.pk))
    # The urge view only takes POST; its GET is refused before any lookup.
    assert response.status_code == (405 if (name, method) == ("signature_urge", "get") else 404)
    assert Signature.objects.filter(pk=signature.pk, status=REJECTED).exists()


@pytest.mark.parametrize("name", ["signature_edit", "signature_urge", "signature_delete"])
def test_a_read_only_member_gets_403_on_changes(client, bob, factories, shop, name):
    signature = factories.create_signature(shop, status=PENDING)
    client.force_login(bob)
    assert client.post(url(name, signature.pk)).status_code == 403
    signature.refresh_from_db()
    assert signature.urged_at is None


def test_a_read_only_member_cannot_create(client, bob, shop, qualification):
    client.force_login(bob)
    assert client.get(url("signature_create")).status_code == 403
    assert client.post(url("signature_create"), signature_post(shop, qualification)).status_code == 403
    assert not Signature.objects.exists()


def test_a_read_only_member_sees_list_and_detail_without_actions(client, bob, factories, shop):
    signature = factories.create_signature(shop, status=PENDING)
    client.force_login(bob)
    assert client.get(url("signature_list")).status_code == 200
    html = client.get(url("signature_detail", signature.pk)).content.decode()
    assert url("signature_urge", signature.pk) not in html
