"""Replies (MO, 上行短信) that handsets send to a signature's channel number, and the push outbox
that carries replies and status reports to the customers' URLs.

Both are written by the engine's side (the gateway stores replies, the message lifecycle enqueues
status pushes), so they live here; `reports` lists them and drains the outbox (campaigns.push).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Account, Application


class Reply(models.Model):
    """One reply as the SMSC delivered it, tied to the signature whose channel number it was sent to.

    A reply to an address no signature has keeps account, application and signature empty: staff
    see it in the admin, no account does.
    """

    # The id pushed to the application as smsMsgId (the reference's MO id, distinct from downlink ids).
    mo_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("application")
    )
    signature = models.ForeignKey(
        "templates_app.Signature",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("signature"),
    )
    # The last campaign of that signature handed to the provider for this number, if any.
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        verbose_name=_("campaign"),
    )
    connection = models.ForeignKey(
        "campaigns.ProviderConnection",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("provider connection"),
    )
    phone = models.CharField(_("number"), max_length=21)  # E.164 when it could be read as a number
    destination = models.CharField(_("channel number"), max_length=21)  # as the SMSC addressed it
    text = models.TextField(_("reply text"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    opted_out = models.BooleanField(_("opt-out keyword"), default=False)  # added the number to the opt-out list

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["-received_at", "-id"]
        indexes = [
            # The replies page: an account's replies, newest first, optionally within a time window.
            models.Index(fields=["account", "-received_at"], name="reply_by_account_time"),
            # Searching a number's replies.
            models.Index(fields=["account", "phone"], name="reply_by_account_phone"),
        ]

    def __str__(self):
        return f"{self.phone}: {self.text[:40]}"


class Push(models.Model):
    """One HTTP POST owed to a customer's URL (a reply, a status report or a batch of them).

    Delivered at least once and enqueued exactly once: `dedupe_key` is unique, so enqueueing the
    same event twice (a retried transaction, a redelivered reply) adds nothing. Retry state lives in
    the row; campaigns.push moves it.
    """

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")  # an MO to the application's upstream URL (form)
        STATUS = "status", _("Status report")  # one message's report to the send's statusCallback (form)
        BATCH_STATUS = "batch_status", _("Batch status reports")  # up to 50 reports to the report URL (JSON)

    class Format(models.TextChoices):
        FORM = "form", "application/x-www-form-urlencoded"
        JSON = "json", "application/json"

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")  # not yet delivered; tried again at next_attempt_at
        DELIVERED = "delivered", _("Delivered")  # the receiver answered 2xx
        GAVE_UP = "gave_up", _("Given up")  # not delivered within the retry period; never tried again

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", verbose_name=_("account"))
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="pushes", verbose_name=_("application")
    )
    kind = models.CharField(_("push kind"), max_length=16, choices=Kind)
    dedupe_key = models.CharField(max_length=128, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    format = models.CharField(_("body format"), max_length=8, choices=Format, default=Format.FORM)
    body = models.JSONField(_("push body"))  # a dict of fields (form) or the JSON document
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    gave_up_at = models.DateTimeField(_("given up at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("push")
        verbose_name_plural = _("pushes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False), name="delivered_push_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="gave_up") | Q(gave_up_at__isnull=False), name="given_up_push_has_time"
            ),
        ]
        indexes = [
            # The delivery task: status = pending AND next_attempt_at <= now, oldest first.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="push_due"),
            # The pushes page: an account's pushes, newest first.
            models.Index(fields=["account", "-created_at"], name="push_by_account_time"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.url}"


class PushAttempt(models.Model):
    """One try at delivering a push: the delivery log."""

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt number"))
    started_at = models.DateTimeField(_("attempted at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)  # None: no answer
    error = models.CharField(_("attempt error"), max_length=300, blank=True)  # empty when delivered

    class Meta:
        ordering = ["push", "number"]
        constraints = [models.UniqueConstraint(fields=["push", "number"], name="push_attempt_once")]

    @property
    def ok(self):
        return not self.error


class StatusReportDue(models.Model):
    """A message's status report owed to its customer and not yet turned into a Push: the outbox
    marker the message lifecycle writes in the transaction that moves the message to a final state
    (campaigns.lifecycle), and campaigns.status_reports turns into pushes and deletes in one commit.

    A table of its own rather than a flag on the message: an index over a column the receipt moves
    write would stop PostgreSQL's HOT updates of every receipt (see Message.Meta). It holds only
    what is still owed, so it stays small and is read by primary key."""

    message = models.ForeignKey("campaigns.Message", on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16)  # the final state reported (Message.Status)
    # Where the report goes: the send's own statusCallback (one form-encoded push per message), or
    # the application's batch report URL (JSON batches of up to 50).
    url = models.URLField(max_length=500)
    per_message = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One report per message per final state, whatever a caller retries.
            models.UniqueConstraint(fields=["message", "status"], name="status_report_once")
        ]


class ApiMessage(models.Model):
    """What an API send asked for one of its messages beyond the message itself: its own
    statusCallback and the `extend` echoed in its status report (cloud-sms-spec.md 1.2, 1.7).

    A row only for messages whose request gave either, in a table of its own: Message stays as
    narrow as the hot moves want it, and the status reports read this by primary key."""

    message = models.OneToOneField("campaigns.Message", on_delete=models.CASCADE, primary_key=True, related_name="+")
    status_callback = models.URLField(max_length=2000, blank=True)
    extend = models.CharField(max_length=128, blank=True)
