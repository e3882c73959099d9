"""`manage.py bench_records`: send-records searches and failed-number exports with many message rows.

PostgreSQL only. Writes `--messages` rows (default 10,000,000) set-based into `--campaigns`
completed campaigns of the Benchmark account spread over the last 90 days (3 % failed, 1 % expired,
½ % unknown, ½ % skipped, the rest delivered), and one campaign of `--failed` failed messages
(default 1,000,000). Rows already there from an earlier run are kept (--fresh writes them again).
Large writes drop the message indexes first and build them after, as a bulk load would.

Then prints, through the real views (Django's test client, templates rendered):
- p50/p95 of each send-records search over `--runs` requests: the whole page, the search's own
  queries alone (the part that grows with the rows; the page adds the session, the form's selects
  and the template), and PostgreSQL's own planning and execution time of those queries (EXPLAIN
  ANALYZE), which a loaded machine does not stretch;
- the failed-number download of the big campaign as CSV and XLSX: time and the process's peak RSS
  growth while streaming (VmHWM reset before each), and `manage.py export_failed_numbers` in a
  child process (its peak RSS).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.management.bench_setup import bench_template
from campaigns.models import Campaign, Message, ProviderConnection, RecipientImport
from reports.management.commands.bench_results import other_message_columns
from reports.records import PAGE_SIZE, RecordSearch, RecordSearchForm
from smsconsole.models import Membership

PROJECT_DIR = Path(__file__).resolve().parents[3]
PREFIX = "bench-records-"
FAILED_NAME = "bench-records-failed"

INSERT = """
INSERT INTO campaigns_message (campaign_id, connection_id, phone, variables, segments, status, provider_id,
    skip_reason, error_code, error, attempts, submitted_at, done_at, updated_at{extra_columns})
SELECT %(campaign)s, %(connection)s, '+86139' || lpad(g::text, 8, '0'), '["A1", "B2"]'::jsonb, 1, s.status,
    CASE WHEN s.status = 'skipped' THEN NULL ELSE 'br-' || %(campaign)s || '-' || g END,
    CASE WHEN s.status = 'skipped' THEN 'opt_out' ELSE '' END,
    CASE WHEN s.status = 'failed' THEN '001' ELSE '' END, '', 1,
    CASE WHEN s.status = 'skipped' THEN NULL ELSE %(start)s + g * %(step)s END,
    CASE WHEN s.status IN ('skipped', 'unknown') THEN NULL ELSE %(start)s + g * %(step)s + interval '5 seconds' END,
    %(start)s + g * %(step)s{extra_values}
FROM generate_series(1, %(count)s) AS g
CROSS JOIN LATERAL (SELECT CASE
    WHEN %(all_failed)s OR g %% 100 < 3 THEN 'failed' WHEN g %% 100 = 3 THEN 'expired'
    WHEN g %% 200 = 4 THEN 'unknown' WHEN g %% 200 = 5 THEN 'skipped' ELSE 'delivered' END AS status) AS s
"""

INSERT_COLUMNS = {
    "id", "campaign_id", "connection_id", "phone", "variables", "segments", "status", "provider_id", "skip_reason",
    "error_code", "error", "attempts", "submitted_at", "done_at", "updated_at",
}  # fmt: skip


def insert_sql():
    """INSERT with every other column of Message at its model default (receipt_stat, via_api, …)."""
    others = other_message_columns(INSERT_COLUMNS)
    sql = INSERT.format(
        extra_columns="".join(f", {column}" for column, _v in others),
        extra_values="".join(f", %(default_{column})s" for column, _v in others),
    )
    return sql, {f"default_{column}": value for column, value in others}


def peak_rss_reset():
    """Resets this process's VmHWM (Linux: clear_refs 5), so the next reading is the peak from here."""
    with open(f"/proc/{os.getpid()}/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_mb():
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def rss_mb():
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def median(times):
    return statistics.median(times)


def p95(times):
    return statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]


def execution_ms(sql):
    """What PostgreSQL spent executing a statement (EXPLAIN ANALYZE), free of the client's and the
    machine's load: a shared machine's load stretches the wall times above."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Execution Time"] + plan[0]["Planning Time"]


def search_page(account, params):
    """The search's own queries for one page (campaigns, capped count, page ids, page rows), no HTTP
    and no template: what grows with the number of rows."""
    with timezone.override(zoneinfo.ZoneInfo(account.timezone)):
        form = RecordSearchForm(RecordSearchForm.defaults(QueryDict(urlencode(params))), account)
        if not form.is_valid():
            raise CommandError(form.errors.as_text())
        return Paginator(RecordSearch(account, form.cleaned_data), PAGE_SIZE).get_page(params.get("page")).object_list


class Command(BaseCommand):
    help = "Send-records search p95 and failed-number exports with many message rows (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10_000_000)
        parser.add_argument("--campaigns", type=int, default=200)
        parser.add_argument("--failed", type=int, default=1_000_000)
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--fresh", action="store_true", help="Delete and write the benchmark's rows again.")
        parser.add_argument("--no-exports", action="store_true", help="Measure the searches only.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_records needs PostgreSQL (set DATABASE_URL).")
        application, template = bench_template("bench_records", "Order ${1} for ${2} has shipped.", ["CHARDIGIT"] * 2)
        account = application.account
        if options["fresh"]:
            Campaign.objects.filter(account=account, name__startswith=PREFIX).delete()
        self.write_rows(application, template, options)
        user, _ = get_user_model().objects.get_or_create(username="bench-records")
        Membership.objects.get_or_create(user=user, defaults={"account": account, "role": "operator"})
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(user)
        self.searches(client, account, options["runs"])
        if not options["no_exports"]:
            self.exports(client, account)

    # --- data ---------------------------------------------------------------------------------

    def write_rows(self, application, template, options):
        account = application.account
        have = Campaign.objects.filter(account=account, name__startswith=PREFIX).count()
        wanted = options["campaigns"] + (1 if options["failed"] else 0)
        if have >= wanted:
            self.stdout.write(f"{have} benchmark campaigns already there; their rows are reused")
            return
        Campaign.objects.filter(account=account, name__startswith=PREFIX).delete()
        connection_, _ = ProviderConnection.objects.get_or_create(
            name="bench-records", defaults={"host": "127.0.0.1", "port": 2775, "system_id": "bench"}
        )
        recipients = RecipientImport.objects.create(
            account=account, application=application, template=template, original_name="bench.csv", status="completed"
        )
        now = timezone.now()
        per_campaign = options["messages"] // options["campaigns"]
        plan = [
            (f"{PREFIX}{n:04d}", now - timedelta(days=89) + timedelta(days=89) * n / options["campaigns"], per_campaign)
            for n in range(options["campaigns"])
        ]
        if options["failed"]:
            plan.append((FAILED_NAME, now - timedelta(days=1), options["failed"]))
        total = sum(count for _name, _start, count in plan)
        started = time.monotonic()
        sql, defaults = insert_sql()
        with transaction.atomic():
            indexes = self.drop_indexes() if total >= 1_000_000 else None
            for name, start, count in plan:
                # 10 ms between messages: 50,000 messages take about 8 minutes, as a campaign does.
                step = timedelta(milliseconds=10)
                campaign = Campaign.objects.create(
                    account=account,
                    application=application,
                    signature=template.signature,
                    template=template,
                    connection=connection_,
                    name=name,
                    recipient_import=recipients,
                    status=Campaign.Status.COMPLETED,
                    started_at=start,
                    planned_at=start,
                    finished_at=start + step * count + timedelta(seconds=10),
                )
                with connection.cursor() as cursor:
                    cursor.execute(
                        sql,
                        {
                            **defaults,
                            "campaign": campaign.pk,
                            "connection": connection_.pk,
                            "start": start,
                            "step": step,
                            "count": count,
                            "all_failed": name == FAILED_NAME,
                        },
                    )
                self.sync_counters(campaign.pk)
            if indexes is not None:
                self.stdout.write(f"{total:,} rows written in {time.monotonic() - started:.0f}s; building indexes")
                self.build_indexes(indexes)
        with connection.cursor() as cursor:
            # As autovacuum would soon after such a load: statistics and the visibility map.
            cursor.execute("VACUUM ANALYZE campaigns_message")
        self.stdout.write(f"{total:,} message rows in {len(plan)} campaigns in {time.monotonic() - started:.0f}s")

    def drop_indexes(self):
        with connection.schema_editor() as editor:
            for index in Message._meta.indexes:
                editor.remove_index(Message, index)
        return list(Message._meta.indexes)

    def build_indexes(self, indexes):
        # The foreign keys are checked at commit (deferred); PostgreSQL builds no index on a table
        # with checks pending, so they run now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with connection.schema_editor() as editor:
            for index in indexes:
                editor.add_index(Message, index)

    def sync_counters(self, campaign_id):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE campaigns_campaign c SET total = s.total, delivered = s.delivered, failed = s.failed, "
                "expired = s.expired, unknown = s.unknown, skipped = s.skipped FROM ("
                "  SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status = 'delivered') AS delivered,"
                "  COUNT(*) FILTER (WHERE status = 'failed') AS failed,"
                "  COUNT(*) FILTER (WHERE status = 'expired') AS expired,"
                "  COUNT(*) FILTER (WHERE status = 'unknown') AS unknown,"
                "  COUNT(*) FILTER (WHERE status = 'skipped') AS skipped"
                "  FROM campaigns_message WHERE campaign_id = %s) s WHERE c.id = %s",
                [campaign_id, campaign_id],
            )

    # --- measurements -------------------------------------------------------------------------

    def searches(self, client, account, runs):
        campaigns = Campaign.objects.filter(account=account, name__startswith=PREFIX).order_by("started_at")
        recent = campaigns.exclude(name=FAILED_NAME).last()
        today = timezone.localdate()
        week = {"start": (today - timedelta(days=6)).isoformat(), "end": today.isoformat()}
        old_day = (today - timedelta(days=80)).isoformat()
        phone = Message.objects.filter(campaign=recent).order_by().values_list("phone", flat=True)[0]
        cases = [
            ("last 7 days", week),
            ("last 7 days, page 10", {**week, "page": 10}),
            ("last 7 days, failed", {**week, "status": "failed"}),
            ("last 7 days, unknown", {**week, "status": "unknown"}),
            ("last 7 days, one number", {**week, "phone": phone}),
            ("one day 80 days ago", {"start": old_day, "end": old_day}),
            ("one campaign, failed", {"campaign": recent.pk, "status": "failed"}),
            ("one campaign, failed, page 20", {"campaign": recent.pk, "status": "failed", "page": 20}),
        ]
        url = reverse("reports:records")
        total = Message.objects.filter(campaign__account=account).count()
        self.stdout.write(f"send records with {total:,} message rows of the account ({runs} requests each):")
        for label, params in cases:
            response = client.get(url, params)
            if response.status_code != 200 or b'id="record-errors"' in response.content:
                raise CommandError(f"{label}: the search failed ({response.status_code})")
            rows = response.content.count(b'<span class="status ')
            pages, queries, executions = [], [], []
            for _run in range(runs):
                started = time.perf_counter()
                client.get(url, params)
                pages.append((time.perf_counter() - started) * 1000)
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    search_page(account, params)
                    queries.append((time.perf_counter() - started) * 1000)
                executions.append(sum(execution_ms(query["sql"]) for query in captured.captured_queries))
            self.stdout.write(
                f"  {label:30} {rows:3} rows  page p50 {median(pages):6.1f} p95 {p95(pages):6.1f} ms"
                f"  | search SQL p50 {median(queries):6.1f} p95 {p95(queries):6.1f} ms"
                f"  | executing p50 {median(executions):5.1f} p95 {p95(executions):5.1f} ms"
            )

    def exports(self, client, account):
        campaign = Campaign.objects.with_counters().filter(account=account, name=FAILED_NAME).first()
        if campaign is None:
            return
        self.stdout.write(f"failed numbers of one campaign ({campaign.failed:,} failed messages):")
        for fmt in ("csv", "xlsx"):
            before = rss_mb()
            peak_rss_reset()
            started = time.perf_counter()
            response = client.get(reverse("reports:failed_numbers", args=[campaign.pk, fmt]))
            size = sum(len(chunk) for chunk in response.streaming_content)
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"  view {fmt:4}: {seconds:5.1f} s, {size / 1e6:5.1f} MB, "
                f"peak RSS {peak_rss_mb()} MB (was {before} MB before the request)"
            )
        for fmt in ("csv", "xlsx"):
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                child = subprocess.Popen(
                    [sys.executable, "manage.py", "export_failed_numbers", str(campaign.pk), "--format", fmt,
                     "--output", os.path.join(folder, f"failed.{fmt}")],
                    cwd=PROJECT_DIR,
                )  # fmt: skip
                _pid, status, usage = os.wait4(child.pid, 0)
                child.returncode = os.waitstatus_to_exitcode(status)
                if child.returncode:
                    raise CommandError(f"export_failed_numbers --format {fmt} exited {child.returncode}")
                size = os.path.getsize(os.path.join(folder, f"failed.{fmt}"))
                self.stdout.write(
                    f"  export_failed_numbers --format {fmt}: {time.perf_counter() - started:5.1f} s, "
                    f"{size / 1e6:5.1f} MB, peak RSS {usage.ru_maxrss // 1024} MB"
                )
