"""Joining: sign-up with a verified address, accepting an invitation, and password reset by email.

Nothing is stored before an address is proved: a sign-up link carries the address and the account
name, signed, and the user, its account and its operator membership are created when the link is
used (so unverified sign-ups hold no user names and need no clean-up). A link works once because
the address then has a user.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from accounts import emails
from accounts.forms import NewUserForm, SignupForm, users_with_email
from accounts.models import Invitation
from smsconsole.models import Account, Membership, TransitionError, audit

# Logging in after a sign-up or an accepted invitation: the user has just proved the address and set the password.
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _lock_address(email):
    """Inside a transaction: serialises creating a user for one address (auth_user has no unique
    email, so a link submitted twice at once would otherwise make two). SQLite's write lock,
    taken when the transaction starts, serialises it already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [email.lower()])


def _refuse_unless_signup_enabled():
    if not settings.SMS_SIGNUP_ENABLED:
        raise Http404("Sign-up is turned off (SMS_SIGNUP_ENABLED).")


def _link_problem(request, problem, status=200):
    """The page for a link that cannot be used: `problem` is expired, invalid, used or taken."""
    return render(request, "accounts/link_problem.html", {"problem": problem}, status=status)


def signup(request):
    _refuse_unless_signup_enabled()
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, account_name = form.cleaned_data["email"], form.cleaned_data["account_name"]
        if users_with_email(email).exists():
            emails.send_signup_for_existing_user(email)
        else:
            emails.send_signup_link(email, account_name)
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


def signup_sent(request):
    _refuse_unless_signup_enabled()
    return render(request, "accounts/signup_sent.html", {"hours": settings.PASSWORD_RESET_TIMEOUT // 3600})


def signup_complete(request, token):
    _refuse_unless_signup_enabled()
    try:
        email, account_name = emails.read_signup_token(token)
    except signing.SignatureExpired:
        return _link_problem(request, "expired")
    except signing.BadSignature:
        return _link_problem(request, "invalid")
    if users_with_email(email).exists():
        return _link_problem(request, "used")
    form = NewUserForm(request.POST or None, email=email)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                _lock_address(email)
                if users_with_email(email).exists():
                    raise IntegrityError("the address has a user now")
                user = form.save()
                account = Account.objects.create(name=account_name)
                Membership.objects.create(user=user, account=account, role=Membership.Role.OPERATOR)
                audit(user, "sign_up", account, after={"user": user.get_username(), "email": email})
        except IntegrityError:
            # The same link used twice at once, or the user name taken in between.
            return _link_problem(request, "used")
        login(request, user, backend=BACKEND)
        messages.success(request, _("Welcome! Your account is ready. Apply for the SMS service to start sending."))
        return redirect("accounts:activation")
    return render(
        request, "accounts/signup_complete.html", {"form": form, "email": email, "account_name": account_name}
    )


def invitation_accept(request, token):
    try:
        invitation = Invitation.from_token(token)
    except signing.SignatureExpired:
        return _link_problem(request, "expired")
    except signing.BadSignature:
        return _link_problem(request, "invalid")
    if not invitation.is_open:
        return _link_problem(request, "used")
    existing = users_with_email(invitation.email).first()
    if existing is not None and (existing.is_staff or Membership.objects.filter(user=existing).exists()):
        # A user belongs to one account; staff users review accounts and join none.
        return _link_problem(request, "taken")
    if existing is not None:
        # Someone removed from a team earlier: the link proves the address, as a password reset would.
        form = SetPasswordForm(existing, request.POST or None)
    else:
        form = NewUserForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                _lock_address(invitation.email)
                if existing is None and users_with_email(invitation.email).exists():
                    raise IntegrityError("the address has a user now")
                user = form.save()
                if not user.is_active:
                    user.is_active = True
                    user.save(update_fields=["is_active"])
                invitation.accept(user)
                Membership.objects.create(user=user, account=invitation.account, role=invitation.role)
                audit(
                    user,
                    "join",
                    invitation,
                    account=invitation.account,
                    after={"user": user.get_username(), "email": invitation.email, "role": invitation.role},
                )
        except (TransitionError, IntegrityError):
            return _link_problem(request, "used")
        login(request, user, backend=BACKEND)
        messages.success(request, _("Welcome to %(account)s.") % {"account": invitation.account})
        return redirect("dashboard")
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation, "existing": existing}
    )


class LoginView(auth_views.LoginView):
    """Django's login page, offering sign-up where a deployment has it on."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "signup_enabled": settings.SMS_SIGNUP_ENABLED}


# --- Password reset: Django's views and token generator, in the console's pages -------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"

    def form_valid(self, form):
        # Links point at the console's public address, as every other email does.
        self.extra_email_context = {"console_url": emails.console_url("")}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        membership = Membership.objects.select_related("account").filter(user=form.user).first()
        audit(form.user, "password_reset", form.user, account=membership.account if membership else None)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
