"""Accepting a checked send request (api.send_requests): its sendable numbers become messages of
the same engine as campaigns, and the answer is the reference's result[] (cloud-sms-spec.md 1.4).

API messages belong to a hidden campaign of source API per (application, template, signature,
provider connection), made on the first send and running for good: the gateway, the send-time
rules (campaigns.sending_rules), the lifecycle, the counters, the hourly statistics, the send
records and the status reports all work on them as they do on a campaign's, and the campaign list
and the dashboard leave them out. Why a campaign and not a table of its own: everything above reads
messages through their campaign; a campaign per request would make the records search (which goes
campaign by campaign) read one per request, and one per route keeps that list short.

Each request's messages are one batch, pushed at once past the per-campaign limit; a small one
(at most SMS_API_PRIORITY_NUMBERS numbers: a verification code) to the connection's priority list,
which the gateway takes from before the bulk list. Its own statusCallback and `extend` go into
ApiMessage, which the status reports read.
"""

import contextlib
import logging

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api import route_cache
from api.errors import ApiError
from api.send_requests import GATEWAY_MATCH_FAILED, OK
from campaigns import dispatch, lifecycle, push
from campaigns.models import Campaign, ProviderConnection
from campaigns.models.sending import NO_REMOTE_TEMPLATE_REASON
from campaigns.status_reports import message_ref
from smsconsole.models import TransitionError

log = logging.getLogger(__name__)


def _enabled_connection(application):
    if application.connection_id:
        connection = ProviderConnection.objects.filter(pk=application.connection_id, enabled=True).first()
        if connection is not None:
            return connection
    return ProviderConnection.objects.filter(name=settings.SMS_DEFAULT_CONNECTION, enabled=True).first()


def connection_for(application):
    """The provider connection the application's API sends go out on: its own while enabled, else
    the one named by SMS_DEFAULT_CONNECTION (api.route_cache keeps it)."""
    connection = route_cache.get(("connection", application.connection_id), lambda: _enabled_connection(application))
    if connection is None:
        log.error("application %s: no enabled provider connection for API sends", application.pk)
        raise ApiError("E000000", "System error: no provider connection is available for this application.")
    return connection


def _route_key(application, template, signature, connection):
    return ("campaign", application.pk, template.pk, signature.pk, connection.pk)


def api_campaign(application, template, signature, connection):
    """The id of this route's hidden campaign, made on first use (a concurrent first use finds the
    other's); api.route_cache keeps it, and accept drops it if the campaign is gone."""

    def get_or_create():
        now = timezone.now()
        campaign, _created = Campaign.objects.get_or_create(
            source=Campaign.Source.API,
            application=application,
            template=template,
            signature=signature,
            connection=connection,
            defaults={
                "account_id": application.account_id,
                "name": f"API: {application.name} / {template.name}"[:100],
                "status": Campaign.Status.RUNNING,
                "started_at": now,
                # Planned from the start: it has no audience to plan, and the sweepers and the
                # records search take a campaign with planned_at as one with messages.
                "planned_at": now,
            },
        )
        return campaign.pk

    return route_cache.get(_route_key(application, template, signature, connection), get_or_create)


def _resume_after_arrears(campaign_id):
    """Paused when the account went into arrears; the caller got past authentication, so the
    account is no longer frozen and nobody else would resume a campaign no page shows."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status == Campaign.Status.PAUSED and campaign.pause_reason == Campaign.PauseReason.ARREARS:
        try:
            campaign.resume()
        except TransitionError:
            pass


def _accept_item(application, item, connection, phones, send_request):
    """lifecycle.accept_api on the item's hidden campaign, found again if the cached one is gone."""
    for _attempt in range(2):
        campaign_id = api_campaign(application, item.template, item.signature, connection)
        try:
            # CampaignGone is raised before anything is written: no savepoint is needed.
            message_ids, batch_id, status, pause_reason = lifecycle.accept_api(
                campaign_id,
                connection.pk,
                phones,
                item.values,
                item.segments,
                send_request.status_callback,
                send_request.extend,
            )
        except lifecycle.CampaignGone:
            route_cache.forget(_route_key(application, item.template, item.signature, connection))
            continue
        if status == Campaign.Status.PAUSED and pause_reason == Campaign.PauseReason.ARREARS:
            _resume_after_arrears(campaign_id)
        return campaign_id, message_ids, batch_id
    raise lifecycle.CampaignGone(campaign_id)


def country_of(phone):
    """The calling code of an E.164 number. Calling codes are prefix-free, so the first one to three
    digits that are a known code are it (parsing the number again cost 14 % of a 500-number request)."""
    for length in (1, 2, 3):
        code = phone[1 : 1 + length]
        if code.isdigit() and int(code) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code
    return ""


def accept(send_request):
    """Turns the request's sendable numbers into queued messages and pushes their batches;
    returns the response body: {"code", "description", "result": [...]} in request order."""
    application = send_request.application
    connection = connection_for(application)
    now = timezone.now()
    created = push.utc_time(now)
    priority_limit = settings.SMS_API_PRIORITY_NUMBERS
    ids = {}  # id(recipient) -> message id
    batches = []
    routes = []
    for item in send_request.items:
        sendable = [r for r in item.recipients if r.status == OK]
        if sendable and connection.lacks_remote_template(item.template.pk):
            # Refused as a console campaign's launch is: every message would fail at the hand-over.
            log.warning("application %s, template %s: %s", application.pk, item.template.pk, NO_REMOTE_TEMPLATE_REASON)
            for recipient in sendable:
                recipient.status = GATEWAY_MATCH_FAILED
            continue
        if sendable:
            routes.append((api_campaign(application, item.template, item.signature, connection), item, sendable))
    # One item on PostgreSQL is one statement, atomic by itself and committed at once: no
    # transaction around it, so the campaign row's lock is not held over a round trip
    # (lifecycle.accept_api). Several items are one transaction, in campaign order: each locks its
    # campaign's row until the commit, so two requests naming the same templates in other orders
    # cannot deadlock.
    one_statement = len(routes) == 1 and transaction.get_connection().vendor == "postgresql"
    with contextlib.nullcontext() if one_statement else transaction.atomic():
        for _campaign_id, item, sendable in sorted(routes, key=lambda route: route[0]):
            phones = [r.phone for r in sendable]
            campaign_id, message_ids, batch_id = _accept_item(application, item, connection, phones, send_request)
            ids.update(zip(map(id, sendable), message_ids, strict=True))
            batches.append((campaign_id, batch_id, len(phones) <= priority_limit))
    for campaign_id, batch_id, priority in batches:
        # After the commit: the gateway must find the messages. The batch is already marked pushed
        # (lifecycle.accept_api); a push lost here (Redis down) is found by the stuck-batch sweeper,
        # which pushes it again; nothing is sent twice.
        try:
            dispatch.push_job(connection.pk, campaign_id, batch_id, priority=priority)
        except Exception:
            log.exception("API batch %s: push failed; the stuck-batch sweeper pushes it", batch_id)
    result = []
    for item in send_request.items:
        for recipient in item.recipients:
            message_id = ids.get(id(recipient))
            result.append(
                {
                    "smsMsgId": message_ref(message_id) if message_id else "",
                    "from": send_request.channel,
                    "originTo": recipient.origin,
                    "status": recipient.status,
                    "createTime": created,
                    "countryId": country_of(recipient.phone) if recipient.phone else "",
                    "total": item.segments,
                }
            )
    return {"code": OK, "description": "Success", "result": result}
