"""`manage.py add_http_connection NAME ...`: creates or updates an HTTP provider connection."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.gateway import status_callback_url
from campaigns.models import ProviderConnection, RemoteTemplate
from templates_app.models import Template


class Command(BaseCommand):
    help = (
        "Creates the HTTP provider connection NAME (the cloud's batchSendSms with X-WSSE: a cloud SMS "
        "account or another console), or updates it when it exists; prints its status report URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--base-url", required=True, help="The remote application's access address.")
        parser.add_argument("--app-key", required=True)
        parser.add_argument("--app-secret", required=True)
        parser.add_argument(
            "--from",
            dest="source",
            default=None,
            help="Send from this channel number (default: each campaign signature's own).",
        )
        parser.add_argument(
            "--template",
            action="append",
            default=[],
            metavar="LOCAL_ID=REMOTE_ID",
            help="The remote templateId for one of this console's templates (repeatable).",
        )
        parser.add_argument("--tps", type=int, default=None, help="Segments per second; 0 = no limit.")
        parser.add_argument("--window", type=int, default=None, help="Requests in flight.")

    def handle(self, *args, name, base_url, app_key, app_secret, source, template, tps, window, **options):
        mappings = []
        for item in template:
            local, _sep, remote = item.partition("=")
            found = Template.objects.filter(pk=int(local)).first() if local.strip().isdigit() else None
            if found is None or not remote.strip() or len(remote.strip()) > 32:
                raise CommandError(f"--template {item!r}: give LOCAL_ID=REMOTE_ID, an existing template's id")
            mappings.append((found, remote.strip()))
        with transaction.atomic():
            connection = ProviderConnection.objects.filter(name=name).first()
            created = connection is None
            if created:
                connection = ProviderConnection(name=name)
            elif not connection.is_http:
                raise CommandError(f"{name} is an SMPP connection")
            connection.kind = ProviderConnection.Kind.HTTP
            connection.base_url, connection.app_key = base_url, app_key
            connection.app_secret = app_secret
            if source is not None:
                connection.source_rule = ProviderConnection.SourceRule.FIXED if source else "channel_number"
                connection.source_address = source
            for field, value in {"tps": tps, "window": window}.items():
                if value is not None:
                    setattr(connection, field, value)
            try:
                connection.full_clean()
            except ValidationError as error:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
            connection.save()
            for found, remote in mappings:
                RemoteTemplate.objects.update_or_create(
                    connection=connection, template=found, defaults={"remote_template_id": remote}
                )
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} HTTP connection {connection.name} (id {connection.pk}): {base_url} as {app_key}, "
            f"{connection.tps or 'no'} TPS, {connection.window} requests in flight, "
            f"{connection.remote_templates.count()} remote templates"
        )
        self.stdout.write(f"Status reports: {status_callback_url(connection)}")
