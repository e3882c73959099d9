"""Results pages: replies (MO) and the pushes to the customers' URLs with their delivery log."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import render

from campaigns.models import Push, PushAttempt, Reply
from campaigns.views.contact_lists import number_lookup
from reports.forms import PushFilterForm, ReplySearchForm
from smsconsole.tenancy import require_membership, scoped
from templates_app.models import Signature

PAGE_SIZE = 50


def _query_without_page(request):
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def reply_list(request):
    membership = require_membership(request)
    signatures = scoped(request, Signature, account_path="application__account").order_by("name", "pk")
    form = ReplySearchForm(request.GET or None, signatures)
    replies = (
        scoped(request, Reply).select_related("signature", "application", "campaign").order_by("-received_at", "-id")
    )
    if form.is_bound and form.is_valid():
        if (number := number_lookup(form.cleaned_data["q"], membership)) is not None:
            replies = replies.filter(number)
        if form.cleaned_data["signature"]:
            replies = replies.filter(signature_id=form.cleaned_data["signature"])
        if form.cleaned_data["campaign"]:
            replies = replies.filter(campaign_id=form.cleaned_data["campaign"])
        start, end = form.time_window()
        if start:
            replies = replies.filter(received_at__gte=start)
        if end:
            replies = replies.filter(received_at__lt=end)
    elif form.is_bound:
        replies = replies.none()
    page = Paginator(replies, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "reports/reply_list.html", {"page": page, "form": form, "query": _query_without_page(request)}
    )


@login_required
def push_list(request):
    require_membership(request)
    form = PushFilterForm(request.GET or None)
    pushes = (
        scoped(request, Push)
        .select_related("application")
        .prefetch_related(Prefetch("attempt_log", queryset=PushAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")
    )
    if form.is_bound and form.is_valid():
        if form.cleaned_data["kind"]:
            pushes = pushes.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["status"]:
            pushes = pushes.filter(status=form.cleaned_data["status"])
    page = Paginator(pushes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "reports/push_list.html", {"page": page, "form": form, "query": _query_without_page(request)}
    )
