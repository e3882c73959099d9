"""The team page: members and their roles, invitations, and what read-only members see of numbers.

Everyone of the account sees the page; operators change it. Every change is audited.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import emails
from accounts.forms import InvitationForm, NumberVisibilityForm, RoleForm
from accounts.models import Invitation
from smsconsole.models import Account, Membership, TransitionError, audit
from smsconsole.tenancy import get_scoped_or_404, require_membership, require_operator, scoped


def _open_invitations(request):
    return scoped(request, Invitation).filter(accepted_at__isnull=True, revoked_at__isnull=True)


@login_required
def team(request, invite_form=None):
    membership = require_membership(request)
    members = list(scoped(request, Membership).select_related("user").order_by("user__username"))
    visibility = "full" if membership.account.read_only_full_numbers else "masked"
    return render(
        request,
        "accounts/team.html",
        {
            "members": members,
            "invitations": list(_open_invitations(request).select_related("invited_by")),
            "invite_form": invite_form or InvitationForm(account=membership.account),
            "visibility_form": NumberVisibilityForm(initial={"read_only_full_numbers": visibility}),
            "roles": Membership.Role.choices,
            "invitation_days": settings.SMS_INVITATION_DAYS,
        },
    )


@login_required
@require_POST
def invite(request):
    membership = require_operator(request)
    form = InvitationForm(request.POST, account=membership.account)
    if not form.is_valid():
        return team(request, invite_form=form)
    try:
        # Sent inside the transaction: nothing is kept of an invitation nobody received.
        with transaction.atomic():
            invitation = Invitation.objects.create(
                account=membership.account,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
            audit(request.user, "invite", invitation, after={"email": invitation.email, "role": invitation.role})
            emails.send_invitation(invitation)
    except IntegrityError:
        # Invited by another operator in between.
        messages.error(request, _("This address has an open invitation; send it again from the list below."))
        return redirect("accounts:team")
    except emails.NotSent:
        messages.error(request, _("The invitation could not be emailed; try again later."))
        return redirect("accounts:team")
    messages.success(request, _("An invitation was emailed to %(email)s.") % {"email": invitation.email})
    return redirect("accounts:team")


def _change_invitation(request, pk, change, action, done):
    """Applies `change` to one of the account's open invitations in an audited transaction."""
    require_operator(request)
    invitation = get_scoped_or_404(request, Invitation, pk)
    try:
        with transaction.atomic():
            change(invitation)
            audit(request.user, action, invitation, after={"email": invitation.email})
    except TransitionError as error:
        messages.error(request, " ".join(error.messages))
    except emails.NotSent:
        messages.error(request, _("The invitation could not be emailed; try again later."))
    else:
        messages.success(request, done % {"email": invitation.email})
    return redirect("accounts:team")


def _send_again(invitation):
    # Inside the transaction: a link the mail server refused does not restart the expiry.
    invitation.mark_sent()
    emails.send_invitation(invitation)


@login_required
@require_POST
def invitation_resend(request, pk):
    return _change_invitation(
        request, pk, _send_again, "resend_invitation", _("The invitation was emailed to %(email)s again.")
    )


@login_required
@require_POST
def invitation_revoke(request, pk):
    return _change_invitation(
        request,
        pk,
        Invitation.revoke,
        "revoke_invitation",
        _("The invitation to %(email)s was withdrawn; its link no longer works."),
    )


@login_required
@require_POST
def member_role(request, pk):
    require_operator(request)
    member = get_scoped_or_404(request, Membership, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("accounts:team")
    before, role = member.role, form.cleaned_data["role"]
    if role == before:
        return redirect("accounts:team")
    try:
        with transaction.atomic():
            member.change_role(role)
            audit(request.user, "change_role", member, before={"role": before}, after={"role": role})
    except TransitionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(user)s is now %(role)s.") % {"user": member.user.get_username(), "role": member.get_role_display()},
        )
    return redirect("accounts:team")


@login_required
def member_remove(request, pk):
    require_operator(request)
    member = get_scoped_or_404(request, Membership, pk)
    if request.method != "POST":
        return render(request, "accounts/member_confirm_remove.html", {"member": member})
    try:
        with transaction.atomic():
            member.remove()
            audit(
                request.user, "remove_member", member, before={"user": member.user.get_username(), "role": member.role}
            )
    except TransitionError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("accounts:team")
    if member.user_id == request.user.pk:
        logout(request)
        return redirect("login")
    messages.success(
        request,
        _("%(user)s was removed from the account and can no longer log in.") % {"user": member.user.get_username()},
    )
    return redirect("accounts:team")


@login_required
@require_POST
def number_visibility(request):
    membership = require_operator(request)
    form = NumberVisibilityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how read-only members see numbers."))
        return redirect("accounts:team")
    account = membership.account
    before, after = account.read_only_full_numbers, form.cleaned_data["read_only_full_numbers"]
    if before != after:
        with transaction.atomic():
            Account.objects.filter(pk=account.pk).update(read_only_full_numbers=after)
            audit(
                request.user,
                "change_number_visibility",
                account,
                before={"read_only_full_numbers": before},
                after={"read_only_full_numbers": after},
            )
        messages.success(
            request,
            _("Read-only members now see numbers in full.")
            if after
            else _("Read-only members now see numbers masked."),
        )
    return redirect("accounts:team")
