"""Sign-up with a verified address: nothing is stored until the emailed link is used, once."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts import emails
from accounts.models import is_activated
from smsconsole.models import Account, AuditLog, Membership

PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture(autouse=True)
def _signup_on(settings):
    settings.SMS_SIGNUP_ENABLED = True
    settings.CONSOLE_URL = "https://sms.example.com/"


def link_in(mail):
    return re.search(r"https://sms\.example\.com(/signup/[^\s]+/)", mail.body).group(1)


def sign_up(client, email="nina@newcomer.example", account_name="Newcomer"):
    return client.post(reverse("accounts:signup"), {"email": email, "account_name": account_name})


def complete(client, link, username="nina", password=PASSWORD):
    return client.post(link, {"username": username, "password1": password, "password2": password})


def test_sign_up_is_off_unless_the_setting_turns_it_on(db, client, settings):
    settings.SMS_SIGNUP_ENABLED = False
    assert client.get(reverse("accounts:signup")).status_code == 404
    assert client.get(reverse("accounts:signup_complete", args=[emails.signup_token("a@b.c", "X")])).status_code == 404
    assert reverse("accounts:signup") not in client.get(reverse("login")).content.decode()


def test_the_login_page_offers_sign_up_when_it_is_on(db, client):
    assert reverse("accounts:signup") in client.get(reverse("login")).content.decode()


def test_signing_up_sends_a_link_and_stores_nothing(db, client, mailoutbox):
    response = sign_up(client)
    assert response.url == reverse("accounts:signup_sent")
    (mail,) = mailoutbox
    assert mail.to == ["nina@newcomer.example"] and "Newcomer" in mail.body
    assert not get_user_model().objects.exists() and not Account.objects.exists()


def test_the_link_creates_the_user_the_account_and_its_operator_and_logs_in(db, client, mailoutbox):
    sign_up(client)
    link = link_in(mailoutbox[0])
    page = client.get(link).content.decode()
    assert "nina@newcomer.example" in page and "Newcomer" in page
    response = complete(client, link)
    assert response.url == reverse("accounts:activation")
    user = get_user_model().objects.get(username="nina")
    assert user.email == "nina@newcomer.example" and user.check_password(PASSWORD)
    membership = Membership.objects.select_related("account").get(user=user)
    assert membership.role == "operator" and membership.account.name == "Newcomer"
    assert not is_activated(membership.account)
    entry = AuditLog.objects.get(action="sign_up")
    assert entry.account == membership.account and entry.actor == user
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_link_works_once(db, client, mailoutbox):
    sign_up(client)
    link = link_in(mailoutbox[0])
    complete(client, link)
    client.logout()
    response = client.get(link)
    assert 'data-problem="used"' in response.content.decode()
    complete(client, link, username="nina2")
    assert get_user_model().objects.count() == 1 and Account.objects.count() == 1


def test_an_expired_link_is_refused(db, client, mailoutbox, settings):
    sign_up(client)
    link = link_in(mailoutbox[0])
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)):
        response = complete(client, link)
    assert 'data-problem="expired"' in response.content.decode()
    assert not Account.objects.exists()


def test_a_tampered_link_is_refused(db, client):
    token = emails.signup_token("nina@newcomer.example", "Newcomer")
    payload, rest = token.split(":", 1)
    forged = emails.signup_token("mallory@evil.example", "Evil")[: len(payload)] + ":" + rest
    response = client.get(reverse("accounts:signup_complete", args=[forged]))
    assert 'data-problem="invalid"' in response.content.decode()


def test_an_address_with_a_user_gets_a_different_mail_and_the_same_page(client, alice, mailoutbox):
    response = sign_up(client, email=alice.email.upper())
    assert response.url == reverse("accounts:signup_sent")
    (mail,) = mailoutbox
    assert "a user with this address exists already" in mail.body
    assert reverse("password_reset") in mail.body and "/signup/" not in mail.body


def test_weak_passwords_and_taken_user_names_are_refused(client, alice, mailoutbox):
    sign_up(client)
    link = link_in(mailoutbox[0])
    response = complete(client, link, password="12345678")
    assert response.context["form"].errors["password2"]
    response = complete(client, link, username="ALICE")
    assert response.context["form"].errors["username"]
    assert not Account.objects.filter(name="Newcomer").exists()


def test_a_logged_in_member_is_sent_to_the_overview(alice_client):
    assert alice_client.get(reverse("accounts:signup")).url == reverse("dashboard")
