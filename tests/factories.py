"""Builders for test data: `create_*` functions with sensible defaults, each overridable."""

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import models as activation
from smsconsole import roles
from smsconsole.models import Account, Membership
from smsconsole.models import create_application as _create_application
from templates_app.models import NotificationContact, Qualification, Signature, Template, TemplateVariable

PASSWORD = "correct-horse-battery"

# A 1x1 PNG: the smallest real image that passes the content check of qualification documents.
PNG_1X1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def png(name="licence.png"):
    return SimpleUploadedFile(name, PNG_1X1, content_type="image/png")


def create_user(username, *, account=None, role=Membership.Role.OPERATOR, staff=False, email=None):
    user = get_user_model().objects.create_user(username, email or f"{username}@example.com", PASSWORD, is_staff=staff)
    if account is not None:
        Membership.objects.create(user=user, account=account, role=role)
    return user


def create_reviewer(username="rita"):
    return roles.make_reviewer(create_user(username, staff=True))


def create_account(name="Acme", activated=True):
    """An account; activated (its service application approved) unless told otherwise."""
    account = Account.objects.create(name=name, company_name=f"{name} Ltd")
    if activated:
        activation.activate(account)
    return account


def create_application(account, name="Shop", **fields):
    app, _secret = _create_application(account, name, **fields)
    return app


def create_qualification(account, name="Acme licence", status=Qualification.Status.APPROVED, **fields):
    defaults = dict(
        company_name=account.company_name or account.name,
        business_licence=png("licence.png"),
        legal_person_id=png("legal.png"),
        handler_id_front=png("front.png"),
        handler_id_back=png("back.png"),
        submitted_at=timezone.now(),
    )
    defaults.update(fields)
    return Qualification.objects.create(account=account, name=name, status=status, **defaults)


def create_signature(
    application, name="Acme", type="notification", status=Signature.Status.APPROVED, qualification=None, **fields
):
    """A signature in `status` (approved, so it sends, unless told otherwise), with a channel number
    when its status has one, and a qualification unless it is a legacy one waiting for it."""
    if qualification is None and status != Signature.Status.LEGACY_UNQUALIFIED:
        qualification = create_qualification(application.account, name=f"q-{name}-{type}"[:32])
    has_channel = status in Signature.SENDABLE or status in {
        Signature.Status.TO_BE_ACTIVATED,
        Signature.Status.PENDING_ACTIVATION,
    }
    if status in {Signature.Status.TO_BE_ACTIVATED, Signature.Status.PENDING_ACTIVATION}:
        fields.setdefault("restore_status", Signature.Status.APPROVED)
    if has_channel and "channel_number" not in fields:
        fields["channel_number"] = f"1069{Signature.objects.count() + 10000000:08d}"
    return Signature.objects.create(
        application=application,
        name=name,
        type=type,
        status=status,
        qualification=qualification,
        submitted_at=timezone.now(),
        **fields,
    )


def create_template(
    application,
    signature=None,
    name="Order shipped",
    type="notification",
    content="Your order ${1} has shipped.",
    status=Template.Status.ACTIVE,
    variables=None,
    **fields,
):
    if signature is None and not fields.get("universal"):
        signature = create_signature(application, type=type)
    template = Template.objects.create(
        application=application,
        signature=signature,
        name=name,
        type=type,
        content=content,
        status=status,
        submitted_at=timezone.now(),
        **fields,
    )
    for position, (attribute, max_length) in enumerate(variables or [("TEXT", 20)] * content.count("${"), start=1):
        TemplateVariable.objects.create(
            template=template, position=position, attribute=attribute, max_length=max_length
        )
    return template


def create_contact(account, name="Ops", email="ops@example.com", **toggles):
    return NotificationContact.objects.create(account=account, name=name, email=email, **toggles)
