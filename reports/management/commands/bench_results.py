"""`manage.py bench_results`: the results pages timed with millions of message rows present.

PostgreSQL only. Generates, set-based (generate_series), an account with a few applications and
templates, one completed campaign per template and day over `--days` days, `--messages` messages spread
over them with realistic outcomes (delivered, failed with carrier codes, expired, unknown, a few still
waiting in the last three days), and the HourlyStat rows that exactly match them: squashed rows for the
older hours, and for the last two days the unsquashed delta rows the lifecycle leaves between squashes.
The data set is kept and reused by later runs of the same size (`--rebuild` makes it again).

Then times each results page through Django's test client (the whole request: middleware, queries,
template) `--runs` times over varied filters, after a few untimed warm-up requests, and prints p50, p95
and max, with this process's CPU time per request and the load average, which tell the page's own
cost apart from waiting on a busy machine. Before timing it checks once that the statistics page's
total equals the messages counted.

Pages are in PAGES: each is a URL name and a function that yields the query strings to time it with.
The send records search joins in as soon as the console has `reports:records`.
"""

import logging
import math
import os
import random
import re
import time
from datetime import datetime, timedelta
from datetime import time as clock

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import activate
from campaigns.lifecycle import Tally, squash_hourly
from campaigns.models import Campaign, HourlyStat, Message, ProviderConnection, RecipientImport
from smsconsole.models import Account, Application, Membership, create_application
from templates_app.models import Qualification, Signature, Template

ACCOUNT_NAME = "Benchmark results"
USERNAME = "bench-results"
TYPES = ["notification", "promotion", "verification", "notification"]
CHUNK = 1_000_000  # messages per INSERT … SELECT, so progress shows and no statement runs for minutes
TARGET_MS = 200
ROLLUP_MOVES = (10, 100, 1000)  # messages one transaction moves: a receipt round … a large move
TOTAL = re.compile(r'id="total-total">([\d,]+)<')


def percentile(samples, rank):
    """The nearest-rank percentile: the smallest sample with at least `rank` % of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def shown_total(html):
    """The statistics page's total as it prints it (1,234,567)."""
    match = TOTAL.search(html)
    if match is None:
        raise CommandError("the statistics page shows no total")
    return int(match.group(1).replace(",", ""))


class SqlTimer:
    """A connection.execute_wrapper counting a request's queries and the time spent waiting for them."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.count, self.ms = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.ms += (time.perf_counter() - started) * 1000


def backend_cpu_ms():
    """The CPU time (user + system) the connection's PostgreSQL backend has used so far, read from
    /proc when the server runs on this machine (as `make bench` has it), else None. Unlike wall
    times it does not grow while the backend waits for a CPU on a busy machine. Counted in clock
    ticks (10 ms), so only an average over many requests means anything."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # Fields after the command name (which may hold spaces) start at the state, field 3.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


class DataSet:
    """The benchmark account's objects, looked up (or made) once."""

    def __init__(self, account):
        self.account = account
        self.applications = list(account.applications.order_by("pk"))
        self.signatures = list(Signature.objects.filter(application__account=account).order_by("pk"))
        self.templates = list(Template.objects.filter(application__account=account).order_by("pk"))


# --- the pages timed and the filters they are timed with --------------------------------------------


def statistics_queries(data, today, rng):
    """Filters as operators use them: one day by the hour, a week, a month; all or some applications,
    a signature, a type, a few templates; ranges ending anywhere in the last 180 days."""
    while True:
        days = rng.choice([1, 1, 7, 7, 31])
        end = today - timedelta(days=rng.randrange(0, 180 - days))
        params = {"start": (end - timedelta(days=days - 1)).isoformat(), "end": end.isoformat()}
        choice = rng.randrange(5)
        if choice == 1:
            params["application"] = [a.pk for a in rng.sample(data.applications, 2)]
        elif choice == 2:
            params["signature"] = rng.choice(data.signatures).pk
        elif choice == 3:
            params["type"] = rng.choice(TYPES)
        elif choice == 4:
            params["template"] = [t.pk for t in rng.sample(data.templates, 3)]
        yield params


def records_queries(data, today, rng):
    """The send records search with the parameters the statistics page drills down with: a window of
    one to seven days (dates, both included) within the last 90, with or without an application or a
    template and a result."""
    while True:
        days = rng.choice([1, 1, 7])
        end = today - timedelta(days=rng.randrange(0, 90 - days))
        params = {"start": (end - timedelta(days=days - 1)).isoformat(), "end": end.isoformat()}
        choice = rng.randrange(3)
        if choice == 1:
            params["application"] = rng.choice(data.applications).pk
        elif choice == 2:
            params["template"] = rng.choice(data.templates).pk
        if rng.random() < 0.5:
            params["status"] = rng.choice(["delivered", "failed", "sending"])
        yield params


PAGES = [
    ("statistics page", "reports:statistics", statistics_queries),
    ("send records search", "reports:records", records_queries),
]


class Command(BaseCommand):
    help = "Times the results pages with millions of messages and their hourly rollups (PostgreSQL only)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10_000_000)
        parser.add_argument("--days", type=int, default=180)
        parser.add_argument("--applications", type=int, default=4)
        parser.add_argument("--templates", type=int, default=3, help="templates per application")
        parser.add_argument("--runs", type=int, default=50)
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--rebuild", action="store_true", help="generate the data set again")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_results measures PostgreSQL: set DATABASE_URL to a PostgreSQL database")
        if options["applications"] < 2 or options["templates"] < 2:
            raise CommandError("the filters need at least 2 applications and 2 templates per application")
        # django-axes logs each force_login of the timing clients; only the figures matter here.
        logging.getLogger("axes").setLevel(logging.WARNING)
        account = self.data_set(options)
        data = DataSet(account)
        self.check_totals(data)
        today = timezone.localtime().date()
        user = get_user_model().objects.get(username=USERNAME)
        for label, url_name, queries in PAGES:
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                self.stdout.write(f"{label}: not in this console yet ({url_name}), not timed")
                continue
            load = os.getloadavg()[0]
            samples, cpu, sql_ms, counts, backend = self.time_page(
                user, url, queries(data, today, random.Random(options["seed"])), options
            )
            backend_text = f"{backend:.1f} ms" if backend is not None else "not readable (server elsewhere)"
            self.stdout.write(
                f"{label}: {len(samples)} requests, p50 {percentile(samples, 50):.1f} ms, "
                f"p95 {percentile(samples, 95):.1f} ms, max {max(samples):.1f} ms (target ≤ {TARGET_MS} ms); "
                f"this process's CPU per request p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms; "
                f"{min(counts)}–{max(counts)} queries, waited for p50 {percentile(sql_ms, 50):.1f} ms, "
                f"p95 {percentile(sql_ms, 95):.1f} ms; PostgreSQL backend CPU per request {backend_text} on average; "
                f"load average {load:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )

        self.time_rollup(data, options)

    def time_rollup(self, data, options):
        """The rollup's own cost as messages move: the lifecycle's Tally writes one HourlyStat delta row
        per (campaign, hour) a transaction moved messages in, whatever their number, and the squash
        folds those rows later. Timed here on the data set's table (its indexes, its size), in a
        transaction rolled back, for moves of 10 (a receipt round), 100 and 1,000 messages."""
        campaign = Campaign.objects.filter(account=data.account).order_by("-pk").first()
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        load = os.getloadavg()[0]
        with transaction.atomic():
            for moved in ROLLUP_MOVES:
                walls = []
                for _write in range(options["runs"]):
                    tally = Tally()
                    tally.hourly[(campaign.pk, hour)].update(sending=-moved, delivered=moved)
                    started = time.perf_counter()
                    tally._write_hourly()
                    walls.append((time.perf_counter() - started) * 1000)
                write = percentile(walls, 50)
                self.stdout.write(
                    f"rollup: a move of {moved:,} messages writes 1 delta row, p50 {write:.2f} ms, "
                    f"p95 {percentile(walls, 95):.2f} ms: {write * 1000 / moved:.2f} ms per 1,000 messages moved"
                )
            rows = HourlyStat.objects.filter(is_squashed=False).count()
            started = time.perf_counter()
            keys = squash_hourly()
            squash = (time.perf_counter() - started) * 1000
            self.stdout.write(
                f"rollup: the squash folded {rows:,} delta rows of {keys:,} keys in {squash:.0f} ms "
                f"({squash / max(rows, 1):.2f} ms per delta row); load average {load:.1f} → {os.getloadavg()[0]:.1f}"
            )
            transaction.set_rollback(True)

    # --- timing --------------------------------------------------------------------------------------

    def time_page(self, user, url, queries, options):
        """Wall and CPU ms per request; with the queries per request, the time spent in them (as this
        process waits for them) and the PostgreSQL backend's own CPU per request, on average."""
        sql = SqlTimer()
        with override_settings(ALLOWED_HOSTS=["testserver"]), connection.execute_wrapper(sql):
            client = Client()
            client.force_login(user)
            samples, cpu, sql_ms, counts = [], [], [], []
            backend_started = None
            for run in range(options["warmup"] + options["runs"]):
                params = next(queries)
                if run == options["warmup"]:
                    # The test client keeps its connection, so one backend serves every request.
                    backend_started = backend_cpu_ms()
                sql.reset()
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url, params)
                elapsed = (time.perf_counter() - started) * 1000
                # CPU time tells the page's own cost apart from waiting for a busy machine.
                used = (time.process_time() - cpu_started) * 1000
                # A refused filter would time an error page instead of the search.
                if response.status_code != 200 or b'class="errorlist' in response.content:
                    raise CommandError(f"{url} answered {response.status_code} to {params} or refused them")
                if run >= options["warmup"]:
                    samples.append(elapsed)
                    cpu.append(used)
                    sql_ms.append(sql.ms)
                    counts.append(sql.count)
            backend = backend_cpu_ms()
        if backend is not None and backend_started is not None:
            backend = (backend - backend_started) / options["runs"]
        return samples, cpu, sql_ms, counts, backend

    def check_totals(self, data):
        """The statistics page's total over a month equals the messages of that month, counted once here."""
        today = timezone.localtime().date()
        start = today - timedelta(days=30)
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            client = Client()
            client.force_login(get_user_model().objects.get(username=USERNAME))
            response = client.get(reverse("reports:statistics"), {"start": start.isoformat(), "end": today.isoformat()})
        shown = shown_total(response.content.decode())
        start_at = timezone.make_aware(datetime.combine(start, clock.min))
        end_at = timezone.make_aware(datetime.combine(today + timedelta(days=1), clock.min))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM campaigns_message m JOIN campaigns_campaign c ON c.id = m.campaign_id "
                "WHERE c.account_id = %s AND m.submitted_at >= %s AND m.submitted_at < %s",
                [data.account.pk, start_at, end_at],
            )
            counted = cursor.fetchone()[0]
        if shown != counted:
            raise CommandError(
                f"the statistics page shows {shown:,} messages for the last 31 days, the rows count {counted:,}"
            )
        self.stdout.write(f"check: the statistics page's 31-day total equals the messages counted ({counted:,})")

    # --- the data set --------------------------------------------------------------------------------

    def data_set(self, options):
        account = Account.objects.filter(name=ACCOUNT_NAME).first()
        wanted = options["messages"]
        if account is not None and not options["rebuild"]:
            present = Campaign.objects.filter(account=account).values_list("total", flat=True)
            campaigns = options["days"] * options["applications"] * options["templates"]
            # The rollups are written last: their total says the previous run finished.
            rolled_up = HourlyStat.objects.filter(account=account).aggregate(total=Sum("total"))["total"]
            if sum(present) == wanted == rolled_up and len(present) == campaigns:
                self.stdout.write(f"data set: reusing {wanted:,} messages of account “{ACCOUNT_NAME}”")
                return account
        if account is not None:
            self.drop(account)
        started = time.perf_counter()
        account = self.generate(options)
        self.stdout.write(f"data set: generated in {time.perf_counter() - started:.0f} s")
        return account

    def drop(self, account):
        self.stdout.write("data set: dropping the previous one")
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM campaigns_message WHERE campaign_id IN "
                "(SELECT id FROM campaigns_campaign WHERE account_id = %s)",
                [account.pk],
            )
            cursor.execute("DELETE FROM campaigns_hourlystat WHERE account_id = %s", [account.pk])
        # Most of these protect what they point to, so they go in order.
        Campaign.objects.filter(account=account).delete()
        RecipientImport.objects.filter(account=account).delete()
        Template.objects.filter(application__account=account).delete()
        Signature.objects.filter(application__account=account).delete()
        Qualification.objects.filter(account=account).delete()
        Application.objects.filter(account=account).delete()
        account.delete()

    def generate(self, options):
        with transaction.atomic():
            account = Account.objects.create(name=ACCOUNT_NAME, company_name="Benchmark results Ltd")
            activate(account)
            user = get_user_model().objects.filter(username=USERNAME).first() or get_user_model().objects.create_user(
                USERNAME, f"{USERNAME}@example.com", None
            )
            Membership.objects.filter(user=user).delete()
            Membership.objects.create(user=user, account=account, role=Membership.Role.OPERATOR)
            route, _ = ProviderConnection.objects.get_or_create(
                name="bench-results-route", defaults={"host": "127.0.0.1", "port": 2775, "system_id": "bench"}
            )
            qualification = Qualification.objects.create(
                account=account, name="bench", company_name="Bench", status=Qualification.Status.APPROVED
            )
            templates = []
            for index in range(options["applications"]):
                application = create_application(account, f"App {index + 1}")[0]
                kind = TYPES[index % len(TYPES)]
                signature = Signature.objects.create(
                    application=application,
                    name=f"Bench{index + 1}",
                    type=kind,
                    status=Signature.Status.APPROVED,
                    qualification=qualification,
                    channel_number=f"10690000{index + 1:04d}",
                )
                for number in range(options["templates"]):
                    templates.append(
                        Template.objects.create(
                            application=application,
                            signature=signature,
                            name=f"t{index + 1}_{number + 1}",
                            type=kind,
                            content="Your code is 1234." if kind == "verification" else "Your order has shipped.",
                            status=Template.Status.ACTIVE,
                        )
                    )
            audience = RecipientImport.objects.create(
                account=account,
                application=templates[0].application,
                template=None,
                original_name="bench-results.csv",
                status=RecipientImport.Status.COMPLETED,
            )
            campaigns = self.create_campaigns(account, route, audience, templates, options)
        self.write_messages(campaigns, options["messages"])
        self.write_rollups(account)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE campaigns_message")
            cursor.execute("VACUUM ANALYZE campaigns_hourlystat")
            cursor.execute("VACUUM ANALYZE campaigns_campaign")
        return account

    def create_campaigns(self, account, route, audience, templates, options):
        """One completed campaign per template and day, each started at a different hour of the morning."""
        per_campaign = math.ceil(options["messages"] / (options["days"] * len(templates)))
        today = timezone.localtime().date()
        campaigns, remaining = [], options["messages"]
        for day in range(options["days"], 0, -1):
            for index, template in enumerate(templates):
                count = min(per_campaign, remaining)
                remaining -= count
                started = timezone.make_aware(
                    datetime.combine(today - timedelta(days=day - 1), clock(8 + index % 10, 7 * index % 60))
                )
                campaigns.append(
                    Campaign(
                        account=account,
                        application=template.application,
                        signature=template.signature,
                        template=template,
                        connection=route,
                        recipient_import=audience,
                        name=f"bench {template.name} day {day}",
                        status=Campaign.Status.COMPLETED,
                        started_at=started,
                        finished_at=started + timedelta(hours=4),
                        planned_at=started,
                        total=count,
                    )
                )
        return Campaign.objects.bulk_create(campaigns, batch_size=1000)

    def write_messages(self, campaigns, count):
        """The messages, INSERT … SELECT over generate_series: campaign k holds a contiguous id range,
        one submit every 3 seconds from its start; outcomes from a hash of the row number."""
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_campaign")
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_campaign (first bigint PRIMARY KEY, last bigint, id bigint, "
                "connection_id bigint, started_at timestamptz)"
            )
            rows, first = [], 1
            for campaign in campaigns:
                if campaign.total:
                    rows.append(
                        (first, first + campaign.total - 1, campaign.pk, campaign.connection_id, campaign.started_at)
                    )
                    first += campaign.total
            cursor.executemany("INSERT INTO bench_campaign VALUES (%s, %s, %s, %s, %s)", rows)
            sql, defaults = messages_sql()
            # Generated rows can be made again: no need to wait for each commit's flush.
            cursor.execute("SET synchronous_commit TO off")
            for low in range(1, count + 1, CHUNK):
                # Whole campaigns whose first message falls in [low, low + CHUNK).
                started = time.perf_counter()
                cursor.execute(sql, [low, low + CHUNK - 1, *defaults])
                done = min(low + CHUNK - 1, count)
                self.stdout.write(
                    f"data set: messages up to ~{done:,} of {count:,} ({time.perf_counter() - started:.0f} s)"
                )
            cursor.execute("SET synchronous_commit TO DEFAULT")
            cursor.execute("DROP TABLE bench_campaign")

    def write_rollups(self, account):
        """HourlyStat rows equal to the messages: squashed before the last two days, then the delta
        rows a submit and its receipts leave (+total +sending, then sending → outcomes)."""
        recent = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=48)
        with connection.cursor() as cursor:
            cursor.execute(ROLLUP_SQL, [account.pk, recent, recent])
        self.stdout.write(f"data set: {HourlyStat.objects.filter(account=account).count():,} hourly rows")


# Outcomes by h, a hash of the row number in 0..999: 94 % delivered, 3.5 % failed (UNDELIV or
# REJECTD), 1 % expired, 0.3 % unknown, 1.2 % without a receipt (still waiting within 72 hours of the
# campaign, else expired). One message in ten has two segments.
MESSAGES_SQL = """
WITH numbered AS (
    SELECT g, (g * 2654435761) %% 1000 AS h, c.id AS campaign_id, c.connection_id,
           c.started_at + (g - c.first) * interval '3 seconds' AS submitted_at
    FROM bench_campaign c
    CROSS JOIN LATERAL generate_series(c.first, c.last) AS g
    WHERE c.first BETWEEN %s AND %s
), outcomes AS (
    SELECT *, CASE
        WHEN h < 940 THEN 'delivered'
        WHEN h < 975 THEN 'failed'
        WHEN h < 985 THEN 'expired'
        WHEN h < 988 THEN 'unknown'
        WHEN submitted_at > now() - interval '72 hours' THEN 'submitted'
        ELSE 'expired'
    END AS status
    FROM numbered
)
INSERT INTO campaigns_message (campaign_id, connection_id, phone, variables, segments, status, provider_id,
    skip_reason, error_code, error, attempts, submitted_at, done_at, updated_at{extra_columns})
SELECT campaign_id, connection_id, '+86139' || lpad((g %% 100000000)::text, 8, '0'), '[]'::jsonb,
    CASE WHEN h %% 10 = 0 THEN 2 ELSE 1 END, status, 'r' || g, '',
    CASE status WHEN 'failed' THEN CASE WHEN h %% 2 = 0 THEN 'UNDELIV' ELSE 'REJECTD' END
                WHEN 'expired' THEN 'EXPIRED' ELSE '' END,
    '', 1, submitted_at,
    CASE status WHEN 'delivered' THEN submitted_at + (2 + h %% 60) * interval '1 second'
                WHEN 'failed' THEN submitted_at + (5 + h %% 300) * interval '1 second'
                WHEN 'expired' THEN submitted_at + interval '72 hours' ELSE NULL END,
    submitted_at{extra_values}
FROM outcomes
"""
MESSAGE_COLUMNS = {
    "id", "campaign_id", "connection_id", "phone", "variables", "segments", "status", "provider_id", "skip_reason",
    "error_code", "error", "attempts", "submitted_at", "done_at", "updated_at",
}  # fmt: skip


def other_message_columns(listed):
    """(column, model default as the database takes it) of every Message column not in `listed`, so
    the benchmarks' INSERT … SELECT keeps working when a column is added to the model later (the
    database has no defaults of its own: a new NOT NULL column would refuse the rows)."""
    return [
        (f.column, f.get_db_prep_save(f.get_default(), connection))
        for f in Message._meta.concrete_fields
        if f.column not in listed
    ]


def messages_sql():
    """MESSAGES_SQL with every other column of Message at its model default."""
    others = other_message_columns(MESSAGE_COLUMNS)
    sql = MESSAGES_SQL.format(
        extra_columns="".join(f", {column}" for column, _v in others), extra_values="".join(", %s" for _o in others)
    )
    return sql, [value for _column, value in others]


ROLLUP_SQL = """
WITH counted AS (
    SELECT c.account_id, c.application_id, c.signature_id, c.template_id, t.type,
           date_trunc('hour', m.submitted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
           count(*) AS total,
           count(*) FILTER (WHERE m.status IN ('sending', 'submitted')) AS sending,
           count(*) FILTER (WHERE m.status = 'delivered') AS delivered,
           count(*) FILTER (WHERE m.status IN ('failed', 'expired')) AS failed,
           count(*) FILTER (WHERE m.status = 'unknown') AS unknown,
           sum(m.segments) AS segments
    FROM campaigns_message m
    JOIN campaigns_campaign c ON c.id = m.campaign_id
    JOIN templates_app_template t ON t.id = c.template_id
    WHERE c.account_id = %s
    GROUP BY 1, 2, 3, 4, 5, 6
)
INSERT INTO campaigns_hourlystat (account_id, application_id, signature_id, template_id, type, hour,
    total, sending, delivered, failed, unknown, segments, is_squashed)
SELECT account_id, application_id, signature_id, template_id, type, hour,
       total, sending, delivered, failed, unknown, segments, true
FROM counted WHERE hour < %s
UNION ALL
SELECT account_id, application_id, signature_id, template_id, type, hour, d.total, d.sending, d.delivered,
       d.failed, d.unknown, d.segments, false
FROM counted
CROSS JOIN LATERAL (VALUES
    (total, total, 0::bigint, 0::bigint, 0::bigint, segments),
    (0::bigint, -(delivered + failed + unknown), delivered, failed, unknown, 0::bigint)
) AS d (total, sending, delivered, failed, unknown, segments)
WHERE hour >= %s
"""
