from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from smsconsole.models import audit
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped
from templates_app.forms.contacts import NotificationContactForm
from templates_app.models import NotificationContact


def _snapshot(contact):
    return {
        "name": contact.name,
        "phone": contact.phone,
        "email": contact.email,
        "notify_signature": contact.notify_signature,
        "notify_template": contact.notify_template,
        "notify_traffic": contact.notify_traffic,
        "notify_qualification": contact.notify_qualification,
    }


@login_required
def contact_list(request):
    require_membership(request)
    # The quota keeps this list short (at most SMS_MAX_NOTIFICATION_CONTACTS rows): no paging.
    contacts = list(scoped(request, NotificationContact))
    return render(
        request,
        "templates_app/contact_list.html",
        {"contacts": contacts, "limit": settings.SMS_MAX_NOTIFICATION_CONTACTS},
    )


@login_required
def contact_create(request):
    membership = require_operator(request)
    contact = NotificationContact(account=membership.account)
    if request.method == "POST":
        form = NotificationContactForm(request.POST, instance=contact)
        if form.is_valid():
            with transaction.atomic():
                contact = form.save()
                audit(request.user, "create", contact, after=_snapshot(contact))
            messages.success(request, _("The contact was added."))
            return redirect("templates_app:contact_list")
    else:
        form = NotificationContactForm(instance=contact)
    return render(request, "templates_app/contact_form.html", {"form": form, "contact": None})


@login_required
def contact_edit(request, pk):
    require_operator(request)
    contact = get_scoped_or_404(request, NotificationContact, pk)
    before = _snapshot(contact)
    title = contact.name
    if request.method == "POST":
        form = NotificationContactForm(request.POST, instance=contact)
        if form.is_valid():
            with transaction.atomic():
                form.save()
                audit(request.user, "change", contact, before=before, after=_snapshot(contact))
            messages.success(request, _("The contact was saved."))
            return redirect("templates_app:contact_list")
    else:
        form = NotificationContactForm(instance=contact)
    return render(request, "templates_app/contact_form.html", {"form": form, "contact": contact, "title": title})


@login_required
def contact_delete(request, pk):
    require_operator(request)
    contact = get_scoped_or_404(request, NotificationContact, pk)
    if request.method == "POST":
        with transaction.atomic():
            audit(request.user, "delete", contact, before=_snapshot(contact))
            contact.delete()
        messages.success(request, _("The contact was deleted."))
        return redirect("templates_app:contact_list")
    return render(request, "templates_app/contact_confirm_delete.html", {"contact": contact})
