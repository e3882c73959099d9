"""Staff decide service applications (开通) on the review desk; the account hears the result by email."""

import pytest
from django.urls import reverse

from accounts.models import ServiceApplication
from smsconsole.models import AuditLog


@pytest.fixture(autouse=True)
def _console_url(settings):
    settings.CONSOLE_URL = "https://sms.example.com/"


@pytest.fixture
def application(newcomer, nina):
    return ServiceApplication.apply(newcomer, nina, "Delivery notices to our customers.")


@pytest.fixture
def rita_client(client, rita):
    client.force_login(rita)
    return client


def act(client, action, objects, **extra):
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(reverse("admin:accounts_serviceapplication_changelist"), data)


def test_the_review_desk_lists_pending_applications_with_their_due_time(rita_client, application, acme):
    response = rita_client.get(reverse("admin:accounts_serviceapplication_changelist"))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    # Acme was activated by its factory: the queue opens on pending applications only.
    assert rows == [application]
    assert str(application.answer_due.year) in response.content.decode()


def test_approving_activates_the_account_audits_and_mails_the_nina_and_contacts(
    rita_client, rita, application, newcomer, factories, mailoutbox, django_capture_on_commit_callbacks
):
    factories.create_contact(newcomer, name="Ops", email="ops@newcomer.example")
    factories.create_contact(newcomer, name="Quiet", email="quiet@newcomer.example", notify_qualification=False)
    with django_capture_on_commit_callbacks(execute=True):
        act(rita_client, "approve_selected", [application])
    application.refresh_from_db()
    assert application.status == "approved" and application.reviewed_by == rita
    entry = AuditLog.objects.get(action="approve")
    assert entry.account == newcomer and entry.actor == rita and entry.after["status"] == "approved"
    assert sorted(address for mail in mailoutbox for address in mail.to) == [
        "nina@newcomer.example",
        "ops@newcomer.example",
    ]
    mail = next(mail for mail in mailoutbox if mail.to == ["nina@newcomer.example"])
    assert mail.subject == "[smsconsole] SMS service activation approved / 短信服务开通申请审核通过"
    assert "The application to use the SMS service for the account “Newcomer” has been approved." in mail.body
    assert "The account can now create applications and send messages." in mail.body
    assert "现在即可创建应用并发送短信。" in mail.body
    assert "https://sms.example.com" + reverse("accounts:activation") in mail.body


def test_rejecting_needs_a_reason_of_the_service_catalogue(rita_client, application):
    form = act(rita_client, "reject_selected", [application])
    codes = [code for code, _label in form.context["form"].fields["reason_code"].choices]
    assert "svc_use_unclear" in codes and "sig_neutral" not in codes
    act(rita_client, "reject_selected", [application], apply="yes", reason_code="sig_neutral")
    application.refresh_from_db()
    assert application.status == "pending_review"


def test_a_rejection_is_recorded_and_mailed_with_its_reason(
    rita_client, application, newcomer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        act(
            rita_client,
            "reject_selected",
            [application],
            apply="yes",
            reason_code="svc_company_unverified",
            reason_text="The licence number does not match.",
        )
    application.refresh_from_db()
    assert (application.status, application.reason_code) == ("rejected", "svc_company_unverified")
    assert AuditLog.objects.get(action="reject").after["reason_text"] == "The licence number does not match."
    (mail,) = mailoutbox
    assert "has been rejected" in mail.body and "The licence number does not match." in mail.body
    assert "Correct the application and apply again from the console." in mail.body
    assert "请在控制台修改申请后重新申请开通。" in mail.body


def test_an_account_without_a_user_email_or_contacts_is_decided_without_mail(
    rita_client, newcomer, factories, mailoutbox, django_capture_on_commit_callbacks
):
    silent = factories.create_user("sam", account=newcomer)
    silent.email = ""
    silent.save(update_fields=["email"])
    application = ServiceApplication.apply(newcomer, silent, "Codes")
    with django_capture_on_commit_callbacks(execute=True):
        act(rita_client, "approve_selected", [application])
    application.refresh_from_db()
    assert application.status == "approved" and mailoutbox == []


def test_a_decided_application_is_skipped(rita_client, application, rita):
    application.approve(rita)
    response = act(rita_client, "reject_selected", [application], apply="yes", reason_code="svc_duplicate")
    application.refresh_from_db()
    assert application.status == "approved"
    assert response.status_code == 302


def test_the_change_page_is_read_only_and_offers_the_decision(rita_client, application):
    response = rita_client.get(reverse("admin:accounts_serviceapplication_change", args=[application.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "Delivery notices to our customers." in html
    assert reverse("admin:accounts_serviceapplication_approve", args=[application.pk]) in html
    assert "<textarea" not in html


def test_the_admin_account_list_shows_the_service_status(admin_client, application, acme):
    html = admin_client.get(reverse("admin:smsconsole_account_changelist")).content.decode()
    assert "Pending review" in html and "Activated" in html
