"""Send records (发送详情): the search, one message's page, and the export of a search with the charged flag.

Every query is scoped to the request's account (smsconsole.tenancy); read-only members see numbers
as smsconsole.privacy lets them.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import planning, privacy
from campaigns.models import Campaign, Message, MessagePart
from campaigns.results import reason_label
from reports import records
from reports.downloads import streamed_download
from reports.records import PAGE_SIZE, RecordSearch, RecordSearchForm, result_label, with_charged
from smsconsole.privacy import audit_console_export, number_display
from smsconsole.tenancy import parse_id, require_membership

EXPORT_CHUNK = 2000
WITH_REASON = {Message.Status.FAILED, Message.Status.EXPIRED, Message.Status.UNKNOWN, Message.Status.SKIPPED}


def _search(request, membership):
    form = RecordSearchForm(RecordSearchForm.defaults(request.GET), membership.account)
    return form, (RecordSearch(membership.account, form.cleaned_data) if form.is_valid() else None)


def _describe(message):
    """Adds what the pages and the export show of a message: its result and its reason in words."""
    message.result = result_label(message.status)
    message.reason = (
        reason_label(
            message.status, message.skip_reason, message.error_code, message.provider_id is not None, message.error
        )
        if message.status in WITH_REASON
        else ""
    )
    return message


@login_required
def record_list(request):
    membership = require_membership(request)
    form, search = _search(request, membership)
    page, query = None, ""
    if search is not None:
        page = Paginator(search, PAGE_SIZE).get_page(request.GET.get("page"))
        for message in page:
            _describe(message)
        query = form.query_string()
    return render(
        request,
        "reports/record_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "capped": search is not None and search.capped,
            "max_listed": records.MAX_LISTED,
        },
    )


@login_required
def record_detail(request, pk):
    membership = require_membership(request)
    message = with_charged(Message.objects.filter(pk=parse_id(pk), campaign__account=membership.account)).first()
    if message is None:
        raise Http404
    campaign = Campaign.objects.select_related("application", "signature", "template").get(pk=message.campaign_id)
    _describe(message)
    # None once the retention purge (or an erase) emptied the values: the page says so.
    rendered = privacy.record_text(message, planning.campaign_text(campaign))
    history = [(_("Planned"), campaign.planned_at)]
    if message.submitted_at:
        history.append((_("Handed to the provider"), message.submitted_at))
    if message.done_at:
        history.append((message.result, message.done_at))
    # A long message's segments each have their own provider id and receipt (none for one segment).
    parts = list(MessagePart.objects.filter(message=message).order_by("number")) if message.segments > 1 else []
    return render(
        request,
        "reports/record_detail.html",
        {"message": message, "campaign": campaign, "rendered": rendered, "history": history, "parts": parts},
    )


@login_required
def record_export(request, fmt):
    membership = require_membership(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    form, search = _search(request, membership)
    if search is None:
        raise Http404
    campaign_ids = search.campaign_ids()
    campaigns = {
        campaign.pk: campaign
        for campaign in Campaign.objects.filter(pk__in=campaign_ids).select_related(
            "application", "signature", "template"
        )
    }
    messages = with_charged(search.messages())
    audit_console_export(
        request, membership, membership.account, what="send_records", rows=messages.count(), file_format=fmt
    )
    show = number_display(membership)
    header = [
        _("Sent at"),
        _("Number"),
        _("Campaign"),
        _("Application"),
        _("Signature"),
        _("Channel number"),
        _("Template"),
        _("Type"),
        _("Result"),
        _("Reason"),
        _("Error code"),
        _("Segments"),
        _("Charged"),
    ]
    yes, no = _("Yes"), _("No")

    def rows():
        for message in messages.iterator(chunk_size=EXPORT_CHUNK):
            campaign = campaigns[message.campaign_id]
            _describe(message)
            sent = message.submitted_at or message.done_at or message.updated_at
            yield [
                timezone.localtime(sent).isoformat(timespec="seconds") if sent else "",
                show(message.phone),
                campaign.name,
                campaign.application.name,
                campaign.signature.name,
                campaign.signature.channel_number or "",
                campaign.template.name,
                campaign.template.get_type_display(),
                str(message.result),
                str(message.reason),
                message.error_code,
                message.segments,
                yes if message.charged else no,
            ]

    return streamed_download(fmt, _("send-records"), header, rows())
