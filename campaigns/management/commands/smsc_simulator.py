"""Runs the SMPP 3.4 SMSC simulator (sms.smpp.simulator) until SIGINT/SIGTERM."""

import asyncio
import logging
import signal
from pathlib import Path

from django.core.management.base import BaseCommand

from sms.smpp.simulator import SmscSimulator


def _status(value):
    return int(value, 0)


class Command(BaseCommand):
    help = (
        "SMPP 3.4 SMSC simulator on loopback: receipts as a carrier sends them (each its own deliver_sm after "
        "--dlr-delay, --receipt-window per bind), failure and error ratios, TPS cap, faults, replies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2775, help="0 picks a free port (printed first)")
        parser.add_argument("--port-file", help="write the bound SMPP port here")
        parser.add_argument("--system-id", default=None, help="accepted system_id (default: any)")
        parser.add_argument("--password", default=None, help="accepted password (default: any)")
        parser.add_argument("--no-receipts", action="store_true", help="never send delivery receipts")
        parser.add_argument(
            "--dlr-delay",
            type=float,
            default=0.2,
            help="seconds from the submit to its receipt, each receipt its own deliver_sm (default 0.2)",
        )
        parser.add_argument(
            "--receipt-window",
            type=int,
            default=10,
            help="deliver_sm per bind awaiting their deliver_sm_resp before the next goes (default 10; 0: no limit)",
        )
        parser.add_argument(
            "--bundled-receipts",
            action="store_true",
            help="write each receipt in the same write as its submit_sm_resp, with no window (no --dlr-delay)",
        )
        parser.add_argument(
            "--dlr-first", action="store_true", help="bundled, with the receipt before the submit_sm_resp"
        )
        parser.add_argument("--failure-ratio", type=float, default=0.0, help="fraction of receipts UNDELIV")
        parser.add_argument("--failure-err", default="001", help="err: code of UNDELIV receipts")
        parser.add_argument(
            "--fail-part",
            type=int,
            default=0,
            help="receipts of this segment (UDH sequence number) of every concatenated message are UNDELIV",
        )
        parser.add_argument(
            "--error-ratio", type=float, default=0.0, help="fraction of submit_sm answered with --error-status"
        )
        parser.add_argument("--error-status", type=_status, default=0x0B, help="e.g. 0x0B (ESME_RINVDSTADR)")
        parser.add_argument(
            "--tps", type=int, default=0, help="submit_sm per second before ESME_RTHROTTLED (0: no cap)"
        )
        parser.add_argument(
            "--throttle-storm",
            type=float,
            default=0.0,
            help="answer every submit_sm ESME_RTHROTTLED for this many seconds from the first one",
        )
        parser.add_argument(
            "--drop-after",
            type=int,
            default=0,
            help="after N accepted submits, close the connection without answering the Nth",
        )
        parser.add_argument("--drop-every", action="store_true", help="drop after every N submits, not once")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--control-port",
            type=int,
            default=None,
            help="HTTP control endpoint (GET /stats, POST /mo /receipts /throttle /drop /reset); 0 picks a port",
        )
        parser.add_argument(
            "--control-port-file",
            help="write the bound control port here (removed on exit); manage.py simulate_reply reads it",
        )
        parser.add_argument("--stats-file", help="write the stats JSON here on exit")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO if options["verbosity"] > 1 else logging.WARNING,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
        asyncio.run(self._serve(options))

    async def _serve(self, options):
        smsc = SmscSimulator(
            options["host"], options["port"],
            system_id=options["system_id"], password=options["password"],
            receipts=not options["no_receipts"], dlr_delay=options["dlr_delay"],
            receipt_window=max(0, options["receipt_window"]), bundled=options["bundled_receipts"],
            dlr_first=options["dlr_first"],
            failure_ratio=options["failure_ratio"], failure_err=options["failure_err"],
            error_ratio=options["error_ratio"], error_status=options["error_status"], tps=options["tps"],
            throttle_storm=options["throttle_storm"], drop_after=options["drop_after"],
            drop_every=options["drop_every"], seed=options["seed"], control_port=options["control_port"],
            fail_part=options["fail_part"],
        )  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        port = await smsc.start()
        control_file = Path(options["control_port_file"]) if options["control_port_file"] else None
        try:
            if options["port_file"]:
                # Written before the banner and renamed into place: whoever saw the banner or the
                # file can read a complete port number.
                _write_port(Path(options["port_file"]), port)
            if control_file is not None and smsc.control is not None:
                _write_port(control_file, smsc.control_port)
            self.stdout.write(f"listening {options['host']}:{port}")
            if smsc.control is not None:
                self.stdout.write(f"control {smsc.control_host}:{smsc.control_port}")
            self.stdout.flush()
            await stop.wait()
        finally:
            if control_file is not None:
                control_file.unlink(missing_ok=True)  # no later command mistakes a stale port for this one
            if options["stats_file"]:
                smsc.write_stats(options["stats_file"])
            await smsc.close()


def _write_port(path, port):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(path)
