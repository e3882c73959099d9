"""`manage.py run_gateway`: the process that holds the provider connections and sends batches."""

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from campaigns.gateway import CHUNK_SIZE, CONSUMERS, Gateway, enabled_connections

log = logging.getLogger("campaigns.gateway")


class Command(BaseCommand):
    help = "Holds the SMPP binds of the enabled provider connections and sends the batches the workers push."

    def add_arguments(self, parser):
        parser.add_argument("--connection", action="append", default=[], metavar="NAME",
                            help="Only this connection (repeatable); default: every enabled one.")
        parser.add_argument("--gateway-id", default=None,
                            help="Names this gateway's processing lists; keep it stable across restarts "
                                 "(default: the host name). Two gateways on one host need different ids.")
        parser.add_argument("--consumers", type=int, default=CONSUMERS, help="Batches sent at once per connection.")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="Messages per status check and bulk write.")

    def handle(self, *args, connection, gateway_id, consumers, chunk_size, **options):
        connections = enabled_connections(connection)
        missing = set(connection) - {c.name for c in connections}
        if missing:
            raise CommandError(f"No enabled SMPP connection named {', '.join(sorted(missing))}.")
        if not connections:
            raise CommandError("No enabled SMPP connection; add one with `manage.py add_smpp_connection`.")
        gateway = Gateway(connections, gateway_id=gateway_id, consumers=max(1, consumers), chunk_size=max(1, chunk_size))
        asyncio.run(self.serve(gateway))

    async def serve(self, gateway):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        names = ", ".join(f"{c.name} ({c.host}:{c.port}, {c.max_binds} binds, window {c.window}, {c.tps or 'no'} TPS)"
                          for c in gateway.connections)
        log.info("gateway %s: %s", gateway.gateway_id, names)
        await gateway.run(stopping)
        log.info("gateway %s stopped", gateway.gateway_id)
