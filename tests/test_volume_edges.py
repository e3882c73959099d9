"""The edges of a month's volume (campaigns.models.MonthlyVolume): the month turns at local
midnight, and a refund never takes the volume below zero."""

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine

from campaigns import money
from campaigns.models import MonthlyVolume

TIERS = [(100, "0.05"), (None, "0.04")]


def volumes(account):
    return dict(MonthlyVolume.objects.filter(account=account, category="industry").values_list("month", "segments"))


def test_a_charge_after_local_midnight_counts_in_the_new_month(acme, settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8: December begins at 16:00 UTC on November 30
    money.top_up(acme, "100")
    with time_machine.travel(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), tick=False):
        money.charge(acme.pk, "notification", 7)
    with time_machine.travel(datetime(2026, 11, 30, 16, 30, tzinfo=UTC), tick=False):
        money.charge(acme.pk, "notification", 10)
        assert money.month_volume(acme.pk, "industry") == 10

    assert volumes(acme) == {date(2026, 11, 1): 7, date(2026, 12, 1): 10}


def test_a_refund_bigger_than_the_months_volume_leaves_it_at_zero(acme, settings):
    settings.SMS_PRICES = {**settings.SMS_PRICES, "industry": TIERS}
    money.top_up(acme, "100")
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        money.charge(acme.pk, "notification", 50)
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False):
        money.charge(acme.pk, "notification", 10)
        # November's failures, reported in December: refunded from December's volume, at its first tier.
        refund = money.refund(acme.pk, "notification", 30)
        assert refund.amount == money.price_of("industry", 30, 0) == Decimal("1.50")
        assert money.month_volume(acme.pk, "industry") == 0

        # From a volume of -20 the first tier would stretch to 120 segments: 5.50, not 5.40.
        assert money.charge(acme.pk, "notification", 110).amount == -Decimal("5.40")

    assert volumes(acme) == {date(2026, 11, 1): 50, date(2026, 12, 1): 110}


def test_a_refund_in_a_month_without_charges_starts_its_volume_at_zero(acme):
    money.top_up(acme, "100")
    assert money.refund(acme.pk, "promotion", 5).amount == money.price_of("promotion", 5, 0)
    assert money.month_volume(acme.pk, "promotion") == 0
