"""A campaign's receipt diagnostics (reports.diagnostics), linked from the campaign page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from campaigns.models import Campaign
from reports import diagnostics as diagnosis
from smsconsole.privacy import number_display
from smsconsole.tenancy import get_scoped_or_404, require_membership


@login_required
def campaign_diagnostics(request, pk):
    membership = require_membership(request)
    campaign = get_scoped_or_404(request, Campaign, pk)
    hours = diagnosis.waiting_hours(request.GET.get("hours"))
    waiting_count, waiting = diagnosis.waiting_for_receipt(campaign, hours)
    show = number_display(membership)
    finished = diagnosis.finished_messages(campaign)
    return render(
        request,
        "reports/diagnostics.html",
        {
            "campaign": campaign,
            "hours": hours,
            "histogram": finished["histogram"],
            "outcomes": finished["outcomes"],
            "unmatched": diagnosis.unmatched_receipts(campaign),
            "waiting_count": waiting_count,
            "waiting": [(show(phone), submitted_at) for phone, submitted_at in waiting],
            "waiting_limit": diagnosis.WAITING_SHOWN,
        },
    )
