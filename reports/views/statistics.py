"""The statistics page (业务统计) and its export: sums of the hourly rollups the message lifecycle
writes (reports.statistics), scoped to the request's account through smsconsole.tenancy."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.views.contact_lists import export_response
from reports.statistics import COUNTS, SERIES, StatisticsForm, statistics, totals
from smsconsole.tenancy import require_membership

# The send records page's result filter, for each figure the table links.
RECORD_STATUS = {"total": "", "delivered": "delivered", "failed": "failed", "sending": "sending", "unknown": "unknown"}


def _records_link(base, query, day, status):
    """The send records of a bucket's day under the page's filters. The records page searches whole
    days (its start and end are dates, both included), so an hour's figure opens its day."""
    params = {
        "application": list(query.applications),
        "signature": query.signature or "",
        "template": list(query.templates),
        "type": query.type,
        "status": status,
        "start": day.isoformat(),
        "end": day.isoformat(),
    }
    return f"{base}?{urlencode({k: v for k, v in params.items() if v not in ('', [])}, doseq=True)}"


def _series_names():
    return {
        "total": _("Total"),
        "delivered": _("Delivered"),
        "failed": _("Failed"),
        "sending": _("Sending"),
        "unknown": _("Unknown"),
        "segments": _("Segments"),
    }


@login_required
def statistics_page(request):
    membership = require_membership(request)
    form = StatisticsForm(request.GET, account=membership.account)
    context = {
        "form": form,
        "series": [(name, _series_names()[name]) for name in SERIES],
        "tz": membership.account.timezone,
    }
    if form.is_valid():
        query = form.query()
        buckets = statistics(membership.account, query)
        sums, shares = totals(buckets)
        records = reverse("reports:records")
        rows = []
        for bucket in buckets:
            cells = []
            for name in COUNTS:
                value = getattr(bucket, name)
                linked = value and name in RECORD_STATUS
                link = _records_link(records, query, bucket.start.date(), RECORD_STATUS[name]) if linked else None
                cells.append((name, value, link))
            rows.append({"label": bucket.label(query.hourly), "cells": cells})
        context.update(
            query=query,
            rows=rows,
            sums=sums,
            shares=shares,
            export_query=request.GET.urlencode(),
            chart={
                "labels": [row["label"] for row in rows],
                "names": {name: str(label) for name, label in context["series"]},
                "series": {name: [getattr(b, name) for b in buckets] for name in SERIES},
            },
        )
    return render(request, "reports/statistics.html", context)


@login_required
def statistics_export(request, fmt):
    membership = require_membership(request)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    form = StatisticsForm(request.GET, account=membership.account)
    if not form.is_valid():
        context = {"form": form, "series": [], "tz": membership.account.timezone}
        return render(request, "reports/statistics.html", context, status=400)
    query = form.query()
    buckets = statistics(membership.account, query)
    names = _series_names()
    header = [
        _("Hour") if query.hourly else _("Date"),
        *[names[name] for name in COUNTS],
        _("Delivered (%)"),
        _("Failed (%)"),
    ]

    def share(part, whole):
        return f"{100 * part / whole:.2f}" if whole else ""

    rows = [
        [
            bucket.start.strftime("%Y-%m-%d %H:00") if query.hourly else bucket.key.isoformat(),
            *[getattr(bucket, name) for name in COUNTS],
            share(bucket.delivered, bucket.total),
            share(bucket.failed, bucket.total),
        ]
        for bucket in buckets
    ]
    return export_response(fmt, _("statistics"), header, rows)
