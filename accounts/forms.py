from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Invitation
from smsconsole.models import Account, Membership


def users_with_email(email):
    """Users whose address is `email`, in any case: an address names one user (password reset
    mails every user of an address, so two would share one mailbox's resets)."""
    return get_user_model().objects.filter(email__iexact=email.strip())


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"), help_text=_("We send a link to this address to confirm it."))
    account_name = forms.CharField(
        label=_("Company or account name"),
        max_length=Account._meta.get_field("name").max_length,
        help_text=_(
            "Shown to your colleagues and to the reviewers; "
            "you can give the full company name when you apply for the service."
        ),
    )

    def clean_account_name(self):
        return self.cleaned_data["account_name"].strip()


class NewUserForm(UserCreationForm):
    """A user name and password for the address a sign-up or an invitation link proved."""

    def __init__(self, *args, email, **kwargs):
        # The address is set first, so the password validators compare the password with it too.
        super().__init__(*args, instance=get_user_model()(email=email), **kwargs)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.READ_ONLY)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if Membership.objects.filter(account=self.account, user__email__iexact=email).exists():
            raise forms.ValidationError(_("Someone with this address is a member already."))
        open_invitations = Invitation.objects.filter(
            account=self.account, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        )
        if open_invitations.exists():
            raise forms.ValidationError(_("This address has an open invitation; send it again from the list below."))
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class ServiceApplicationForm(forms.Form):
    company_name = forms.CharField(
        label=_("Company name"),
        max_length=Account._meta.get_field("company_name").max_length,
        help_text=_("The registered name of the company that sends, as on its business licence."),
    )
    intended_use = forms.CharField(
        label=_("What you will send"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Which messages (verification codes, notifications, promotions), to whom, and about how many a month."
        ),
    )
    accept_terms = forms.BooleanField(label=_("I have read and accept the service terms."))

    def clean_company_name(self):
        return self.cleaned_data["company_name"].strip()


class NumberVisibilityForm(forms.Form):
    read_only_full_numbers = forms.TypedChoiceField(
        label=_("Read-only members see"),
        coerce=lambda value: value == "full",
        choices=[("masked", _("numbers masked, e.g. 138****8000")), ("full", _("numbers in full"))],
        widget=forms.RadioSelect,
    )
