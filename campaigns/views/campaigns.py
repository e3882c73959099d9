"""Console pages for campaigns (群发任务): list, the create/edit form with its cascading selects,
the confirmation step, and the campaign page with live progress and its actions.

The views only call Campaign's transition methods; those queue the engine's tasks on commit.
Every query goes through smsconsole.tenancy.
"""

import json
import math
import zoneinfo
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import connection_state, planning, preview, results, uploads
from campaigns.campaign_forms import CampaignFilterForm, CampaignForm, initial_from
from campaigns.models import Campaign, Contact, ContactList, ProviderConnection, RecipientImport
from reports import statistics
from sms import text
from smsconsole.models import FROZEN_REASON, Application, TransitionError, audit
from smsconsole.privacy import number_display
from smsconsole.tenancy import require_membership, require_operator, scoped
from templates_app.models import Signature, Template

PAGE_SIZE = 50
ACCOUNT_PATH = "application__account"
# Polling intervals of the progress partial: a running campaign moves every second, a scheduled
# one only has to notice its start and the end of its cancel window.
POLL_RUNNING = "1s"
POLL_SCHEDULED = "5s"
# A finished campaign's submitted messages still wait for their delivery receipts.
POLL_RECEIPTS = "10s"
# A previous sample older than this is stale (a tab in the background); the rate then falls back.
MAX_SAMPLE_AGE = 60.0


def _campaigns(request):
    # An application's API sends are kept in a hidden campaign (api.sending): not one of these. Every
    # page of a campaign shows its counters as the lifecycle keeps them: row plus unsquashed deltas.
    return scoped(request, Campaign).exclude(source=Campaign.Source.API).with_counters()


def _get_campaign(request, pk):
    campaign = (
        _campaigns(request)
        .select_related(
            "application", "signature", "template", "connection", "recipient_import", "contact_list", "created_by"
        )
        .filter(pk=pk)
        .first()
    )
    if campaign is None:
        raise Http404
    return campaign


def _form(request, *args, campaign=None, **kwargs):
    return CampaignForm(
        *args,
        applications=scoped(request, Application),
        signatures=scoped(request, Signature, account_path=ACCOUNT_PATH),
        templates=scoped(request, Template, account_path=ACCOUNT_PATH),
        imports=scoped(request, RecipientImport),
        contact_lists=scoped(request, ContactList),
        # Provider connections are the operator's infrastructure: only staff choose among them.
        connections=ProviderConnection.objects.filter(enabled=True) if request.user.is_staff else None,
        campaign=campaign,
        **kwargs,
    )


def _snapshot(campaign):
    return {
        "status": campaign.status,
        "name": campaign.name,
        "template": campaign.template_id,
        "signature": campaign.signature_id,
        "mode": campaign.mode,
        "shared_variables": campaign.shared_variables,
        "recipient_import": campaign.recipient_import_id,
        "contact_list": campaign.contact_list_id,
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
        "connection": campaign.connection_id,
    }


# --- What a campaign will send ----------------------------------------------------------------


def send_summary(campaign):
    """The preview of what the campaign will send (campaigns.preview: every figure as planning
    makes it) and an example message for the confirmation step."""
    figures = preview.build(campaign)
    # Everyone gets the same text: one count per message says it all.
    shared_text = planning.uses_shared_variables(campaign) or not campaign.recipient_import_id
    example_phone, values = None, list(campaign.shared_variables or [])
    if not shared_text:
        # The (import, phone) unique index answers this without sorting the whole file.
        example = campaign.recipient_import.recipients.filter(opted_out=False).order_by("phone").first()
        if example is not None:
            example_phone, values = example.phone, list(example.variables)
    prepared = campaign.recipient_import if campaign.contact_list_id and campaign.recipient_import_id else None
    return {
        "figures": figures,
        # Contacts of a list whose values do not fit the template (prepared like a file's rows).
        "not_fitting": prepared.rejected if prepared else 0,
        "prepared": prepared,
        "recipients": figures.recipients,
        "opted_out": figures.opted_out,
        "to_send": figures.to_send,
        "segments": figures.segments,
        "per_message": figures.per_recipient[0][0] if shared_text and figures.per_recipient else None,
        "send_time": _format_duration(figures.send_seconds) if figures.send_seconds is not None else None,
        "preview": text.runs(campaign.template.content, values),
        "preview_signature": campaign.signature.name,
        "example_phone": example_phone,
    }


def _format_duration(seconds):
    seconds = int(math.ceil(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def expected_recipients(campaign):
    """Before planning (a draft, a scheduled campaign): the numbers its audience holds now."""
    if campaign.recipient_import_id:
        return max(campaign.recipient_import.accepted - campaign.recipient_import.opted_out, 0)
    if campaign.contact_list_id:
        return Contact.objects.filter(contact_list_id=campaign.contact_list_id).count()
    return None


def progress_context(campaign, params):
    """Counters, rate and ETA for the progress partial.

    The rate is measured between two polls: each rendering carries its sample (messages handed to
    the provider, server time) in hx-vals and the next poll sends it back. The first rendering,
    with no sample, uses the average since started_at.
    """
    now = timezone.now().timestamp()
    handed_over = campaign.submitted + campaign.delivered + campaign.failed + campaign.expired + campaign.unknown
    settled = handed_over + campaign.skipped + campaign.cancelled
    remaining = campaign.queued + campaign.sending
    rate, rate_basis = None, None
    try:
        previous, previous_at = int(params["done"]), float(params["at"])
    except (KeyError, TypeError, ValueError):
        previous = previous_at = None
    if previous is not None and 0 < now - previous_at <= MAX_SAMPLE_AGE and 0 <= previous <= handed_over:
        rate, rate_basis = (handed_over - previous) / (now - previous_at), "interval"
    elif campaign.started_at is not None and campaign.status == Campaign.Status.RUNNING:
        elapsed = now - campaign.started_at.timestamp()
        if elapsed > 0:
            rate, rate_basis = handed_over / elapsed, "average"
    if campaign.is_finished:
        # Over the whole campaign: the last interval of a finished one says nothing.
        rate, rate_basis = None, None
        if campaign.started_at and campaign.finished_at and handed_over:
            elapsed = (campaign.finished_at - campaign.started_at).total_seconds()
            if elapsed > 0:
                rate, rate_basis = handed_over / elapsed, "campaign"
    eta = None
    if campaign.status == Campaign.Status.RUNNING and rate and remaining:
        eta = _format_duration(remaining / rate)
    if campaign.status in {Campaign.Status.RUNNING, Campaign.Status.PAUSED}:
        poll = POLL_RUNNING
    elif campaign.status == Campaign.Status.SCHEDULED:
        poll = POLL_SCHEDULED
    elif campaign.is_finished and remaining:
        poll = POLL_RUNNING  # a cancel is still moving its queued messages
    elif campaign.is_finished and campaign.submitted:
        poll = POLL_RECEIPTS
    else:
        poll = None  # drafts do not move on their own; a settled campaign never moves again
    waiting = None
    if campaign.status == Campaign.Status.RUNNING and remaining:
        state = connection_state.read(campaign.connection)
        waiting = None if state.connected else state.waiting
    return {
        "campaign": campaign,
        "waiting": waiting,
        # Until the cancel task has moved the queued messages; receipts may still come after that.
        "cancelling": campaign.status == Campaign.Status.CANCELLED and remaining > 0,
        "counters": [
            ("queued", _("Queued"), campaign.queued),
            ("sending", _("Sending"), campaign.sending),
            ("submitted", _("Submitted"), campaign.submitted),
            ("delivered", _("Delivered"), campaign.delivered),
            ("failed", _("Failed"), campaign.failed),
            ("expired", _("Expired"), campaign.expired),
            ("unknown", _("Unknown"), campaign.unknown),
            ("skipped", _("Skipped"), campaign.skipped),
            ("cancelled", _("Cancelled"), campaign.cancelled),
        ],
        "settled": settled,
        "expected": expected_recipients(campaign) if campaign.planned_at is None else None,
        "percent": min(100, settled * 100 // campaign.total) if campaign.total else None,
        "rate": rate,
        "rate_basis": rate_basis,
        "eta": eta,
        "poll": poll,
        "cancel_question": _("Cancel this campaign? Messages not yet handed to the provider will not be sent."),
        "sample": json.dumps({"done": handed_over, "at": round(now, 3)}),
    }


# --- Pages --------------------------------------------------------------------------------------


@login_required
def campaign_list(request):
    require_membership(request)
    filters = CampaignFilterForm(request.GET or None)
    campaigns = filters.apply(_campaigns(request).select_related("application", "template"))
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "campaigns/campaign_list.html", {"page": page, "filters": filters, "query": query.urlencode()}
    )


@login_required
def campaign_create(request):
    membership = require_operator(request)
    if request.method == "POST":
        form = _form(request, request.POST)
        if form.is_valid():
            campaign = Campaign(account=membership.account, created_by=request.user)
            form.apply(campaign)
            with transaction.atomic():
                uploads.prepare_contact_list_audience(campaign, request.user)
                campaign.save()
                audit(request.user, "create", campaign, after=_snapshot(campaign))
            return redirect("campaigns:campaign_confirm", pk=campaign.pk)
    else:
        # The cascade can start filled in, e.g. from an import's "create a campaign with this file".
        form = _form(
            request,
            initial={name: request.GET.get(name, "") for name in ("application", "signature", "template", "audience")},
        )
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request, pk):
    require_operator(request)
    campaign = _get_campaign(request, pk)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, _("Only a draft can be edited."))
        return redirect("campaigns:campaign_detail", pk=pk)
    if request.method == "POST":
        form = _form(request, request.POST, campaign=campaign)
        if form.is_valid():
            before = _snapshot(campaign)
            fields = form.apply(campaign)
            with transaction.atomic():
                uploads.prepare_contact_list_audience(campaign, request.user)
                # Compare-and-set: a draft launched from another tab meanwhile keeps its settings.
                updated = Campaign.objects.filter(pk=pk, status=Campaign.Status.DRAFT).update(
                    **{name: getattr(campaign, name) for name in fields}
                )
                if updated:
                    audit(request.user, "edit", campaign, before=before, after=_snapshot(campaign))
            if not updated:
                messages.error(request, _("Only a draft can be edited."))
                return redirect("campaigns:campaign_detail", pk=pk)
            return redirect("campaigns:campaign_confirm", pk=pk)
    else:
        form = _form(request, initial=initial_from(campaign), campaign=campaign)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
def campaign_confirm(request, pk):
    membership = require_operator(request)
    campaign = _get_campaign(request, pk)
    if campaign.status != Campaign.Status.DRAFT:
        return redirect("campaigns:campaign_detail", pk=pk)
    if not (campaign.recipient_import_id or campaign.contact_list_id):
        # A copy starts without recipients.
        messages.error(request, _("Choose the recipients first."))
        return redirect("campaigns:campaign_edit", pk=pk)
    prepared = campaign.recipient_import if campaign.contact_list_id and campaign.recipient_import_id else None
    if prepared is not None and not prepared.is_finished:
        # The contact list's values are being checked; the page reloads itself until they are.
        return render(request, "campaigns/campaign_preparing.html", {"campaign": campaign, "imp": prepared})
    if prepared is not None and prepared.status != prepared.Status.COMPLETED:
        return render(
            request,
            "campaigns/campaign_preparing.html",
            {
                "campaign": campaign,
                "imp": prepared,
                **uploads.status_context(prepared, number_display(membership)),
            },
        )
    if request.method == "POST" and membership.account.is_frozen:
        messages.error(request, _(FROZEN_REASON))
        return redirect("campaigns:campaign_confirm", pk=pk)
    if request.method == "POST":
        # Templates, files and the clock move while a draft waits: check everything again.
        form = _form(request, initial_from(campaign), campaign=campaign)
        if not form.is_valid():
            messages.error(request, _("Something changed since the draft was saved; correct the fields marked below."))
            return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})
        try:
            with transaction.atomic():
                if campaign.scheduled_at:
                    campaign.schedule(campaign.scheduled_at)
                    action, message = "schedule", _("The campaign is scheduled.")
                else:
                    campaign.launch()
                    action, message = "launch", _("The campaign was launched.")
                audit(request.user, action, campaign, after=_snapshot(campaign))
        except TransitionError as error:
            messages.error(request, error.messages[0])
            return redirect("campaigns:campaign_confirm", pk=pk)
        messages.success(request, message)
        return redirect("campaigns:campaign_detail", pk=pk)
    context = {"campaign": campaign, "time_zone": timezone.get_current_timezone_name(), **send_summary(campaign)}
    return render(request, "campaigns/campaign_confirm.html", context)


@login_required
def campaign_detail(request, pk):
    membership = require_membership(request)
    campaign = _get_campaign(request, pk)
    context = progress_context(campaign, {})
    # Why messages were not delivered (campaigns.results), read once per page view, not polled.
    context["breakdown"] = results.breakdown(campaign.pk) if campaign.planned_at else []
    filters = statistics.campaign_filters(campaign, zoneinfo.ZoneInfo(membership.account.timezone))
    if filters:
        context["statistics_url"] = f"{reverse('reports:statistics')}?{urlencode(filters, doseq=True)}"
    return render(request, "campaigns/campaign_detail.html", context)


@login_required
def campaign_progress(request, pk):
    require_membership(request)
    campaign = _get_campaign(request, pk)
    return render(request, "campaigns/_campaign_progress.html", progress_context(campaign, request.GET))


def _transition(request, pk, method, action, done_message):
    require_operator(request)
    campaign = _get_campaign(request, pk)
    before = campaign.status
    try:
        with transaction.atomic():
            getattr(campaign, method)()
            audit(request.user, action, campaign, before={"status": before}, after={"status": campaign.status})
    except TransitionError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, done_message)
    return redirect("campaigns:campaign_detail", pk=pk)


@login_required
@require_POST
def campaign_pause(request, pk):
    return _transition(
        request, pk, "pause", "pause", _("The campaign is paused; no new message goes out until it is resumed.")
    )


@login_required
@require_POST
def campaign_resume(request, pk):
    return _transition(request, pk, "resume", "resume", _("The campaign continues where it stopped."))


@login_required
@require_POST
def campaign_cancel(request, pk):
    return _transition(
        request, pk, "cancel", "cancel", _("The campaign is cancelled; messages not yet handed over will not be sent.")
    )


@login_required
@require_POST
def campaign_copy(request, pk):
    require_operator(request)
    campaign = _get_campaign(request, pk)
    with transaction.atomic():
        copy = campaign.copy(request.user)
        audit(request.user, "copy", copy, before={"copied_from": campaign.pk}, after=_snapshot(copy))
    messages.success(
        request,
        _("This is a copy of “%(name)s” without its recipients; choose them and continue.") % {"name": campaign.name},
    )
    return redirect("campaigns:campaign_edit", pk=copy.pk)


# --- htmx option endpoints of the cascade ------------------------------------------------------


def _options(request, template_name):
    require_membership(request)
    form = _form(request, initial=request.GET.dict())
    return render(request, template_name, {"form": form})


@login_required
def campaign_options_signatures(request):
    return _options(request, "campaigns/_campaign_after_application.html")


@login_required
def campaign_options_templates(request):
    return _options(request, "campaigns/_campaign_after_signature.html")


@login_required
def campaign_options_audiences(request):
    return _options(request, "campaigns/_campaign_after_template.html")
