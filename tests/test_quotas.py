"""Daily and monthly quotas (campaigns.quotas): reservations in the account's periods, the alert
once per period, and a hard limit that grants less than asked."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from campaigns import quotas
from campaigns.models import AccountLimits, QuotaUsage
from smsconsole.models import Account


def set_limits(account, **fields):
    AccountLimits.objects.update_or_create(account=account, defaults=fields)


@pytest.fixture
def ops(factories, acme):
    return factories.create_contact(acme, name="Ops", email="ops@acme.example")


def test_an_account_without_limits_is_granted_everything_and_has_unlimited_room(acme):
    assert quotas.reserve(acme.pk, 1_000_000) == 1_000_000
    assert quotas.room(acme.pk) is None
    assert quotas.usage(acme.pk)[QuotaUsage.Period.DAY] == 1_000_000


def test_without_limits_each_reservation_adds_to_both_periods_and_a_new_day_starts_its_own(acme):
    """The path of accounts without limits: one UPDATE of existing rows, the long way for the
    first reservation of a period (a new day's row, the month's row already there)."""
    with time_machine.travel(datetime(2026, 12, 1, 4, 0, tzinfo=UTC)):
        for _ in range(3):
            assert quotas.reserve(acme.pk, 400) == 400
        assert quotas.usage(acme.pk) == {QuotaUsage.Period.DAY: 1200, QuotaUsage.Period.MONTH: 1200}
    with time_machine.travel(datetime(2026, 12, 2, 4, 0, tzinfo=UTC)):
        assert quotas.reserve(acme.pk, 400) == 400
        assert quotas.reserve(acme.pk, 400) == 400
        assert quotas.usage(acme.pk) == {QuotaUsage.Period.DAY: 800, QuotaUsage.Period.MONTH: 2000}
    assert QuotaUsage.objects.filter(account=acme).count() == 3


def test_the_daily_limit_grants_what_is_left_then_nothing(acme):
    set_limits(acme, daily_limit=100)
    assert quotas.reserve(acme.pk, 60) == 60
    assert quotas.room(acme.pk) == 40
    assert quotas.reserve(acme.pk, 60) == 40
    assert quotas.reserve(acme.pk, 1) == 0
    assert quotas.room(acme.pk) == 0


def test_the_monthly_limit_holds_across_days(acme):
    set_limits(acme, monthly_limit=150)
    with time_machine.travel(datetime(2026, 12, 1, 4, 0, tzinfo=UTC), tick=False):
        assert quotas.reserve(acme.pk, 100) == 100
    with time_machine.travel(datetime(2026, 12, 2, 4, 0, tzinfo=UTC), tick=False):
        assert quotas.reserve(acme.pk, 100) == 50


def test_release_gives_back_to_the_period_of_the_reservation(acme):
    set_limits(acme, daily_limit=100)
    reserved_at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    with time_machine.travel(reserved_at, tick=False):
        assert quotas.reserve(acme.pk, 100) == 100
    with time_machine.travel(datetime(2026, 12, 1, 16, 30, tzinfo=UTC), tick=False):  # 00:30 the next day
        assert quotas.reserve(acme.pk, 10) == 10
        quotas.release(acme.pk, 30, reserved_at)
        assert quotas.room(acme.pk) == 90  # today's room is untouched by yesterday's release
    assert QuotaUsage.objects.get(account=acme, period="day", starts_on="2026-12-01").used == 70


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Midnight on the account's clock, not UTC's: 16:00 UTC is 00:00 in Shanghai.
        ("Asia/Shanghai", datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC), datetime(2027, 1, 1, 5, 0, tzinfo=UTC)),
    ],
)
def test_a_new_day_and_month_begin_at_midnight_in_the_accounts_zone(acme, zone, before, after):
    Account.objects.filter(pk=acme.pk).update(timezone=zone)
    set_limits(acme, daily_limit=10, monthly_limit=10)
    with time_machine.travel(before, tick=False):
        assert quotas.reserve(acme.pk, 10) == 10
        assert quotas.reserve(acme.pk, 1) == 0
    with time_machine.travel(after, tick=False):
        assert quotas.reserve(acme.pk, 1) == 1
    rows = sorted(QuotaUsage.objects.filter(account=acme).values_list("period", "starts_on", "used"))
    assert [(period, str(day), used) for period, day, used in rows] == [
        ("day", "2026-12-31", 10),
        ("day", "2027-01-01", 1),
        ("month", "2026-12-01", 10),
        ("month", "2027-01-01", 1),
    ]


def test_crossing_the_alert_threshold_mails_the_traffic_contacts_once_per_period(
    acme, ops, factories, django_capture_on_commit_callbacks
):
    factories.create_contact(acme, name="Quiet", email="quiet@acme.example", notify_traffic=False)
    set_limits(acme, daily_alert=50, daily_limit=100)
    with time_machine.travel(datetime(2026, 12, 1, 4, 0, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 49)
        assert mail.outbox == []
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 2)
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 10)
    assert [message.to for message in mail.outbox] == [["ops@acme.example"]]
    message = mail.outbox[0]
    assert "daily alert threshold" in message.subject and "日发送量预警值" in message.subject
    assert "51 messages today (2026-12-01)" in message.body and "已发送 51 条短信" in message.body
    with time_machine.travel(datetime(2026, 12, 2, 4, 0, tzinfo=UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            quotas.reserve(acme.pk, 50)
    assert len(mail.outbox) == 2  # a new day warns again


def test_reaching_the_limit_mails_once_and_a_redelivered_task_mails_nobody_twice(
    acme, ops, django_capture_on_commit_callbacks
):
    set_limits(acme, monthly_limit=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert quotas.reserve(acme.pk, 30) == 20
        assert quotas.reserve(acme.pk, 5) == 0
    assert len(mail.outbox) == 1
    assert "monthly sending limit" in mail.outbox[0].subject and "月发送限额" in mail.outbox[0].subject
    assert "held, not sent" in mail.outbox[0].body
    row = QuotaUsage.objects.get(account=acme, period="month")
    assert quotas.send_mail(row.pk, quotas.LIMIT)["skipped"] == "already_mailed"
    assert len(mail.outbox) == 1


def test_the_day_that_runs_out_mails_its_limit_and_the_month_with_room_does_not(
    acme, ops, django_capture_on_commit_callbacks
):
    set_limits(acme, daily_limit=10, monthly_limit=1000)
    with django_capture_on_commit_callbacks(execute=True):
        assert quotas.reserve(acme.pk, 25) == 10
    assert len(mail.outbox) == 1 and "daily sending limit" in mail.outbox[0].subject
    assert QuotaUsage.objects.get(account=acme, period="month").limited_at is None


def test_accounts_count_apart(acme, other_co):
    set_limits(acme, daily_limit=5)
    assert quotas.reserve(acme.pk, 5) == 5
    assert quotas.reserve(other_co.pk, 5) == 5
    assert quotas.room(acme.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_pass_the_limit_together(factories):
    """Eight senders at once, each on its own database connection: the locked rows let exactly
    the limit through, however the reservations interleave."""
    from django.db import connection as main_connection

    if main_connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by locking the whole file; the row lock is PostgreSQL's")
    import threading

    from django.db import connections

    account = factories.create_account("Busy")
    set_limits(account, daily_limit=100)
    granted, start = [], threading.Barrier(8)

    def sender():
        try:
            start.wait()
            for _ in range(10):
                granted.append(quotas.reserve(account.pk, 3))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 100
    assert QuotaUsage.objects.get(account=account, period="day").used == 100
