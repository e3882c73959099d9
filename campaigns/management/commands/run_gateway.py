"""`manage.py run_gateway`: the process that holds the provider connections and sends batches."""

import asyncio
import contextlib
import logging
import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from campaigns.gateway import CHUNK_SIZE, CONSUMERS, Gateway, enabled_connections

log = logging.getLogger("campaigns.gateway")

RECHECK_SECONDS = 5.0


class Command(BaseCommand):
    help = "Holds the SMPP binds of the enabled provider connections and sends the batches the workers push."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection",
            action="append",
            default=[],
            metavar="NAME",
            help="Only this connection (repeatable); default: every enabled one.",
        )
        parser.add_argument(
            "--gateway-id",
            default=None,
            help="Names this gateway's processing lists; keep it stable across restarts "
            "(default: the host name). Two gateways on one host need different ids.",
        )
        parser.add_argument("--consumers", type=int, default=CONSUMERS, help="Batches sent at once per connection.")
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Messages per status check and bulk write."
        )

    def handle(self, *args, connection, gateway_id, consumers, chunk_size, **options):
        asyncio.run(self.serve(connection, gateway_id, max(1, consumers), max(1, chunk_size)))

    async def serve(self, names, gateway_id, consumers, chunk_size):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        connections = await self.connections(names, stopping)
        if not connections:
            return
        gateway = Gateway(connections, gateway_id=gateway_id, consumers=consumers, chunk_size=chunk_size)
        described = ", ".join(
            f"{c.name} ({c.host}:{c.port}, {c.max_binds} binds, window {c.window}, {c.tps or 'no'} TPS)"
            for c in connections
        )
        log.info("gateway %s: %s", gateway.gateway_id, described)
        await gateway.run(stopping)
        log.info("gateway %s stopped", gateway.gateway_id)

    async def connections(self, names, stopping):
        """The connections to serve; without any yet (a fresh install under `make run`), waits for one."""
        waiting = False
        while not stopping.is_set():
            try:
                connections = await asyncio.to_thread(enabled_connections, names)
            except DatabaseError as error:
                connections, reason = [], f"the database is not ready ({error})"
            else:
                missing = set(names) - {c.name for c in connections}
                if missing:
                    raise CommandError(f"No enabled SMPP connection named {', '.join(sorted(missing))}.")
                reason = "no enabled SMPP connection; add one with `manage.py add_smpp_connection`"
            if connections:
                return connections
            if not waiting:
                log.warning("gateway: %s; checking again every %.0f s", reason, RECHECK_SECONDS)
                waiting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), RECHECK_SECONDS)
        return []
