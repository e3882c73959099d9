"""`manage.py bench_results`: refuses SQLite, and on PostgreSQL generates messages and the rollups that
match them, then prints the statistics page's p95."""

import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Q, Sum

from campaigns.models import HourlyStat, Message
from reports.management.commands.bench_results import percentile


def test_it_refuses_sqlite(db):
    with mock.patch.object(connection, "vendor", "sqlite"), pytest.raises(CommandError, match="PostgreSQL"):
        call_command("bench_results", stdout=io.StringIO())


def test_the_nearest_rank_percentile():
    samples = list(range(1, 101))
    assert percentile(samples, 95) == 95
    assert percentile(samples, 50) == 50
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2, 10], 95) == 10


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_small_run_writes_rollups_equal_to_the_messages_and_prints_the_p95(postgres_url):
    out = io.StringIO()
    options = dict(messages=3000, days=4, applications=2, templates=2, runs=4, warmup=1, stdout=out)
    call_command("bench_results", **options)
    printed = out.getvalue()
    assert "check: the statistics page's 31-day total equals the messages counted" in printed
    assert "statistics page: 4 requests, p50" in printed and "p95" in printed

    messages = Message.objects.aggregate(
        total=Count("id"),
        delivered=Count("id", filter=Q(status="delivered")),
        failed=Count("id", filter=Q(status__in=["failed", "expired"])),
        sending=Count("id", filter=Q(status="submitted")),
        unknown=Count("id", filter=Q(status="unknown")),
        segments=Sum("segments"),
    )
    rollups = HourlyStat.objects.aggregate(**{name: Sum(name) for name in messages})
    assert messages["total"] == 3000
    assert rollups == messages
    # The last two days are left as the unsquashed delta rows the lifecycle writes.
    assert HourlyStat.objects.filter(is_squashed=False).exists()
    assert HourlyStat.objects.filter(is_squashed=True).exists()

    # A second run of the same size reuses the data set.
    again = io.StringIO()
    call_command("bench_results", **{**options, "stdout": again})
    assert "data set: reusing 3,000 messages" in again.getvalue()
    assert Message.objects.count() == 3000
