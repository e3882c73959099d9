"""`manage.py rebuild_monthly_volume` (campaigns.money.rebuild_month_volume): this month's volume
counted again from the ledger, for charges an earlier version wrote without counting them."""

from datetime import UTC, date, datetime
from io import StringIO

import time_machine
from django.core.management import call_command

from campaigns import money
from campaigns.models import LedgerEntry, MonthlyVolume

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def uncounted_charge(account, segments, when=NOW):
    """A charge as a process of the earlier version wrote it during the deploy: in the ledger only."""
    LedgerEntry.objects.create(
        account=account,
        kind=LedgerEntry.Kind.CHARGE,
        category="industry",
        segments=segments,
        amount=-1,
        balance_after=0,
        created_at=when,
    )


def volumes(account):
    rows = MonthlyVolume.objects.filter(account=account).values_list("category", "month", "segments")
    return {(category, month): segments for category, month, segments in rows}


def rebuild():
    out = StringIO()
    call_command("rebuild_monthly_volume", stdout=out)
    return out.getvalue()


@time_machine.travel(NOW, tick=False)
def test_charges_the_rows_never_counted_are_counted_and_the_rest_is_left_alone(acme, other_co):
    money.top_up(acme, "100")
    money.top_up(other_co, "100")
    money.charge(acme.pk, "notification", 300)
    money.charge(acme.pk, "promotion", 7)
    money.charge(other_co.pk, "notification", 5)
    uncounted_charge(acme, 40)
    uncounted_charge(acme, 5_000, when=datetime(2026, 11, 20, tzinfo=UTC))  # last month: not this month's

    output = rebuild()

    assert f"account {acme.pk}: industry was 300, the ledger says 340" in output
    assert output.count("was") == 1 and "2 account(s) counted." in output
    assert volumes(acme) == {("industry", date(2026, 12, 1)): 340, ("promotion", date(2026, 12, 1)): 7}
    assert volumes(other_co) == {("industry", date(2026, 12, 1)): 5}
    assert rebuild().count("was") == 0  # counted once, nothing left to change


@time_machine.travel(NOW, tick=False)
def test_the_month_is_replayed_in_order_stopping_at_zero_as_refunds_do(acme):
    money.top_up(acme, "100")
    money.charge(acme.pk, "notification", 10)
    money.refund(acme.pk, "notification", 30)  # November's failures: the volume stops at zero
    money.charge(acme.pk, "notification", 50)
    assert money.month_volume(acme.pk, "industry") == 50
    MonthlyVolume.objects.filter(account=acme).delete()  # as if the migration had never counted them

    assert f"account {acme.pk}: industry was 0, the ledger says 50" in rebuild()
    assert money.month_volume(acme.pk, "industry") == 50  # not 10 - 30 + 50 = 30
