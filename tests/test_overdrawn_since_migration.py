"""The migration that introduces Account.overdrawn_since dates the arrears of accounts already in the
red from their ledger, so the grace and retention periods count from when the balance turned negative."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("smsconsole", "0004_account_read_only_full_numbers"), ("campaigns", "0004_ledgerentry")]
AFTER = [("smsconsole", "0005_account_overdrawn_since")]


def at(day):
    return datetime(2025, 5, day, 12, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_accounts_in_the_red_are_dated_from_the_entry_that_turned_them_negative():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Account, LedgerEntry = apps.get_model("smsconsole", "Account"), apps.get_model("campaigns", "LedgerEntry")

    def account(name, balance, *entries):
        row = Account.objects.create(name=name, balance=balance, created_at=at(1))
        for day, amount, after in entries:
            LedgerEntry.objects.create(
                account=row, kind="correction", amount=amount, balance_after=after, note="test", created_at=at(day)
            )
        return row.pk

    back_in_the_red = account("Back", -6, (2, 10, 10), (3, -15, -5), (4, -1, -6))
    always_red = account("Red", -3, (5, -3, -3))
    without_entries = account("Bare", -1)
    covered = account("Covered", 0, (2, 5, 5), (3, -5, 0))

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    since = dict(apps.get_model("smsconsole", "Account").objects.values_list("pk", "overdrawn_since"))

    try:
        assert since[back_in_the_red] == at(3)
        assert since[always_red] == at(5)
        assert since[without_entries] == at(1)
        assert since[covered] is None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
