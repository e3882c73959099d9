"""Planning a launched campaign: its message rows and id-range batches, set-based.

Everything happens in one transaction that ends by setting `planned_at`, so a crash leaves either
nothing or a complete plan, and a second run (a redelivered task) finds `planned_at` and stops.
The SQL is the same on PostgreSQL and SQLite (JSON columns are text there).
"""

import json
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

# Stored untranslated in failure_reason and translated when shown, in the reader's language.
from django.utils.translation import gettext_noop

from campaigns.models import Campaign, RecipientImport
from sms import text

log = logging.getLogger(__name__)

SKIP_OPT_OUT = "opt_out"

_COLUMNS = (
    "campaign_id, connection_id, phone, variables, segments, status, skip_reason, error_code, error, attempts, "
    "updated_at"
)
# The account's opt-out list is read again here: a number may have opted out since the import.
_STATUS = (
    "CASE WHEN {opted} OR o.id IS NOT NULL THEN 'skipped' ELSE 'queued' END, "
    "CASE WHEN {opted} OR o.id IS NOT NULL THEN '" + SKIP_OPT_OUT + "' ELSE '' END"
)

FROM_IMPORT = (
    f"INSERT INTO campaigns_message ({_COLUMNS}) "
    "SELECT %s, %s, r.phone, {variables}, {segments}, " + _STATUS.format(opted="r.opted_out") + ", '', '', 0, %s "
    "FROM campaigns_recipient r "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = r.phone "
    "WHERE r.recipient_import_id = %s ORDER BY r.id"
)

FROM_CONTACTS = (
    f"INSERT INTO campaigns_message ({_COLUMNS}) "
    "SELECT %s, %s, c.phone, {json}, %s, " + _STATUS.format(opted="1 = 0") + ", '', '', 0, %s "
    "FROM campaigns_contact c "
    "LEFT JOIN campaigns_optout o ON o.account_id = %s AND o.phone = c.phone "
    "WHERE c.contact_list_id = %s ORDER BY c.id"
)

# Batches by position among the queued messages, so each holds SMS_BATCH_SIZE of them whatever
# the skipped rows in between.
BATCHES = (
    "INSERT INTO campaigns_batch (campaign_id, number, first_id, last_id, status, pushes) "
    "SELECT %s, n + 1, MIN(id), MAX(id), 'pending', 0 FROM ("
    "  SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS n"
    "  FROM campaigns_message WHERE campaign_id = %s AND status = 'queued'"
    ") numbered GROUP BY n"
)

COUNTS = (
    "SELECT COUNT(*), "
    "COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN status = 'queued' THEN segments ELSE 0 END), 0) "
    "FROM campaigns_message WHERE campaign_id = %s"
)


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


def plan(campaign_id):
    """Creates the campaign's messages and batches once; returns a small summary for the logs."""
    started = time.monotonic()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("account__service_application", "application", "signature", "template", "recipient_import")
            .filter(pk=campaign_id)
            .first()
        )
        if campaign is None:
            return {"campaign": campaign_id, "skipped": "missing"}
        if campaign.planned_at is not None or campaign.status != Campaign.Status.RUNNING:
            return {"campaign": campaign_id, "skipped": campaign.status if campaign.planned_at is None else "planned"}
        try:
            check_still_sendable(campaign)
            insert_messages(campaign)
        except AudienceNotReady as problem:
            campaign.fail(str(problem))
            return {"campaign": campaign_id, "failed": str(problem)}
        with connection.cursor() as cursor:
            cursor.execute(BATCHES, [campaign.pk, settings.SMS_BATCH_SIZE, campaign.pk])
            batches = cursor.rowcount
            cursor.execute(COUNTS, [campaign.pk])
            total, queued, skipped, segments = cursor.fetchone()
        Campaign.objects.filter(pk=campaign.pk).update(
            total=total, queued=queued, skipped=skipped, segments=segments, planned_at=timezone.now()
        )
    if total >= ANALYZE_AFTER and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_message")
    seconds = time.monotonic() - started
    log.info(
        "campaign %s planned: %s messages (%s skipped), %s batches in %.1fs",
        campaign_id,
        total,
        skipped,
        batches,
        seconds,
    )
    from campaigns.tasks import dispatch_campaign

    transaction.on_commit(lambda: dispatch_campaign.delay(campaign_id))
    return {"campaign": campaign_id, "total": total, "queued": queued, "skipped": skipped, "batches": batches}


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


def uses_shared_variables(campaign):
    """One text for everyone: shared values, or a template without variables (whose file may have
    been imported without a template, so its rows carry no segment count)."""
    if campaign.mode != Campaign.Mode.TEMPLATE:
        return False
    return bool(campaign.shared_variables) or not text.find_variables(campaign.template.content)


def shared_json(campaign):
    return json.dumps(campaign.shared_variables or [], ensure_ascii=False)


def insert_messages(campaign):
    now = timezone.now()
    json_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        if campaign.recipient_import_id:
            if campaign.recipient_import.status != RecipientImport.Status.COMPLETED:
                raise AudienceNotReady(gettext_noop("The recipient file has not finished importing."))
            if uses_shared_variables(campaign):
                # One template, the same values for everyone: the file only supplies numbers.
                sql = FROM_IMPORT.format(variables=json_param, segments="%s")
                params = [campaign.pk, campaign.connection_id, shared_json(campaign), shared_segments(campaign), now]
            else:
                sql = FROM_IMPORT.format(variables="r.variables", segments="r.segments")
                params = [campaign.pk, campaign.connection_id, now]
            cursor.execute(sql, [*params, campaign.account_id, campaign.recipient_import_id])
        elif campaign.contact_list_id:
            cursor.execute(
                FROM_CONTACTS.format(json=json_param),
                [
                    campaign.pk,
                    campaign.connection_id,
                    shared_json(campaign),
                    shared_segments(campaign),
                    now,
                    campaign.account_id,
                    campaign.contact_list_id,
                ],
            )
        else:
            raise AudienceNotReady(gettext_noop("The campaign has no recipients."))
