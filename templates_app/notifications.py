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
# A signature's decisions, by the status they leave it in: content review, the carrier's answer,
# staff marking it legacy, a refused activation. An approved activation names its result itself
# ("activated"): the status it restores says nothing of how it got there.
SIGNATURE_RESULTS = {
    "rejected": "rejected",
    "filing": "filing",
    "approved": "approved",
    "filing_failed": "carrier_rejected",
    "legacy_filing_failed": "carrier_rejected",
    "legacy_unqualified": "needs_qualification",
    "to_be_activated": "activation_rejected",
}


def result_of(kind, status):
    """The result a decision that left an object of `kind` in `status` announces, or None."""
    return (SIGNATURE_RESULTS if kind == reasons.SIGNATURE else RESULTS).get(status)


def kind_of(obj):
    for kind, (model, _toggle, _url) in KINDS.items():
        if isinstance(obj, model):
            return kind
    raise ValueError(f"no review notifications for {type(obj).__name__}")


def queue_review_result(obj, result=None):
    """Sends the review-result email for `obj` after the current transaction commits, unless its
    status has moved on by then; `result` defaults to what its status says (result_of)."""
    # Imported here: the tasks module imports this one.
    from templates_app.tasks import notify_review_result

    kind, pk, status = kind_of(obj), obj.pk, obj.status
    transaction.on_commit(lambda: notify_review_result.delay(kind, pk, result, status))


def queue_to_be_activated(account, signature_ids):
    """One email to the account's contacts listing its signatures that now wait for activation,
    after the current transaction commits."""
    from templates_app.tasks import notify_to_be_activated

    account_id, ids = account.pk, list(signature_ids)
    transaction.on_commit(lambda: notify_to_be_activated.delay(account_id, ids))


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
            contacts.append(
                NotificationContact(name=applicant.get_full_name() or applicant.get_username(), email=applicant.email)
            )
    return contacts


def _render(kind, obj, contact, result, language):
    with translation.override(language):
        context = {
            "carrier_reason": getattr(obj, "carrier_reason", ""),
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


def _messages(contacts, render):
    """One EmailMessage per contact, so no contact sees another's address; `render(contact,
    language)` gives one language's (subject, body)."""
    messages = []
    for contact in contacts:
        sections = [render(contact, language) for language in EMAIL_LANGUAGES]
        subject = "[smsconsole] " + " / ".join(subject for subject, _body in sections)
        body = ("\n\n" + "-" * 40 + "\n\n").join(body for _subject, body in sections) + "\n"
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email]))
    return messages


def bilingual_messages(contacts, render):
    """For other apps' notices to the contacts (campaigns.quotas): one mail per contact with
    both languages, as review results are."""
    return _messages(contacts, render)


def build_review_messages(kind, obj, contacts, result=None):
    result = result or result_of(kind, obj.status)
    return _messages(contacts, lambda contact, language: _render(kind, obj, contact, result, language))


def send_review_result(kind, pk, result=None, status=None):
    """Emails the review result of one object to its account's subscribed contacts; `status` is
    the one the decision left, and a different status now means the result no longer stands."""
    if kind not in KINDS:
        raise ValueError(f"unknown review kind {kind!r}")
    obj = _load(kind, pk)
    if obj is None:
        logger.info("review result for %s %s not sent: the object is gone", kind, pk)
        return {"kind": kind, "id": pk, "sent": 0, "skipped": "missing"}
    result = result or result_of(kind, obj.status)
    if result is None or (status is not None and obj.status != status):
        # Resubmitted, withdrawn or decided again since: the result no longer stands.
        logger.info("review result for %s %s not sent: status is now %s", kind, pk, obj.status)
        return {"kind": kind, "id": pk, "sent": 0, "skipped": obj.status}
    model = KINDS[kind][0]
    decided_at = timezone.now()
    claimed = model.objects.filter(pk=pk, status=obj.status, result_notified_at__isnull=True).update(
        result_notified_at=decided_at
    )
    if not claimed:
        # Another delivery of this task has mailed this decision already.
        return {"kind": kind, "id": pk, "sent": 0, "skipped": "already_notified"}
    messages = build_review_messages(kind, obj, _recipients(kind, obj), result)
    sent = get_connection().send_messages(messages) if messages else 0
    # The contacts who asked for it hear the same by SMS, through the engine (campaigns.notices).
    from campaigns import notices

    notice = notices.tell_review_result(kind, obj, result, KINDS[kind][1], decided_at)
    texted = notice.recipients if notice else 0
    return {"kind": kind, "id": pk, "status": obj.status, "sent": sent or 0, "sms": texted}


def _render_to_be_activated(account, signatures, contact, language):
    with translation.override(language):
        context = {
            "account": account,
            "signatures": signatures,
            "contact": contact,
            "console_url": settings.CONSOLE_URL.rstrip("/")
            + reverse("templates_app:signature_list")
            + "?status=to_be_activated",
            "retention_days": settings.SMS_ARREARS_RETENTION_DAYS,
        }
        subject = render_to_string(f"templates_app/email/to_be_activated_subject.{language}.txt", context)
        body = render_to_string(f"templates_app/email/to_be_activated.{language}.txt", context)
    return " ".join(subject.split()), body.strip()


def send_to_be_activated(account_id, signature_ids):
    """Emails the account's signature contacts the signatures arrears moved to 待激活; each
    signature is announced once, however often the task runs."""
    now = timezone.now()
    claimed = [
        pk
        for pk in signature_ids
        if Signature.objects.filter(
            pk=pk, status=Signature.Status.TO_BE_ACTIVATED, result_notified_at__isnull=True
        ).update(result_notified_at=now)
    ]
    if not claimed:
        return {"account": account_id, "sent": 0, "skipped": "already_notified"}
    signatures = list(
        Signature.objects.filter(pk__in=claimed).select_related("application__account").order_by("name", "type")
    )
    account = signatures[0].application.account
    contacts = NotificationContact.objects.filter(account=account, notify_signature=True)
    messages = _messages(
        contacts, lambda contact, language: _render_to_be_activated(account, signatures, contact, language)
    )
    sent = get_connection().send_messages(messages) if messages else 0
    from campaigns import notices

    notice = notices.tell_to_be_activated(account, signatures, now)
    return {
        "account": account_id,
        "signatures": len(claimed),
        "sent": sent or 0,
        "sms": notice.recipients if notice else 0,
    }
