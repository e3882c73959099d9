"""`manage.py send_campaign`: imports a recipient file and launches (or schedules) a campaign.

For scripts and benchmarks: the same import and the same planning as the console, without it.
The campaign id is the last line on stdout.
"""

import os
from datetime import datetime

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from campaigns.broker import require_services
from campaigns.import_reasons import failure_message
from campaigns.importer import run_import
from campaigns.models import Campaign, ProviderConnection, RecipientImport
from smsconsole.models import Application, TransitionError
from templates_app.models import Signature, Template


class Command(BaseCommand):
    help = "Imports a recipient file for a template and launches a campaign to it; prints the campaign id."

    def add_arguments(self, parser):
        parser.add_argument("--application", required=True, help="Application name or app key.")
        parser.add_argument("--template", required=True, type=int, help="Template id.")
        parser.add_argument("--file", required=True, help="CSV, TXT or XLSX: number first, then the variables.")
        parser.add_argument(
            "--connection", default=None, help="Provider connection name (default: SMS_DEFAULT_CONNECTION)."
        )
        parser.add_argument("--at", default=None, help="Schedule for this ISO time instead of sending now.")
        parser.add_argument("--name", default=None, help="Campaign name (default: the file name).")

    def handle(self, *args, application, template, file, connection, at, name, **options):
        app = self.application(application)
        template_id = template
        template = Template.objects.select_related("signature").filter(pk=template_id, application=app).first()
        if template is None:
            raise CommandError(f"Application {app.name} has no template {template_id}.")
        if template.status != Template.Status.ACTIVE:
            raise CommandError(f"Template {template.pk} is not active ({template.get_status_display()}).")
        signature = self.signature(app, template)
        provider = self.connection(connection)
        when = self.scheduled_time(at)
        if not os.path.isfile(file):
            raise CommandError(f"No file {file}.")
        # Before anything is written: planning runs in a worker reading this broker, and the
        # gateway takes the batches from this Redis.
        require_services()

        recipient_import = self.import_file(app, template, file)
        with transaction.atomic():
            campaign = Campaign.objects.create(
                account=app.account,
                application=app,
                signature=signature,
                template=template,
                connection=provider,
                name=(name or recipient_import.original_name)[:100],
                recipient_import=recipient_import,
            )
            try:
                if when is None:
                    campaign.launch()
                else:
                    campaign.schedule(when)
            except TransitionError as error:
                raise CommandError(str(error)) from None
        verb = "Launched" if when is None else f"Scheduled for {when.isoformat()}:"
        self.stderr.write(
            f"{verb} campaign {campaign.pk} to {recipient_import.accepted} recipients "
            f"({recipient_import.rejected} rows rejected, {recipient_import.opted_out} opted out)."
        )
        self.stdout.write(str(campaign.pk))

    def application(self, value):
        app = Application.objects.select_related("account").filter(app_key=value).first()
        if app is not None:
            return app
        matches = list(Application.objects.select_related("account").filter(name=value)[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CommandError(f"Several accounts have an application named {value!r}; give its app key.")
        raise CommandError(f"No application with the name or app key {value!r}.")

    def signature(self, app, template):
        if template.signature_id:
            signature = template.signature
        else:
            # A universal template goes out under the application's one sendable signature of its type.
            candidates = list(Signature.objects.sendable().filter(application=app, type=template.type)[:2])
            if len(candidates) != 1:
                raise CommandError("A universal template needs exactly one signature of its type that may send.")
            signature = candidates[0]
        if not signature.can_send:
            raise CommandError(f"Signature {signature} cannot send: it is {signature.get_status_display()}.")
        return signature

    def connection(self, name):
        name = name or settings.SMS_DEFAULT_CONNECTION
        provider = ProviderConnection.objects.filter(name=name).first()
        if provider is None:
            raise CommandError(f"No provider connection named {name!r}; add it with `manage.py add_smpp_connection`.")
        if not provider.enabled:
            raise CommandError(f"Provider connection {name!r} is disabled.")
        return provider

    def scheduled_time(self, value):
        if not value:
            return None
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--at: not an ISO time: {value!r}") from None
        return timezone.make_aware(when) if timezone.is_naive(when) else when

    def import_file(self, app, template, path):
        recipient_import = RecipientImport(
            account=app.account,
            application=app,
            template=template,
            original_name=os.path.basename(path)[:255],
            size=os.path.getsize(path),
        )
        with open(path, "rb") as handle:
            recipient_import.file.save(recipient_import.original_name, File(handle), save=False)
        recipient_import.save()
        run_import(recipient_import.pk)
        recipient_import.refresh_from_db()
        if recipient_import.status != RecipientImport.Status.COMPLETED:
            # The reason the import page gives (campaigns.import_reasons), with its code for scripts.
            code = recipient_import.error_code
            reason = failure_message(code, recipient_import.error_params) if code else recipient_import.status
            raise CommandError(f"The import of {path} failed ({code or recipient_import.status}): {reason}")
        if not recipient_import.accepted:
            raise CommandError(f"No usable recipient in {path} ({recipient_import.rejected} rows rejected).")
        self.stderr.write(
            f"Imported {recipient_import.accepted} recipients from {path} ({recipient_import.rejected} rejected)."
        )
        return recipient_import
