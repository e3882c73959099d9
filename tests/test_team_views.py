"""The team page: operators invite members with a role, change roles and remove members; the
account always keeps an operator; every change is audited; other accounts see nothing."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Invitation
from smsconsole.models import AuditLog, Membership


def url(name, *args):
    return reverse(f"accounts:{name}", args=args)


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def invite(client, email="dora@example.com", role="read_only", **kwargs):
    return client.post(url("invite"), {"email": email, "role": role}, **kwargs)


def test_the_team_page_lists_members_with_their_roles(alice_client, alice, bob):
    response = alice_client.get(url("team"))
    html = response.content.decode()
    assert 'data-user="alice"' in html and 'data-user="bob"' in html
    assert url("member_remove", bob.membership.pk) in html and url("invite") in html


def test_a_read_only_member_sees_the_team_without_controls(bob_client, alice):
    html = bob_client.get(url("team")).content.decode()
    assert 'data-user="alice"' in html
    assert url("invite") not in html and url("member_remove", alice.membership.pk) not in html


def test_inviting_emails_a_signed_link_and_is_audited(alice_client, alice, acme, mailoutbox, settings):
    settings.CONSOLE_URL = "https://sms.example.com/"
    response = invite(alice_client, "Dora@Example.com", "operator")
    assert response.status_code == 302
    invitation = Invitation.objects.get(account=acme)
    assert (invitation.email, invitation.role, invitation.invited_by) == ("Dora@Example.com", "operator", alice)
    (mail,) = mailoutbox
    assert mail.to == ["Dora@Example.com"] and "Acme" in mail.subject
    prefix = "https://sms.example.com" + url("invitation_accept", "TOKEN").split("TOKEN")[0]
    token = re.search(re.escape(prefix) + r"([^/\s]+)/", mail.body).group(1)
    assert Invitation.from_token(token) == invitation
    assert "alice invites you to join the account “Acme” on smsconsole as Operator." in mail.body
    assert "alice邀请您以“操作员”身份加入 smsconsole 账号“Acme”。" in mail.body
    entry = AuditLog.objects.get(action="invite")
    assert entry.account == acme and entry.after == {"email": "Dora@Example.com", "role": "operator"}


def test_an_address_with_an_open_invitation_or_a_member_is_refused(alice_client, acme, bob, mailoutbox):
    invite(alice_client, "dora@example.com")
    response = invite(alice_client, "DORA@example.com")
    assert response.status_code == 200 and response.context["invite_form"].errors["email"]
    response = invite(alice_client, bob.email)
    assert "member already" in response.context["invite_form"].errors["email"][0]
    assert Invitation.objects.count() == 1 and len(mailoutbox) == 1


@pytest.fixture
def refusing_mail_server(monkeypatch):
    import smtplib

    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"dora@example.com": (550, b"no such user")})

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)


def test_a_mail_server_refusal_keeps_no_invitation(alice_client, acme, refusing_mail_server):
    response = invite(alice_client, follow=True)
    assert "could not be emailed" in response.content.decode()
    assert not Invitation.objects.exists() and not AuditLog.objects.filter(action="invite").exists()


def test_a_refused_resend_keeps_the_old_expiry(alice_client, acme, alice, refusing_mail_server):
    invitation = Invitation.objects.create(account=acme, email="dora@example.com", invited_by=alice)
    sent_at = invitation.sent_at
    alice_client.post(url("invitation_resend", invitation.pk))
    invitation.refresh_from_db()
    assert invitation.sent_at == sent_at and not AuditLog.objects.filter(action="resend_invitation").exists()


def test_a_read_only_member_cannot_invite(bob_client):
    assert invite(bob_client).status_code == 403
    assert not Invitation.objects.exists()


def test_sending_again_restarts_the_expiry_and_withdrawing_ends_the_link(alice_client, acme, alice, mailoutbox):
    invitation = Invitation.objects.create(account=acme, email="dora@example.com", invited_by=alice)
    first_sent = invitation.sent_at
    alice_client.post(url("invitation_resend", invitation.pk))
    invitation.refresh_from_db()
    assert invitation.sent_at > first_sent and len(mailoutbox) == 1
    alice_client.post(url("invitation_revoke", invitation.pk))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert [e.action for e in AuditLog.objects.order_by("id")] == ["resend_invitation", "revoke_invitation"]
    # A withdrawn invitation is sent no more.
    alice_client.post(url("invitation_resend", invitation.pk))
    assert len(mailoutbox) == 1


def test_another_accounts_invitations_and_members_are_not_found(client, charlie, acme, alice, bob):
    invitation = Invitation.objects.create(account=acme, email="dora@example.com", invited_by=alice)
    client.force_login(charlie)
    assert client.post(url("invitation_revoke", invitation.pk)).status_code == 404
    assert client.post(url("invitation_resend", invitation.pk)).status_code == 404
    assert client.post(url("member_role", bob.membership.pk), {"role": "operator"}).status_code == 404
    assert client.get(url("member_remove", bob.membership.pk)).status_code == 404
    assert "bob" not in client.get(url("team")).content.decode()
    invitation.refresh_from_db()
    assert invitation.is_open


def test_an_operator_changes_a_role_and_it_is_audited(alice_client, bob):
    alice_client.post(url("member_role", bob.membership.pk), {"role": "operator"})
    bob.membership.refresh_from_db()
    assert bob.membership.role == "operator"
    entry = AuditLog.objects.get(action="change_role")
    assert (entry.before, entry.after) == ({"role": "read_only"}, {"role": "operator"})


def test_the_last_operator_cannot_demote_themselves(alice_client, alice):
    response = alice_client.post(url("member_role", alice.membership.pk), {"role": "read_only"}, follow=True)
    alice.membership.refresh_from_db()
    assert alice.membership.role == "operator"
    assert "The account needs an operator" in response.content.decode()
    assert not AuditLog.objects.filter(action="change_role").exists()


def test_an_operator_may_step_down_when_another_operator_remains(alice_client, alice, bob):
    bob.membership.change_role("operator")
    alice_client.post(url("member_role", alice.membership.pk), {"role": "read_only"})
    alice.membership.refresh_from_db()
    assert alice.membership.role == "read_only"


def test_a_read_only_member_cannot_change_roles(bob_client, bob):
    assert bob_client.post(url("member_role", bob.membership.pk), {"role": "operator"}).status_code == 403
    bob.membership.refresh_from_db()
    assert bob.membership.role == "read_only"


def test_removing_a_member_asks_first_then_ends_their_access(alice_client, client, bob):
    membership_pk = bob.membership.pk
    assert "Remove bob" in alice_client.get(url("member_remove", membership_pk)).content.decode()
    alice_client.post(url("member_remove", membership_pk))
    assert not Membership.objects.filter(pk=membership_pk).exists()
    bob.refresh_from_db()
    assert not bob.is_active
    entry = AuditLog.objects.get(action="remove_member")
    assert entry.before == {"user": "bob", "role": "read_only"}
    # bob's session no longer logs him in.
    client.force_login(bob)
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_last_operator_cannot_be_removed(alice_client, alice):
    alice_client.post(url("member_remove", alice.membership.pk))
    assert Membership.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert alice.is_active


def test_an_operator_who_removes_themselves_is_logged_out(alice_client, alice, bob):
    bob.membership.change_role("operator")
    response = alice_client.post(url("member_remove", alice.membership.pk))
    assert response.url == reverse("login")
    assert alice_client.get(reverse("dashboard")).status_code == 302
    assert get_user_model().objects.get(pk=alice.pk).is_active is False


def test_the_team_page_takes_a_fixed_number_of_queries(alice_client, acme, factories):
    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            alice_client.get(url("team"))
        return len(queries)

    few = count()
    for i in range(5):
        factories.create_user(f"member{i}", account=acme, role="read_only")
        Invitation.objects.create(account=acme, email=f"guest{i}@example.com")
    assert count() == few


def test_an_administrator_invites_the_first_operator_of_an_account_set_up_in_the_admin(
    admin_client, admin_user, newcomer, mailoutbox
):
    response = admin_client.post(
        reverse("admin:accounts_invitation_add"),
        {"account": newcomer.pk, "email": "first@newcomer.example", "role": "operator"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(account=newcomer)
    assert invitation.invited_by == admin_user and invitation.role == "operator"
    assert [mail.to for mail in mailoutbox] == [["first@newcomer.example"]]
    assert AuditLog.objects.get(action="invite").account == newcomer
    # Invitations are withdrawn from the team page, never edited or deleted in the admin.
    change_page = admin_client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk])).content.decode()
    assert 'name="email"' not in change_page
    assert admin_client.get(reverse("admin:accounts_invitation_delete", args=[invitation.pk])).status_code == 403
