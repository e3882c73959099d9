from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import is_activated
from smsconsole import shown_once
from smsconsole.forms import ApplicationForm
from smsconsole.models import Application, AuditLog, TransitionError, audit, create_application
from smsconsole.tenancy import get_membership, get_scoped_or_404, require_operator, scoped
from templates_app.models import Qualification, Signature, Template

AUDITED_FIELDS = ApplicationForm._meta.fields
ACTION_LABELS = {
    "create": gettext_lazy("Created"),
    "edit": gettext_lazy("Edited"),
    "reset_secret": gettext_lazy("Secret reset"),
    "launch": gettext_lazy("Launched"),
    "suspend": gettext_lazy("Suspended"),
}


def _count_per_application(model):
    """A subquery counting `model` rows of the outer application; avoids the row product of two joins."""
    rows = model.objects.filter(application=OuterRef("pk")).order_by().values("application")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0))


def _counts_by_status(queryset, status_choices, always=None):
    """(value, label, count) per status; with `always`, the other statuses only when they have a count."""
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    return [
        (value, label, counts.get(value, 0))
        for value, label in status_choices.choices
        if always is None or value in always or counts.get(value)
    ]


DASHBOARD_ROWS = 5


def _attention(request, applications):
    """What waits on the operator: rejected content, failed and paused campaigns, failed imports,
    applications that cannot send. Each entry: (message, count, link)."""
    from campaigns.models import Campaign, RecipientImport

    week_ago = timezone.now() - timedelta(days=7)
    rejected = {
        model: scoped(request, model, account_path=path).filter(status=model.Status.REJECTED).count()
        for model, path in ((Qualification, "account"), (Template, "application__account"))
    }
    S = Signature.Status
    signatures = dict(
        scoped(request, Signature, account_path="application__account")
        .filter(
            status__in=[S.REJECTED, S.FILING_FAILED, S.LEGACY_UNQUALIFIED, S.LEGACY_FILING_FAILED, S.TO_BE_ACTIVATED]
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    signature_list = reverse("templates_app:signature_list")
    campaigns = dict(
        scoped(request, Campaign)
        .exclude(source=Campaign.Source.API)
        .filter(status__in=[Campaign.Status.PAUSED, Campaign.Status.FAILED])
        .filter(Q(status=Campaign.Status.PAUSED) | Q(finished_at__gte=week_ago))
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    failed_imports = (
        scoped(request, RecipientImport)
        .filter(status=RecipientImport.Status.FAILED, created_at__gte=week_ago, contact_list__isnull=True)
        .count()
    )
    not_sending = sum(1 for app in applications if app.status != Application.Status.LAUNCHED)
    entries = [
        (
            _("Qualifications were rejected; correct and resubmit them."),
            rejected[Qualification],
            reverse("templates_app:qualification_list") + "?status=rejected",
        ),
        (
            _("Signatures were rejected; correct and resubmit them."),
            signatures.get(S.REJECTED, 0),
            signature_list + "?status=rejected",
        ),
        (
            _("Signatures were rejected by the carrier; correct and resubmit them."),
            signatures.get(S.FILING_FAILED, 0),
            signature_list + "?status=filing_failed",
        ),
        (
            _("Legacy signatures need their owner's qualification."),
            signatures.get(S.LEGACY_UNQUALIFIED, 0) + signatures.get(S.LEGACY_FILING_FAILED, 0),
            signature_list,
        ),
        (
            _("Signatures wait for activation after arrears."),
            signatures.get(S.TO_BE_ACTIVATED, 0),
            signature_list + "?status=to_be_activated",
        ),
        (
            _("Templates were rejected; correct and resubmit them."),
            rejected[Template],
            reverse("templates_app:template_list") + "?status=rejected",
        ),
        (
            _("Campaigns are paused."),
            campaigns.get(Campaign.Status.PAUSED, 0),
            reverse("campaigns:campaign_list") + "?status=paused",
        ),
        (
            _("Campaigns failed in the last 7 days."),
            campaigns.get(Campaign.Status.FAILED, 0),
            reverse("campaigns:campaign_list") + "?status=failed",
        ),
        (_("Recipient files failed to import in the last 7 days."), failed_imports, reverse("campaigns:import_list")),
        (_("Applications are not launched, so they cannot send."), not_sending, reverse("application_list")),
    ]
    return [entry for entry in entries if entry[1]]


def _campaign_panels(request):
    """Campaigns sending now, and those finished since midnight on the account's clock."""
    from campaigns.models import Campaign

    campaigns = scoped(request, Campaign).exclude(source=Campaign.Source.API).select_related("application", "template")
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    sending = list(
        campaigns.filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED]).order_by("started_at")[
            :DASHBOARD_ROWS
        ]
    )
    finished = list(campaigns.filter(finished_at__gte=midnight).order_by("-finished_at")[:DASHBOARD_ROWS])
    for campaign in sending + finished:
        settled = campaign.total - campaign.queued - campaign.sending
        campaign.percent = min(100, settled * 100 // campaign.total) if campaign.total else 0
    return sending, finished


@login_required
def dashboard(request):
    membership = get_membership(request)
    if membership is None:
        return render(request, "smsconsole/no_account.html")
    applications = list(
        scoped(request, Application).annotate(
            signature_count=_count_per_application(Signature),
            template_count=_count_per_application(Template),
        )
    )
    sending, finished = _campaign_panels(request)
    sections = [
        (
            _("Qualifications"),
            "templates_app:qualification_list",
            _counts_by_status(scoped(request, Qualification), Qualification.Status),
        ),
        (
            _("Signatures"),
            "templates_app:signature_list",
            _counts_by_status(
                scoped(request, Signature, account_path="application__account"),
                Signature.Status,
                always={Signature.Status.PENDING_REVIEW, Signature.Status.APPROVED, Signature.Status.REJECTED},
            ),
        ),
        (
            _("Templates"),
            "templates_app:template_list",
            _counts_by_status(scoped(request, Template, account_path="application__account"), Template.Status),
        ),
    ]
    return render(
        request,
        "smsconsole/dashboard.html",
        {
            "applications": applications,
            "sections": sections,
            "sending": sending,
            "finished_today": finished,
            "attention": _attention(request, applications),
            "activated": is_activated(membership.account),
            "at_quota": len(applications) >= settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT,
        },
    )


@login_required
def application_list(request):
    applications = scoped(request, Application).annotate(
        signature_count=_count_per_application(Signature),
        template_count=_count_per_application(Template),
    )
    page = Paginator(applications, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "smsconsole/application_list.html",
        {
            "page": page,
            "activated": is_activated(get_membership(request).account),
            "at_quota": page.paginator.count >= settings.SMS_MAX_APPLICATIONS_PER_ACCOUNT,
        },
    )


@login_required
def application_create(request):
    membership = require_operator(request)
    if not is_activated(membership.account):
        messages.info(request, _("Applications can be created once the account's SMS service is activated."))
        return redirect("accounts:activation")
    form = ApplicationForm(request.POST or None, account=membership.account)
    if form.is_valid():
        try:
            app, _plaintext = create_application(membership.account, **form.cleaned_data)
        except IntegrityError:
            # Another request created the same name between the form check and the insert.
            form.add_error("name", _("The account already has an application with this name."))
        else:
            audit(request.user, "create", app, after={f: form.cleaned_data[f] for f in AUDITED_FIELDS})
            shown_once.offer_once(request, app)
            messages.success(request, _("Application created. Copy its secret now: it is shown only once."))
            return redirect("application_detail", pk=app.pk)
    return render(request, "smsconsole/application_form.html", {"form": form})


@login_required
def application_detail(request, pk):
    app = get_scoped_or_404(request, Application, pk)
    secret = app.app_secret if shown_once.take_offer(request, app) else None
    history = AuditLog.objects.filter(
        account=app.account, object_type=Application._meta.model_name, object_id=str(app.pk)
    ).select_related("actor")[:10]
    for entry in history:
        entry.label = ACTION_LABELS.get(entry.action, entry.action)
    response = render(
        request,
        "smsconsole/application_detail.html",
        {
            "app": app,
            "secret": secret,
            "history": history,
            "default_connection": settings.SMS_DEFAULT_CONNECTION,
        },
    )
    if secret:
        add_never_cache_headers(response)
    return response


@login_required
def application_edit(request, pk):
    require_operator(request)
    app = get_scoped_or_404(request, Application, pk)
    # Read before validation: a ModelForm copies the submitted values onto the instance.
    before = {f: getattr(app, f) for f in AUDITED_FIELDS}
    form = ApplicationForm(request.POST or None, instance=app, account=app.account)
    if form.is_valid():
        try:
            with transaction.atomic():
                # Only the form's fields: a suspend or a secret reset saved meanwhile must stand.
                app = form.save(commit=False)
                app.save(update_fields=list(AUDITED_FIELDS))
        except IntegrityError:
            form.add_error("name", _("The account already has an application with this name."))
        else:
            changed = [f for f in AUDITED_FIELDS if getattr(app, f) != before[f]]
            if changed:
                audit(
                    request.user,
                    "edit",
                    app,
                    before={f: before[f] for f in changed},
                    after={f: getattr(app, f) for f in changed},
                )
            messages.success(request, _("Application saved."))
            return redirect("application_detail", pk=app.pk)
    return render(request, "smsconsole/application_form.html", {"form": form, "app": app})


@login_required
def application_reset_secret(request, pk):
    require_operator(request)
    app = get_scoped_or_404(request, Application, pk)
    if request.method != "POST":
        return render(request, "smsconsole/application_reset_secret.html", {"app": app})
    app.reset_secret()
    audit(request.user, "reset_secret", app)
    shown_once.offer_once(request, app)
    messages.success(request, _("A new secret was issued; the old one no longer works. Copy it now."))
    return redirect("application_detail", pk=app.pk)


def _change_status(request, pk, transition, done_message):
    require_operator(request)
    app = get_scoped_or_404(request, Application, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    before = app.status
    try:
        getattr(app, transition)()
    except TransitionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        audit(request.user, transition, app, before={"status": before}, after={"status": app.status})
        messages.success(request, done_message)
    return redirect("application_detail", pk=app.pk)


@login_required
def application_launch(request, pk):
    return _change_status(request, pk, "launch", _("Application launched."))


@login_required
def application_suspend(request, pk):
    return _change_status(request, pk, "suspend", _("Application suspended."))
