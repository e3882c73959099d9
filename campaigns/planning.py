"""Planning a launched campaign: its message rows and id-range batches, set-based, in slices.

A large audience is planned SMS_PLAN_SLICE recipients at a time (in recipient id order, the first
slice a tenth of that), each slice
in its own transaction that inserts its messages and batches, moves the counters and records how
far planning got (`Campaign.planned_through`); each is dispatched as soon as it commits, so the
first messages leave while the rest is still being planned. A planner killed mid-way loses at
most the slice it was writing (rolled back); planning again continues after the last committed
slice, so nothing is planned twice. The last slice sets `planned_at`, and a run that finds it set
stops. The SQL is the same on PostgreSQL and SQLite (JSON columns are text there).
"""

import json
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

# Stored untranslated in failure_reason and translated when shown, in the reader's language.
from django.utils.translation import gettext_noop

from campaigns import lifecycle
from campaigns.models import Campaign, RecipientImport
from campaigns.models.sending import NO_REMOTE_TEMPLATE_REASON
from sms import text
from templates_app import rules

log = logging.getLogger(__name__)

SKIP_OPT_OUT = lifecycle.OPT_OUT


# A large plan changes the message table at once, and PostgreSQL plans with the statistics it had
# before: the gateway's claim of a chunk (id IN (…) AND campaign_id AND status = 'queued') then
# scans every queued message of the campaign instead of 200 primary keys (measured by bench_send
# at 1M queued: 117 ms a chunk instead of 2 ms, which capped sending near 2,000 messages/s).
# Autovacuum's analyze would come a minute later at best, and not at all where it is off.
ANALYZE_AFTER = 50_000


class AudienceNotReady(Exception):
    pass


def shared_segments(campaign):
    """Segments of the text everyone of a contact-list audience gets (the same variables)."""
    return text.count_segments(text.render(campaign_text(campaign), campaign.shared_variables)).segments


def campaign_text(campaign):
    """The signed template of the campaign, cut into the fixed pieces around its variables."""
    return text.split(campaign.template.content, campaign.signature.name)


class _Cancelled(Exception):
    """The campaign was cancelled while a slice was written: the slice is rolled back."""


def plan(campaign_id):
    """Plans the campaign's messages and batches once, slice by slice; returns a small summary."""
    started = time.monotonic()
    campaign = (
        Campaign.objects.select_related(
            "account__service_application", "application", "signature", "template", "recipient_import"
        )
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None:
        return {"campaign": campaign_id, "skipped": "missing"}
    if campaign.planned_at is not None or campaign.status != Campaign.Status.RUNNING:
        return {"campaign": campaign_id, "skipped": campaign.status if campaign.planned_at is None else "planned"}
    try:
        check_still_sendable(campaign)
        audience = Audience(campaign)
    except AudienceNotReady as problem:
        with transaction.atomic():
            campaign.fail(str(problem))
            lifecycle.cancel_queued(campaign_id)  # slices planned by an earlier run, if any
        return {"campaign": campaign_id, "failed": str(problem)}
    totals = dict.fromkeys(("total", "queued", "skipped", "batches"), 0)
    analyzed = False
    while True:
        try:
            planned = plan_slice(campaign, audience)
        except _Cancelled:
            break
        if planned is None:
            break
        for name in totals:
            totals[name] += planned[name]
        if planned["batches"]:
            transaction.on_commit(lambda: _dispatch(campaign_id))
        if not analyzed and totals["total"] >= ANALYZE_AFTER and connection.vendor == "postgresql":
            _analyze()
            analyzed = True
        if planned["done"]:
            break
    if totals["total"] >= ANALYZE_AFTER and connection.vendor == "postgresql":
        _analyze()
    seconds = time.monotonic() - started
    log.info(
        "campaign %s planned: %s messages (%s skipped), %s batches in %.1fs",
        campaign_id,
        totals["total"],
        totals["skipped"],
        totals["batches"],
        seconds,
    )
    # Once more after planned_at is set: a campaign whose batches were all sent meanwhile completes.
    transaction.on_commit(lambda: _dispatch(campaign_id))
    return {"campaign": campaign_id, **totals}


def _analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_message")


def _dispatch(campaign_id):
    # Directly, not as a task: a single worker busy planning would otherwise hold it until the end.
    from redis.exceptions import RedisError

    from campaigns import dispatch

    try:
        dispatch.dispatch(campaign_id)
    except RedisError as error:  # the stuck-batch sweeper pushes them once Redis is back
        log.warning("campaign %s: cannot push its batches now (%s)", campaign_id, error)


def plan_slice(campaign, audience):
    """Plans the next slice of the audience in one transaction; None if planning is already done
    (or the campaign stopped), else the slice's figures with "done" when it was the last one."""
    with transaction.atomic():
        _lock_planning(campaign.pk)
        row = Campaign.objects.filter(pk=campaign.pk).values("status", "planned_at", "planned_through").first()
        if row is None or row["planned_at"] is not None:
            return None
        if row["status"] not in {Campaign.Status.RUNNING, Campaign.Status.PAUSED}:
            return None
        after = row["planned_through"]
        upper = audience.slice_end(after, slice_size(first=after == 0))
        sql, head, tail = audience.statement(after, upper)
        planned = lifecycle.plan(
            campaign,
            sql,
            head,
            tail,
            settings.SMS_BATCH_SIZE,
            planned_through=upper if upper is not None else audience.last_id(),
            last=upper is None,
        )
        if planned is None:
            raise _Cancelled
    return {**planned, "done": upper is None}


def slice_size(first):
    """SMS_PLAN_SLICE recipients a slice; the first is a tenth of it, so the first messages leave
    within about a second of the launch whatever the audience (bench: 3.1 s at 1,000,000 with a
    first slice of 50,000 on a busy machine)."""
    return max(1, settings.SMS_PLAN_SLICE // 10) if first else settings.SMS_PLAN_SLICE


def _lock_planning(campaign_id):
    """Two planners of one campaign (a redelivered task, the sweeper) take turns slice by slice.
    Not the campaign row: the gateway moves its counters meanwhile."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PLANNING_LOCK, campaign_id])
        else:  # SQLite has one writer: taking the write lock now serialises planners
            cursor.execute(
                "UPDATE campaigns_campaign SET planned_through = planned_through WHERE id = %s", [campaign_id]
            )


# The first key of the advisory lock pair: planning's own namespace.
PLANNING_LOCK = 4_210_001


class Audience:
    """The campaign's recipients (an import's rows or a contact list's contacts) as slices in id order."""

    def __init__(self, campaign):
        self.campaign = campaign
        json_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
        self.head = [campaign.pk, campaign.connection_id]
        if campaign.recipient_import_id:
            if campaign.recipient_import.status != RecipientImport.Status.COMPLETED:
                raise AudienceNotReady(gettext_noop("The recipient file has not finished importing."))
            self.table, self.owner, self.owner_id = (
                "campaigns_recipient",
                "recipient_import_id",
                campaign.recipient_import_id,
            )
            if uses_shared_variables(campaign):
                # One template, the same values for everyone: the file only supplies numbers.
                self.sql = lifecycle.PLAN_FROM_IMPORT.format(variables=json_param, segments="%s", rows="{rows}")
                self.head += [shared_json(campaign), shared_segments(campaign)]
            else:
                self.sql = lifecycle.PLAN_FROM_IMPORT.format(
                    variables="r.variables", segments="r.segments", rows="{rows}"
                )
            self.alias = "r"
        elif campaign.contact_list_id:
            self.table, self.owner, self.owner_id = "campaigns_contact", "contact_list_id", campaign.contact_list_id
            self.sql = lifecycle.PLAN_FROM_CONTACTS.format(json=json_param, rows="{rows}")
            self.head += [shared_json(campaign), shared_segments(campaign)]
            self.alias = "c"
        else:
            raise AudienceNotReady(gettext_noop("The campaign has no recipients."))

    def slice_end(self, after, size):
        """The id of the size-th recipient after `after`, or None if fewer are left (the last slice)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {self.table} WHERE {self.owner} = %s AND id > %s ORDER BY id LIMIT 1 OFFSET %s",
                [self.owner_id, after, size - 1],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def last_id(self):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table} WHERE {self.owner} = %s", [self.owner_id])
            return cursor.fetchone()[0]

    def statement(self, after, upper):
        rows = f" AND {self.alias}.id > %s" + ("" if upper is None else f" AND {self.alias}.id <= %s")
        sql = self.sql.replace("{rows}", rows)
        tail = [timezone.now(), self.campaign.account_id, self.owner_id, after]
        return sql, self.head, tail + ([] if upper is None else [upper])


# A variable attribute no value check knows: only a row written around the template forms has one.
UNKNOWN_ATTRIBUTE_REASON = gettext_noop(
    "A variable of the template has an unknown attribute; correct the template's variables before sending."
)


def check_still_sendable(campaign):
    """A scheduled campaign starts long after its checks: the content may have lost its approval."""
    from accounts.models import is_activated
    from smsconsole.models import FROZEN_REASON, Application
    from templates_app.models import Template

    if not is_activated(campaign.account):
        raise AudienceNotReady(gettext_noop("The account's SMS service is not activated."))
    if campaign.account.is_frozen:
        raise AudienceNotReady(FROZEN_REASON)
    if campaign.application.status == Application.Status.SUSPENDED:
        raise AudienceNotReady(gettext_noop("The application is suspended."))
    if not campaign.signature.can_send:
        raise AudienceNotReady(gettext_noop("The signature is no longer approved."))
    if campaign.template.status != Template.Status.ACTIVE:
        raise AudienceNotReady(gettext_noop("The template is no longer active."))
    if campaign.lacks_remote_template:
        raise AudienceNotReady(NO_REMOTE_TEMPLATE_REASON)
    if rules.unknown_attributes(campaign.template.variables.values_list("attribute", flat=True)):
        raise AudienceNotReady(UNKNOWN_ATTRIBUTE_REASON)


def uses_shared_variables(campaign):
    """One text for everyone: shared values, or a template without variables (whose file may have
    been imported without a template, so its rows carry no segment count)."""
    if campaign.mode != Campaign.Mode.TEMPLATE:
        return False
    return bool(campaign.shared_variables) or not text.find_variables(campaign.template.content)


def shared_json(campaign):
    return json.dumps(campaign.shared_variables or [], ensure_ascii=False)
