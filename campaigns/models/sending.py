"""Campaigns, their messages, the id-range batches they are sent in, and provider connections."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from smsconsole import crypto
from smsconsole.models import Account, Application, AuditLog, TransitionError, compare_and_set

# An HTTP provider connection sends a template by the remote service's templateId (RemoteTemplate):
# without one every message of the campaign would fail at the hand-over.
NO_REMOTE_TEMPLATE_REASON = gettext_noop(
    "The provider connection has no remote templateId for this template; "
    "ask an administrator to add it to the connection."
)


def new_callback_token():
    return secrets.token_urlsafe(32)


class ProviderConnection(models.Model):
    """A way out to a carrier or aggregator: an SMPP account (the simulator is one too), or an HTTP
    account of the cloud SMS API (batchSendSms with X-WSSE: a cloud account or another console)."""

    class Kind(models.TextChoices):
        SMPP = "smpp", _("SMPP 3.4")
        HTTP = "http", _("HTTP (cloud batchSendSms API, X-WSSE)")

    class SourceRule(models.TextChoices):
        CHANNEL_NUMBER = "channel_number", _("The signature's channel number")  # the usual case
        FIXED = "fixed", _("A fixed source address")  # e.g. an alphanumeric sender for international routes

    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind, default=Kind.SMPP)
    # SMPP: where to bind and as whom.
    host = models.CharField(_("host"), max_length=255, blank=True)
    port = models.PositiveIntegerField(_("port"), default=0, blank=True)
    system_id = models.CharField(_("system_id"), max_length=16, blank=True)
    # The SMPP password or the HTTP app secret, encrypted (smsconsole.crypto).
    password_encrypted = models.TextField(editable=False, blank=True)
    system_type = models.CharField(_("system_type"), max_length=13, blank=True)
    # HTTP: the application's access address (the part before /sms/batchSendSms/v1) and app key.
    base_url = models.URLField(_("access address"), max_length=255, blank=True)
    app_key = models.CharField(_("app key"), max_length=64, blank=True)
    # The remote service pushes status reports to this console at a URL holding this token
    # (campaigns.views.provider_reports): it names the connection and is the only credential.
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token, editable=False)
    tps = models.PositiveIntegerField(_("TPS (segments per second, 0 = no limit)"), default=100)
    max_binds = models.PositiveSmallIntegerField(_("binds"), default=1)
    window = models.PositiveSmallIntegerField(_("window (submit_sm in flight per bind)"), default=64)
    source_rule = models.CharField(
        _("source address"), max_length=16, choices=SourceRule, default=SourceRule.CHANNEL_NUMBER
    )
    source_address = models.CharField(_("fixed source address"), max_length=21, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("provider connection")
        verbose_name_plural = _("provider connections")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(max_binds__gte=1), name="connection_has_a_bind"),
            models.CheckConstraint(condition=Q(window__gte=1), name="connection_window_positive"),
        ]

    def __str__(self):
        return self.name

    @property
    def password(self):
        return crypto.decrypt(self.password_encrypted) if self.password_encrypted else ""

    @password.setter
    def password(self, plaintext):
        self.password_encrypted = crypto.encrypt(plaintext)

    # An HTTP connection's app secret is its password (one encrypted secret per connection).
    app_secret = password

    @property
    def is_http(self):
        return self.kind == self.Kind.HTTP

    def source_for(self, signature):
        if self.source_rule == self.SourceRule.FIXED:
            return self.source_address
        return signature.channel_number or ""

    def remote_template_id(self, template_id):
        """The remote service's templateId for one of this console's templates, or None."""
        return (
            RemoteTemplate.objects.filter(connection=self, template_id=template_id)
            .values_list("remote_template_id", flat=True)
            .first()
        )

    def lacks_remote_template(self, template_id):
        """An HTTP connection that knows no remote templateId for the template (a campaign's launch and
        planning, and the send API, refuse to send it here: NO_REMOTE_TEMPLATE_REASON)."""
        return self.is_http and self.remote_template_id(template_id) is None


class RemoteTemplate(models.Model):
    """What an HTTP connection's remote service calls one of this console's templates: batchSendSms
    names a template by the remote service's templateId, which the console cannot know."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="remote_templates")
    template = models.ForeignKey(
        "templates_app.Template", on_delete=models.CASCADE, related_name="+", verbose_name=_("template")
    )
    remote_template_id = models.CharField(_("remote templateId"), max_length=32)

    class Meta:
        verbose_name = _("remote template")
        verbose_name_plural = _("remote templates")
        constraints = [
            models.UniqueConstraint(fields=["connection", "template"], name="one_remote_template_per_connection"),
        ]

    def __str__(self):
        return f"{self.template_id} → {self.remote_template_id}"


# The counters a message's status moves (one per Message.Status); `total` and `segments` move only
# with planning, on the campaign row itself.
STATUS_COUNTERS = (
    "queued", "sending", "submitted", "delivered", "failed", "expired", "unknown", "skipped", "cancelled"
)  # fmt: skip


class _CountersFolded(ModelIterable):
    """Campaigns whose counter attributes are their row plus their unsquashed deltas (with_counters)."""

    def __iter__(self):
        for campaign in super().__iter__():
            for name in STATUS_COUNTERS:
                setattr(campaign, name, getattr(campaign, f"counted_{name}"))
            campaign._counters_folded = True
            yield campaign


class CampaignQuerySet(models.QuerySet):
    def with_counters(self):
        """The one way to read a campaign's status counters: the campaign row plus its unsquashed
        CampaignCount deltas, in the same statement (so in one snapshot: a squash that commits
        meanwhile is seen whole or not at all). The campaigns come back with `queued`, `sending`,
        … holding those sums, and each sum is also a `counted_<name>` annotation to filter on
        (`.with_counters().filter(counted_queued=0)`) or read with values()."""
        annotations = {}
        for name in STATUS_COUNTERS:
            pending = (
                CampaignCount.objects.filter(campaign_id=OuterRef("pk"))
                .order_by()
                .values("campaign_id")
                .annotate(n=Sum(name))
                .values("n")
            )
            annotations[f"counted_{name}"] = F(name) + Coalesce(Subquery(pending, output_field=IntegerField()), 0)
        queryset = self.annotate(**annotations)
        queryset._iterable_class = _CountersFolded
        queryset._counters_folded = True
        return queryset

    def _values(self, *fields, **expressions):
        # values() reads columns, not instances: a bare counter there would be the squashed part alone.
        if getattr(self, "_counters_folded", False) and set(fields) & set(STATUS_COUNTERS):
            raise TypeError("with_counters().values(): name the counters counted_<name>")
        return super()._values(*fields, **expressions)

    def _clone(self):
        clone = super()._clone()
        clone._counters_folded = getattr(self, "_counters_folded", False)
        return clone

    def counters(self, campaign_id):
        """{counter: count} of one campaign (with_counters), total and segments included."""
        row = (
            self.with_counters()
            .filter(pk=campaign_id)
            .values("total", "segments", *(f"counted_{name}" for name in STATUS_COUNTERS))
            .get()
        )
        return {name.removeprefix("counted_"): value for name, value in row.items()}


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")  # being set up; nothing planned
        SCHEDULED = "scheduled", _("Scheduled")  # waits for scheduled_at; messages not yet planned
        RUNNING = "running", _("Sending")  # planned; batches flow to the gateway
        PAUSED = "paused", _("Paused")  # no new message is handed to the provider until resumed
        COMPLETED = "completed", _("Completed")  # every message reached a final or skipped state
        CANCELLED = "cancelled", _("Cancelled")  # stopped for good; unsent messages are cancelled
        FAILED = "failed", _("Failed")  # could not be planned or sent at all; see failure_reason

    class PauseReason(models.TextChoices):
        OPERATOR = "operator", _("Paused by an operator")  # the Pause button; resumed the same way
        # Stopped because the account's balance stayed negative (Account.is_frozen); the operator
        # resumes it once the balance is topped up: it never resumes by itself.
        ARREARS = (
            "arrears",
            _("Paused because the account is in arrears: sending stopped until the balance is topped up"),
        )
        # Held by a send-time rule (campaigns.sending_rules), resumed by itself: at resume_at by the
        # beat task resume_held_campaigns, or (balance) by a top-up.
        QUIET_HOURS = "quiet_hours", _("Waiting for the promotion hours of the account's clock")
        QUOTA = "quota", _("Waiting because the account's quota is used up")
        BALANCE = "balance", _("Waiting because of insufficient balance: sends on after a top-up")

    class Source(models.TextChoices):
        CAMPAIGN = "campaign", _("Campaign")  # made by an operator in the console (or send_campaign)
        # The hidden campaign of an application's API sends (api.sending): one per (application,
        # template, signature, connection), always running, never in the campaign list or the
        # dashboard, never completed; its messages are in the send records and the statistics.
        API = "api", _("API sends")

    class Mode(models.TextChoices):
        TEMPLATE = "template", _("One template")  # batchSendSms: shared or per-recipient variables
        DIFF = "diff", _("Per-recipient content")  # batchSendDiffSms: variables from the file per row

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="campaigns")
    signature = models.ForeignKey("templates_app.Signature", on_delete=models.PROTECT, related_name="campaigns")
    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="campaigns")
    connection = models.ForeignKey(ProviderConnection, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(_("name"), max_length=100)
    source = models.CharField(_("source"), max_length=16, choices=Source, default=Source.CAMPAIGN)
    mode = models.CharField(_("mode"), max_length=16, choices=Mode, default=Mode.TEMPLATE)
    shared_variables = models.JSONField(_("variables for everyone"), default=list, blank=True)
    # For a contact-list audience, per template variable: "" (the shared value), "name" (the
    # contact's name) or "custom:<field>" (one of the list's custom fields).
    variable_sources = models.JSONField(_("variable sources"), default=list, blank=True)
    recipient_import = models.ForeignKey(
        "campaigns.RecipientImport", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    contact_list = models.ForeignKey(
        "campaigns.ContactList", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    pause_reason = models.CharField(_("paused because"), max_length=16, choices=PauseReason, blank=True)
    resume_at = models.DateTimeField(_("resumes at"), null=True, blank=True)  # of a campaign held by a rule
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)  # set once messages exist; planning is idempotent on it
    # The number of the last batch an API request added (lifecycle.accept_api numbers its batch by
    # moving this in the UPDATE that moves the counters, as the last statement before the commit).
    last_batch_number = models.PositiveIntegerField(default=0, editable=False)
    # Set when the retention purge (campaigns.privacy) deleted the campaign's messages: its counters
    # keep the counts, and nothing may expect them to equal rows any more.
    messages_purged_at = models.DateTimeField(null=True, blank=True)
    # Planning goes in slices of the audience in id order: the last recipient (or contact) id planned.
    planned_through = models.BigIntegerField(default=0)

    # Counters move with each bulk state change (never COUNT(*) on a page view).
    total = models.PositiveIntegerField(_("recipients"), default=0)
    queued = models.IntegerField(_("queued"), default=0)
    sending = models.IntegerField(_("sending"), default=0)
    submitted = models.IntegerField(_("submitted"), default=0)
    delivered = models.IntegerField(_("delivered"), default=0)
    failed = models.IntegerField(_("failed"), default=0)
    expired = models.IntegerField(_("expired"), default=0)
    unknown = models.IntegerField(_("unknown"), default=0)
    skipped = models.IntegerField(_("skipped"), default=0)
    cancelled = models.IntegerField(_("cancelled"), default=0)
    segments = models.PositiveBigIntegerField(_("segments"), default=0)

    COUNTERS = STATUS_COUNTERS
    # The counters above are the squashed part only: the lifecycle adds its moves as CampaignCount
    # delta rows. Read them through Campaign.objects.with_counters() (or refresh_from_db, which uses it).

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient_import__isnull=False)
                | Q(contact_list__isnull=False)
                | Q(status="draft")
                | Q(source="api"),
                name="campaign_has_an_audience_unless_draft",
            ),
            # One hidden API campaign per (application, template, signature, connection).
            models.UniqueConstraint(
                fields=["application", "template", "signature", "connection"],
                condition=Q(source="api"),
                name="one_api_campaign_per_route",
            ),
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(scheduled_at__isnull=False),
                name="scheduled_campaign_has_a_time",
            ),
            models.CheckConstraint(
                condition=Q(status="paused") | Q(pause_reason=""), name="only_a_paused_campaign_has_a_pause_reason"
            ),
        ]
        indexes = [
            # The beat task that starts due campaigns: status = scheduled AND scheduled_at <= now.
            models.Index(fields=["status", "scheduled_at"], name="campaign_due"),
        ]

    def __str__(self):
        return self.name

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        # The counters as with_counters() reads them, never the bare squashed row.
        if from_queryset is None:
            from_queryset = Campaign.objects.with_counters()
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if getattr(from_queryset, "_counters_folded", False) and (fields is None or set(fields) & set(STATUS_COUNTERS)):
            self._counters_folded = True

    def save(self, *args, update_fields=None, **kwargs):
        # An instance read through with_counters() (or refresh_from_db) holds row + unsquashed deltas
        # in its counters: writing those back would count the deltas twice at the next squash. Its
        # bare save() writes every other loaded field; the counters move only by move_counters.
        if getattr(self, "_counters_folded", False) and not self._state.adding:
            if update_fields is None:
                deferred = self.get_deferred_fields()
                update_fields = [
                    field.attname
                    for field in self._meta.concrete_fields
                    if not field.primary_key and field.attname not in deferred and field.name not in STATUS_COUNTERS
                ]
            elif set(update_fields) & set(STATUS_COUNTERS):
                raise TypeError(
                    "save(update_fields=[counter]) of a with_counters() instance would write row + deltas: "
                    "use Campaign.move_counters"
                )
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def is_finished(self):
        return self.status in {self.Status.COMPLETED, self.Status.CANCELLED, self.Status.FAILED}

    # --- transitions ------------------------------------------------------------------------

    def _move(self, allowed_from, to, **fields):
        """Compare-and-set on the status, so two requests cannot both pause or both launch."""
        # The gateway reads the status before every chunk it sends, so pause and cancel take
        # effect within a chunk (well under the 2 seconds promised) without a message bus.
        fields.setdefault("pause_reason", "")
        fields.setdefault("resume_at", None)
        if not compare_and_set(self, allowed_from, to, **fields):
            raise TransitionError(
                _("Not allowed while the campaign is “%(status)s”.") % {"status": self.get_status_display()}
            )

    @property
    def lacks_remote_template(self):
        return self.connection.lacks_remote_template(self.template_id)

    def _check_sendable_on_connection(self):
        if self.lacks_remote_template:
            raise TransitionError(gettext(NO_REMOTE_TEMPLATE_REASON))

    def schedule(self, at):
        self._check_sendable_on_connection()
        latest = timezone.now() + timedelta(days=settings.SMS_MAX_SCHEDULE_DAYS)
        if at <= timezone.now():
            raise TransitionError(_("The scheduled time must be in the future."))
        if at > latest:
            raise TransitionError(
                _("A campaign can be scheduled at most %(days)s days ahead.") % {"days": settings.SMS_MAX_SCHEDULE_DAYS}
            )
        self._move({self.Status.DRAFT}, self.Status.SCHEDULED, scheduled_at=at)

    def launch(self):
        """Starts a draft now, or a scheduled one when it is due; planning runs in a task (and fails a
        scheduled one whose connection lost the template meanwhile: check_still_sendable)."""
        if self.status == self.Status.DRAFT:
            self._check_sendable_on_connection()
        self._move({self.Status.DRAFT, self.Status.SCHEDULED}, self.Status.RUNNING, started_at=timezone.now())
        from campaigns.tasks import plan_campaign

        campaign_id = self.pk
        transaction.on_commit(lambda: plan_campaign.delay(campaign_id))

    def pause(self):
        self._move({self.Status.RUNNING}, self.Status.PAUSED, pause_reason=self.PauseReason.OPERATOR)

    def resume(self):
        """Sends on where it stopped, if it may still send (planning.check_still_sendable: the
        account not frozen, the signature and template still usable)."""
        from campaigns.planning import AudienceNotReady, check_still_sendable

        try:
            check_still_sendable(self)
        except AudienceNotReady as problem:
            raise TransitionError(gettext(str(problem))) from None
        self._move({self.Status.PAUSED}, self.Status.RUNNING)
        from campaigns.tasks import dispatch_campaign

        campaign_id = self.pk
        transaction.on_commit(lambda: dispatch_campaign.delay(campaign_id))

    @property
    def can_cancel(self):
        if self.status == self.Status.SCHEDULED:
            # The reference: a scheduled task can be cancelled until 5 minutes before it starts.
            return self.scheduled_at - timezone.now() > timedelta(minutes=5)
        return self.status in {self.Status.DRAFT, self.Status.RUNNING, self.Status.PAUSED}

    def cancel(self):
        if not self.can_cancel:
            raise TransitionError(_("This campaign can no longer be cancelled."))
        self._move(
            {self.Status.DRAFT, self.Status.SCHEDULED, self.Status.RUNNING, self.Status.PAUSED},
            self.Status.CANCELLED,
            finished_at=timezone.now(),
        )
        from campaigns.tasks import cancel_queued_messages

        campaign_id = self.pk
        transaction.on_commit(lambda: cancel_queued_messages.delay(campaign_id))

    def complete(self):
        self._move({self.Status.RUNNING}, self.Status.COMPLETED, finished_at=timezone.now())

    def fail(self, reason):
        self._move(
            {self.Status.DRAFT, self.Status.SCHEDULED, self.Status.RUNNING, self.Status.PAUSED},
            self.Status.FAILED,
            finished_at=timezone.now(),
            failure_reason=str(reason)[:200],
        )

    def copy(self, user=None):
        """A new draft with the same settings and no audience (the operator picks one)."""
        return Campaign.objects.create(
            account=self.account,
            application=self.application,
            signature=self.signature,
            template=self.template,
            connection=self.connection,
            name=f"{self.name} (copy)"[:100],
            mode=self.mode,
            shared_variables=self.shared_variables,
            created_by=user,
        )

    @classmethod
    def hold(cls, campaign_id, reason, resume_at=None):
        """Running → paused by a send-time rule (campaigns.sending_rules); False if it was not running.
        Nothing is dropped: its queued messages wait, and the gateway hands its batches back."""
        return bool(
            cls.objects.filter(pk=campaign_id, status=cls.Status.RUNNING).update(
                status=cls.Status.PAUSED, pause_reason=reason, resume_at=resume_at
            )
        )

    @classmethod
    def pause_for_arrears(cls, account_ids):
        """Pauses every running campaign of the frozen accounts in one compare-and-set UPDATE,
        each audited; returns the ids paused (the gateway sees the status before its next chunk)."""
        running = cls.objects.filter(account_id__in=account_ids, status=cls.Status.RUNNING)
        with transaction.atomic():
            rows = list(running.select_for_update().values_list("pk", "account_id", "name"))
            cls.objects.filter(pk__in=[pk for pk, *_rest in rows], status=cls.Status.RUNNING).update(
                status=cls.Status.PAUSED, pause_reason=cls.PauseReason.ARREARS
            )
            AuditLog.objects.bulk_create(
                AuditLog(
                    account_id=account_id,
                    action="arrears_pause",
                    object_type=cls._meta.model_name,
                    object_id=str(pk),
                    object_repr=name,
                    before={"status": cls.Status.RUNNING},
                    after={"status": cls.Status.PAUSED, "pause_reason": cls.PauseReason.ARREARS},
                )
                for pk, account_id, name in rows
            )
        return [pk for pk, *_rest in rows]

    @classmethod
    def move_counters(cls, campaign_id, **deltas):
        """Adds each delta to its counter in one UPDATE of the row: move_counters(7, queued=-100,
        sending=100). Only the squash (CampaignCount.squash) and planning write the row; the
        lifecycle's moves add delta rows instead (CampaignCount.add), which take no row lock."""
        changes = {name: F(name) + delta for name, delta in deltas.items() if delta}
        if changes:
            cls.objects.filter(pk=campaign_id).update(**changes)


class CampaignCount(models.Model):
    """Status counter deltas of a campaign not yet folded into its row: RapidPro's squashed counts.

    Every lifecycle transaction that moves messages inserts one row per campaign it moved (an
    INSERT takes no lock on the campaign row, so claims, submit results and receipts of one
    campaign no longer wait for each other's commit there: docs/benchmarks.md measured a lock wait
    in 26.5 % of samples on that row). `squash` folds the rows into the campaign row and deletes
    them in one transaction; readers add the two in one statement (Campaign.objects.with_counters),
    so they see the same figures before and after a squash."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    queued = models.IntegerField(default=0)
    sending = models.IntegerField(default=0)
    submitted = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    expired = models.IntegerField(default=0)
    unknown = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)

    @classmethod
    def add(cls, counters):
        """{campaign id: {counter: delta}} as one multi-row INSERT (the lifecycle's Tally.write)."""
        rows = [
            (campaign_id, *(deltas.get(name, 0) for name in STATUS_COUNTERS))
            for campaign_id, deltas in sorted(counters.items())
            if any(deltas.get(name, 0) for name in STATUS_COUNTERS)
        ]
        if not rows:
            return
        from django.db import connection

        placeholders = "(" + ", ".join(["%s"] * (1 + len(STATUS_COUNTERS))) + ")"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {cls._meta.db_table} (campaign_id, {', '.join(STATUS_COUNTERS)}) "
                f"VALUES {', '.join([placeholders] * len(rows))}",
                [value for row in rows for value in row],
            )

    @classmethod
    def squash(cls, campaign_ids=None):
        """Folds the delta rows of `campaign_ids` (default: every campaign) into their campaign rows
        and deletes them, in one transaction; returns how many campaigns it squashed.

        DELETE … RETURNING deletes exactly the rows it sums: a delta committed while this runs is
        either deleted and added here or left for the next squash, never lost or counted twice."""
        from django.db import connection

        where, params = "", []
        if campaign_ids is not None:
            campaign_ids = list(campaign_ids)
            if not campaign_ids:
                return 0
            where, params = f" WHERE campaign_id IN ({', '.join(['%s'] * len(campaign_ids))})", campaign_ids
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {cls._meta.db_table}{where} RETURNING campaign_id, {', '.join(STATUS_COUNTERS)}",
                    params,
                )
                sums = {}
                for campaign_id, *deltas in cursor.fetchall():
                    total = sums.setdefault(campaign_id, [0] * len(STATUS_COUNTERS))
                    for n, delta in enumerate(deltas):
                        total[n] += delta
            # Sorted, so two squashes lock the campaign rows in the same order.
            for campaign_id in sorted(sums):
                Campaign.move_counters(campaign_id, **dict(zip(STATUS_COUNTERS, sums[campaign_id], strict=True)))
        return len(sums)


def sent_time():
    """When a message was sent as the send records see it: handed to the provider, else refused at
    the hand-over, else last touched (planned, skipped or cancelled). Never null, so one index
    orders every message; the records search filters and sorts on exactly this expression."""
    return Coalesce("submitted_at", "done_at", "updated_at")


class Message(models.Model):
    """One recipient of a campaign. Its status changes only through campaigns.lifecycle, which
    moves the campaign counters and the hourly rollups with it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")  # planned, not yet handed to the provider; safe to send
        SENDING = "sending", _("Sending")  # claimed by the gateway and being written; outcome pending
        SUBMITTED = "submitted", _("Submitted")  # the provider accepted it (provider_id recorded)
        DELIVERED = "delivered", _("Delivered")  # delivery receipt DELIVRD
        FAILED = "failed", _("Failed")  # refused by the provider or receipt UNDELIV/REJECTD; see error
        EXPIRED = "expired", _("Expired")  # receipt EXPIRED, or none within the report window
        UNKNOWN = "unknown", _("Unknown")  # may have reached the provider but the answer was lost; never resent
        SKIPPED = "skipped", _("Skipped")  # not sent by rule (opt-out, frequency cap, …); see skip_reason
        CANCELLED = "cancelled", _("Cancelled")  # the campaign was cancelled before it was handed over

    # No index of their own (db_index=False): each is the first column of an index below, which
    # serves every lookup by it, and every non-HOT update of a message adds an entry to each index.
    # No database constraint either (db_constraint=False): PostgreSQL checked both keys of every
    # planned message, two lookups and row locks each, 14 µs a message and a third of planning's
    # time in the database (docs/benchmarks.md). Only lifecycle inserts messages, with the campaign's
    # own ids under its planning lock; the ORM keeps CASCADE and PROTECT as it does for any key.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="messages", db_index=False, db_constraint=False
    )
    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    phone = models.CharField(max_length=16)  # E.164
    variables = models.JSONField(default=list)
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    provider_id = models.CharField(max_length=64, null=True, blank=True)
    skip_reason = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=200, blank=True)
    # The delivery receipt's stat as the SMSC sent it (DELIVRD, UNDELIV, EXPIRED, …).
    receipt_stat = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # An API send's message (api.sending). Its hidden campaign sends to a number as often as the
    # application asks, so the once-per-campaign rule below is for campaign messages only; an API
    # request's duplicates are refused before they become messages (E200041).
    via_api = models.BooleanField(default=False, db_default=False)
    # When the message was handed to the provider: set by the claim, kept by the submit result,
    # cleared by a requeue. Its UTC hour is the message's HourlyStat hour.
    submitted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    # Set when the retention purge (campaigns.privacy) emptied `variables`: records then say the
    # text is no longer kept instead of rendering the template with empty values.
    text_purged_at = models.DateTimeField(null=True, blank=True)

    # States a message leaves only by a receipt or not at all: the rendered text is no longer needed.
    HANDED_OVER = ("submitted", "delivered", "failed", "expired", "unknown", "skipped", "cancelled")
    # States no receipt, sweeper or statistics writer moves again.
    FINAL = ("delivered", "failed", "expired", "unknown", "skipped", "cancelled")

    class Meta:
        constraints = [
            # One message per recipient per campaign: the heart of "no duplicate SMS".
            models.UniqueConstraint(
                fields=["campaign", "phone"], condition=Q(via_api=False), name="message_once_per_campaign"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["submitted", "delivered"]) | Q(provider_id__isnull=False),
                name="submitted_message_has_provider_id",
            ),
        ]
        # No index may name a column the hot moves write (status, updated_at, submitted_at,
        # attempts, done_at, error_code, receipt_stat), not even in a partial index's condition:
        # PostgreSQL could then no longer make the claim and the receipt HOT updates, which add no
        # index entries. Batches read their rows by primary-key range, completion and the
        # sweepers go by the campaign counters, so only the submit result (provider_id) is not HOT.
        indexes = [
            # Receipts are matched by (connection, provider message id).
            models.Index(fields=["connection", "provider_id"], name="message_by_provider_id"),
            # The send records search (reports.records): per campaign and status, a time window read
            # newest first by sent_time() then id, so each (campaign, status) is one ordered range.
            models.Index(F("campaign"), F("status"), sent_time().desc(), F("id").desc(), name="message_records"),
            # It names status and the times, so a status change is never a HOT update; the lifecycle
            # measured few HOT updates even without it (docs/benchmarks.md, "Lifecycle writes"), and the
            # records search at 10,000,000 rows needs it.
        ]


class Batch(models.Model):
    """A contiguous id range of a campaign's messages, handed to the gateway as one job."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # not yet handed to the gateway (or handed back on pause)
        PUSHED = "pushed", _("Pushed")  # on the gateway's Redis queue or being sent
        DONE = "done", _("Done")  # no queued message left in the range

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    pushes = models.PositiveSmallIntegerField(default=0)
    pushed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="batch_number_unique")]
        indexes = [models.Index(fields=["status", "pushed_at"], name="batch_by_status")]  # the stuck-batch sweeper


class PendingReceipt(models.Model):
    """A delivery receipt not yet matched to its message (it can arrive before the submit response)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="+", verbose_name=_("connection")
    )
    provider_id = models.CharField(max_length=64, verbose_name=_("provider message id"))
    stat = models.CharField(max_length=16, verbose_name=_("receipt status"))
    err = models.CharField(max_length=16, blank=True, verbose_name=_("error code"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("unmatched receipt")
        verbose_name_plural = _("unmatched receipts")
        indexes = [models.Index(fields=["connection", "provider_id"], name="receipt_by_provider_id")]


class MessagePart(models.Model):
    """One segment of a long (concatenated) message as the provider accepted it, with its receipt.

    Written only for messages of more than one segment, in the transaction that records them
    submitted (campaigns.lifecycle): a single-segment message is matched to its receipt through
    Message.provider_id alone, with no row here. The provider gives each segment an id of its own
    and sends each a receipt; the message's outcome follows from its parts' (lifecycle.parts_outcome)."""

    # No index of their own: (message, number) and (connection, provider_id) below lead with them.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts", db_index=False)
    # The message's connection again, so a receipt finds its part through one index, as for messages.
    connection = models.ForeignKey(ProviderConnection, on_delete=models.PROTECT, related_name="+", db_index=False)
    number = models.PositiveSmallIntegerField()  # 1-based, the UDH sequence number
    provider_id = models.CharField(max_length=64)
    # The segment's receipt as the SMSC sent it (DELIVRD, UNDELIV, …); blank until one arrives.
    stat = models.CharField(max_length=16, blank=True)
    err = models.CharField(max_length=16, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="message_part_once")]
        indexes = [models.Index(fields=["connection", "provider_id"], name="part_by_provider_id")]
        ordering = ["message", "number"]
