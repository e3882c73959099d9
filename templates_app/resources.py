"""The carriers' answers to real-name filing, imported in a batch on the review desk (django-import-export).

A results file (CSV or XLSX) has one row a signature:

- `signature_id`, or `application` (its app key) with `signature_name` and, when that name is
  registered for several types, `type` (verification / notification / promotion);
- `result`: approved (通过) or rejected (驳回, 不通过);
- `reason`: the carrier's reason, required when rejected;
- `channel_number`: when the carrier assigned one (1 to 21 digits); else the signature keeps its
  own or gets a new one.

Exporting the signatures waiting for the carrier from the review desk gives this layout with the
answer columns empty. Every row is checked, against the signature's state too, before anything
is recorded; a file with a bad row is refused whole, each bad row reported with its reason.
A good file records each answer through the signature's transition, audited and notified like
an answer recorded on the signature's own page.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources

from campaigns.exports import safe_cell
from templates_app import decisions
from templates_app.models import CARRIER_REFUSAL, MessageType, Signature

APPROVED, REJECTED = "approved", "rejected"
RESULT_WORDS = {"approved": APPROVED, "通过": APPROVED, "rejected": REJECTED, "驳回": REJECTED, "不通过": REJECTED}
COLUMNS = (
    "signature_id",
    "application",
    "account",
    "signature_name",
    "type",
    "status",
    "result",
    "reason",
    "channel_number",
)


def cell(value):
    """A cell as text: spreadsheets hand over ids and numbers as floats (12.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class CarrierResultResource(resources.ModelResource):
    signature_id = fields.Field(attribute="pk", column_name="signature_id", readonly=True)
    application = fields.Field(attribute="application__app_key", column_name="application", readonly=True)
    account = fields.Field(attribute="application__account__name", column_name="account", readonly=True)
    signature_name = fields.Field(attribute="name", column_name="signature_name", readonly=True)
    type = fields.Field(attribute="type", column_name="type", readonly=True)
    status = fields.Field(attribute="get_status_display", column_name="status", readonly=True)
    result = fields.Field(column_name="result", readonly=True)
    reason = fields.Field(attribute="carrier_reason", column_name="reason", readonly=True)
    channel_number = fields.Field(attribute="channel_number", column_name="channel_number", readonly=True)

    class Meta:
        model = Signature
        fields = COLUMNS
        import_id_fields = ()
        use_transactions = True
        # The preview shows each signature's status and channel number before and after.
        skip_diff = False

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))

    def get_queryset(self):
        return Signature.objects.select_related("application__account")

    def before_import(self, dataset, **kwargs):
        dataset.headers = [cell(header).lower() for header in dataset.headers or []]
        headers = set(dataset.headers)
        if "result" not in headers or not ({"signature_id"} <= headers or {"application", "signature_name"} <= headers):
            raise ValueError(
                _(
                    "A carrier results file needs the columns result and signature_id, or result, application "
                    "and signature_name."
                )
            )

    # --- one row ---------------------------------------------------------------------------------

    def get_or_init_instance(self, instance_loader, row):
        """The row's signature, locked for the row's transaction; a row naming none is refused."""
        signatures = Signature.objects.select_for_update(of=("self",)).select_related("application__account")
        raw_id = cell(row.get("signature_id"))
        if raw_id:
            found = signatures.filter(pk=int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else signatures.none()
        else:
            found = signatures.filter(
                application__app_key=cell(row.get("application")), name=cell(row.get("signature_name"))
            )
            type_ = cell(row.get("type")).lower()
            if type_:
                if type_ not in MessageType.values:
                    raise ValidationError(
                        _("Unknown type “%(type)s”: use %(types)s.")
                        % {"type": type_, "types": ", ".join(MessageType.values)}
                    )
                found = found.filter(type=type_)
        matches = list(found[:2])
        if not matches:
            raise ValidationError(
                _("No such signature: give an existing signature_id, or application (app key) and signature_name.")
            )
        if len(matches) > 1:
            raise ValidationError(_("The application has this signature name for several types: add the type column."))
        return matches[0], False

    def import_instance(self, instance, row, **kwargs):
        result = RESULT_WORDS.get(cell(row.get("result")).lower())
        reason, number = cell(row.get("reason")), cell(row.get("channel_number"))
        errors = {}
        if result is None:
            errors["result"] = _("Result must be approved (通过) or rejected (驳回).")
        elif result == REJECTED and not reason:
            errors["reason"] = _("Give the carrier's reason of a rejection.")
        elif result == REJECTED and number:
            errors["channel_number"] = _("A rejected signature gets no channel number.")
        if instance.status not in CARRIER_REFUSAL:
            errors["status"] = _("The signature is “%(status)s”, not waiting for the carrier.") % {
                "status": instance.get_status_display()
            }
        if errors:
            raise ValidationError(errors)
        instance.carrier_answer = (result, reason, number)

    def save_instance(self, instance, is_create, row, **kwargs):
        """Records the answer through the transition: in the preview too, inside the import's
        transaction, which the preview rolls back (taking the audit and the email with it)."""
        result, reason, number = instance.carrier_answer
        user = kwargs.get("user")
        before = instance.status
        if result == APPROVED:
            instance.carrier_approve(user, number)
        else:
            instance.carrier_reject(user, reason)
        decisions.record(user, instance, "carrier_" + result, before)
