"""A campaign's failed numbers: downloaded as CSV or XLSX, or sent again as a new draft."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns import results
from campaigns.models import Campaign
from reports.downloads import streamed_download
from smsconsole.models import audit
from smsconsole.privacy import audit_console_export, number_display
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator


@login_required
def failed_numbers(request, pk, fmt):
    membership = require_membership(request)
    campaign = get_scoped_or_404(request, Campaign, pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    # Recorded before the rows stream: a download the reader breaks off was still handed out.
    audit_console_export(
        request,
        membership,
        campaign,
        what="failed_numbers",
        rows=results.failed_messages(campaign.pk).count(),
        file_format=fmt,
    )
    show = number_display(membership)
    rows = ([show(phone)] for phone in results.failed_numbers(campaign.pk))
    return streamed_download(fmt, f"failed-{campaign.pk}", ["phone"], rows)


@login_required
@require_POST
def resend_failed(request, pk):
    require_operator(request)
    campaign = get_scoped_or_404(request, Campaign, pk)
    draft = results.resend_to_failed(campaign, request.user)
    if draft is None:
        messages.error(request, _("No number of this campaign failed: there is nothing to send again."))
        return redirect("campaigns:campaign_detail", pk=campaign.pk)
    audit(request.user, "resend_failed", draft, before={"campaign": campaign.pk}, after={"status": draft.status})
    messages.success(
        request,
        ngettext(
            "A draft for the %(count)s failed number, with the values it was sent with: check it and confirm.",
            "A draft for the %(count)s failed numbers, with the values they were sent with: check it and confirm.",
            draft.recipient_import.accepted,
        )
        % {"count": draft.recipient_import.accepted},
    )
    return redirect("campaigns:campaign_edit", pk=draft.pk)
