"""Password reset by email: Django's views and token generator, in the console's pages, audited."""

import re

import pytest
from django.urls import reverse

from smsconsole.models import AuditLog

PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture(autouse=True)
def _console_url(settings):
    settings.CONSOLE_URL = "https://sms.example.com/"


def ask(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def reset_link(mail):
    return re.search(r"https://sms\.example\.com(/password-reset/[^\s]+/)", mail.body).group(1)


def test_the_login_page_links_to_the_reset(client, db):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def test_a_known_address_gets_a_link_that_sets_a_new_password(alice, client, mailoutbox, acme):
    response = ask(client, alice.email.upper())
    assert response.url == reverse("password_reset_done")
    (mail,) = mailoutbox
    assert mail.to == [alice.email] and "alice" in mail.body
    page = client.get(reset_link(mail), follow=True)
    assert page.status_code == 200 and "new_password1" in page.content.decode()
    done = client.post(page.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.url == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    entry = AuditLog.objects.get(action="password_reset")
    assert entry.account == acme and entry.actor == alice


def test_a_link_works_once(alice, client, mailoutbox):
    ask(client, alice.email)
    url = reset_link(mailoutbox[0])
    page = client.get(url, follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    again = client.get(url, follow=True)
    assert 'id="link-problem"' in again.content.decode()


def test_an_unknown_address_gets_no_mail_and_the_same_answer(db, client, mailoutbox):
    response = ask(client, "nobody@example.com")
    assert response.url == reverse("password_reset_done") and mailoutbox == []


def test_a_removed_member_gets_no_link(alice, bob, client, mailoutbox):
    bob.membership.remove()
    ask(client, bob.email)
    assert mailoutbox == []


def test_the_pages_use_the_console_layout_in_chinese(db, client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("password_reset")).content.decode()
    assert '<html lang="zh-hans">' in html and "smsconsole/console.css" in html and "忘记密码？" in html
