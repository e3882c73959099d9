"""Two gateway processes charge one account at once (campaigns.money._move_segments): the second is
priced from the month's volume the first left, read under the account's lock, never from the
volume both saw before either charged. PostgreSQL's row locks; SQLite serialises whole transactions."""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from queue import Queue
from threading import Event

import pytest
from django.db import connection, connections, transaction
from django.db.models import Q, Sum

from campaigns import money
from campaigns.models import LedgerEntry, MonthlyVolume

TIERS = [(100, "0.05"), (None, "0.04")]
CHUNK = 80  # two chunks cross the tier ceiling of 100


def wait_until_blocked_on_a_lock(pid, timeout=10):
    """Returns once the backend `pid` waits for a lock another transaction holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for the first charge's lock")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_charge_waiting_for_another_is_priced_from_the_volume_that_one_left(postgres_url, factories, settings):
    settings.SMS_PRICES = {**settings.SMS_PRICES, "industry": TIERS}
    account = factories.create_account("Busy")
    money.top_up(account, "100")
    first_charged, release_first, second_pid = Event(), Event(), Queue()

    def first():
        try:
            with transaction.atomic():
                money.charge(account.pk, "notification", CHUNK)
                first_charged.set()
                # Holds the account's lock until the second charge waits for it.
                assert release_first.wait(10)
        finally:
            connections.close_all()

    def second():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.put(cursor.fetchone()[0])
            assert first_charged.wait(10)
            money.charge(account.pk, "notification", CHUNK)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        charges = [pool.submit(first), pool.submit(second)]
        try:
            wait_until_blocked_on_a_lock(second_pid.get(timeout=10))
        finally:
            release_first.set()
        for charge in charges:
            charge.result()

    one_after_the_other = money.price_of("industry", CHUNK, 0) + money.price_of("industry", CHUNK, CHUNK)
    assert one_after_the_other == Decimal("7.40")  # 80 at 0.05, then 20 at 0.05 and 60 at 0.04
    entries = LedgerEntry.objects.filter(account=account, kind=LedgerEntry.Kind.CHARGE).order_by("id")
    assert [entry.amount for entry in entries] == [Decimal("-4.00"), Decimal("-3.40")]
    assert [entry.balance_after for entry in entries] == [Decimal("96.00"), Decimal("92.60")]
    assert money.balance(account) == Decimal("100") - one_after_the_other

    net = LedgerEntry.objects.filter(account=account).aggregate(
        n=Sum("segments", filter=Q(kind="charge"), default=0) - Sum("segments", filter=Q(kind="refund"), default=0)
    )["n"]
    assert MonthlyVolume.objects.get(account=account, category="industry").segments == net == 2 * CHUNK
