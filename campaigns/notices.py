"""Notices to an account's notification contacts by SMS (issue 11; 联系人管理, cloud-sms-spec.md 4.8).

Review results (templates_app.notifications) and traffic alerts — a quota's alert threshold or
limit (campaigns.quotas), a balance below SMS_BALANCE_ALERT or too low to send on
(campaigns.sending_rules) — reach the contacts who turned on "also by SMS" as an SMS sent by the
engine itself: a campaign of the platform's own account (Account.is_system, created on first use
with an application, the signature SMS_SYSTEM_SIGNATURE and a notification template of one
variable that holds the notice), whose audience is a contact list of the numbers to tell. It is
planned, dispatched, sent by the gateway and its receipts applied like any other campaign, so the
system account's opt-outs hold for it (a contact who replied R to a notice hears no more) and so
do the frequency caps; campaigns.sending_rules exempts the system account from quotas and the
balance. The platform's own account has no members: its campaigns show in no tenant's console.

Each occasion is told once: `tell` records a Notice under a key naming the occasion (a review
decision, a quota period, a day of low balance) and sends nothing when one exists already.
"""

import logging
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.models import Campaign, Contact, ContactList, Notice, ProviderConnection
from smsconsole.models import Account, rows_changed

log = logging.getLogger(__name__)

NOTICE_MAX_LENGTH = 300  # the template variable's limit: a notice is a few segments at most
SYSTEM_ACCOUNT_NAME = "smsconsole (system)"
SYSTEM_TEMPLATE_NAME = "Notice"
# The advisory lock's first key (planning uses 4_210_001): two workers never both create the sender.
SENDER_LOCK = 4_210_002


# --- the sender ----------------------------------------------------------------------------------


class Sender:
    def __init__(self, account, application, signature, template):
        self.account, self.application, self.signature, self.template = account, application, signature, template


def system_sender():
    """The system account, its application, signature and template, created on first use; the
    signature follows SMS_SYSTEM_SIGNATURE and SMS_SYSTEM_CHANNEL_NUMBER when they change."""
    from accounts.models import activate
    from smsconsole.models import create_application
    from templates_app.models import MessageType, Qualification, Signature, Template, TemplateVariable

    with transaction.atomic():
        _lock()
        account = Account.objects.filter(is_system=True).order_by("pk").first()
        if account is None:
            account = Account.objects.create(name=SYSTEM_ACCOUNT_NAME, company_name="smsconsole", is_system=True)
        activate(account, intended_use="The platform's notices to notification contacts.")
        application = account.applications.order_by("pk").first()
        if application is None:
            application, _secret = create_application(account, "Notices")
        name, number = settings.SMS_SYSTEM_SIGNATURE, settings.SMS_SYSTEM_CHANNEL_NUMBER
        signature = Signature.objects.filter(application=application, type=MessageType.NOTIFICATION).first()
        if signature is None:
            qualification = Qualification.objects.create(
                account=account, name="smsconsole", company_name="smsconsole", status=Qualification.Status.APPROVED
            )
            signature = Signature.objects.create(
                application=application,
                name=name,
                type=MessageType.NOTIFICATION,
                status=Signature.Status.APPROVED,
                qualification=qualification,
                channel_number=number,
                submitted_at=timezone.now(),
            )
        elif (signature.name, signature.channel_number) != (name, number):
            Signature.objects.filter(pk=signature.pk).update(name=name, channel_number=number)
            rows_changed.send(sender=Signature)
            signature.name, signature.channel_number = name, number
        template = Template.objects.filter(application=application, signature=signature).first()
        if template is None:
            template = Template.objects.create(
                application=application,
                signature=signature,
                name=SYSTEM_TEMPLATE_NAME,
                type=MessageType.NOTIFICATION,
                content="${1}",
                status=Template.Status.ACTIVE,
                submitted_at=timezone.now(),
            )
            TemplateVariable.objects.create(template=template, position=1, max_length=NOTICE_MAX_LENGTH)
    return Sender(account, application, signature, template)


def _lock():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [SENDER_LOCK])
        else:  # SQLite has one writer: taking the write lock now serialises the creators
            cursor.execute("UPDATE smsconsole_account SET name = name WHERE is_system")


def notice_connection():
    name = settings.SMS_NOTICE_CONNECTION or settings.SMS_DEFAULT_CONNECTION
    return ProviderConnection.objects.filter(name=name, enabled=True).first()


# --- telling -------------------------------------------------------------------------------------


def sms_contacts(account_id, toggle):
    """The account's contacts who want this kind of notice (`toggle`) by SMS and have a phone."""
    from templates_app.models import NotificationContact

    return NotificationContact.objects.filter(account_id=account_id, notify_by_sms=True, **{toggle: True}).exclude(
        phone=""
    )


def tell(account_id, kind, key, text, contacts):
    """Records the notice of (account, kind, key) and sends `text` by SMS to the `contacts`'
    phones; returns the Notice, or None if this occasion was told already."""
    text = text[:NOTICE_MAX_LENGTH]
    try:
        with transaction.atomic():
            notice = Notice.objects.create(account_id=account_id, kind=kind, key=key[:100], text=text)
    except IntegrityError:
        return None
    phones = sorted({contact.phone for contact in contacts if contact.phone})
    if not phones:
        return notice
    out = notice_connection()
    if out is None:
        log.warning("notice %s to account %s not sent by SMS: no connection %s", kind, account_id, out)
        return notice
    sender = system_sender()
    with transaction.atomic():
        audience = ContactList.objects.create(account=sender.account, name=f"notice-{uuid.uuid4().hex[:20]}")
        Contact.objects.bulk_create([Contact(contact_list=audience, phone=phone) for phone in phones])
        campaign = Campaign.objects.create(
            account=sender.account,
            application=sender.application,
            signature=sender.signature,
            template=sender.template,
            connection=out,
            name=f"Notice {kind} to account {account_id}"[:100],
            contact_list=audience,
            shared_variables=[text],
        )
        campaign.launch()
        Notice.objects.filter(pk=notice.pk).update(campaign=campaign, recipients=len(phones))
    log.info("notice %s to account %s: SMS to %s numbers (campaign %s)", kind, account_id, len(phones), campaign.pk)
    notice.campaign, notice.recipients = campaign, len(phones)
    return notice


def in_notice_language(render):
    with translation.override(settings.SMS_NOTICE_LANGUAGE):
        return render()


def _signed(account, notice):
    return _("%(account)s: %(notice)s") % {"account": account.name, "notice": notice}


# --- review results (templates_app.notifications) -------------------------------------------------

# What a decision left, as a sentence about "what" (the object); gettext_noop: translated when sent.
REVIEW_SENTENCES = {
    "approved": gettext_noop("%(what)s was approved."),
    "rejected": gettext_noop("%(what)s was rejected."),
    "filing": gettext_noop("%(what)s passed review and was filed with the carrier."),
    "carrier_rejected": gettext_noop("%(what)s was rejected by the carrier."),
    "needs_qualification": gettext_noop("%(what)s needs a qualification."),
    "activated": gettext_noop("%(what)s was activated."),
    "activation_rejected": gettext_noop("%(what)s was not activated."),
    "deactivated": gettext_noop("%(what)s was deactivated."),
}
REVIEW_OBJECTS = {
    "qualification": gettext_noop("the qualification “%(name)s”"),
    "signature": gettext_noop("the signature %(name)s"),
    "template": gettext_noop("the template “%(name)s”"),
    "service": gettext_noop("the SMS service activation"),
}


def review_text(kind, obj, result):
    """The SMS of a review result, in SMS_NOTICE_LANGUAGE."""

    def render():
        what = _(REVIEW_OBJECTS[kind]) % {"name": str(obj) if kind == "signature" else getattr(obj, "name", "")}
        sentence = capfirst(_(REVIEW_SENTENCES.get(result, REVIEW_SENTENCES["deactivated"])) % {"what": what})
        reason = str(obj.reason_label) if getattr(obj, "reason_code", "") else ""
        if reason and result in {"rejected", "carrier_rejected", "activation_rejected"}:
            sentence = _("%(sentence)s Reason: %(reason)s") % {"sentence": sentence, "reason": reason}
        return _signed(obj.owner_account, sentence)

    return in_notice_language(render)


def tell_review_result(kind, obj, result, toggle, decided_at):
    """The review result of `obj` by SMS to its account's contacts who take `toggle` by SMS, once per decision."""
    account = obj.owner_account
    key = f"{kind}:{obj.pk}:{obj.status}:{decided_at.isoformat()}"
    return tell(account.pk, Notice.Kind.REVIEW, key, review_text(kind, obj, result), sms_contacts(account.pk, toggle))


def tell_to_be_activated(account, signatures, decided_at):
    """The signatures the arrears moved to 待激活 by SMS to the signature contacts, once per move."""

    def render():
        names = ", ".join(str(signature) for signature in signatures)
        return _signed(
            account, _("These signatures wait for activation after the arrears: %(names)s.") % {"names": names}
        )

    key = f"to_be_activated:{decided_at.isoformat()}"
    text = in_notice_language(render)
    return tell(account.pk, Notice.Kind.REVIEW, key, text, sms_contacts(account.pk, "notify_signature"))


# --- traffic alerts ------------------------------------------------------------------------------


def tell_quota(row, kind, subject):
    """A quota's alert or limit (campaigns.quotas, once per period and kind) by SMS to the traffic
    contacts; `subject` is the mail's subject in SMS_NOTICE_LANGUAGE."""
    notice_kind = Notice.Kind.QUOTA_ALERT if kind == "alert" else Notice.Kind.QUOTA_LIMIT
    text = in_notice_language(lambda: _("%(alert)s. Used: %(used)s messages.") % {"alert": subject, "used": row.used})
    key = f"{row.period}:{row.starts_on.isoformat()}"
    return tell(row.account_id, notice_kind, key, text, sms_contacts(row.account_id, "notify_traffic"))


BALANCE_LOW, BALANCE_INSUFFICIENT = Notice.Kind.BALANCE_LOW, Notice.Kind.BALANCE_INSUFFICIENT


def queue_balance(account_id, kind):
    """Tells the traffic contacts about the balance after the current transaction commits."""
    from campaigns.tasks import notify_balance

    transaction.on_commit(lambda: notify_balance.delay(account_id, str(kind)), robust=True)


def balance_text(account, kind):
    def render():
        balance = account.balance.quantize(Decimal("0.01"), ROUND_HALF_UP)
        figures = {"balance": balance, "threshold": settings.SMS_BALANCE_ALERT}
        if kind == BALANCE_LOW:
            notice = _("The balance is %(balance)s CNY, below the alert threshold of %(threshold)s CNY.") % figures
        else:
            notice = (
                _("The balance of %(balance)s CNY cannot pay for the next messages: sending waits for a top-up.")
                % figures
            )
        return _signed(account, notice)

    return render


def send_balance(account_id, kind):
    """A low or insufficient balance by email and SMS to the account's traffic contacts, once a
    day of the account's clock per kind, however often the campaigns ask."""
    from templates_app.models import NotificationContact
    from templates_app.notifications import bilingual_messages

    account = Account.objects.filter(pk=account_id, is_system=False).first()
    if account is None:
        return {"account": account_id, "kind": kind, "sent": 0, "skipped": "missing"}
    day = timezone.localtime(timezone=_zone(account)).date().isoformat()
    notice = tell(
        account.pk,
        kind,
        day,
        in_notice_language(balance_text(account, kind)),
        sms_contacts(account.pk, "notify_traffic"),
    )
    if notice is None:
        return {"account": account_id, "kind": kind, "sent": 0, "skipped": "already_told"}
    render = balance_text(account, kind)

    def mail(contact, language):
        with translation.override(language):
            text = render()
        return text, text

    contacts = NotificationContact.objects.filter(account=account, notify_traffic=True)
    messages = bilingual_messages(contacts, mail)
    mailed = get_connection().send_messages(messages) if messages else 0
    return {"account": account_id, "kind": kind, "sent": mailed or 0, "sms": notice.recipients}


def _zone(account):
    import zoneinfo

    return zoneinfo.ZoneInfo(account.timezone)
