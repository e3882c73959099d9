"""Settings → Sending settings and Settings → Balance: operators change the limits, read-only
members see them, every account sees only its own."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import frequency, money
from campaigns.models import AccountLimits
from smsconsole.models import AuditLog

URL = reverse("campaigns:sending_settings")


def form_data(**changes):
    data = {
        "timezone": "Asia/Shanghai",
        "promotion_start_hour": "8",
        "promotion_end_hour": "22",
        "daily_alert": "",
        "daily_limit": "",
        "monthly_alert": "",
        "monthly_limit": "",
        "message_text_days": "30",
    }
    for family, rules in frequency.default_caps().items():
        for index, (seconds, limit) in enumerate(rules):
            data[f"{family}_{index}_limit"] = str(limit)
            data[f"{family}_{index}_seconds"] = str(seconds)
    data.update(changes)
    return data


def test_the_page_shows_the_reference_defaults_for_an_account_that_never_set_any(alice_client):
    html = alice_client.get(URL).content.decode()
    assert 'name="notification_0_limit" value="10"' in html
    assert 'name="promotion_1_limit" value="10"' in html
    assert 'name="content_1_limit" value="5"' in html
    assert '<option value="3540" selected>' in html  # 5 per 59 minutes for the same content


def test_an_operator_saves_quotas_window_caps_and_time_zone_and_the_change_is_audited(alice_client, acme):
    response = alice_client.post(
        URL,
        form_data(
            timezone="Europe/Berlin",
            promotion_start_hour="9",
            promotion_end_hour="21",
            daily_alert="400",
            daily_limit="500",
            monthly_limit="10000",
            notification_0_limit="3",
            promotion_1_limit="",
            promotion_1_seconds="",
        ),
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    limits = AccountLimits.objects.get(account=acme)
    assert acme.timezone == "Europe/Berlin"
    assert limits.promotion_hours == (9, 21)
    assert (limits.daily_alert, limits.daily_limit, limits.monthly_alert, limits.monthly_limit) == (
        400,
        500,
        None,
        10000,
    )
    assert limits.frequency_caps["notification"] == [[60, 3], [86400, 50]]
    assert limits.frequency_caps["promotion"] == [[3600, 4]]
    # campaigns.frequency, the owner of the caps, reads what was saved.
    caps = frequency.FrequencyCaps.for_account(acme.pk)
    assert caps.rules["notification"] == ((60, 3), (86400, 50))
    assert caps.content_rules == ((59, 2), (3540, 5))
    entry = AuditLog.objects.get(account=acme, action="edit", object_type="accountlimits")
    assert entry.before["timezone"] == "Asia/Shanghai" and entry.after["daily_limit"] == 500


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"daily_alert": "600", "daily_limit": "500"}, "daily_alert"),
        ({"promotion_start_hour": "21", "promotion_end_hour": "9"}, "promotion_end_hour"),
        ({"promotion_start_hour": "7"}, "promotion_start_hour"),
        ({"notification_0_seconds": ""}, "notification_0_limit"),
        ({"verification_1_seconds": "60"}, "verification_1_seconds"),
    ],
)
def test_settings_that_cannot_hold_are_refused_with_the_field_marked_and_nothing_saved(
    alice_client, acme, changes, field
):
    response = alice_client.post(URL, form_data(**changes))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not AccountLimits.objects.filter(account=acme).exists()


def test_a_read_only_member_sees_the_settings_disabled_and_cannot_post(client, bob, acme):
    AccountLimits.objects.create(account=acme, daily_limit=700)
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert 'name="daily_limit" value="700"' in html and "disabled" in html
    assert 'id="settings-save"' not in html
    client.post(URL, form_data(daily_limit="1"))
    assert AccountLimits.objects.get(account=acme).daily_limit == 700


def test_another_account_sees_its_own_settings_and_balance_only(client, charlie, acme):
    AccountLimits.objects.create(account=acme, daily_limit=700)
    money.top_up(acme, "123.45", note="Acme's payment")
    client.force_login(charlie)
    assert 'name="daily_limit" value="700"' not in client.get(URL).content.decode()
    html = client.get(reverse("campaigns:balance")).content.decode()
    assert "Acme&#x27;s payment" not in html and "123.45" not in html
    client.post(URL, form_data(daily_limit="1"))
    assert AccountLimits.objects.get(account=acme).daily_limit == 700


def test_the_balance_page_shows_the_balance_the_ledger_by_page_and_the_tiers(
    alice_client, acme, django_assert_max_num_queries
):
    money.top_up(acme, "100", note="first payment")
    for _ in range(55):
        money.charge(acme.pk, "notification", 10)
    with django_assert_max_num_queries(12):
        response = alice_client.get(reverse("campaigns:balance"))
    html = response.content.decode()
    assert money.balance(acme) == Decimal("100") - 55 * Decimal("0.65")
    assert "64.25 CNY" in html
    assert html.count('data-kind="charge"') == 50
    assert "550 this month" in html and "0.065" in html and "1,000,001 to 3,000,000" in html
    second = alice_client.get(reverse("campaigns:balance") + "?page=2").content.decode()
    assert 'data-kind="top_up"' in second and "first payment" in second


def test_staff_raise_an_accounts_quota_in_the_admin_and_the_change_is_audited(admin_client, acme):
    data = {
        "account": acme.pk,
        "promotion_start_hour": 8,
        "promotion_end_hour": 22,
        "daily_limit": 5000,
        "frequency_caps": json.dumps(frequency.default_caps()),
    }
    response = admin_client.post(reverse("admin:campaigns_accountlimits_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AccountLimits.objects.get(account=acme).daily_limit == 5000
    assert AuditLog.objects.get(account=acme, object_type="accountlimits").after["daily_limit"] == "5000"
    bad = dict(data, frequency_caps=json.dumps({"notification": [[0, 5]]}))
    AccountLimits.objects.all().delete()
    response = admin_client.post(reverse("admin:campaigns_accountlimits_add"), bad)
    assert response.status_code == 200 and not AccountLimits.objects.exists()
