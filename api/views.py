"""Console pages for the account's access keys (the management API's key pairs)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from api.models import AccessKey, create_access_key
from smsconsole import shown_once
from smsconsole.models import audit
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped

MAX_ACTIVE_KEYS = 5


class AccessKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=64,
        help_text=gettext_lazy("What the key is for, e.g. “CI template sync”."),
    )


@login_required
def access_key_list(request):
    membership = require_membership(request)
    keys = list(scoped(request, AccessKey).select_related("created_by"))
    new_key = next((key for key in keys if shown_once.take_offer(request, key)), None)
    active = sum(1 for key in keys if key.is_active)
    form = AccessKeyForm()
    return render(
        request,
        "api/access_key_list.html",
        {
            "keys": keys,
            "new_key": new_key,
            "new_secret": new_key.secret if new_key else None,
            "form": form,
            "at_limit": active >= MAX_ACTIVE_KEYS,
            "limit": MAX_ACTIVE_KEYS,
            "project_id": membership.account_id,
        },
    )


@login_required
@require_POST
def access_key_create(request):
    membership = require_operator(request)
    form = AccessKeyForm(request.POST)
    if scoped(request, AccessKey).filter(revoked_at__isnull=True).count() >= MAX_ACTIVE_KEYS:
        messages.error(
            request, _("An account has at most %(n)s active access keys; revoke one first.") % {"n": MAX_ACTIVE_KEYS}
        )
    elif form.is_valid():
        with transaction.atomic():
            key, _plaintext = create_access_key(membership.account, form.cleaned_data["name"], request.user)
            audit(request.user, "create", key, after={"name": key.name, "access_key": key.access_key})
        shown_once.offer_once(request, key)
        messages.success(request, _("Access key created. Copy its secret now: it is shown only once."))
    else:
        messages.error(request, " ".join(form.errors["name"]))
    return redirect("api:access_key_list")


@login_required
@require_POST
def access_key_revoke(request, pk):
    require_operator(request)
    key = get_scoped_or_404(request, AccessKey, pk)
    if key.revoke():
        audit(request.user, "revoke", key, after={"access_key": key.access_key})
        messages.success(request, _("The access key was revoked; requests signed with it are refused."))
    return redirect("api:access_key_list")
