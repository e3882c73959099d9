"""What became of a campaign's messages: the failed numbers, why messages failed or were skipped,
a new draft for the failed numbers, and the proof that the counters equal the rows.

Everything here is set-based: one grouped query for the breakdown, one INSERT … SELECT for the
resend audience, and a server-side cursor for the failed numbers, so a campaign of a million
messages costs no more memory than one of ten.
"""

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Message, RecipientImport
from campaigns.planning import SKIP_OPT_OUT
from campaigns.privacy import ERASED_PREFIX
from sms.smpp import pdu

# The numbers "resend to failed" and the failed-numbers download take: refused, undeliverable or
# expired. Unknown messages may have arrived, so they are never offered for sending again.
FAILED = (Message.Status.FAILED, Message.Status.EXPIRED)
STREAM_CHUNK = 5000

SKIP_REASONS = {
    SKIP_OPT_OUT: _("The number is on the account's opt-out list"),
}

# The provider's refusals at the hand-over (SMPP command_status), in words.
REFUSALS = {
    pdu.ESME_RINVDSTADR: _("Invalid destination number"),
    pdu.ESME_RINVSRCADR: _("Invalid sender address (channel number)"),
    pdu.ESME_RINVMSGLEN: _("Message too long for the provider"),
    pdu.ESME_RSYSERR: _("The provider's system error"),
    pdu.ESME_RSUBMITFAIL: _("The provider could not accept the message"),
    pdu.ESME_RMSGQFUL: _("The provider's queue was full"),
    pdu.ESME_RTHROTTLED: _("The provider throttled the sending"),
    pdu.ESME_RX_P_APPN: _("The provider refused the message permanently"),
    pdu.ESME_RX_R_APPN: _("The provider refused the message"),
    pdu.ESME_RINVDSTTON: _("Invalid destination number type"),
    pdu.ESME_RINVDSTNPI: _("Invalid destination numbering plan"),
}


def reason_label(status, skip_reason="", error_code="", reported=False, error=""):
    """The reason of a skipped, failed, expired or unknown message in the reader's words.

    `reported` says the carrier's report said so (the provider had accepted the message and given it
    an id), as opposed to a refusal at the hand-over, where `error_code` is the SMPP command status."""
    if status == Message.Status.SKIPPED:
        return SKIP_REASONS.get(skip_reason, _("Skipped by a sending rule"))
    if status == Message.Status.EXPIRED:
        return _("No delivery report in time: the carrier let it expire")
    if status == Message.Status.UNKNOWN:
        return _("The connection was lost before the provider answered: not sent again")
    if reported:
        if error_code in ("", "000"):
            return _("The carrier reported it undeliverable")
        return _("The carrier reported it undeliverable (carrier error %(code)s)") % {"code": error_code}
    if not error_code:
        if error == "not accepted after repeated attempts":
            return _("Not accepted after repeated attempts")
        return _("Refused by the provider")
    try:
        status_value = int(error_code)
    except ValueError:
        return _("Refused by the provider")
    return REFUSALS.get(status_value, _("Refused by the provider"))


def breakdown(campaign_id):
    """[(status label, reason, count)] of the campaign's failed, expired, unknown and skipped messages
    by reason, largest first within a status; reasons that read the same are added up."""
    rows = (
        Message.objects.filter(
            campaign_id=campaign_id,
            status__in=[*FAILED, Message.Status.UNKNOWN, Message.Status.SKIPPED],
        )
        .annotate(reported=ExpressionWrapper(Q(provider_id__isnull=False), output_field=BooleanField()))
        .values("status", "skip_reason", "error_code", "reported")
        .annotate(count=Count("id"))
        .order_by()
    )
    order = list(Message.Status.values)
    groups = {}
    for row in rows:
        label = str(reason_label(row["status"], row["skip_reason"], row["error_code"], row["reported"]))
        key = (row["status"], label)
        groups[key] = groups.get(key, 0) + row["count"]
    ordered = sorted(groups.items(), key=lambda item: (order.index(item[0][0]), -item[1]))
    return [(Message.Status(status).label, label, count) for (status, label), count in ordered]


def failed_messages(campaign_id):
    return Message.objects.filter(campaign_id=campaign_id, status__in=FAILED)


def failed_numbers(campaign_id):
    """The failed numbers (E.164) in the campaign's order, read through a server-side cursor."""
    return failed_messages(campaign_id).order_by("id").values_list("phone", flat=True).iterator(STREAM_CHUNK)


RESEND_RECIPIENTS = (
    "INSERT INTO campaigns_recipient (recipient_import_id, row_number, phone, variables, opted_out, segments) "
    "SELECT %s, ROW_NUMBER() OVER (ORDER BY id), phone, variables, {false}, segments "
    "FROM campaigns_message WHERE campaign_id = %s AND status IN (%s, %s) "
    # Not a number erased since (its phone is the erase's marker), nor one whose values the text
    # retention purged: sent again it would carry the template with empty values.
    "AND phone NOT LIKE %s AND text_purged_at IS NULL"
)


def resend_to_failed(campaign, user=None):
    """A new draft of the campaign's settings whose audience is exactly its failed numbers, each with
    the variable values it was sent with; None if nothing failed.

    The audience is a completed RecipientImport written by one INSERT … SELECT from the failed
    messages, so the campaign form, confirmation and planning treat it like an uploaded file (opt-outs
    added since are skipped again at planning)."""
    with transaction.atomic():
        recipients = RecipientImport.objects.create(
            account=campaign.account,
            application=campaign.application,
            template=campaign.template,
            original_name=f"failed-{campaign.pk}.csv",
            status=RecipientImport.Status.COMPLETED,
            created_by=user,
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        false = "FALSE" if connection.vendor == "postgresql" else "0"
        with connection.cursor() as cursor:
            cursor.execute(
                RESEND_RECIPIENTS.format(false=false),
                [recipients.pk, campaign.pk, *FAILED, ERASED_PREFIX + "%"],
            )
        totals = recipients.recipients.aggregate(count=Count("id"), segments=Sum("segments"))
        if not totals["count"]:
            transaction.set_rollback(True)
            return None
        recipients.rows_read = recipients.accepted = totals["count"]
        recipients.segments = totals["segments"] or 0
        recipients.save(update_fields=["rows_read", "accepted", "segments"])
        draft = campaign.copy(user)
        draft.name = str(_("%(name)s (failed numbers)") % {"name": campaign.name})[:100]
        draft.recipient_import = recipients
        Campaign.objects.filter(pk=draft.pk).update(name=draft.name, recipient_import=recipients)
    return draft
