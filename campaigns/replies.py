"""Replies (MO) from the gateway: stored set-based, opt-outs added, pushes enqueued, in one commit.

The gateway calls `store` with each flush of inbound deliver_sm (up to 500 at a time) and the
SMSC gets its deliver_sm_resp only after it returns, so a reply is acknowledged once it is
committed, and a crash before that makes the SMSC deliver it again rather than lose it.

A reply goes to a signature's channel number; carriers may append an extension, so the longest
channel number the destination starts with wins. The number is normalised in the region of that
signature's application.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from campaigns import push
from campaigns.models import Message, OptOut, Push, Reply
from campaigns.numbers import normalise_number
from sms import optout
from smsconsole.models import Account

log = logging.getLogger(__name__)


def _signatures_for(destinations):
    """{destination: (signature_id, application_id, account_id, region, upstream_url)} by the
    longest channel number each destination starts with."""
    if not destinations:
        return {}
    values = ", ".join(["(CAST(%s AS VARCHAR(21)))"] * len(destinations))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH d (dest) AS (VALUES {values}) "
            "SELECT d.dest, s.channel_number, s.id, a.id, a.account_id, a.default_region, a.upstream_url "
            "FROM d JOIN templates_app_signature s ON s.channel_number IS NOT NULL AND s.channel_number <> '' "
            "AND d.dest LIKE s.channel_number || '%%' "
            "JOIN smsconsole_application a ON a.id = s.application_id",
            list(destinations),
        )
        found = {}
        for dest, channel, *rest in cursor.fetchall():
            if dest not in found or len(channel) > found[dest][0]:
                found[dest] = (len(channel), tuple(rest))
    return {dest: rest for dest, (_length, rest) in found.items()}


def _last_campaigns(pairs):
    """{(phone, signature_id): campaign_id} of the last campaign of that signature handed to the
    provider for that number, in one query for the whole flush."""
    if not pairs:
        return {}
    phones = {phone for phone, _ in pairs}
    signatures = {signature for _, signature in pairs}
    rows = (
        Message.objects.filter(phone__in=phones, campaign__signature_id__in=signatures, submitted_at__isnull=False)
        .values_list("phone", "campaign__signature_id", "campaign_id", "submitted_at")
        .iterator()
    )
    latest = {}
    for phone, signature, campaign, submitted_at in rows:
        key = (phone, signature)
        if key in pairs and (key not in latest or submitted_at > latest[key][1]):
            latest[key] = (campaign, submitted_at)
    return {key: campaign for key, (campaign, _at) in latest.items()}


def _phone(source, region):
    number, error = normalise_number(source, region or "CN", mobile_only=False)
    if number:
        return number
    digits = "".join(ch for ch in source if ch.isdigit())
    return ("+" + digits if digits else source)[:21]


def store(connection_id, items, now=None):
    """Stores inbound messages (objects with source, destination, text) as replies; returns how
    many. Opt-out keywords add the number to the account's opt-out list (source reply), and each
    reply to an application with an upstream URL owes one push."""
    if not items:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        targets = _signatures_for(sorted({(item.destination or "")[:21] for item in items}))
        keywords = {
            pk: optout.keyword_set(words)
            for pk, words in Account.objects.filter(pk__in={t[2] for t in targets.values()}).values_list(
                "pk", "opt_out_keywords"
            )
        }
        replies = []
        for item in items:
            destination = (item.destination or "")[:21]
            signature_id, application_id, account_id, region, upstream_url = targets.get(
                destination, (None, None, None, None, "")
            )
            text = item.text or ""
            replies.append(
                Reply(
                    account_id=account_id,
                    application_id=application_id,
                    signature_id=signature_id,
                    connection_id=connection_id,
                    phone=_phone(item.source or "", region),
                    destination=destination,
                    text=text,
                    received_at=now,
                    opted_out=account_id is not None and optout.normalise(text) in keywords[account_id],
                )
            )
        campaigns = _last_campaigns({(r.phone, r.signature_id) for r in replies if r.signature_id})
        for reply in replies:
            reply.campaign_id = campaigns.get((reply.phone, reply.signature_id))
        Reply.objects.bulk_create(replies, batch_size=1000)

        opt_outs = {(r.account_id, r.phone): r for r in replies if r.opted_out}
        OptOut.objects.bulk_create(
            [
                OptOut(
                    account_id=account_id,
                    phone=phone,
                    source=OptOut.Source.REPLY,
                    note=f"{reply.text.strip()[:40]} → {reply.destination}"[:200],
                    created_at=now,
                )
                for (account_id, phone), reply in opt_outs.items()
            ],
            ignore_conflicts=True,  # already on the list: it stays as it was
        )
        push.enqueue_many(
            push.PushRequest(
                kind=Push.Kind.REPLY,
                account_id=reply.account_id,
                application_id=reply.application_id,
                url=targets[reply.destination][4],
                body=reply_body(reply),
                dedupe_key=f"reply:{reply.mo_id}",
            )
            for reply in replies
            if reply.application_id and targets[reply.destination][4]
        )
    log.info("stored %d replies (%d opt-outs)", len(replies), len(opt_outs))
    return len(replies)


def reply_body(reply):
    """The reference's MO push (cloud-sms-spec.md 1.9), sent form-encoded."""
    return {
        "smsMsgId": str(reply.mo_id),
        "from": reply.phone,
        "to": reply.destination,
        "body": reply.text,
        "createTime": push.utc_time(reply.received_at),
    }
