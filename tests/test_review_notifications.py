import pytest
from django.urls import reverse

from templates_app import notifications
from templates_app.models import Signature
from templates_app.tasks import notify_review_result

PENDING = "pending_review"


@pytest.fixture(autouse=True)
def _console_url(settings):
    settings.CONSOLE_URL = "https://sms.example.com/"


@pytest.fixture
def rita_client(client, rita):
    client.force_login(rita)
    return client


@pytest.fixture
def contacts(factories, acme, other_co):
    return {
        "ops": factories.create_contact(acme, name="Ops", email="ops@acme.example"),
        "boss": factories.create_contact(acme, name="Boss", email="boss@acme.example"),
        "quiet": factories.create_contact(
            acme,
            name="Quiet",
            email="quiet@acme.example",
            notify_signature=False,
            notify_template=False,
            notify_qualification=False,
        ),
        "other": factories.create_contact(other_co, name="Other", email="ops@other.example"),
    }


def act(client, model, action, objects, query="", **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(reverse(f"admin:templates_app_{model}_changelist") + query, data)


def recipients(mailoutbox):
    return sorted(address for mail in mailoutbox for address in mail.to)


def test_a_signature_approved_in_review_mails_each_subscribed_contact_that_it_went_to_the_carrier(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(shop, name="Acme", status=PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        act(rita_client, "signature", "approve_selected", [signature])

    assert recipients(mailoutbox) == ["boss@acme.example", "ops@acme.example"]
    assert all(len(mail.to) == 1 for mail in mailoutbox)
    mail = next(mail for mail in mailoutbox if mail.to == ["ops@acme.example"])
    assert mail.subject == "[smsconsole] Signature 【Acme】 filed with the carrier / 签名实名报备中"
    assert "Hello Ops," in mail.body
    assert (
        "The signature 【Acme】 (Notification) of the application “Shop” "
        "passed content review and was submitted to the carrier" in mail.body
    )
    assert "It can send once the carrier approves the filing" in mail.body
    assert "运营商报备通过后即可发送短信" in mail.body
    assert "Channel number" not in mail.body
    assert f"https://sms.example.com/signatures/{signature.pk}/" in mail.body


def test_the_carriers_approval_mails_the_channel_number(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(shop, name="Acme", status=Signature.Status.FILING, channel_number=None)

    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(
            reverse("admin:templates_app_signature_carrier_approve", args=[signature.pk]),
            {"apply": "yes", "channel_number": "10690001"},
        )

    mail = next(mail for mail in mailoutbox if mail.to == ["ops@acme.example"])
    assert mail.subject == "[smsconsole] Signature 【Acme】 approved / 签名审核通过"
    assert "The signature 【Acme】 (Notification) of the application “Shop” has been approved." in mail.body
    assert "Channel number: 10690001" in mail.body and "通道号：10690001" in mail.body


def test_a_rejected_template_mail_gives_the_reason_and_the_comment(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    template = factories.create_template(shop, name="Sale", content="Big sale today", status=PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        act(
            rita_client,
            "template",
            "reject_selected",
            [template],
            apply="yes",
            reason_code="tpl_no_opt_out",
            reason_text="Add “reply R to opt out”.",
        )

    assert recipients(mailoutbox) == ["boss@acme.example", "ops@acme.example"]
    body = mailoutbox[0].body
    assert mailoutbox[0].subject == "[smsconsole] Template “Sale” rejected / 模板审核不通过"
    assert "Content: 【Acme】Big sale today" in body
    assert "Reason: Content: a promotion without an opt-out" in body
    assert "Reviewer's comment: Add “reply R to opt out”." in body
    assert "审核意见：Add “reply R to opt out”." in body
    assert "Channel number" not in body
    assert f"https://sms.example.com/templates/{template.pk}/" in body


def test_a_qualification_result_goes_only_to_contacts_who_want_qualification_results(
    rita_client, factories, acme, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    factories.create_contact(acme, name="Signatures only", email="sig@acme.example", notify_qualification=False)
    qualification = factories.create_qualification(acme, name="Licence 2025", status=PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        act(
            rita_client,
            "qualification",
            "reject_selected",
            [qualification],
            apply="yes",
            reason_code="qual_document_unreadable",
        )

    assert recipients(mailoutbox) == ["boss@acme.example", "ops@acme.example"]
    assert mailoutbox[0].subject == "[smsconsole] Qualification “Licence 2025” rejected / 资质审核不通过"
    assert "Reason: Materials: a document is unreadable or incomplete" in mailoutbox[0].body


def test_a_deactivated_template_is_announced(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    template = factories.create_template(shop, name="Old")

    with django_capture_on_commit_callbacks(execute=True):
        act(
            rita_client,
            "template",
            "deactivate_selected",
            [template],
            query="?status=active",
            apply="yes",
            reason_text="Carrier rule change",
        )

    assert mailoutbox[0].subject == "[smsconsole] Template “Old” deactivated / 模板已去激活"
    assert "Reviewer's comment: Carrier rule change" in mailoutbox[0].body


def test_nothing_is_queued_until_the_decision_commits(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    signature = factories.create_signature(shop, status=PENDING)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(rita_client, "signature", "approve_selected", [signature])

    # The notice is queued by an on-commit callback (others, such as the API's route cache, may
    # also wait for the commit); nothing was sent before it.
    assert len([c for c in callbacks if "queue_review_result" in c.__qualname__]) == 1
    assert mailoutbox == []


def test_a_skipped_item_sends_nothing(
    rita_client, factories, shop, contacts, mailoutbox, django_capture_on_commit_callbacks
):
    pending_signature = factories.create_signature(shop, name="Later", status=PENDING)
    template = factories.create_template(shop, signature=pending_signature, status=PENDING)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        act(rita_client, "template", "approve_selected", [template])

    assert callbacks == []
    assert mailoutbox == []


def test_the_task_reports_what_it_sent(factories, shop, contacts, mailoutbox):
    signature = factories.create_signature(shop)

    result = notify_review_result("signature", signature.pk)

    assert result == {"kind": "signature", "id": signature.pk, "status": "approved", "sent": 2, "sms": 0}
    assert len(mailoutbox) == 2


def test_the_task_sends_nothing_once_the_item_is_back_in_review(factories, shop, contacts, mailoutbox):
    signature = factories.create_signature(shop, status=Signature.Status.REJECTED)
    signature.resubmit()

    result = notify_review_result("signature", signature.pk)

    assert result == {"kind": "signature", "id": signature.pk, "sent": 0, "skipped": "pending_review"}
    assert mailoutbox == []


def test_the_task_sends_nothing_for_a_deleted_item(db, mailoutbox):
    assert notify_review_result("template", 999) == {"kind": "template", "id": 999, "sent": 0, "skipped": "missing"}
    assert mailoutbox == []


def test_an_account_without_contacts_gets_no_mail(factories, shop, mailoutbox):
    signature = factories.create_signature(shop)

    assert notify_review_result("signature", signature.pk)["sent"] == 0
    assert mailoutbox == []


def test_queueing_refuses_objects_without_review_results(acme):
    with pytest.raises(ValueError):
        notifications.queue_review_result(acme)


def test_a_result_task_delivered_twice_mails_once(factories, acme, shop, rita, mailoutbox):
    from templates_app.notifications import send_review_result

    factories.create_contact(acme, email="ops@acme.example")
    signature = factories.create_signature(shop, status="pending_review")
    signature.approve(rita)
    assert send_review_result("signature", signature.pk)["sent"] == 1
    assert send_review_result("signature", signature.pk)["skipped"] == "already_notified"
    assert len(mailoutbox) == 1
