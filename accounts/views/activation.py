"""Service activation (开通) in the console: where the account's application stands, and applying."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.forms import ServiceApplicationForm
from accounts.models import SERVICE_TERMS_VERSION, ServiceApplication, service_application_of
from smsconsole.models import Account, TransitionError, audit
from smsconsole.tenancy import require_membership, require_operator


def _can_apply(application):
    return application is None or application.status == ServiceApplication.Status.REJECTED


def due_text(application):
    """When an answer is due, on the account's clock and in the reader's language, with the
    weekday: "Monday June 2, 2025 18:00", "星期一 2025年6月2日 18:00"."""
    due = application.answer_due if application is not None else None
    if due is None:
        return ""
    local = timezone.localtime(due)
    return " ".join(formats.date_format(local, part) for part in ("l", "DATE_FORMAT", "H:i"))


@login_required
def activation(request):
    membership = require_membership(request)
    account = membership.account
    application = service_application_of(account)
    form = None
    if membership.can_edit and _can_apply(application):
        initial = {
            "company_name": account.company_name,
            "intended_use": application.intended_use if application else "",
        }
        form = ServiceApplicationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require_operator(request)
        if form is None:
            messages.error(request, _("The account has applied already."))
            return redirect("accounts:activation")
        if form.is_valid():
            return _apply(request, account, application, form.cleaned_data)
    return render(
        request,
        "accounts/activation.html",
        {
            "application": application,
            "form": form,
            "due": due_text(application),
            "terms_version": SERVICE_TERMS_VERSION,
        },
    )


def _apply(request, account, application, data):
    before = {"status": application.status} if application else None
    try:
        with transaction.atomic():
            if data["company_name"] != account.company_name:
                Account.objects.filter(pk=account.pk).update(company_name=data["company_name"])
            application = ServiceApplication.apply(account, request.user, data["intended_use"])
            audit(
                request.user,
                "apply",
                application,
                before=before,
                after={
                    "status": application.status,
                    "terms_version": application.terms_version,
                    "company_name": data["company_name"],
                    "intended_use": data["intended_use"],
                },
            )
    except TransitionError:
        messages.error(request, _("The account has applied already."))
    else:
        messages.success(
            request, _("Your application was submitted. An answer is due by %(due)s.") % {"due": due_text(application)}
        )
    return redirect("accounts:activation")


def terms(request):
    return render(request, "accounts/terms.html", {"terms_version": SERVICE_TERMS_VERSION})
