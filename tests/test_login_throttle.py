"""Wrong passwords are counted per user name and per address: at the limit the login is locked
for the cool-off time with a clear page (429) and an audit entry, even for the right password."""

import pytest
from django.urls import reverse

from smsconsole.models import AuditLog
from tests.factories import PASSWORD

LOGIN = reverse("login")


@pytest.fixture(autouse=True)
def throttle(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def attempt(client, username, password, address="203.0.113.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_still_logs_in_below_the_limit(client, alice):
    for _ in range(4):
        assert attempt(client, "alice", "wrong").status_code == 200
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 302


def test_at_the_limit_even_the_right_password_is_refused_with_a_clear_page(client, alice):
    for _ in range(5):
        attempt(client, "alice", "wrong")
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "after 5 wrong passwords" in html and "Try again in 15 minutes" in html
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_audited_on_the_users_account(client, alice, acme):
    for _ in range(5):
        attempt(client, "alice", "wrong")
    entry = AuditLog.objects.get(action="login_locked_out")
    assert entry.account == acme
    assert entry.after == {"username": "alice", "ip_address": "203.0.113.5"}


def test_one_address_trying_many_names_is_locked_out_too(client, alice, bob):
    for name in ("a1", "a2", "a3", "a4", "a5"):
        attempt(client, name, "wrong", address="198.51.100.9")
    assert attempt(client, "bob", PASSWORD, address="198.51.100.9").status_code == 429
    assert attempt(client, "bob", PASSWORD, address="192.0.2.1").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, alice, time_machine):
    time_machine.move_to("2026-12-01 10:00:00+08:00", tick=False)
    for _ in range(5):
        attempt(client, "alice", "wrong")
    time_machine.shift(16 * 60)
    assert attempt(client, "alice", PASSWORD).status_code == 302


def test_the_lockout_page_is_translated(client, alice):
    client.cookies["django_language"] = "zh-hans"
    for _ in range(5):
        attempt(client, "alice", "wrong")
    html = attempt(client, "alice", PASSWORD).content.decode()
    assert "登录失败次数过多" in html


def test_behind_a_proxy_the_forwarded_client_address_is_counted(settings, client, alice):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            LOGIN, {"username": "x", "password": "wrong"}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7"
        )
    # Another client behind the same proxy is not locked out with the first one.
    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.80"
    )
    assert response.status_code == 302
