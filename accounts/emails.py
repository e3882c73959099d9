"""The emails of joining: sign-up verification, invitations, and a sign-up for an address in use.

Sign-up mails go out in the language of the page the reader asked from. An invitation is written
for someone else, whose language is not known, so it carries both, like the review results
(templates_app.notifications).
"""

import logging
import re
import smtplib

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

logger = logging.getLogger(__name__)

SIGNUP_SALT = "accounts.signup"
LANGUAGES = ("en", "zh-hans")


def console_url(path):
    return settings.CONSOLE_URL.rstrip("/") + path


def _text(template, context):
    # Optional lines leave runs of blank lines behind in a text template.
    return re.sub(r"\n{3,}", "\n\n", render_to_string(template, context)).strip() + "\n"


def _subject(template, context):
    return " ".join(render_to_string(template, context).split())


def signup_token(email, account_name):
    return signing.dumps({"email": email, "account": account_name}, salt=SIGNUP_SALT)


def read_signup_token(token):
    """(email, account name) of a sign-up link; raises signing.BadSignature (SignatureExpired
    after PASSWORD_RESET_TIMEOUT) for a link that cannot be used."""
    data = signing.loads(token, salt=SIGNUP_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
    if not isinstance(data, dict) or not isinstance(data.get("email"), str) or not isinstance(data.get("account"), str):
        raise signing.BadSignature("malformed sign-up link")
    return data["email"], data["account"]


def send_signup_link(email, account_name):
    context = {
        "link": console_url(reverse("accounts:signup_complete", args=[signup_token(email, account_name)])),
        "account_name": account_name,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    EmailMessage(
        _subject("accounts/email/signup_subject.txt", context),
        _text("accounts/email/signup.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [email],
    ).send()


def send_signup_for_existing_user(email):
    """A sign-up for an address that has a user already: the page says the same as for a new
    address (it would otherwise tell anyone which addresses have users), the mail says what to do."""
    context = {"login": console_url(reverse("login")), "reset": console_url(reverse("password_reset"))}
    EmailMessage(
        _subject("accounts/email/signup_exists_subject.txt", context),
        _text("accounts/email/signup_exists.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [email],
    ).send()


class NotSent(Exception):
    """The mail server refused a mail that the change recording it cannot do without."""


def send_invitation(invitation):
    """Emails the invitation's link; raises NotSent when the mail server refuses it."""
    link = console_url(reverse("accounts:invitation_accept", args=[invitation.token()]))
    sections = []
    for language in LANGUAGES:
        with translation.override(language):
            context = {
                "invitation": invitation,
                "account": invitation.account,
                "link": link,
                "role": str(invitation.get_role_display()),
                "days": settings.SMS_INVITATION_DAYS,
                "inviter": invitation.invited_by.get_username() if invitation.invited_by else "",
            }
            sections.append(
                (
                    _subject(f"accounts/email/invitation_subject.{language}.txt", context),
                    _text(f"accounts/email/invitation.{language}.txt", context),
                )
            )
    subject = "[smsconsole] " + " / ".join(subject for subject, _body in sections)
    body = ("\n" + "-" * 40 + "\n\n").join(body for _subject, body in sections)
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email]).send()
    except (smtplib.SMTPException, OSError) as error:
        logger.exception("invitation %s could not be emailed", invitation.pk)
        raise NotSent(str(error)) from error
