import os
import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smsconsole.models import Account, Application, TransitionError, compare_and_set


class OptOut(models.Model):
    """A number that asked not to receive messages from the account (拒收/退订)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Added by an operator")
        IMPORT = "import", _("Imported")
        REPLY = "reply", _("Reply with an opt-out keyword")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="opt_outs", verbose_name=_("account"))
    phone = models.CharField(_("number"), max_length=16)  # E.164
    source = models.CharField(_("source"), max_length=16, choices=Source, default=Source.MANUAL)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["account", "phone"], name="opt_out_unique_per_account")]

    def __str__(self):
        return self.phone


class SuppressedNumber(models.Model):
    """What an erase (campaigns.privacy.erase_number) keeps of an opt-out: a keyed hash of the number,
    so the person is not messaged again if the account brings the number back, and nothing that
    tells which number it was."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)  # campaigns.privacy.suppression_digest
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "digest"], name="suppressed_number_unique")]


class ContactList(models.Model):
    """A reusable group of contacts (通讯录分组), usable as a campaign audience."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="contact_lists", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=64)
    field_names = models.JSONField(_("custom fields"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="contact_list_unique_per_account")]

    def __str__(self):
        return self.name


class Contact(models.Model):
    contact_list = models.ForeignKey(
        ContactList, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("contact list")
    )
    phone = models.CharField(_("number"), max_length=16)  # E.164
    name = models.CharField(_("name"), max_length=64, blank=True)
    fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["contact_list", "phone"], name="contact_unique_per_list")]

    def __str__(self):
        return f"{self.name} {self.phone}".strip()


class ListImport(models.Model):
    """One file imported into a contact list or the opt-out list from the console, and its result.

    Stored as rows (the rejected ones in ListImportRejectedRow), not in the session: a file of
    rejected rows once made a 20 MB session that every later page loaded.
    """

    class Kind(models.TextChoices):
        CONTACTS = "contacts", _("Contacts")  # into `contact_list`
        OPT_OUTS = "opt_outs", _("Opt-outs")  # into the account's opt-out list

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="list_imports")
    kind = models.CharField(max_length=16, choices=Kind)
    contact_list = models.ForeignKey(
        ContactList, null=True, blank=True, on_delete=models.CASCADE, related_name="imports"
    )
    original_name = models.CharField(_("file"), max_length=255)
    rows = models.PositiveIntegerField(_("rows read"), default=0)
    added = models.PositiveIntegerField(_("added"), default=0)
    existing = models.PositiveIntegerField(_("already there"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="opt_outs", contact_list__isnull=True)
                | models.Q(kind="contacts", contact_list__isnull=False),
                name="list_import_target_matches_kind",
            ),
        ]


class ListImportRejectedRow(models.Model):
    list_import = models.ForeignKey(ListImport, on_delete=models.CASCADE, related_name="rejected_rows")
    row_number = models.PositiveIntegerField()
    cells = models.JSONField(default=list)  # as kept by recipient_files.kept_cells
    reason = models.CharField(max_length=48)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["list_import", "row_number"], name="list_rejected_by_import")]


def upload_path(instance, filename):
    ext = os.path.splitext(filename)[1].lower()
    return f"imports/{instance.account_id}/{uuid.uuid4().hex}{ext}"


class RecipientImport(models.Model):
    """One uploaded recipient file and what became of its rows."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")  # stored, the import task has not started
        RUNNING = "running", _("Importing")  # rows are being read; not usable yet
        COMPLETED = "completed", _("Completed")  # every row is either a recipient or a rejected row
        FAILED = "failed", _("Failed")  # the file as a whole was refused; no recipients kept
        CANCELLED = "cancelled", _("Cancelled")  # stopped by the operator; no recipients kept

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="recipient_imports", verbose_name=_("account")
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="recipient_imports", verbose_name=_("application")
    )
    template = models.ForeignKey(
        "templates_app.Template",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("template"),
    )
    file = models.FileField(upload_to=upload_path, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    # Instead of a file: a contact list read through `variable_sources`, one entry per template
    # variable ({"value": "..."} for everyone, {"field": "name"} or {"custom": "city"} per contact).
    # A campaign to a contact list whose fields fill variables is prepared this way, so its values
    # are checked and counted like a file's.
    contact_list = models.ForeignKey(
        "campaigns.ContactList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recipient_imports",
    )
    variable_sources = models.JSONField(default=list, blank=True)
    size = models.BigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    has_header = models.BooleanField(_("header row"), null=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    opted_out = models.PositiveIntegerField(_("opted out"), default=0)
    segments = models.PositiveBigIntegerField(_("segments"), default=0)
    reason_counts = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)  # last progress write, for the stale-import sweeper
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recipient import")
        verbose_name_plural = _("recipient imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name

    @property
    def is_finished(self):
        return self.status in {self.Status.COMPLETED, self.Status.FAILED, self.Status.CANCELLED}

    # --- transitions ------------------------------------------------------------------------
    # Each is a compare-and-set (smsconsole.models.compare_and_set): the import task and the
    # operator's cancel race, and whichever moves the row first wins; a cancel is never overwritten
    # by the task failing or completing afterwards.

    def claim(self):
        """PENDING to RUNNING; False if another worker has it or it was cancelled."""
        now = timezone.now()
        return compare_and_set(self, {self.Status.PENDING}, self.Status.RUNNING, started_at=now, progress_at=now)

    def record_progress(self, **counts):
        """Writes the running counts; False once the import is no longer running (cancelled)."""
        now = timezone.now()
        moved = RecipientImport.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(progress_at=now, **counts)
        return bool(moved)

    def complete(self, **fields):
        """RUNNING to COMPLETED with the final counts."""
        if not compare_and_set(
            self, {self.Status.RUNNING}, self.Status.COMPLETED, finished_at=timezone.now(), **fields
        ):
            raise TransitionError(self._refusal())

    def cancel(self):
        # The running task sees the new status at its next progress check.
        if not compare_and_set(
            self, {self.Status.PENDING, self.Status.RUNNING}, self.Status.CANCELLED, finished_at=timezone.now()
        ):
            raise TransitionError(self._refusal())
        # A running task discards its own rows when it notices; this covers one that never started.
        import_id = self.pk
        transaction.on_commit(lambda: _discard_rows(import_id))

    def fail(self, code, params=None, *, silent_since=None):
        """PENDING or RUNNING to FAILED. With `silent_since`, only an import that has written no
        progress since then (the sweeper's test for a worker that died mid-file)."""
        silent = Q() if silent_since is None else Q(progress_at__lt=silent_since)
        if not compare_and_set(
            self,
            {self.Status.PENDING, self.Status.RUNNING},
            self.Status.FAILED,
            silent,
            error_code=code,
            error_params=params or {},
            finished_at=timezone.now(),
        ):
            raise TransitionError(self._refusal())

    def _refusal(self):
        if self.is_finished:
            return _("This import has already finished.")
        return _("Not allowed while the import is “%(status)s”.") % {"status": self.get_status_display()}


def _discard_rows(import_id):
    from campaigns.importer import discard_rows

    discard_rows(import_id)


class Recipient(models.Model):
    """An accepted row of an import: one per number, with its variables in template order."""

    recipient_import = models.ForeignKey(RecipientImport, on_delete=models.CASCADE, related_name="recipients")
    row_number = models.PositiveIntegerField()
    phone = models.CharField(max_length=16)  # E.164
    variables = models.JSONField(default=list)
    opted_out = models.BooleanField(default=False)
    segments = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient_import", "phone"], name="recipient_unique_per_import"),
        ]


class RejectedRow(models.Model):
    """A row that did not become a recipient, with the original cells and why."""

    recipient_import = models.ForeignKey(RecipientImport, on_delete=models.CASCADE, related_name="rejected_rows")
    row_number = models.PositiveIntegerField()
    cells = models.JSONField(default=list)
    reason = models.CharField(max_length=48)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recipient_import", "row_number"], name="rejected_row_by_import")]
