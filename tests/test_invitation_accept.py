"""Accepting an invitation: the signed link makes a member with the invited role, once, until it expires."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation
from smsconsole.models import AuditLog, Membership

PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture
def invitation(acme, alice):
    return Invitation.objects.create(account=acme, email="dora@example.com", role="read_only", invited_by=alice)


def link(invitation):
    return reverse("accounts:invitation_accept", args=[invitation.token()])


def accept_as_new_user(client, url, username="dora"):
    return client.post(url, {"username": username, "password1": PASSWORD, "password2": PASSWORD})


def problem(response):
    html = response.content.decode()
    return html.split('data-problem="', 1)[1].split('"', 1)[0] if 'data-problem="' in html else None


def test_the_page_names_the_account_and_the_role(client, invitation):
    html = client.get(link(invitation)).content.decode()
    assert "Join “Acme”" in html and "Read-only" in html and "dora@example.com" in html


def test_accepting_creates_a_member_with_the_invited_role_and_logs_in(client, invitation, acme):
    response = accept_as_new_user(client, link(invitation))
    assert response.url == reverse("dashboard")
    dora = get_user_model().objects.get(username="dora")
    assert dora.email == "dora@example.com"
    assert Membership.objects.get(user=dora).account == acme and dora.membership.role == "read_only"
    invitation.refresh_from_db()
    assert invitation.accepted_by == dora and invitation.accepted_at is not None
    entry = AuditLog.objects.get(action="join")
    assert entry.account == acme and entry.actor == dora and entry.after["role"] == "read_only"
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_link_works_once(client, invitation):
    url = link(invitation)
    accept_as_new_user(client, url)
    client.logout()
    assert problem(client.get(url)) == "used"
    assert problem(accept_as_new_user(client, url, username="dora2")) == "used"
    assert get_user_model().objects.filter(username="dora2").count() == 0


def test_a_withdrawn_invitation_no_longer_works(client, invitation):
    url = link(invitation)
    invitation.revoke()
    assert problem(accept_as_new_user(client, url)) == "used"
    assert not get_user_model().objects.filter(username="dora").exists()


def test_a_link_expires_after_the_invitation_days(client, invitation, settings):
    url = link(invitation)
    with time_machine.travel(timezone.now() + timedelta(days=settings.SMS_INVITATION_DAYS, minutes=1)):
        assert problem(accept_as_new_user(client, url)) == "expired"
    with time_machine.travel(timezone.now() + timedelta(days=settings.SMS_INVITATION_DAYS, minutes=-1)):
        assert accept_as_new_user(client, url).status_code == 302


@pytest.mark.parametrize("token", ["not-a-token", "1:1vJ6Z2:forged", "MTIz:1vJ6Z2:abc"])
def test_a_forged_or_damaged_link_is_refused(client, invitation, token):
    assert problem(client.get(reverse("accounts:invitation_accept", args=[token]))) == "invalid"


def test_the_id_of_another_invitation_cannot_be_swapped_into_a_link(client, invitation, other_co, charlie):
    other = Invitation.objects.create(account=other_co, email="eve@example.com", invited_by=charlie)
    token = invitation.token()
    forged = other.token().split(":", 1)[0] + ":" + token.split(":", 1)[1]
    assert problem(client.get(reverse("accounts:invitation_accept", args=[forged]))) == "invalid"


def test_an_address_of_another_accounts_member_is_refused(client, acme, alice, charlie):
    invitation = Invitation.objects.create(account=acme, email=charlie.email.upper(), invited_by=alice)
    assert problem(client.get(link(invitation))) == "taken"
    assert Membership.objects.get(user=charlie).account.name == "Other Co"


def test_a_staff_address_is_refused(client, acme, alice, rita):
    invitation = Invitation.objects.create(account=acme, email=rita.email, invited_by=alice)
    assert problem(client.get(link(invitation))) == "taken"


def test_a_removed_member_invited_again_chooses_a_new_password_and_is_active_again(client, acme, alice, bob):
    bob.membership.remove()
    invitation = Invitation.objects.create(account=acme, email=bob.email, role="operator", invited_by=alice)
    url = link(invitation)
    assert "bob" in client.get(url).content.decode()
    client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    bob.refresh_from_db()
    assert bob.is_active and bob.check_password(PASSWORD)
    assert Membership.objects.get(user=bob).role == "operator"
