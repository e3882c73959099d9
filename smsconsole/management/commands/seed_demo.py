"""Seeds a demo account whose data covers every screen: `make run` calls it before starting.

Idempotent: every object is looked up first, so a second run changes nothing and the demo
application keeps its app key and secret.
"""

import json
import os
import struct
import zlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import activate
from campaigns.models import ProviderConnection
from smsconsole import roles
from smsconsole.models import Account, Application, Membership, create_application
from templates_app import rules
from templates_app.models import NotificationContact, Qualification, Signature, Template, TemplateVariable

# Documented in README.md; SEED_PASSWORD overrides it for a demo reachable by others.
DEMO_PASSWORD = "smsconsole-demo"
ACCOUNT_NAME = "Demo Company"
APPLICATION_NAME = "Demo App"
QUALIFICATION_NAME = "Demo Company licence"
SIGNATURE_NAME = "DemoShop"

# username, role in the JSON output, membership role (None: no account), staff, superuser
USERS = [
    ("demo-operator", "operator", Membership.Role.OPERATOR, False, False),
    ("demo-viewer", "read_only", Membership.Role.READ_ONLY, False, False),
    ("demo-reviewer", "reviewer", None, True, False),
    ("admin", "admin", None, True, True),
]

# name, type, content, variables as (attribute, max_length) by position
TEMPLATES = [
    ("Login code", "verification", "Your verification code is ${1}, valid for 5 minutes.", [("CHARDIGIT", 6)]),
    ("登录验证码", "verification", "您的验证码为${1}，5分钟内有效，请勿泄露给他人。", [("CHARDIGIT", 6)]),
    ("Order shipped", "notification", "Your order ${1} has shipped.", [("CHARDIGIT", 20)]),
    ("发货通知", "notification", "您的订单${1}已发货，请注意查收。", [("CHARDIGIT", 20)]),
    ("Spring sale", "promotion", "Spring sale: 20% off everything this week. Reply STOP to opt out.", []),
    ("春季大促", "promotion", "春季大促，全场八折，本周有效。拒收请回复R", []),
]

CONTACT = {"name": "Demo Ops", "email": "ops@demo.example.com", "phone": "13800000000"}
DEMO_BALANCE = "1000"  # CNY: about 15,000 notification segments
NOT_SHOWN = "(printed when it was created; `manage.py seed_demo --show-secret` prints it again)"


def _png(width=240, height=160):
    """A small grey card with a dark band: a real PNG, so document previews show something."""
    rows = b"".join(
        b"\x00" + bytes([60 if height // 3 <= y < height // 3 + 12 else 230]) * width for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _pdf(text):
    """A one-page PDF showing `text`, with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Command(BaseCommand):
    help = "Creates (once) a demo account, users, an application, approved signatures and active templates."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a summary.")
        parser.add_argument(
            "--show-secret",
            action="store_true",
            help="Print the demo application's secret even though it already existed (it is printed when created).",
        )

    def handle(self, *args, **options):
        password = os.environ.get("SEED_PASSWORD") or DEMO_PASSWORD
        with transaction.atomic():
            summary = self.seed(password, options["show_secret"])
        if options["json"]:
            self.stdout.write(_dumps(summary))
        else:
            self.stdout.write(_readable(summary))

    def seed(self, password, show_secret=False):
        account, _created = Account.objects.get_or_create(
            name=ACCOUNT_NAME, defaults={"company_name": f"{ACCOUNT_NAME} Ltd"}
        )
        users = {}
        for username, role, membership_role, staff, superuser in USERS:
            users[role] = self._user(username, password, staff, superuser)
            if membership_role is not None:
                Membership.objects.get_or_create(
                    user=users[role], defaults={"account": account, "role": membership_role}
                )
        try:
            reviewer = roles.make_reviewer(users["reviewer"])
        except LookupError as error:
            raise CommandError(str(error)) from None

        # Applied for by the operator and approved by the reviewer, through the model's transitions.
        activate(
            account,
            applicant=users["operator"],
            reviewer=reviewer,
            intended_use="Verification codes, order notifications and promotions to our customers.",
        )
        app, secret = self._application(account, show_secret)
        qualification = self._qualification(account, reviewer)
        signatures = {kind: self._signature(app, kind, qualification, reviewer) for kind in rules.TEMPLATE_TYPES}
        templates = [
            self._template(app, signatures[kind], name, kind, content, variables, reviewer)
            for name, kind, content, variables in TEMPLATES
        ]
        NotificationContact.objects.get_or_create(
            account=account, email=CONTACT["email"], defaults={"name": CONTACT["name"], "phone": CONTACT["phone"]}
        )
        self._simulator_connection()
        self._balance(account)

        return {
            "console_url": settings.CONSOLE_URL,
            "users": [{"username": username, "password": password, "role": role} for username, role, *_rest in USERS],
            "applications": [
                {
                    "name": app.name,
                    "app_key": app.app_key,
                    "app_secret": secret,
                    "signatures": [
                        {"name": s.name, "type": s.type, "channel_number": s.channel_number}
                        for s in signatures.values()
                    ],
                    "templates": [
                        {
                            "id": t.id,
                            "name": t.name,
                            "type": t.type,
                            "content": t.content,
                            "signature": t.signature.name,
                        }
                        for t in templates
                    ],
                }
            ],
        }

    def _balance(self, account):
        """A starting balance, once: the ledger is never rewritten by a second run."""
        from campaigns import money
        from campaigns.models import LedgerEntry

        if not LedgerEntry.objects.filter(account=account).exists():
            money.top_up(account, DEMO_BALANCE, note="demo balance from seed_demo")

    def _simulator_connection(self):
        """The connection to the SMSC simulator that `make run` starts (port SMSC_PORT, default 2775)."""
        if ProviderConnection.objects.filter(name=settings.SMS_DEFAULT_CONNECTION).exists():
            return
        connection = ProviderConnection(
            name=settings.SMS_DEFAULT_CONNECTION,
            host="127.0.0.1",
            port=int(os.environ.get("SMSC_PORT") or 2775),
            system_id="smsconsole",
            tps=100,
            window=64,
            max_binds=1,
        )
        connection.password = "smsconsole"
        connection.save()

    def _user(self, username, password, staff, superuser):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@demo.example.com", "is_staff": staff, "is_superuser": superuser},
        )
        # Only a changed SEED_PASSWORD rewrites the hash; an unchanged one leaves the row alone.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user

    def _application(self, account, show_secret):
        """The demo application and its secret when just created or asked for, else None: a secret
        printed at every `make run` ends up in terminal scroll-back and CI logs."""
        app = Application.objects.filter(account=account, name=APPLICATION_NAME).first()
        if app is None:
            app, secret = create_application(account, APPLICATION_NAME)
        else:
            secret = app.app_secret if show_secret else None
        if app.status != Application.Status.LAUNCHED:
            app.launch()
        return app, secret

    def _qualification(self, account, reviewer):
        qualification = Qualification.objects.filter(account=account, name=QUALIFICATION_NAME).first()
        if qualification is None:
            image = _png()
            qualification = Qualification(
                account=account,
                name=QUALIFICATION_NAME,
                company_name=account.company_name,
                credit_code="91110000MA00000000",
                legal_representative="Zhang San",
                handler_name="Li Si",
                submitted_at=timezone.now(),
            )
            qualification.business_licence = ContentFile(
                _pdf("Demo Company Ltd - business licence"), name="licence.pdf"
            )
            qualification.legal_person_id = ContentFile(image, name="legal-person-id.png")
            qualification.handler_id_front = ContentFile(image, name="handler-id-front.png")
            qualification.handler_id_back = ContentFile(image, name="handler-id-back.png")
            qualification.full_clean()
            qualification.save()
        if qualification.status == Qualification.Status.PENDING_REVIEW:
            qualification.approve(reviewer)
        return qualification

    def _signature(self, app, kind, qualification, reviewer):
        signature, _created = Signature.objects.get_or_create(
            application=app,
            name=SIGNATURE_NAME,
            type=kind,
            defaults={
                "qualification": qualification,
                "source": Signature.Source.SHOP,
                "description": "Demo shop used by `make run`.",
                "submitted_at": timezone.now(),
            },
        )
        # Content review, then the carrier's answer to the filing, which the reviewer records here.
        if signature.status == Signature.Status.PENDING_REVIEW:
            signature.approve(reviewer)
        if signature.status == Signature.Status.FILING:
            signature.carrier_approve(reviewer)
        return signature

    def _template(self, app, signature, name, kind, content, variables, reviewer):
        problems = rules.validate_template(content, kind, variables=variables, signature_name=signature.name)
        if problems:
            raise CommandError(f"Demo template {name!r} breaks the template rules: {problems}")
        template = Template.objects.filter(application=app, name=name, type=kind).first()
        if template is None:
            template = Template.objects.create(
                application=app,
                signature=signature,
                name=name,
                type=kind,
                content=content,
                description="Demo template used by `make run`.",
            )
            TemplateVariable.objects.bulk_create(
                TemplateVariable(template=template, position=position, attribute=attribute, max_length=max_length)
                for position, (attribute, max_length) in enumerate(variables, start=1)
            )
        if template.status == Template.Status.DRAFT:
            template.submit()
        if template.status == Template.Status.PENDING_REVIEW:
            template.approve(reviewer)
        return template


def _dumps(summary):
    return json.dumps(summary, ensure_ascii=False, indent=2)


def _readable(summary):
    lines = [f"Console: {summary['console_url']}", "", "Logins:"]
    for user in summary["users"]:
        lines.append(f"  {user['username']:<15} {user['password']:<20} {user['role']}")
    for app in summary["applications"]:
        lines += [
            "",
            f"Application {app['name']}:",
            f"  app_key:    {app['app_key']}",
            f"  app_secret: {app['app_secret'] or NOT_SHOWN}",
            "  signatures: "
            + ", ".join(f"【{s['name']}】 {s['type']} {s['channel_number']}" for s in app["signatures"]),
            "  templates:",
        ]
        lines += [f"    #{t['id']:<4} {t['type']:<13} {t['name']}: {t['content']}" for t in app["templates"]]
    return "\n".join(lines)
