"""A month's volume per price category (campaigns.money.month_volume, the tier of the next charge) is
one counter row moved with each charge and refund, equal to the sum of the month's ledger entries."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q, Sum

from campaigns import money
from campaigns.models import LedgerEntry, MonthlyVolume


def ledger_sum(account, category):
    """The month's volume as the ledger records it: charges less refunds since the month began."""
    entries = LedgerEntry.objects.filter(account=account, category=category, created_at__gte=money.month_start())
    totals = entries.aggregate(
        charged=Sum("segments", filter=Q(kind="charge"), default=0),
        refunded=Sum("segments", filter=Q(kind="refund"), default=0),
    )
    return totals["charged"] - totals["refunded"]


def test_charges_and_refunds_move_their_category_and_nothing_else(acme, other_co):
    money.top_up(acme, "100")
    money.top_up(other_co, "100")
    money.charge(acme.pk, "notification", 300)
    money.charge(acme.pk, "verification", 20)
    money.charge(acme.pk, "promotion", 7)
    money.refund(acme.pk, "notification", 15)
    money.charge(other_co.pk, "notification", 5)

    assert money.month_volume(acme.pk, "industry") == 305 == ledger_sum(acme, "industry")
    assert money.month_volume(acme.pk, "promotion") == 7 == ledger_sum(acme, "promotion")
    assert money.month_volume(other_co.pk, "industry") == 5
    assert money.month_volume(other_co.pk, "promotion") == 0
    assert MonthlyVolume.objects.count() == 3  # one row per account, category and month


def test_a_refused_charge_counts_nothing(acme):
    money.top_up(acme, "1")
    money.charge(acme.pk, "notification", 10)
    with pytest.raises(money.InsufficientBalance):
        money.charge(acme.pk, "promotion", 100)
    with pytest.raises(money.InsufficientBalance):
        money.charge(acme.pk, "notification", 100)
    assert money.month_volume(acme.pk, "industry") == 10
    assert money.month_volume(acme.pk, "promotion") == 0


def test_a_new_month_starts_from_nothing_and_prices_from_the_first_tier(acme, settings):
    settings.SMS_PRICES = {**settings.SMS_PRICES, "industry": [(100, "0.05"), (None, "0.04")]}
    money.top_up(acme, "100")
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        money.charge(acme.pk, "notification", 150)
        assert money.month_volume(acme.pk, "industry") == 150
        assert money.charge(acme.pk, "notification", 10).amount == -money.price_of("industry", 10, 150)
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False):
        assert money.month_volume(acme.pk, "industry") == 0
        entry = money.charge(acme.pk, "notification", 10)
        assert entry.amount == -money.price_of("industry", 10, 0) == -Decimal("0.5")
        assert money.month_volume(acme.pk, "industry") == 10
    with time_machine.travel(datetime(2026, 11, 30, 13, 0, tzinfo=UTC), tick=False):
        assert money.month_volume(acme.pk, "industry") == 160


BEFORE = [("campaigns", "0024_merge_batch_number_receipt_names")]
AFTER = [("campaigns", "0025_monthly_volume")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_current_month_from_the_ledger():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Account, LedgerEntry = apps.get_model("smsconsole", "Account"), apps.get_model("campaigns", "LedgerEntry")
    acme = Account.objects.create(name="Acme", balance=0)
    now = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)

    def entry(kind, category, segments, when, amount):
        LedgerEntry.objects.create(
            account=acme,
            kind=kind,
            category=category,
            segments=segments,
            amount=amount,
            balance_after=0,
            created_at=when,
        )

    entry("charge", "industry", 400, now, -20)
    entry("refund", "industry", 30, now, 1)
    entry("charge", "promotion", 9, now, -1)
    entry("charge", "industry", 5_000, datetime(2026, 11, 20, tzinfo=UTC), -250)  # last month: not counted
    entry("top_up", "", 0, now, 100)

    try:
        with time_machine.travel(now, tick=False):
            executor = MigrationExecutor(connection)
            executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        volumes = apps.get_model("campaigns", "MonthlyVolume").objects.filter(account_id=acme.pk)
        assert sorted(volumes.values_list("category", "month", "segments")) == [
            ("industry", datetime(2026, 12, 1).date(), 370),
            ("promotion", datetime(2026, 12, 1).date(), 9),
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
