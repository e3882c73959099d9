"""The management calls of the reference (cloud-sms-spec.md 1.11) for templates and signatures,
shaped as the official management SDK (huaweicloudsdkmsgsms v2) sends and reads them.

Every change goes through the console's own forms and model transitions: a template created here
is checked by the same TemplateForm, submitted with the same Template.submit(), reviewed at the same
desk and audited like one typed in the console. Ids are this console's (as strings).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from ninja import Path, Router, Schema

from api.management_auth import ManagementError
from sms import text
from smsconsole.models import Application, TransitionError, audit
from smsconsole.tenancy import parse_id
from templates_app.forms.signatures import SignatureForm
from templates_app.forms.templates import TemplateForm, variable_field_name
from templates_app.models import Qualification, Signature, Template

router = Router(tags=["management"])

TEMPLATE_TYPES = {"VERIFY_CODE_TYPE": "verification", "NOTIFY_TYPE": "notification", "PROMOTION_TYPE": "promotion"}
TEMPLATE_TYPE_NAMES = {ours: theirs for theirs, ours in TEMPLATE_TYPES.items()}
# flow_status as the reference spells it, for our template states.
FLOW_STATUS = {
    Template.Status.DRAFT: "Pending",
    Template.Status.PENDING_REVIEW: "Reviewing",
    Template.Status.ACTIVE: "Adopted",
    Template.Status.INACTIVE: "Deactivated",
    Template.Status.REJECTED: "Reject",
}
FLOW_FILTER = {
    "Adopted": [Template.Status.ACTIVE],
    "Reviewing": [Template.Status.PENDING_REVIEW],
    "Reject": [Template.Status.REJECTED],
    "Pending": [Template.Status.DRAFT],
}
MAX_PAGE = 100


def _time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _not_found(what):
    return ManagementError(404, "MSGSMS.0004", f"No {what} with this id in the project.")


def _invalid(message):
    return ManagementError(400, "MSGSMS.0001", message)


def _no_nul(*filters):
    """PostgreSQL text holds no NUL character: a filter with one matches nothing, and is refused
    as the forms refuse one in a body."""
    if any("\x00" in value for value in filters):
        raise _invalid("Null characters are not allowed.")


def _form_errors(form):
    return "; ".join(
        f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
        for field, errors in form.errors.items()
    )


# --- templates ------------------------------------------------------------------------------------


class VariableAttributeIn(Schema):
    variable_index: int
    variable_type: str
    variable_desc: str | None = None
    # Not in the reference's request; the maximum length otherwise defaults from the attribute.
    variable_length: int | None = None


class TemplateIn(Schema):
    app_id: str
    template_name: str
    template_content: str
    template_type: str
    sign_id: str | None = None
    universal_template: int = 0
    template_desc: str | None = None
    region: str = "cn"
    brackets: str = "CN"
    send_country: list[int] | None = None
    variable_attributes: list[VariableAttributeIn] | None = None
    flow_status: str = "Pending"  # Pending: saved as a draft; Reviewing: submitted for review


class TemplateOut(Schema):
    id: str
    template_id: str
    template_name: str
    template_type: str
    template_content: str
    template_desc: str
    app_name: str
    app_key: str
    sign_id: str | None
    has_variable: str
    flow_status: str
    status: str
    review_desc: str
    universal_template: int
    region: str
    brackets: str
    urge_status: str
    urge_time: str | None
    create_time: str
    update_time: str | None


class TemplateListOut(Schema):
    results: list[TemplateOut]
    total: int


class CreatedOut(Schema):
    id: str
    template_name: str


class VariableOut(Schema):
    id: int
    temp_name: str
    variable_index: int
    variable_type: str
    variable_length: int
    variable_desc: str


class VariableListOut(Schema):
    results: list[VariableOut]
    total: int


class ErrorOut(Schema):
    error_code: str
    error_msg: str


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def template_out(template):
    return {
        "id": str(template.pk),
        "template_id": str(template.pk),
        "template_name": template.name,
        "template_type": TEMPLATE_TYPE_NAMES[template.type],
        "template_content": template.content,
        "template_desc": template.description,
        "app_name": template.application.name,
        "app_key": template.application.app_key,
        "sign_id": str(template.signature_id) if template.signature_id else None,
        "has_variable": "Yes" if text.find_variables(template.content) else "No",
        "flow_status": FLOW_STATUS[template.status],
        "status": template.status,
        "review_desc": template.reason_text or (template.reason_label if template.reason_code else ""),
        "universal_template": int(template.universal),
        "region": "cn",
        "brackets": "CN",
        "urge_status": "Yes" if template.urged_at else "No",
        "urge_time": _time(template.urged_at),
        "create_time": _time(template.created_at),
        "update_time": _time(template.reviewed_at or template.submitted_at),
    }


def _templates(account):
    return Template.objects.filter(application__account=account).select_related("application", "signature")


def _template(account, raw_id):
    pk = parse_id(raw_id)
    template = _templates(account).filter(pk=pk).first() if pk is not None else None
    if template is None:
        raise _not_found("template")
    return template


def _form_data(account, body, instance=None):
    """The console form's fields for a management request body."""
    if body.region.lower() != "cn" or body.brackets.upper() != "CN":
        raise _invalid("Only domestic templates (region cn, brackets CN) can be managed here.")
    if body.template_type not in TEMPLATE_TYPES:
        raise _invalid(f"template_type must be one of {', '.join(TEMPLATE_TYPES)}.")
    data = {
        "application": instance.application_id if instance else body.app_id,
        "signature": body.sign_id or "",
        "name": body.template_name,
        "type": TEMPLATE_TYPES[body.template_type],
        "content": body.template_content,
        "description": body.template_desc or "",
    }
    if body.universal_template:
        data["universal"] = "on"
    given = {attribute.variable_index: attribute for attribute in body.variable_attributes or []}
    for variable in text.find_variables(body.template_content):
        attribute = given.get(variable.index)
        data[variable_field_name(variable.index, "label")] = variable.label
        if attribute is None:
            continue
        data[variable_field_name(variable.index, "attribute")] = (
            "TEXT" if attribute.variable_type == "NEWTEXT" else attribute.variable_type
        )
        data[variable_field_name(variable.index, "description")] = attribute.variable_desc or ""
        if attribute.variable_length is not None:
            data[variable_field_name(variable.index, "max_length")] = str(attribute.variable_length)
    return data


def _saved(account, key_name, form, action, before=None, submit=False):
    try:
        with transaction.atomic():
            template = form.save()
            audit(
                None,
                action,
                template,
                account=account,
                before=before,
                after={"name": template.name, "status": template.status, "via": key_name},
            )
            if submit:
                template.submit()
                audit(
                    None,
                    "template.submit",
                    template,
                    account=account,
                    after={"status": template.status, "via": key_name},
                )
    except (TransitionError, ValidationError) as error:
        raise _invalid(" ".join(error.messages)) from None
    return template


def _submit_wanted(flow_status):
    if flow_status not in ("Pending", "Reviewing"):
        raise _invalid("flow_status must be Pending (a draft) or Reviewing (submitted for review).")
    return flow_status == "Reviewing"


@router.get("/templates", response={200: TemplateListOut, **ERRORS}, summary="List templates")
def list_templates(
    request,
    project_id: Path[str],
    app_key: str = "",
    app_name: str = "",
    template_id: str = "",
    template_name: str = "",
    template_type: str = "",
    flow_status: str = "",
    sign_name: str = "",
    limit: int = 10,
    offset: int = 0,
):
    _no_nul(app_key, app_name, template_id, template_name, template_type, flow_status, sign_name)
    key = request.auth
    account = key.account
    templates = _templates(account)
    if app_key:
        templates = templates.filter(application__app_key=app_key)
    if app_name:
        templates = templates.filter(application__name__icontains=app_name)
    if template_id:
        pk = parse_id(template_id)
        templates = templates.filter(pk=pk) if pk is not None else templates.none()
    if template_name:
        templates = templates.filter(name__icontains=template_name)
    if template_type:
        templates = templates.filter(type=TEMPLATE_TYPES.get(template_type, "-"))
    if flow_status:
        templates = templates.filter(status__in=FLOW_FILTER.get(flow_status, []))
    if sign_name:
        templates = templates.filter(signature__name__icontains=sign_name)
    limit, offset = max(1, min(limit, MAX_PAGE)), max(0, offset)
    total = templates.count()
    # An offset past the end reads nothing (and one past PostgreSQL's bigint would be a server error).
    page = templates.order_by("-created_at", "-pk")[offset : offset + limit] if offset < total else []
    return {"results": [template_out(t) for t in page], "total": total}


@router.post("/templates", response={201: CreatedOut, **ERRORS}, summary="Apply for a template")
def create_template(request, project_id: Path[str], body: TemplateIn):
    key = request.auth
    account = key.account
    submit = _submit_wanted(body.flow_status)
    application = Application.objects.filter(account=account, pk=parse_id(body.app_id) or 0).first()
    if application is None:
        raise _not_found("application")
    form = TemplateForm(_form_data(account, body), account=account)
    if not form.is_valid():
        raise _invalid(_form_errors(form))
    template = _saved(account, key.name, form, "template.create", submit=submit)
    return 201, {"id": str(template.pk), "template_name": template.name}


@router.get("/templates/{id}", response={200: TemplateOut, **ERRORS}, summary="Show a template")
def show_template(request, project_id: Path[str], id: str):
    key = request.auth
    account = key.account
    return template_out(_template(account, id))


@router.put("/templates/{id}", response={200: CreatedOut, **ERRORS}, summary="Modify a template")
def update_template(request, project_id: Path[str], id: str, body: TemplateIn):
    key = request.auth
    account = key.account
    template = _template(account, id)
    submit = _submit_wanted(body.flow_status)
    if not template.can_edit:
        raise ManagementError(
            400, "MSGSMS.0187", f"A template that is {FLOW_STATUS[template.status]} cannot be modified."
        )
    before = {"name": template.name, "content": template.content, "status": template.status}
    form = TemplateForm(_form_data(account, body, instance=template), instance=template, account=account)
    if not form.is_valid():
        raise _invalid(_form_errors(form))
    template = _saved(account, key.name, form, "template.edit", before=before, submit=submit)
    return {"id": str(template.pk), "template_name": template.name}


@router.delete(
    "/templates/{id}",
    response={204: None, **ERRORS},
    summary="Delete templates (one id, or several separated by commas)",
)
def delete_templates(request, project_id: Path[str], id: str):
    key = request.auth
    account = key.account
    raw_ids = [part for part in id.split(",") if part.strip()]
    limit = settings.SMS_TEMPLATE_BATCH_DELETE_MAX
    if not raw_ids or len(raw_ids) > limit:
        raise _invalid(f"Give 1 to {limit} template ids.")
    templates = [_template(account, raw) for raw in raw_ids]
    pending = [t.name for t in templates if not t.can_delete]
    if pending:
        raise _invalid(f"Templates pending review cannot be deleted (withdraw them first): {', '.join(pending)}.")
    with transaction.atomic():
        for template in templates:
            audit(
                None,
                "template.delete",
                template,
                account=account,
                before={"name": template.name, "status": template.status},
                after={"via": key.name},
            )
            template.delete()
    return 204, None


@router.get(
    "/templates/{id}/varilable",
    response={200: VariableListOut, **ERRORS},
    summary="A template's variables (the reference's spelling of the path)",
)
def template_variables(request, project_id: Path[str], id: str):
    key = request.auth
    account = key.account
    template = _template(account, id)
    variables = [
        {
            "id": v.pk,
            "temp_name": template.name,
            "variable_index": v.position,
            "variable_type": v.attribute,
            "variable_length": v.max_length,
            "variable_desc": v.description,
        }
        for v in template.variables.order_by("position")
    ]
    return {"results": variables, "total": len(variables)}


# --- signatures -----------------------------------------------------------------------------------

SIGNATURE_TYPES = TEMPLATE_TYPES
# The management API's signature status enum (the official SDK documents the twelve values; the
# reference's 2.3). A carrier's refusal of a new signature has no value of its own there: it reads as
# not passed, with the carrier's reason as review_desc. PROCESSING and PENDING_QUALIFICATION_REVIEW
# have no state here: channel set-up is part of the filing, and content is approved only with an
# approved qualification.
SIGNATURE_STATUS = {
    Signature.Status.PENDING_REVIEW: "PENDING_REVIEW",
    Signature.Status.REJECTED: "REVIEW_NOT_PASS",
    Signature.Status.FILING: "REAL_NAME_REGISTRATING",
    Signature.Status.FILING_FAILED: "REVIEW_NOT_PASS",
    Signature.Status.APPROVED: "REVIEW_PROCESSING_COMPLETED",
    Signature.Status.LEGACY_UNQUALIFIED: "REVIEW_PASSED",
    Signature.Status.LEGACY_QUALIFYING: "REVIEW_PASSED_QUALIFICATION_PROCESSING",
    Signature.Status.LEGACY_FILING: "REVIEW_PASSED_REAL_NAME_REGISTRATING",
    Signature.Status.LEGACY_FILING_FAILED: "REVIEW_PASSED_REAL_NAME_REGISTRATE_FAIL",
    Signature.Status.TO_BE_ACTIVATED: "TO_BE_ACTIVATED",
    Signature.Status.PENDING_ACTIVATION: "PENDING_ACTIVATE",
}
SOURCES = list(Signature.Source.values)  # signature_source 0..5, in the reference's order


class SignatureOut(Schema):
    id: str
    signature_id: str
    signature_name: str
    signature_type: str
    signature_source: int
    app_name: str
    apply_desc: str
    channel_num: str | None
    review_desc: str
    status: str
    urge_status: str
    urge_time: str | None
    create_time: str
    update_time: str | None


class SignatureListOut(Schema):
    results: list[SignatureOut]
    total: int


def signature_out(signature):
    return {
        "id": str(signature.pk),
        "signature_id": str(signature.pk),
        "signature_name": signature.name,
        "signature_type": TEMPLATE_TYPE_NAMES[signature.type],
        "signature_source": SOURCES.index(signature.source),
        "app_name": signature.application.name,
        "apply_desc": signature.description,
        "channel_num": signature.channel_number,
        "status": SIGNATURE_STATUS[signature.status],
        "review_desc": (signature.carrier_reason if signature.carrier_refused else "")
        or signature.reason_text
        or (signature.reason_label if signature.reason_code else ""),
        "urge_status": "Yes" if signature.urged_at else "No",
        "urge_time": _time(signature.urged_at),
        "create_time": _time(signature.created_at),
        "update_time": _time(signature.reviewed_at or signature.submitted_at),
    }


def _signatures(account):
    return Signature.objects.filter(application__account=account).select_related("application")


@router.get("/signatures", response={200: SignatureListOut, **ERRORS}, summary="List signatures")
def list_signatures(
    request,
    project_id: Path[str],
    app_name: str = "",
    signature_id: str = "",
    signature_name: str = "",
    signature_type: str = "",
    status: str = "",
    limit: int = 10,
    offset: int = 0,
):
    _no_nul(app_name, signature_id, signature_name, signature_type, status)
    key = request.auth
    account = key.account
    signatures = _signatures(account)
    if app_name:
        signatures = signatures.filter(application__name__icontains=app_name)
    if signature_id:
        pk = parse_id(signature_id)
        signatures = signatures.filter(pk=pk) if pk is not None else signatures.none()
    if signature_name:
        signatures = signatures.filter(name__icontains=signature_name)
    if signature_type:
        signatures = signatures.filter(type=SIGNATURE_TYPES.get(signature_type, "-"))
    if status:
        ours = [value for value, theirs in SIGNATURE_STATUS.items() if theirs == status]
        signatures = signatures.filter(status__in=ours)
    limit, offset = max(1, min(limit, MAX_PAGE)), max(0, offset)
    total = signatures.count()
    page = signatures.order_by("-created_at", "-pk")[offset : offset + limit] if offset < total else []
    return {"results": [signature_out(s) for s in page], "total": total}


@router.get("/signatures/{id}", response={200: SignatureOut, **ERRORS}, summary="Show a signature")
def show_signature(request, project_id: Path[str], id: str):
    key = request.auth
    account = key.account
    pk = parse_id(id)
    signature = _signatures(account).filter(pk=pk).first() if pk is not None else None
    if signature is None:
        raise _not_found("signature")
    return signature_out(signature)


class SignatureIn(Schema):
    app_id: str
    signature_name: str
    signature_type: str
    signature_source: int
    qualification_id: str
    apply_desc: str | None = None
    # Documents (file_id, power_attorney_fileid) belong to the qualification here, not the signature.
    file_id: str | None = None
    power_attorney_fileid: str | None = None
    is_involved_third: str | None = None
    source_title_content: str | None = None


class SignatureCreatedOut(Schema):
    id: str
    signature_id: str
    signature_name: str


def _signature_form(account, body, instance=None):
    if body.signature_type not in SIGNATURE_TYPES:
        raise _invalid(f"signature_type must be one of {', '.join(SIGNATURE_TYPES)}.")
    if not 0 <= body.signature_source < len(SOURCES):
        raise _invalid(f"signature_source must be 0 to {len(SOURCES) - 1}.")
    data = {
        "application": instance.application_id if instance else body.app_id,
        "name": body.signature_name,
        "type": SIGNATURE_TYPES[body.signature_type],
        "source": SOURCES[body.signature_source],
        "qualification": body.qualification_id,
        "description": body.apply_desc or "",
    }
    return SignatureForm(
        data,
        instance=instance,
        applications=Application.objects.filter(account=account),
        qualifications=Qualification.objects.filter(account=account),
    )


def _signature(account, raw_id):
    pk = parse_id(raw_id)
    signature = _signatures(account).filter(pk=pk).first() if pk is not None else None
    if signature is None:
        raise _not_found("signature")
    return signature


@router.post("/signatures", response={201: SignatureCreatedOut, **ERRORS}, summary="Apply for a signature")
def create_signature(request, project_id: Path[str], body: SignatureIn):
    key = request.auth
    form = _signature_form(key.account, body)
    if not form.is_valid():
        raise _invalid(_form_errors(form))
    try:
        with transaction.atomic():
            signature = form.save(commit=False)
            signature.submitted_at = timezone.now()
            signature.save()
            audit(None, "create", signature, account=key.account, after={"name": signature.name, "via": key.name})
    except IntegrityError:
        raise _invalid("This application already has a signature with this name and type.") from None
    return 201, {"id": str(signature.pk), "signature_id": str(signature.pk), "signature_name": signature.name}


@router.put(
    "/signatures/{id}",
    response={200: SignatureCreatedOut, **ERRORS},
    summary="Correct and resubmit a rejected signature",
)
def update_signature(request, project_id: Path[str], id: str, body: SignatureIn):
    key = request.auth
    signature = _signature(key.account, id)
    if not signature.can_edit:
        raise _invalid("Only a rejected signature can be modified and resubmitted.")
    form = _signature_form(key.account, body, instance=signature)
    if not form.is_valid():
        raise _invalid(_form_errors(form))
    try:
        with transaction.atomic():
            form.save()
            signature.resubmit()
            audit(None, "resubmit", signature, account=key.account, after={"name": signature.name, "via": key.name})
    except (IntegrityError, TransitionError) as error:
        raise _invalid(" ".join(getattr(error, "messages", [str(error)]))) from None
    return {"id": str(signature.pk), "signature_id": str(signature.pk), "signature_name": signature.name}


@router.put(
    "/signatures/{id}/active",
    response={200: None, **ERRORS},
    summary="Request the activation of a signature waiting for it after arrears",
)
def activate_signature(request, project_id: Path[str], id: str):
    key = request.auth
    signature = _signature(key.account, id)
    try:
        with transaction.atomic():
            signature.request_activation()
            audit(None, "request_activation", signature, account=key.account, after={"via": key.name})
    except TransitionError as error:
        # The reference's code for a signature that is not waiting for activation.
        raise ManagementError(400, "MSGSMS.0130", " ".join(error.messages)) from None
    return 200, None


@router.delete("/signatures/{id}", response={204: None, **ERRORS}, summary="Delete a signature")
def delete_signature(request, project_id: Path[str], id: str):
    key = request.auth
    signature = _signature(key.account, id)
    if not signature.can_delete:
        raise _invalid("A signature waiting for an answer (review, carrier filing or activation) cannot be deleted.")
    try:
        with transaction.atomic():
            audit(
                None, "delete", signature, account=key.account, before={"name": signature.name}, after={"via": key.name}
            )
            signature.delete()
    except ProtectedError:
        raise _invalid("Templates use this signature; delete those templates first.") from None
    return 204, None
