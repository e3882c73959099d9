"""`manage.py add_smpp_connection NAME ...`: creates or updates a provider connection."""

from django.core.management.base import BaseCommand

from campaigns.models import ProviderConnection


class Command(BaseCommand):
    help = "Creates the SMPP provider connection NAME, or updates it when it exists."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--host", required=True)
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--system-id", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--system-type", default=None)
        parser.add_argument("--tps", type=int, default=None, help="Segments per second; 0 = no limit.")
        parser.add_argument("--window", type=int, default=None, help="submit_sm in flight per bind.")
        parser.add_argument("--binds", type=int, default=None)

    def handle(self, *args, name, host, port, system_id, password, system_type, tps, window, binds, **options):
        connection = ProviderConnection.objects.filter(name=name).first()
        created = connection is None
        if created:
            connection = ProviderConnection(name=name, kind=ProviderConnection.Kind.SMPP)
        connection.host, connection.port, connection.system_id = host, port, system_id
        connection.password = password
        optional = {"system_type": system_type, "tps": tps, "window": window, "max_binds": binds}
        for field, value in optional.items():
            if value is not None:
                setattr(connection, field, value)
        connection.full_clean()
        connection.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} connection {connection.name} (id {connection.pk}): {host}:{port} as {system_id}, "
            f"{connection.tps or 'no'} TPS, {connection.max_binds} binds, window {connection.window}"
        )
