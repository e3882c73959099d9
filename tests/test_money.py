"""Balances as a ledger and prices in monthly tiers (campaigns.money)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns import money
from campaigns.models import LedgerEntry


def test_prices_climb_the_monthly_tiers_and_a_charge_crossing_one_is_priced_in_both():
    assert money.price_of("industry", 1, 0) == Decimal("0.0650")
    assert money.price_of("industry", 10, 999_995) == Decimal("5") * Decimal("0.065") + Decimal("5") * Decimal("0.060")
    assert money.price_of("promotion", 2, 5_000_000) == Decimal("0.1400")


def test_a_top_up_and_a_charge_move_the_balance_and_write_the_ledger(acme):
    money.top_up(acme, "10")
    entry = money.charge(acme.pk, "notification", 100)
    assert entry.amount == Decimal("-6.5000") and entry.balance_after == Decimal("3.5000")
    assert money.balance(acme) == Decimal("3.5000")
    assert money.month_volume(acme.pk, "industry") == 100
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["charge", "top_up"]


def test_a_charge_the_balance_cannot_cover_takes_nothing(acme):
    money.top_up(acme, "1")
    with pytest.raises(money.InsufficientBalance):
        money.charge(acme.pk, "promotion", 100)
    assert money.balance(acme) == Decimal("1.0000")
    assert LedgerEntry.objects.count() == 1


def test_a_refund_gives_back_what_was_charged(acme):
    money.top_up(acme, "1")
    money.charge(acme.pk, "verification", 10)
    money.refund(acme.pk, "verification", 4, note="UNDELIV")
    assert money.balance(acme) == Decimal("1") - Decimal("0.65") + Decimal("0.26")
    assert money.month_volume(acme.pk, "industry") == 6


def test_a_correction_needs_its_reason(acme):
    with pytest.raises(ValueError):
        money.correct(acme, "-1", "")
    money.correct(acme, "-1", "double top-up")
    assert money.balance(acme) == Decimal("-1.0000")


def run(*args):
    out = StringIO()
    call_command("balance", *args, stdout=out)
    return out.getvalue().strip()


def test_the_balance_command_prints_and_adds_by_name_or_id(acme):
    assert run("Acme") == "0.0000"
    assert run(str(acme.pk), "--add", "12.5") == "12.5000"
    assert run("Acme", "--add", "-2.5", "--note", "goodwill reversed") == "10.0000"
    with pytest.raises(CommandError):
        run("Acme", "--add", "-1")
    with pytest.raises(CommandError):
        run("Nobody")


def test_staff_record_top_ups_and_corrections_in_the_admin(client, acme):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    client.post("/admin/campaigns/ledgerentry/add/", {"account": acme.pk, "amount": "50", "note": ""})
    refused = client.post("/admin/campaigns/ledgerentry/add/", {"account": acme.pk, "amount": "-5", "note": ""})
    assert "Give the reason" in refused.content.decode()
    client.post("/admin/campaigns/ledgerentry/add/", {"account": acme.pk, "amount": "-5", "note": "typo"})
    assert money.balance(acme) == Decimal("45.0000")
    entry = LedgerEntry.objects.filter(kind="top_up").get()
    assert entry.created_by == root
    assert client.post(f"/admin/campaigns/ledgerentry/{entry.pk}/change/", {"amount": "999"}).status_code == 403


def test_the_demo_account_gets_its_balance_once(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    from smsconsole.models import Account

    assert money.balance(Account.objects.get(name="Demo Company")) == Decimal("1000.0000")
