"""The message lifecycle: the one module that changes a message's status.

queued → sending → submitted → delivered | failed | expired, plus unknown (the answer was lost:
never resent), skipped (not sent by rule, with its reason) and cancelled. Gateway, dispatch,
receipts and planning decide *when* a move happens; the SQL of every move lives here, built from
`Message.Status`, and each move, in the same transaction:

- changes only rows still in the state it moves from (compare-and-set), so two callers never both
  move a message and the deltas are those of the rows that actually moved;
- adds a delta row to `HourlyStat` for every (campaign, hour) group whose hourly columns change
  (set-based, one INSERT … SELECT from a VALUES list per move);
- records the status reports owed for the messages it moved to a final state (REPORTED), as
  StatusReportDue rows, for the applications that take them (campaigns.status_reports drains them);
- adds the campaign counter deltas as CampaignCount rows (one INSERT, no lock on the campaign row,
  so moves of one campaign never wait for each other's commit); `squash_counters` folds them into
  the campaign row, and every reader goes through Campaign.objects.with_counters (row + deltas);
- hands the segments of the messages it moved from submitted to failed or expired (what the
  carrier reported failed) to campaigns.money.refund_reported, after the counters, so the refund
  policy gives them back in the move's own transaction: exactly once, since a replayed receipt
  finds its message no longer submitted and moves nothing;

and returns its deltas. `reconcile` proves the counters and the hourly rows equal the messages.

A long message (more than one segment) is submitted with a MessagePart per segment, each with the
provider id of its segment; its segments' receipts are written to the parts and the message moves
once, when they decide it (parts_outcome). Single-segment messages have no parts.

A message's `submitted_at` is the moment it was handed to the provider (set by the claim, kept by
the submit result, cleared by a requeue), so the hour it counts in never changes afterwards.
"""

import functools
import json
import logging
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import Campaign, CampaignCount, HourlyStat, Message, StatusReportDue

log = logging.getLogger(__name__)

S = Message.Status

# The HourlyStat column a message in each status counts in; None: never handed to the provider,
# so not counted there at all (HourlyStat's docstring: total = sending + delivered + failed + unknown).
HOURLY_COLUMN = {
    S.SENDING: "sending",
    S.SUBMITTED: "sending",
    S.DELIVERED: "delivered",
    S.FAILED: "failed",
    S.EXPIRED: "failed",
    S.UNKNOWN: "unknown",
}
HOURLY_COLUMNS = ("total", "sending", "delivered", "failed", "unknown", "segments")

# The final states a customer gets a status report for (skipped and cancelled were never sent).
REPORTED = frozenset({S.DELIVERED, S.FAILED, S.EXPIRED, S.UNKNOWN})

# SMPP receipt stat → message status; anything else (UNDELIV, REJECTD, DELETED, …) fails. UNKNOWN
# is a final report that does not say how the message ended: the state of ambiguous outcomes.
RECEIPT_OUTCOMES = {"DELIVRD": S.DELIVERED, "EXPIRED": S.EXPIRED, "UNKNOWN": S.UNKNOWN}

# What the carrier reported as not delivered: refunded under SMS_REFUND_POLICY=success_only.
CARRIER_FAILED = frozenset({S.FAILED, S.EXPIRED})

# A submitted message with no receipt after this long will never get one (the carriers' report window).
REPORT_WINDOW = timedelta(hours=72)
NO_REPORT_ERROR = "no delivery report within 72 hours"
STUCK_ERROR = "the gateway stopped before the answer was recorded"
EXHAUSTED_ERROR = "not accepted after repeated attempts"
AMBIGUOUS_ERROR = "connection lost before the answer"


# Every status a receipt can move a submitted message to (what receipt_outcome returns).
RECEIPT_STATUSES = (*dict.fromkeys(RECEIPT_OUTCOMES.values()), S.FAILED)


def receipt_outcome(stat):
    return RECEIPT_OUTCOMES.get((stat or "").upper(), S.FAILED)


def parts_outcome(parts):
    """How a long message ended, from the receipts of its segments: the (stat, err) it takes, whose
    receipt_outcome is its status, or None while it is still open.

    `parts` are (number, stat, err) of every segment, stat "" where no receipt came yet. A failed
    segment (UNDELIV, REJECTD, …) fails the message at once, with the stat and error code of the
    lowest-numbered one that failed: the rest cannot make it whole, and the operator sees it now
    rather than when the last receipt comes. Otherwise the message waits for every segment:
    delivered when all are DELIVRD, else expired (a segment EXPIRED, none failed: the handset may
    never have seen all of it, but no carrier refused it) with that segment's error code, else
    unknown (a segment's fate UNKNOWN: the whole cannot be called delivered). A message whose
    segments' receipts never all come expires by the 72-hour sweep like any other."""
    parts = sorted(parts)
    for _number, stat, err in parts:
        if stat and receipt_outcome(stat) == S.FAILED:
            return stat, err
    if not parts or any(not stat for _number, stat, _err in parts):
        return None
    for outcome in (S.EXPIRED, S.UNKNOWN):
        for _number, stat, err in parts:
            if receipt_outcome(stat) == outcome:
                return stat, err
    return parts[0][1], ""


def ids_in(ids):
    """`(%s, %s, …)` for a raw IN list."""
    return "(" + ", ".join(["%s"] * len(ids)) + ")"


def pg_array(values):
    """A PostgreSQL array literal of `values` (ints or strings), for a parameter the statement
    casts (`CAST(%s AS BIGINT[])`): psycopg's list dumper takes 0.85 us per element in Python (337 us
    for a chunk's 400 ids), a join 0.12 us; every message passes through four such arrays."""
    values = [str(value) for value in values]
    joined = "\0".join(values)  # one scan for what needs escaping; NUL is not valid in PostgreSQL text
    if '"' in joined or "\\" in joined:
        values = [value.replace("\\", "\\\\").replace('"', '\\"') for value in values]
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def _as_utc(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _hour(value):
    if isinstance(value, int):  # whole hours since the epoch (PostgreSQL's moves)
        return datetime.fromtimestamp(value * 3600, UTC)
    return _as_utc(value).replace(minute=0, second=0, microsecond=0)


class Tally:
    """The counter and hourly deltas of the moves in one transaction, written at its end."""

    def __init__(self):
        self.counters = defaultdict(Counter)  # campaign id → {counter: delta}
        self.hourly = defaultdict(Counter)  # (campaign id, hour) → {column: delta}
        self.reported = defaultdict(list)  # campaign id → [(message id, final status)] owing a report
        self.carrier_failed = Counter()  # campaign id → segments the carrier reported failed or expired

    def count(self, campaign_id, **deltas):
        self.counters[campaign_id].update(deltas)

    def move(
        self, from_status, to_status, source, params, assignments="", assignment_params=(), returning="",
        clears_handed_over=False,
    ):  # fmt: skip
        """One compare-and-set UPDATE of the messages `source` selects (a query over
        campaigns_message yielding `id`, plus any columns of a joined source that `assignments`
        read as `old.x`) from `from_status` to `to_status`; returns the moved rows as (id,
        campaign_id, *returning). On PostgreSQL a source without a join is moved in place
        (_move_in_place), where there is no `old`: its assignments name the row's own columns.
        `clears_handed_over`: the assignments empty submitted_at (a requeue), whose hour the rows
        counted in is then read before the UPDATE."""
        now = timezone.now()
        if connection.vendor == "postgresql" and not source.join and not clears_handed_over:
            args = (from_status, to_status, source, params, assignments, assignment_params, returning, now)
            return self._count_moved(from_status, to_status, self._move_in_place(*args), {})
        sql_source = (
            f"SELECT campaigns_message.id, campaigns_message.submitted_at AS handed_over{source.columns} "
            f"FROM campaigns_message{source.join} WHERE campaigns_message.status = %s AND {source.where}"
        )
        source_params = [*source.join_params, from_status, *source.params, *params]
        handed_over = {}
        if connection.vendor == "sqlite":
            # SQLite's RETURNING cannot name the FROM clause: read what a requeue clears first.
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, handed_over FROM ({sql_source}) old", source_params)
                handed_over = dict(cursor.fetchall())
            target, old_at = "", "submitted_at"
        else:
            # The hour it counts in, as whole hours since the epoch: loading a timestamp per row (two
            # moves per message sent) was about 6 % of the gateway's CPU (py-spy).
            moment = "COALESCE(m.submitted_at, old.handed_over)"
            target, old_at = "m.", f"CAST(FLOOR(EXTRACT(EPOCH FROM {moment}) / 3600) AS BIGINT)"
        extra = "".join(f", {target}{name}" for name in returning.split())
        sql = (
            f"UPDATE campaigns_message AS m SET status = %s, updated_at = %s{', ' if assignments else ''}{assignments} "
            f"FROM ({sql_source}) AS old WHERE m.id = old.id AND m.status = %s "
            f"RETURNING {target}id, {target}campaign_id, {target}segments, {old_at}{extra}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [to_status, now, *assignment_params, *source_params, from_status])
            rows = cursor.fetchall()
        return self._count_moved(from_status, to_status, rows, handed_over)

    @staticmethod
    def _move_in_place(from_status, to_status, source, params, assignments, assignment_params, returning, now):
        """The UPDATE of `move` on PostgreSQL as a scan of campaigns_message alone, for a source
        without a join and a move that keeps submitted_at (every move but a requeue).

        Joined to a subquery over the same table (the general form above), the planner estimates
        the rows in the state the move starts from by the table's statistics; for a transient
        state (sending: a few chunks at any moment, so about none when ANALYZE looks) that is one
        row, and while the table is small it scanned all of it once per row of the other side. The
        first submit results of a campaign on a fresh table took 1-3 s each (auto_explain,
        docs/benchmarks.md). A scan of one table by `id = ANY(…)` has no join order to get wrong."""
        extra = "".join(f", campaigns_message.{name}" for name in returning.split())
        hour = "CAST(FLOOR(EXTRACT(EPOCH FROM campaigns_message.submitted_at) / 3600) AS BIGINT)"
        sql = (
            f"UPDATE campaigns_message SET status = %s, updated_at = %s{', ' if assignments else ''}{assignments} "
            f"WHERE campaigns_message.status = %s AND {source.where} "
            f"RETURNING campaigns_message.id, campaigns_message.campaign_id, campaigns_message.segments, {hour}{extra}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [to_status, now, *assignment_params, from_status, *source.params, *params])
            return cursor.fetchall()

    def _count_moved(self, from_status, to_status, rows, handed_over):
        """Adds the moved rows ((id, campaign_id, segments, hour or time handed over, *returning))
        to the counter, hourly, report and refund deltas; returns (id, campaign_id, *returning)."""
        hourly_from, hourly_to = HOURLY_COLUMN.get(from_status), HOURLY_COLUMN.get(to_status)
        reported = to_status in REPORTED or to_status == S.SKIPPED  # skipped: API sends only (report_targets)
        carrier_failed = from_status == S.SUBMITTED and to_status in CARRIER_FAILED
        hourly = hourly_from != hourly_to
        moved = []
        per_campaign = Counter()
        # (campaign id, moment) -> [messages, segments]: the hourly deltas are added once per group,
        # not per row (a Counter.update per row was a tenth of this loop's cost, every chunk twice).
        groups = defaultdict(lambda: [0, 0])
        for message_id, campaign_id, segments, at, *rest in rows:
            per_campaign[campaign_id] += 1
            moved.append((message_id, campaign_id, *rest))
            if reported:
                self.reported[campaign_id].append((message_id, to_status))
            if carrier_failed:
                self.carrier_failed[campaign_id] += segments
            if not hourly:
                continue
            if at is None:
                at = handed_over.get(message_id)
            if at is None:
                continue  # never handed over (cannot happen for a counted state; kept safe)
            group = groups[(campaign_id, at)]
            group[0] += 1
            group[1] += segments
        for (campaign_id, at), (count, segments) in groups.items():
            deltas = self.hourly[(campaign_id, _hour(at))]
            if hourly_from is None:
                deltas.update(total=count, segments=segments, **{hourly_to: count})
            elif hourly_to is None:
                deltas.update(total=-count, segments=-segments, **{hourly_from: -count})
            else:
                deltas.update(**{hourly_from: -count, hourly_to: count})
        for campaign_id, count in per_campaign.items():
            self.count(campaign_id, **{from_status: -count, to_status: count})
        return moved

    def write(self):
        self._write_hourly()
        self._owe_reports()
        # Delta rows, not an UPDATE of the campaign row: nothing here waits for another move's commit.
        CampaignCount.add(self.counters)
        self._refund()

    def _refund(self):
        if self.carrier_failed:
            # After the counters, as a claim charges after its move: then the accounts.
            from campaigns import money

            money.refund_reported(self.carrier_failed)

    def _owe_reports(self):
        """One StatusReportDue per message moved to a final state whose application takes reports:
        one small query by campaign id finds those applications, so a move of campaigns without a
        report URL costs that query alone."""
        if not self.reported:
            return
        due = [
            StatusReportDue(
                message_id=message_id, application_id=application_id, status=status, url=url, per_message=own
            )
            for message_id, application_id, status, url, own in report_targets(self.reported)
        ]
        # ignore_conflicts: the (message, status) constraint makes a second report of a state a no-op.
        if due:
            StatusReportDue.objects.bulk_create(due, batch_size=1000, ignore_conflicts=True)
            from campaigns import status_reports

            transaction.on_commit(status_reports.wake, robust=True)

    def _write_hourly(self):
        rows = [(key, deltas) for key, deltas in self.hourly.items() if any(deltas.values())]
        if not rows:
            return
        at = "CAST(%s AS timestamp with time zone)" if connection.vendor == "postgresql" else "%s"
        value = f"(CAST(%s AS BIGINT), {at}, " + ", ".join(["CAST(%s AS BIGINT)"] * len(HOURLY_COLUMNS)) + ")"
        params = []
        for (campaign_id, hour), deltas in rows:
            hour_param = hour if connection.vendor == "postgresql" else hour.strftime("%Y-%m-%d %H:%M:%S")
            params += [campaign_id, hour_param, *(deltas.get(name, 0) for name in HOURLY_COLUMNS)]
        columns = ", ".join(HOURLY_COLUMNS)
        selected = ", ".join(f"v.column{n + 3}" for n in range(len(HOURLY_COLUMNS)))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_hourlystat (is_squashed, account_id, application_id, signature_id, template_id, "
                f"type, hour, {columns}) "
                "SELECT %s, c.account_id, c.application_id, c.signature_id, c.template_id, t.type, v.column2, "
                f"{selected} "
                f"FROM (VALUES {', '.join([value] * len(rows))}) AS v "
                "JOIN campaigns_campaign c ON c.id = v.column1 JOIN templates_app_template t ON t.id = c.template_id",
                [False, *params],
            )


def _may_report_sql(campaign, application):
    """report_targets' first filter as an SQL condition over a campaign row and its application's
    (a LEFT JOIN): false for a campaign whose moves owe no report, so the receipt statement tells
    its round that the query of report_targets would find nothing there."""
    return f"(COALESCE({application}.report_url, '') <> '' OR {campaign}.source = '{Campaign.Source.API}')"


def report_targets(reported):
    """(message id, application id, status, URL, per message) of each report owed for `reported`
    ({campaign id: [(message id, status)]}, the moves of one transaction).

    A campaign message in a REPORTED state goes to its application's batch report URL, if it has
    one. An API send's message (a campaign of source API) is reported also when skipped by a
    send-time rule, and to its request's own statusCallback (ApiMessage) one push per message in
    preference to the application's URL, as the reference says (cloud-sms-spec.md 1.7, 1.8).
    One small query by campaign id finds the applications; API campaigns add one by message id."""
    from campaigns.models import ApiMessage

    # The same filter as _may_report_sql, which must say the same.
    targets = Campaign.objects.filter(pk__in=list(reported)).filter(
        ~Q(application__report_url="") | Q(source=Campaign.Source.API)
    )
    found = []
    api_messages = []
    for campaign_id, application_id, url, source in targets.values_list(
        "pk", "application_id", "application__report_url", "source"
    ):
        for message_id, status in reported[campaign_id]:
            if source == Campaign.Source.API:
                api_messages.append((message_id, application_id, status, url))
            elif status in REPORTED:
                found.append((message_id, application_id, status, url, False))
    if api_messages:
        callbacks = dict(
            ApiMessage.objects.filter(pk__in=[row[0] for row in api_messages])
            .exclude(status_callback="")
            .values_list("pk", "status_callback")
        )
        for message_id, application_id, status, url in api_messages:
            if message_id in callbacks:
                found.append((message_id, application_id, status, callbacks[message_id], True))
            elif url:
                found.append((message_id, application_id, status, url, False))
    return found


class Source:
    """Which messages a move looks at: a WHERE over campaigns_message (its own `params` first,
    before the move's), optionally joined."""

    def __init__(self, where, join="", join_params=(), columns="", params=()):
        self.where, self.join, self.join_params, self.columns = where, join, list(join_params), columns
        self.params = list(params)


def by_ids(message_ids, campaign_id=None):
    """The messages of `message_ids` (of that campaign, if given). On PostgreSQL the ids are one
    array parameter: a statement whose text does not grow with the chunk is parsed once by psycopg
    (it re-splits every query of more than 50 parameters, a tenth of the gateway's CPU) and is
    cheaper for the server to parse."""
    ids = list(message_ids)
    if connection.vendor == "postgresql":
        where, params = "campaigns_message.id = ANY(CAST(%s AS BIGINT[]))", [pg_array(ids)]
    else:
        where, params = f"campaigns_message.id IN {ids_in(ids)}", ids
    if campaign_id is not None:
        where, params = "campaigns_message.campaign_id = %s AND " + where, [campaign_id, *params]
    return Source(where, params=params)


@contextmanager
def moving():
    """A transaction whose moves write their counters and hourly rows as it ends."""
    tally = Tally()
    with transaction.atomic():
        yield tally
        tally.write()


def _deltas(tally):
    return {campaign_id: {k: v for k, v in counts.items() if v} for campaign_id, counts in tally.counters.items()}


def _flat(tally):
    total = Counter()
    for counts in tally.counters.values():
        total.update(counts)
    return {k: v for k, v in total.items() if v}


# --- planning ---------------------------------------------------------------------------------

_PLAN_COLUMNS = (
    "campaign_id, connection_id, phone, variables, segments, status, skip_reason, error_code, error, "
    "receipt_stat, attempts, updated_at"
)
# The account's opt-out list is read again here: a number may have opted out since the import.
_PLAN_STATUS = (
    "CASE WHEN {opted} OR o.id IS NOT NULL THEN %s ELSE %s END, "
    "CASE WHEN {opted} OR o.id IS NOT NULL THEN %s ELSE '' END"
)

PLAN_FROM_IMPORT = (
    f"INSERT INTO campaigns_message ({_PLAN_COLUMNS}) "
    "SELECT %s, %s, r.phone, {variables}, {segments}, "
    + _PLAN_STATUS.format(opted="r.opted_out")
    + ", '', '', '', 0, %s "
    "FROM campaigns_recipient r "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = r.phone "
    "WHERE r.recipient_import_id = %s{rows} ORDER BY r.id"
)
PLAN_FROM_CONTACTS = (
    f"INSERT INTO campaigns_message ({_PLAN_COLUMNS}) "
    "SELECT %s, %s, c.phone, {json}, %s, " + _PLAN_STATUS.format(opted="1 = 0") + ", '', '', '', 0, %s "
    "FROM campaigns_contact c "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = c.phone "
    "WHERE c.contact_list_id = %s{rows} ORDER BY c.id"
)
OPT_OUT = "opt_out"


def plan(campaign, sql, head, tail, batch_size, planned_through, last):
    """Inserts a slice of the campaign's messages (queued, or skipped with the opt-out reason) with
    `sql` (PLAN_FROM_IMPORT or PLAN_FROM_CONTACTS, formatted by planning) and the slice's batches,
    and adds the slice to the counters with how far planning got (`planned_through`, and
    `planned_at` on the `last` slice), in the caller's transaction. `head` are the parameters
    before the status (campaign, connection, variables, segments), `tail` those after it
    (updated_at, account, audience, row range). Returns the slice's {"total", "queued",
    "skipped", "segments", "batches"}, or None if the campaign was cancelled meanwhile (the
    caller rolls back)."""
    from campaigns.models import Batch

    # The slice's rows come back from the INSERT itself: counting them or numbering their batches
    # with a query over the campaign's messages would read every slice planned before (the
    # messages have no index by campaign and status; see Message.Meta).
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING id, status, segments", [*head, S.SKIPPED, S.QUEUED, OPT_OUT, *tail])
        rows = cursor.fetchall()
        cursor.execute("SELECT COALESCE(MAX(number), 0) FROM campaigns_batch WHERE campaign_id = %s", [campaign.pk])
        (numbered,) = cursor.fetchone()
    queued_ids = sorted(message_id for message_id, status, _segments in rows if status == S.QUEUED)
    segments = sum(n for _id, status, n in rows if status == S.QUEUED)
    total, queued = len(rows), len(queued_ids)
    skipped = total - queued
    # Batches by position among the queued messages, so each holds batch_size of them whatever
    # the skipped rows in between.
    batches = [
        Batch(campaign_id=campaign.pk, number=numbered + n + 1, first_id=ids[0], last_id=ids[-1])
        for n, ids in enumerate(queued_ids[i : i + batch_size] for i in range(0, queued, batch_size))
    ]
    Batch.objects.bulk_create(batches, batch_size=1000)
    batches = len(batches)
    # Last, like every counter move; only a campaign still sending or paused takes the slice (a
    # cancel that landed meanwhile has cancelled what was queued before it).
    progress = {"planned_through": planned_through, **({"planned_at": timezone.now()} if last else {})}
    moved = Campaign.objects.filter(
        pk=campaign.pk, status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED]
    ).update(
        total=F("total") + total,
        queued=F("queued") + queued,
        skipped=F("skipped") + skipped,
        segments=F("segments") + segments,
        **progress,
    )
    if not moved:
        return None
    return {"total": total, "queued": queued, "skipped": skipped, "segments": segments, "batches": batches}


# --- API sends -------------------------------------------------------------------------------


# RETURNING gives the ids in the order the rows were inserted, which ORDER BY keeps to `rows`'
# (the assumption Django's bulk_create makes of its INSERT … RETURNING too).
# An API request's rows in one statement: its messages and, when the request gave a
# statusCallback or extend, their ApiMessage rows; then the campaign's counters and a batch number
# move in one UPDATE and the batch over the messages is inserted, numbered by it. Nothing is
# written when the campaign is gone (its id was cached: api.sending).
#
# The UPDATE joins the aggregate of every inserted id, so the messages are written before it locks
# the campaign row, which is then held only to the commit: with the statement in autocommit
# (api.sending), that is the WAL flush, with no round trip to the client in between. A lock taken
# first and held over the INSERT and three more round trips made one-number requests of a route
# wait on each other (docs/benchmarks.md, bench_api). Its RETURNING reads the row as locked, so two
# requests never take the same number, whatever their snapshots.
#
# The batch is inserted already pushed: api.sending pushes it right after the commit, and a push
# lost there (Redis down, the process killed) is found by dispatch's stuck-batch sweeper, as a lost
# job of any batch is.
ACCEPT_API = (
    "WITH inserted AS ("
    f" INSERT INTO campaigns_message ({_PLAN_COLUMNS}, via_api)"
    " SELECT %(campaign)s, %(connection)s, r.phone, %(variables)s::jsonb, %(segments_each)s, %(queued)s,"
    " '', '', '', '', 0, %(now)s, TRUE"
    " FROM unnest(string_to_array(%(phones)s, ',')) WITH ORDINALITY AS r(phone, n)"
    " WHERE EXISTS (SELECT 1 FROM campaigns_campaign WHERE id = %(campaign)s) ORDER BY r.n RETURNING id"
    "), kept AS ("
    " INSERT INTO campaigns_apimessage (message_id, status_callback, extend)"
    " SELECT id, %(status_callback)s, %(extend)s FROM inserted WHERE %(keep)s"
    "), written AS ("
    " SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM inserted"
    "), counted AS ("
    " UPDATE campaigns_campaign SET total = total + written.n, queued = queued + written.n,"
    " segments = segments + written.n * %(segments_each)s, last_batch_number = last_batch_number + 1"
    " FROM written WHERE id = %(campaign)s AND written.n > 0"
    " RETURNING status, pause_reason, last_batch_number"
    "), batch AS ("
    " INSERT INTO campaigns_batch (campaign_id, number, first_id, last_id, status, pushes, pushed_at, done_at)"
    " SELECT %(campaign)s, counted.last_batch_number, written.ids[1], written.ids[written.n], %(pushed)s, 1,"
    " %(now)s, NULL FROM counted, written RETURNING id"
    ") SELECT (SELECT ids FROM written), (SELECT status FROM counted), (SELECT pause_reason FROM counted),"
    " (SELECT id FROM batch)"
)


class CampaignGone(Exception):
    """accept_api's campaign no longer exists (nothing was written)."""


def accept_api(campaign_id, connection_id, phones, variables, segments, status_callback="", extend=""):
    """An API request's accepted numbers of one template (`phones`, E.164) become queued messages
    of its application's hidden campaign (api.sending), each with the request's `variables` and
    `segments`, with one batch over them, already marked pushed (the caller pushes it after the
    commit), in the caller's transaction if any; the request's statusCallback and extend, if it gave
    either, are kept beside them (ApiMessage). Returns (the message ids in the order of `phones`,
    the batch id, the campaign's status and pause reason); CampaignGone if the campaign was
    deleted. One statement on PostgreSQL (ACCEPT_API), atomic by itself."""
    from campaigns.models import ApiMessage, Batch

    if not phones:
        return [], None, None, None
    now = timezone.now()
    count = len(phones)
    if connection.vendor == "postgresql":
        # Set-based: the ORM's bulk_create spent 70 % of a 500-number request preparing its values
        # field by field (docs/benchmarks.md, bench_api).
        with connection.cursor() as cursor:
            cursor.execute(
                ACCEPT_API,
                {
                    "campaign": campaign_id,
                    "connection": connection_id,
                    "segments_each": segments,
                    "queued": S.QUEUED,
                    "now": now,
                    # One text, split by the database: E.164 numbers hold no comma, and psycopg
                    # adapting a 500-element array was a tenth of a 500-number request.
                    "phones": ",".join(phones),
                    "variables": json.dumps(variables),
                    "status_callback": status_callback,
                    "extend": extend,
                    "keep": bool(status_callback or extend),
                    "pushed": Batch.Status.PUSHED,
                },
            )
            ids, status, pause_reason, batch_id = cursor.fetchone()
        if not ids:
            raise CampaignGone(campaign_id)
        return ids, batch_id, status, pause_reason
    if not Campaign.objects.filter(pk=campaign_id).exists():
        raise CampaignGone(campaign_id)
    messages = Message.objects.bulk_create(
        Message(
            campaign_id=campaign_id,
            connection_id=connection_id,
            phone=phone,
            variables=variables,
            segments=segments,
            status=S.QUEUED,
            via_api=True,
            updated_at=now,
        )
        for phone in phones
    )
    ids = [message.pk for message in messages]
    if status_callback or extend:
        ApiMessage.objects.bulk_create(
            ApiMessage(message_id=pk, status_callback=status_callback, extend=extend) for pk in ids
        )
    Campaign.objects.filter(pk=campaign_id).update(
        total=F("total") + count,
        queued=F("queued") + count,
        segments=F("segments") + count * segments,
        last_batch_number=F("last_batch_number") + 1,
    )
    campaign = Campaign.objects.filter(pk=campaign_id).values("status", "pause_reason", "last_batch_number").get()
    batch = Batch.objects.create(
        campaign_id=campaign_id,
        number=campaign["last_batch_number"],
        first_id=min(ids),
        last_id=max(ids),
        status=Batch.Status.PUSHED,
        pushes=1,
        pushed_at=now,
    )
    return ids, batch.pk, campaign["status"], campaign["pause_reason"]


# --- sending ----------------------------------------------------------------------------------


def claim(campaign_id, message_ids):
    """Queued → sending while the campaign runs; returns {id: attempts} of the rows this call moved.

    The campaign's status is part of the claim, so a pause that lands while the chunk waited for
    tokens stops it here, not a chunk later."""
    if not message_ids:
        return {}
    source = by_ids(message_ids, campaign_id)
    source.where += " AND EXISTS (SELECT 1 FROM campaigns_campaign c WHERE c.id = %s AND c.status = %s)"
    with moving() as tally:
        rows = tally.move(
            S.QUEUED,
            S.SENDING,
            source,
            [campaign_id, Campaign.Status.RUNNING],
            assignments="attempts = attempts + 1, submitted_at = %s",
            assignment_params=[timezone.now()],
            returning="attempts",
        )
    return {message_id: attempts for message_id, _campaign, attempts in rows}


def record_submits(submitted=(), failed=None, unknown=(), requeue=(), exhausted=()):
    """The outcome of a chunk's submit_sm, in one transaction; returns the counter deltas.

    submitted: (message id, provider id) pairs, or (message id, (provider id of each segment, …))
    for messages sent in several segments (the parts their receipts are matched to); failed:
    {(command status, error): ids} refused for good; unknown: ids whose answer was lost (never
    resent); requeue: ids never written to the SMSC or refused as throttled, safe to send again;
    exhausted: ids refused too often to retry."""
    with moving() as tally:
        if submitted:
            _mark_submitted(tally, submitted)
        for (code, error), ids in (failed or {}).items():
            _fail_at_submit(tally, ids, code, error)
        if exhausted:
            _fail_at_submit(tally, exhausted, "", EXHAUSTED_ERROR)
        if unknown:
            _mark_unknown(tally, unknown, AMBIGUOUS_ERROR)
        if requeue:
            _requeue(tally, requeue)
    return _flat(tally)


def mark_submitted(pairs):
    with moving() as tally:
        _mark_submitted(tally, pairs)
    return _flat(tally)


def fail_at_submit(message_ids, code, error):
    with moving() as tally:
        _fail_at_submit(tally, message_ids, code, error)
    return _flat(tally)


def mark_unknown(message_ids, error):
    with moving() as tally:
        _mark_unknown(tally, message_ids, error)
    return _flat(tally)


def requeue(message_ids):
    with moving() as tally:
        _requeue(tally, message_ids)
    return _flat(tally)


def _mark_submitted(tally, pairs):
    """Sending → submitted with the provider id of the first segment; a message planned in more than
    one segment also gets a MessagePart per segment the provider accepted, in the same transaction,
    for the receipts of each to find (apply_part_receipts). Single-segment messages write nothing more."""
    segment_ids = {}
    for message_id, provider_ids in pairs:
        ids = (provider_ids,) if isinstance(provider_ids, str) else tuple(provider_ids)
        segment_ids[message_id] = [str(provider_id)[:64] for provider_id in ids]
    if connection.vendor == "postgresql":
        # The ids as one array (see by_ids) and each one's provider id from one JSON object, read
        # once per statement (the scalar subquery): no join the planner could order wrongly (see
        # Tally._move_in_place).
        source = by_ids(segment_ids)
        assignments = "provider_id = (SELECT CAST(%s AS jsonb)) ->> CAST(id AS TEXT)"
        assignment_params = [json.dumps({str(message_id): ids[0] for message_id, ids in segment_ids.items()})]
    else:
        values = "(VALUES " + ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS VARCHAR(64)))"] * len(segment_ids)) + ") AS v"
        source = Source(
            "1 = 1",
            join=f" JOIN {values} ON v.column1 = campaigns_message.id",
            join_params=[x for message_id, ids in segment_ids.items() for x in (message_id, ids[0])],
            columns=", v.column2 AS provider_id",
        )
        assignments, assignment_params = "provider_id = old.provider_id", []
    rows = tally.move(
        S.SENDING,
        S.SUBMITTED,
        source,
        [],
        assignments=assignments,
        assignment_params=assignment_params,
        returning="segments connection_id",
    )
    parts = []
    for message_id, _campaign_id, segments, connection_id in rows:
        ids = segment_ids[message_id]
        if segments > 1:
            parts += [(message_id, connection_id, number, provider_id) for number, provider_id in enumerate(ids, 1)]
        elif len(ids) > 1:
            # The text rules (sms.text) counted one segment where the encoder sent several: only the
            # first is matched, as before parts existed; the others' receipts stay unmatched.
            log.warning("message %s was planned in 1 segment but sent in %s", message_id, len(ids))
    _insert_parts(parts)
    return rows


PART_CHUNK = 1000  # rows per INSERT: 6,000 parameters, within SQLite's limit too


def _insert_parts(rows):
    """(message id, connection id, number, provider id) rows as plain multi-row INSERTs."""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PART_CHUNK):
            chunk = rows[start : start + PART_CHUNK]
            cursor.execute(
                "INSERT INTO campaigns_messagepart (message_id, connection_id, number, provider_id, stat, err) VALUES "
                + ", ".join(["(%s, %s, %s, %s, '', '')"] * len(chunk)),
                [value for row in chunk for value in row],
            )


def _fail_at_submit(tally, message_ids, code, error):
    return tally.move(
        S.SENDING,
        S.FAILED,
        by_ids(message_ids),
        [],
        assignments="error_code = %s, error = %s, done_at = %s",
        assignment_params=[(code or "")[:32], (error or "")[:200], timezone.now()],
    )


def _mark_unknown(tally, message_ids, error):
    return tally.move(
        S.SENDING,
        S.UNKNOWN,
        by_ids(message_ids),
        [],
        assignments="error = %s, done_at = %s",
        assignment_params=[error[:200], timezone.now()],
    )


def _requeue(tally, message_ids):
    return tally.move(
        S.SENDING, S.QUEUED, by_ids(message_ids), [], assignments="submitted_at = NULL", clears_handed_over=True
    )


def skip(campaign_id, message_ids, reason):
    """Queued messages not sent by rule (a frequency cap, say), with the reason; returns the deltas."""
    if not message_ids:
        return {}
    with moving() as tally:
        tally.move(
            S.QUEUED,
            S.SKIPPED,
            by_ids(message_ids, campaign_id),
            [],
            assignments="skip_reason = %s",
            assignment_params=[reason[:32]],
        )
    return _flat(tally)


def cancel_queued(campaign_id):
    """Queued messages of a cancelled campaign become cancelled; what is in flight finishes."""
    with moving() as tally:
        tally.move(S.QUEUED, S.CANCELLED, Source("campaigns_message.campaign_id = %s"), [campaign_id])
    return _flat(tally)


def mark_stuck_sending(cutoff):
    """Messages in SENDING since before `cutoff` lost their gateway mid-chunk: they may have reached
    the provider, so they become UNKNOWN and are never sent again. Returns {campaign id: count}."""
    # The campaign rows must hold the claims first: a stuck message's claim committed before the
    # cutoff, so after a squash its campaign's row says sending > 0.
    squash_counters()
    with moving() as tally:
        tally.move(
            S.SENDING,
            S.UNKNOWN,
            # Only campaigns whose counters say something is sending: the messages have no index
            # by status (see Message.Meta), so this reads the rows of those campaigns alone.
            Source(
                "campaigns_message.updated_at < %s AND campaigns_message.campaign_id IN "
                "(SELECT id FROM campaigns_campaign WHERE sending > 0)"
            ),
            [cutoff],
            assignments="error = %s, done_at = %s",
            assignment_params=[STUCK_ERROR, timezone.now()],
        )
    return {campaign_id: -counts[S.SENDING] for campaign_id, counts in tally.counters.items() if counts[S.SENDING]}


def expire(now=None):
    """Submitted messages with no receipt within REPORT_WINDOW become expired; {campaign id: count}."""
    cutoff = (now or timezone.now()) - REPORT_WINDOW
    squash_counters()  # as in mark_stuck_sending: the row then counts every submit older than the cutoff
    # Only campaigns that still wait for receipts and started before the cutoff: no scan of the rest.
    source = Source(
        "campaigns_message.submitted_at < %s AND campaigns_message.campaign_id IN "
        "(SELECT id FROM campaigns_campaign WHERE submitted > 0 AND COALESCE(started_at, created_at) < %s)"
    )
    with moving() as tally:
        tally.move(
            S.SUBMITTED,
            S.EXPIRED,
            source,
            [cutoff, cutoff],
            assignments="error = %s, done_at = %s",
            assignment_params=[NO_REPORT_ERROR, now or timezone.now()],
        )
    return {campaign_id: counts[S.EXPIRED] for campaign_id, counts in tally.counters.items() if counts[S.EXPIRED]}


# --- receipts ---------------------------------------------------------------------------------


def apply_receipts(items):
    """Final receipts matched to messages: (message id, stat, err) each. Submitted messages move to
    delivered, expired or failed, keeping the receipt's stat (DELIVRD, UNDELIV, …) and, unless
    delivered, its error code; a second receipt for a message finds it no longer submitted and
    changes nothing. Returns {campaign id: {counter: delta}}."""
    with moving() as tally:
        _apply_receipts(tally, items)
    return _deltas(tally)


def _apply_receipts(tally, items):
    groups = defaultdict(set)
    for message_id, stat, err in items:
        status = receipt_outcome(stat)
        code = "" if status == S.DELIVERED else (err or "")[:32]
        groups[(status, (stat or "").upper()[:16], code)].add(message_id)
    now = timezone.now()
    for (status, stat, code), message_ids in groups.items():
        ids = sorted(message_ids)
        tally.move(
            S.SUBMITTED,
            status,
            by_ids(ids),
            [],
            assignments="receipt_stat = %s, error_code = %s, done_at = %s",
            assignment_params=[stat, code, now],
        )


def apply_receipts_by_provider_id(connection_id, items):
    """Like apply_receipts, for receipts named by provider id, matched in the UPDATE itself (one
    per outcome, through the (connection, provider id) index). Returns ({campaign id: deltas},
    the set of provider ids that moved a message)."""
    groups = defaultdict(dict)
    for provider_id, stat, err in items:
        status = receipt_outcome(stat)
        code = "" if status == S.DELIVERED else (err or "")[:32]
        groups[(status, (stat or "").upper()[:16], code)].setdefault(str(provider_id)[:64], None)
    matched = set()
    now = timezone.now()
    with moving() as tally:
        for (status, stat, code), provider_ids in groups.items():
            values = ", ".join(["(CAST(%s AS VARCHAR(64)))"] * len(provider_ids))
            # Single-segment messages only: a long one is matched by its parts (apply_part_receipts).
            source = Source(
                "campaigns_message.connection_id = %s AND campaigns_message.segments = 1",
                join=f" JOIN (VALUES {values}) AS v ON campaigns_message.provider_id = v.column1",
                join_params=list(provider_ids),
            )
            rows = tally.move(
                S.SUBMITTED,
                status,
                source,
                [connection_id],
                assignments="receipt_stat = %s, error_code = %s, done_at = %s",
                assignment_params=[stat, code, now],
                returning="provider_id",
            )
            matched.update(provider_id for _id, _campaign, provider_id in rows)
    return _deltas(tally), matched


def apply_part_receipts(connection_id, items):
    """Final receipts for segments of long messages, named by provider id: (provider id, stat, err)
    each. The first receipt of a segment is written to its part (a duplicate finds the part
    answered and changes nothing), and each message whose parts now decide its outcome
    (parts_outcome) moves once, like a message by its own receipt. Only parts of submitted
    messages match: a finished message must not swallow the receipt of a newer one that reuses the
    id. Returns ({campaign id: deltas}, the set of provider ids that matched a part)."""
    first = {}
    for provider_id, stat, err in items:
        first.setdefault(str(provider_id)[:64], ((stat or "").upper()[:16], (err or "")[:16]))
    if not first:
        return {}, set()
    target = "p." if connection.vendor == "postgresql" else ""
    values = ", ".join(["(CAST(%s AS VARCHAR(64)), CAST(%s AS VARCHAR(16)), CAST(%s AS VARCHAR(16)))"] * len(first))
    with moving() as tally, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE campaigns_messagepart AS p SET stat = v.column2, err = v.column3, done_at = %s "
            f"FROM (VALUES {values}) AS v, campaigns_message AS m "
            "WHERE p.connection_id = %s AND p.provider_id = v.column1 AND p.stat = '' "
            "AND m.id = p.message_id AND m.status = %s "
            f"RETURNING {target}message_id, {target}provider_id",
            [timezone.now(), *(x for provider_id, (stat, err) in first.items() for x in (provider_id, stat, err)),
             connection_id, S.SUBMITTED],
        )  # fmt: skip
        rows = cursor.fetchall()
        matched = {provider_id for _message_id, provider_id in rows}
        message_ids = sorted({message_id for message_id, _provider_id in rows})
        if message_ids:
            _decide(tally, cursor, message_ids)
    return _deltas(tally), matched


def _decide(tally, cursor, message_ids):
    """Moves the messages whose parts, answered in this transaction or before, now decide them."""
    if connection.vendor == "postgresql":
        # Two rounds answering different segments of one message at once would each read the
        # parts without the other's uncommitted answer, and neither decide it: the second waits
        # here until the first commits, then reads both answers. (SQLite has one writer at a
        # time.) In id order, so two rounds never wait on each other.
        cursor.execute(
            f"SELECT id FROM campaigns_message WHERE id IN {ids_in(message_ids)} ORDER BY id FOR UPDATE",
            message_ids,
        )
    cursor.execute(
        f"SELECT message_id, number, stat, err FROM campaigns_messagepart WHERE message_id IN {ids_in(message_ids)}",
        message_ids,
    )
    parts = defaultdict(list)
    for message_id, number, stat, err in cursor.fetchall():
        parts[message_id].append((number, stat, err))
    decided = [(message_id, *outcome) for message_id, found in parts.items() if (outcome := parts_outcome(found))]
    _apply_receipts(tally, decided)


def _receipt_status_sql(column):
    """SQL CASE mapping a receipt stat column to the message status (receipt_outcome, in SQL)."""
    cases = " ".join(f"WHEN '{stat}' THEN '{status}'" for stat, status in RECEIPT_OUTCOMES.items())
    return f"CASE {column} {cases} ELSE '{S.FAILED}' END"


def _hourly_delta_sql(status):
    """The HourlyStat columns a receipt's move from SUBMITTED to each outcome changes, as SQL sums."""
    moved_to = {column: [] for column in HOURLY_COLUMNS}
    for outcome in RECEIPT_STATUSES:
        moved_to[HOURLY_COLUMN[outcome]].append(outcome)
    sums = []
    for column in HOURLY_COLUMNS:
        if column == HOURLY_COLUMN[S.SUBMITTED]:
            sums.append("-COUNT(*)")
        elif moved_to[column]:
            sums.append(f"COUNT(*) FILTER (WHERE {status} IN ({', '.join(repr(str(o)) for o in moved_to[column])}))")
        else:
            sums.append("0")
    return ", ".join(sums)


@functools.cache
def _receipts_statement():
    """The SQL of apply_receipts_in_one_statement, built once: it is the same for every round."""
    counters = ", ".join(Campaign.COUNTERS)
    counter_sums = ", ".join(
        "-COUNT(*)" if name == S.SUBMITTED else f"COUNT(*) FILTER (WHERE status = '{name}')"
        if name in RECEIPT_STATUSES else "0"
        for name in Campaign.COUNTERS
    )  # fmt: skip
    hourly_columns = ", ".join(HOURLY_COLUMNS)
    hour = "date_trunc('hour', submitted_at AT TIME ZONE 'UTC')"  # the UTC hour it was handed over
    # The hourly rows and the reports' condition join the campaign (and its template, its
    # application) once per campaign of the round, not once per receipt moved.
    sql = f"""
        WITH v (provider_id, stat, err, position) AS (
            SELECT * FROM unnest(CAST(%(provider_ids)s AS VARCHAR(64)[]), CAST(%(stats)s AS VARCHAR(16)[]),
                CAST(%(errs)s AS VARCHAR(32)[])) WITH ORDINALITY
        ),
        first AS (SELECT DISTINCT ON (provider_id) * FROM v ORDER BY provider_id, position),
        moved AS (
            UPDATE campaigns_message AS m SET
                status = {_receipt_status_sql("first.stat")},
                updated_at = %(now)s, receipt_stat = first.stat, done_at = %(now)s,
                error_code = CASE WHEN {_receipt_status_sql("first.stat")} = '{S.DELIVERED}' THEN '' ELSE first.err END
            FROM first
            WHERE m.connection_id = %(connection)s AND m.provider_id = first.provider_id
                AND m.status = '{S.SUBMITTED}' AND m.segments = 1
            RETURNING m.id, m.campaign_id, m.status, m.segments, m.submitted_at, m.provider_id
        ),
        hourly AS (
            INSERT INTO campaigns_hourlystat (is_squashed, account_id, application_id, signature_id, template_id,
                type, hour, {hourly_columns})
            SELECT FALSE, c.account_id, c.application_id, c.signature_id, c.template_id, t.type,
                g.hour AT TIME ZONE 'UTC', g.{", g.".join(HOURLY_COLUMNS)}
            FROM (
                SELECT campaign_id, {hour} AS hour, {_hourly_delta_sql("status")}
                FROM moved WHERE submitted_at IS NOT NULL GROUP BY campaign_id, {hour}
            ) AS g ({"campaign_id, hour, " + hourly_columns})
            JOIN campaigns_campaign c ON c.id = g.campaign_id
            JOIN templates_app_template t ON t.id = c.template_id
        ),
        counts AS (
            INSERT INTO campaigns_campaigncount (campaign_id, {counters})
            SELECT campaign_id, {counter_sums} FROM moved GROUP BY campaign_id
        ),
        reporting AS (
            SELECT c.id, {_may_report_sql("c", "a")} AS may_report
            FROM campaigns_campaign c LEFT JOIN smsconsole_application a ON a.id = c.application_id
            WHERE c.id IN (SELECT campaign_id FROM moved)
        )
        SELECT moved.id, moved.campaign_id, moved.status, moved.segments, moved.provider_id, reporting.may_report
        FROM moved JOIN reporting ON reporting.id = moved.campaign_id
    """
    return sql


def apply_receipts_in_one_statement(connection_id, items, now=None):
    """apply_receipts_by_provider_id on PostgreSQL with its moves in ONE statement, in the caller's
    transaction: the gateway's store-and-acknowledge round, whose round trips bound how many
    receipts a carrier's window lets in per second. Data-modifying CTEs move the submitted
    single-segment messages (compare-and-set on SUBMITTED, matched by (connection, provider id)) and
    add their hourly and counter delta rows, what Tally does in three statements per outcome and a
    savepoint; the reports owed and the refunds then go through Tally's own code (report_targets,
    money.refund_reported), so their rules keep one owner. Returns the set of provider ids that
    moved a message."""
    if not items:
        return set()
    # Three arrays (see by_ids): the text of the statement is the same for every round.
    params = {
        "now": now or timezone.now(),
        "connection": connection_id,
        "provider_ids": pg_array(str(provider_id)[:64] for provider_id, _stat, _err in items),
        "stats": pg_array((stat or "").upper()[:16] for _provider_id, stat, _err in items),
        "errs": pg_array((err or "")[:32] for _provider_id, _stat, err in items),
    }
    with connection.cursor() as cursor:
        cursor.execute(_receipts_statement(), params)
        rows = cursor.fetchall()
    tally = Tally()
    for message_id, campaign_id, status, segments, _provider_id, may_report in rows:
        if may_report:
            # Most rounds: campaigns with no report URL, whose report_targets query is skipped.
            tally.reported[campaign_id].append((message_id, status))
        if status in CARRIER_FAILED:
            tally.carrier_failed[campaign_id] += segments
    tally._owe_reports()
    tally._refund()
    return {row[4] for row in rows}


# --- proofs and upkeep ------------------------------------------------------------------------


def reconcile(campaign_id):
    """Compares the campaign's counters and its hourly rows with its messages; returns the
    mismatches as {name: {"counted": n, "rows": m}} (empty when everything agrees).

    Hourly rows are compared per (hour) for the campaign's whole key only when no other campaign
    shares it; otherwise the campaign's own share cannot be told apart and only counters are checked."""
    campaign = Campaign.objects.with_counters().get(pk=campaign_id)
    by_status = dict(
        Message.objects.filter(campaign_id=campaign_id).values_list("status").annotate(n=Count("id")).order_by()
    )
    mismatches = {}
    for name in Campaign.COUNTERS:
        counted, rows = getattr(campaign, name), by_status.get(name, 0)
        if counted != rows:
            mismatches[name] = {"counted": counted, "rows": rows}
    total_rows = sum(by_status.values())
    if campaign.total != total_rows:
        mismatches["total"] = {"counted": campaign.total, "rows": total_rows}
    sharing = Campaign.objects.filter(
        account_id=campaign.account_id,
        application_id=campaign.application_id,
        signature_id=campaign.signature_id,
        template_id=campaign.template_id,
    ).exclude(pk=campaign_id)
    if not sharing.filter(started_at__isnull=False).exists():
        expected = hourly_from_messages(Message.objects.filter(campaign_id=campaign_id))
        counted = hourly_sums(
            HourlyStat.objects.filter(
                account_id=campaign.account_id,
                application_id=campaign.application_id,
                signature_id=campaign.signature_id,
                template_id=campaign.template_id,
            )
        )
        for name in HOURLY_COLUMNS:
            if expected[name] != counted[name]:
                mismatches[f"hourly_{name}"] = {"counted": counted[name], "rows": expected[name]}
    return mismatches


def hourly_sums(stats):
    sums = stats.aggregate(**{name: Sum(name) for name in HOURLY_COLUMNS})
    return {name: sums[name] or 0 for name in HOURLY_COLUMNS}


def hourly_from_messages(messages):
    """What HourlyStat should hold for these messages, summed over every hour."""
    expected = dict.fromkeys(HOURLY_COLUMNS, 0)
    rows = (
        messages.filter(status__in=list(HOURLY_COLUMN))
        .values_list("status")
        .annotate(n=Count("id"), segments=Sum("segments"))
    )
    for status, n, segments in rows.order_by():
        expected["total"] += n
        expected["segments"] += segments or 0
        expected[HOURLY_COLUMN[status]] += n
    return expected


def squash_counters(campaign_ids=None):
    """Folds the campaigns' counter delta rows into their rows (CampaignCount.squash); returns how
    many campaigns it squashed. Readers add row and deltas, so they see the same figures before and after."""
    return CampaignCount.squash(campaign_ids)


_KEY = ("account_id", "application_id", "signature_id", "template_id", "type", "hour")


def squash_hourly(limit=1000):
    """Folds each key's unsquashed delta rows into one squashed row (RapidPro's squashed counts);
    returns how many keys it squashed. Readers SUM, so they see the same figures before and after."""
    keys = list(HourlyStat.objects.filter(is_squashed=False).values_list(*_KEY).distinct()[:limit])
    for key in keys:
        with transaction.atomic():
            rows = HourlyStat.objects.select_for_update().filter(**dict(zip(_KEY, key, strict=True)))
            ids = list(rows.values_list("pk", flat=True))
            if not ids:
                continue
            sums = hourly_sums(HourlyStat.objects.filter(pk__in=ids))
            HourlyStat.objects.filter(pk__in=ids).delete()
            if any(sums.values()):
                HourlyStat.objects.create(**dict(zip(_KEY, key, strict=True)), **sums, is_squashed=True)
    return len(keys)


def utc_hour(value):
    """The HourlyStat hour of a moment (for readers and tests)."""
    return _hour(value if isinstance(value, datetime) else parse_datetime(value))
