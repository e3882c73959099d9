"""Review-result emails to an account's notification contacts (联系人管理, cloud-sms-spec.md 4.8).

The admin calls `queue_review_result` inside the transaction that records a decision; the email
goes out from the worker (`templates_app.tasks.notify_review_result`) once that transaction commits.
"""

import logging
import re

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import ServiceApplication
from templates_app import reasons
from templates_app.models import NotificationContact, Qualification, Signature, Template

logger = logging.getLogger(__name__)

# kind -> (model, the contact's toggle for it, the console page that shows one object). A service
# application (开通) is about the company, as a qualification is: the same contacts hear of both.
KINDS = {
    reasons.QUALIFICATION: (Qualification, "notify_qualification", "templates_app:qualification_detail"),
    reasons.SIGNATURE: (Signature, "notify_signature", "templates_app:signature_detail"),
    reasons.TEMPLATE: (Template, "notify_template", "templates_app:template_detail"),
    reasons.SERVICE: (ServiceApplication, "notify_qualification", "accounts:activation"),
}

# Both languages go into every mail: accounts have no language of their own, and the reference
# product writes to Chinese companies whose staff may read either. Each language has its own
# template (a translated paragraph reads better than a sentence assembled from pieces).
EMAIL_LANGUAGES = ("en", "zh-hans")

RESULTS = {"approved": "approved", "active": "approved", "rejected": "rejected", "inactive": "deactivated"}


def kind_of(obj):
    for kind, (model, _toggle, _url) in KINDS.items():
        if isinstance(obj, model):
            return kind
    raise ValueError(f"no review notifications for {type(obj).__name__}")


def queue_review_result(obj):
    """Sends the review-result email for `obj` after the current transaction commits."""
    # Imported here: the tasks module imports this one.
    from templates_app.tasks import notify_review_result

    kind, pk = kind_of(obj), obj.pk
    transaction.on_commit(lambda: notify_review_result.delay(kind, pk))


def _load(kind, pk):
    model = KINDS[kind][0]
    related = {
        reasons.QUALIFICATION: ["account"],
        reasons.SIGNATURE: ["application__account", "qualification"],
        reasons.TEMPLATE: ["application__account", "signature"],
        reasons.SERVICE: ["account", "applied_by"],
    }[kind]
    return model.objects.select_related(*related).filter(pk=pk).first()


def _console_path(kind, obj):
    # The account has one service application, shown on a page of its own without an id.
    return reverse(KINDS[kind][2]) if kind == reasons.SERVICE else reverse(KINDS[kind][2], args=[obj.pk])


def _recipients(kind, obj):
    """The account's contacts subscribed to this kind; for a service application also the member
    who applied, who may not have set up any contact yet (each address once)."""
    contacts = list(NotificationContact.objects.filter(account=obj.owner_account, **{KINDS[kind][1]: True}))
    applicant = getattr(obj, "applied_by", None)
    if applicant is not None and applicant.is_active and applicant.email:
        if applicant.email.lower() not in {contact.email.lower() for contact in contacts}:
            contacts.append(NotificationContact(name=applicant.get_full_name() or applicant.get_username(), email=applicant.email))
    return contacts


def _render(kind, obj, contact, result, language):
    with translation.override(language):
        context = {
            "kind": kind,
            "obj": obj,
            "result": result,
            "contact": contact,
            "account": obj.owner_account,
            # Rendered here so the catalogue's label comes out in this section's language.
            "reason_label": str(obj.reason_label) if obj.reason_code else "",
            "type_label": str(obj.get_type_display()) if hasattr(obj, "get_type_display") else "",
            "console_url": settings.CONSOLE_URL.rstrip("/") + _console_path(kind, obj),
        }
        subject = render_to_string(f"templates_app/email/review_result_subject.{language}.txt", context)
        body = render_to_string(f"templates_app/email/review_result.{language}.txt", context)
    # Optional lines leave runs of blank lines behind in a text template.
    return " ".join(subject.split()), re.sub(r"\n{3,}", "\n\n", body).strip()


def build_review_messages(kind, obj, contacts):
    """One EmailMessage per contact, so no contact sees another's address."""
    messages = []
    for contact in contacts:
        sections = [_render(kind, obj, contact, RESULTS[obj.status], language) for language in EMAIL_LANGUAGES]
        subject = "[smsconsole] " + " / ".join(subject for subject, _body in sections)
        body = ("\n\n" + "-" * 40 + "\n\n").join(body for _subject, body in sections) + "\n"
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email]))
    return messages


def send_review_result(kind, pk):
    """Emails the current review result of one object to its account's subscribed contacts."""
    if kind not in KINDS:
        raise ValueError(f"unknown review kind {kind!r}")
    obj = _load(kind, pk)
    if obj is None:
        logger.info("review result for %s %s not sent: the object is gone", kind, pk)
        return {"kind": kind, "id": pk, "sent": 0, "skipped": "missing"}
    if obj.status not in RESULTS:
        # Resubmitted or withdrawn since the decision: the result no longer stands.
        logger.info("review result for %s %s not sent: status is now %s", kind, pk, obj.status)
        return {"kind": kind, "id": pk, "sent": 0, "skipped": obj.status}
    model = KINDS[kind][0]
    claimed = model.objects.filter(pk=pk, status=obj.status, result_notified_at__isnull=True).update(
        result_notified_at=timezone.now()
    )
    if not claimed:
        # Another delivery of this task has mailed this decision already.
        return {"kind": kind, "id": pk, "sent": 0, "skipped": "already_notified"}
    messages = build_review_messages(kind, obj, _recipients(kind, obj))
    sent = get_connection().send_messages(messages) if messages else 0
    return {"kind": kind, "id": pk, "status": obj.status, "sent": sent or 0}
