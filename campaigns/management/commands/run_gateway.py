"""`manage.py run_gateway`: the process that holds the provider connections and sends batches."""

import argparse
import asyncio
import gc
import logging
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from campaigns.gateway import CHUNK_SIZE, CONSUMERS, RELOAD_INTERVAL, Gateway, enabled_connections

log = logging.getLogger("campaigns.gateway")


class EnabledConnections:
    """The connections to serve, read again by the gateway while it runs; says when there are none."""

    def __init__(self, names):
        self.names = names
        self.warned = False

    def __call__(self):
        connections = enabled_connections(self.names)
        if not connections and not self.warned:
            log.warning(
                "gateway: no enabled provider connection%s; add one with `manage.py add_smpp_connection` "
                "or `add_http_connection` (checked every %.0f s)",
                f" named {', '.join(self.names)}" if self.names else "",
                RELOAD_INTERVAL,
            )
        self.warned = not connections
        return connections


# The gateway makes and drops millions of small containers a minute (rows, PDUs, futures, tasks)
# and keeps few of them; with Python's default thresholds (700, 10, 10) the cyclic collector ran
# every 700 allocations, rescanning everything loaded at start, and took a fifth of the process's
# CPU (py-spy --native, docs/benchmarks.md). Freezing what exists at start keeps it out of every
# scan; the youngest generation is collected a hundred times less often. Cycles (an exception's
# traceback, a cancelled task) are still collected.
GC_THRESHOLDS = (70_000, 20, 20)


def tune_garbage_collector():
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Command(BaseCommand):
    help = (
        "Holds the SMPP binds (and HTTP clients) of the enabled provider connections and sends the batches "
        "the workers push; "
        "connections added, changed or disabled while it runs are picked up within seconds."
    )

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
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Gateway processes sharing each connection's binds (one Python process is bound by one "
            "core); process k is named GATEWAY_ID-k.",
        )
        parser.add_argument("--share", default="0/1", help=argparse.SUPPRESS)  # k/N: set by --processes

    def handle(self, *args, connection, gateway_id, consumers, chunk_size, processes, share, **options):
        if processes > 1:
            raise SystemExit(self.supervise(processes, connection, gateway_id, consumers, chunk_size))
        try:
            number, count = (int(x) for x in share.split("/"))
        except ValueError:
            raise CommandError(f"--share takes k/N, not {share!r}") from None
        if not 0 <= number < count:
            raise CommandError(f"--share {share}: k counts from 0 to N - 1")
        tune_garbage_collector()
        asyncio.run(self.serve(connection, gateway_id, max(1, consumers), max(1, chunk_size), (number, count)))

    def supervise(self, count, names, gateway_id, consumers, chunk_size):
        """Runs `count` gateway processes, each with its share of the binds, until a stop signal (passed
        on to them) or until one of them ends (then the others are stopped); returns an exit status."""
        base = gateway_id or socket.gethostname()
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    sys.argv[0],
                    "run_gateway",
                    *(f"--connection={name}" for name in names),
                    f"--gateway-id={base}-{number}",
                    f"--consumers={consumers}",
                    f"--chunk-size={chunk_size}",
                    f"--share={number}/{count}",
                ]
            )  # fmt: skip
            for number in range(count)
        ]
        stopping = []

        def stop(signum, _frame):
            stopping.append(signum)
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        log.info("gateway %s: %s processes sharing the binds", base, count)
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        if not stopping:
            ended = next(child for child in children if child.poll() is not None)
            log.error("gateway %s: a process ended with %s; stopping the others", base, ended.returncode)
            stop(signal.SIGTERM, None)
        codes = [child.wait() for child in children]
        return 0 if stopping and not any(codes) else (next((c for c in codes if c), 0) or 1)

    async def serve(self, names, gateway_id, consumers, chunk_size, share=(0, 1)):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        if names:
            await asyncio.to_thread(self.check_names, names)
        gateway = Gateway(
            gateway_id=gateway_id,
            consumers=consumers,
            chunk_size=chunk_size,
            load_connections=EnabledConnections(names),
            share=share,
            journal_dir=settings.SMS_RECEIPT_JOURNAL_DIR or None,
            journal_sync=settings.SMS_RECEIPT_JOURNAL_SYNC,
        )
        log.info("gateway %s started", gateway.gateway_id)
        await gateway.run(stopping)
        log.info("gateway %s stopped", gateway.gateway_id)

    def check_names(self, names):
        """A name typed wrong is an error at once; a database not ready yet is the gateway's to wait for."""
        try:
            served = {c.name for c in enabled_connections(names)}
        except DatabaseError:
            return
        if missing := set(names) - served:
            raise CommandError(f"No enabled SMPP connection named {', '.join(sorted(missing))}.")
