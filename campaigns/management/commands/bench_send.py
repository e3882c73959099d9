"""`manage.py bench_send`: a campaign to N recipients through the real processes, measured.

PostgreSQL and Redis only. Writes N distinct recipients with COPY, starts the SMSC simulator (no
TPS cap; receipts as a carrier sends them: each its own deliver_sm `--dlr-delay` after the submit,
at most `--receipt-window` per bind unacknowledged), `--workers` Celery workers and the gateway as
child processes, launches the campaign and samples the campaign row and the simulator's counters
until every receipt is applied. Prints the messages per second end to end (launch → last receipt
applied, planning included), the time to the first submit_sm, planning time, the submit and
receipt rates overall and per tenth of the campaign, each child's peak RSS (VmHWM, pool children
included) and the simulator's duplicate count, then stops the children and deletes the campaign's
rows (unless --keep). Several --receipt-window values make one run each and a summary.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from campaigns.management.bench_setup import bench_template
from campaigns.models import Campaign, ProviderConnection, RecipientImport

PROJECT_DIR = Path(__file__).resolve().parents[3]
CONNECTION_NAME = "bench-simulator"
# With autovacuum off (this development server) nothing refreshes campaigns_message's statistics
# during a run: taken when the table was empty, they made PostgreSQL plan the claims and submit
# results as scans of a "tiny" table (auto_explain: 165 ms for 400 rows instead of a few ms).
# Autovacuum's analyze would run every few seconds at this rate of updates (10 % of the rows).
ANALYZE_EVERY = 10.0
SYSTEM_ID, PASSWORD = "bench", "bench"
# VmHWM is each process's own high-water mark, so reading it now and then loses no peak; listing a
# child's descendants walks all of /proc, and doing it every 0.25 s for five children kept the
# benchmark itself at a tenth of a core, taken from what it measures (py-spy: half its time).
MEMORY_EVERY = 2.0
PLANNED = re.compile(r"planned: \d+ messages .* in ([0-9.]+)s")


def benchmark_phone(number, series="139"):
    return f"+86{series}{number:08d}"


def copy_recipients(recipient_import, count, series="139", block=50_000):
    """Writes `count` distinct recipients of an import with COPY (PostgreSQL only), one variable
    each (the row number), one segment, and marks the import completed."""
    import_id = recipient_import.pk
    with connection.cursor() as cursor:
        for start in range(1, count + 1, block):
            rows = "".join(
                f'{import_id}\t{n}\t{benchmark_phone(n, series)}\t["A{n}"]\tf\t1\n'
                for n in range(start, min(start + block, count + 1))
            )
            with cursor.copy(
                "COPY campaigns_recipient (recipient_import_id, row_number, phone, variables, opted_out, segments) "
                "FROM STDIN"
            ) as copy:
                copy.write(rows.encode())
    RecipientImport.objects.filter(pk=import_id).update(
        status=RecipientImport.Status.COMPLETED,
        rows_read=count,
        accepted=count,
        segments=count,
        finished_at=timezone.now(),
    )
    return count


def peak_rss_mb(pid):
    """VmHWM of the process and of each of its descendants (a Celery pool child has its own)."""
    import psutil

    try:
        processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    peaks = []
    for process in processes:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if match:
            peaks.append(round(int(match.group(1)) / 1024))
    return peaks


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


class Child:
    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=PROJECT_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.peak = []
        self.sampled_at = None

    def check(self):
        if self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
            raise CommandError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def cpu_seconds(self):
        """User + system CPU of the process and its live descendants (all their threads; a Celery
        pool child, the processes of run_gateway --processes): robust on a shared machine."""
        import psutil

        try:
            processes = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def sample_memory(self, force=False):
        """Every MEMORY_EVERY seconds, or now when `force`d (at the end of a run, so no peak is missed)."""
        now = time.monotonic()
        if not force and self.sampled_at is not None and now - self.sampled_at < MEMORY_EVERY:
            return
        self.sampled_at = now
        current = peak_rss_mb(self.process.pid)
        if sum(current) >= sum(self.peak):
            self.peak = current

    def stop(self, timeout=20):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Command(BaseCommand):
    help = "Sends a campaign to N generated recipients through the simulator, workers and gateway, and measures it."
    autovacuum_off = False  # set by vacuum(), which every run starts with

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=1_000_000)
        parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (concurrency 1 each).")
        parser.add_argument("--binds", type=int, default=2)
        parser.add_argument("--window", type=int, default=256, help="submit_sm in flight per bind.")
        parser.add_argument("--consumers", type=int, default=None, help="run_gateway --consumers")
        parser.add_argument("--chunk-size", type=int, default=None, help="run_gateway --chunk-size")
        parser.add_argument(
            "--gateway-processes", type=int, default=None, help="run_gateway --processes (sharing the binds)"
        )
        parser.add_argument("--dlr-delay", type=float, default=0.2, help="simulator --dlr-delay (seconds)")
        parser.add_argument(
            "--bundled-receipts",
            action="store_true",
            help="simulator --bundled-receipts: each receipt in the submit_sm_resp's write, no window",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="give up on a run after this many seconds")
        self.add_run_arguments(parser)

    @staticmethod
    def add_run_arguments(parser):
        """The options run_per_window reads, and --keep."""
        parser.add_argument(
            "--receipt-window",
            type=int,
            nargs="+",
            default=[10],
            help="simulator --receipt-window: deliver_sm per bind awaiting their resp (one run per value)",
        )
        parser.add_argument("--keep", action="store_true", help="keep the campaign and its rows")
        parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
        parser.add_argument(
            "--log-dir", default=None, help="keep the children's logs here (default: a temporary directory)"
        )

    def handle(self, *args, **options):
        # The children run in sessions of their own (a Ctrl-C in the terminal must not kill them mid-run
        # before the figures are read), so a SIGTERM to the benchmark has to reach them through `finally`.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self.refuse_without_postgresql_and_redis(broker=True)
        count = options["recipients"]
        windows = [None] if options["bundled_receipts"] else options["receipt_window"]

        def header(receipt_window):
            receipts = (
                "bundled with the submit_sm_resp"
                if receipt_window is None
                else f"each its own deliver_sm after {options['dlr_delay']}s, window {receipt_window} per bind"
            )
            return (
                f"database: postgresql, recipients: {count:,}, workers: {options['workers']}, "
                f"binds: {options['binds']}, submit window: {options['window']}, receipts: {receipts}"
            )

        def run(log_dir, receipt_window):
            return {**self.run(count, options, log_dir, receipt_window), "receipt_window": receipt_window}

        runs = self.run_per_window(windows, options, header, run, self.print_figures)
        if len(runs) > 1:
            self.stdout.write("summary (receipt window per bind: end to end, first submit_sm, sustained submit_sm/s):")
            for f in runs:
                self.stdout.write(
                    f"  window {f['receipt_window']}: {f['end_to_end_per_s']:,} messages/s end to end, "
                    f"first submit_sm {f['first_submit_after_s']:.2f}s, {f['submit_sm_per_s_sustained']:,} submit_sm/s"
                )

    # --- setup ----------------------------------------------------------------------------------

    @property
    def command_name(self):
        return type(self).__module__.rsplit(".", 1)[-1]

    def refuse_without_postgresql_and_redis(self, broker):
        """The benchmarks measure the PostgreSQL path, with the gateway on Redis (and, with `broker`,
        Celery workers on a Redis broker)."""
        name = self.command_name
        if connection.vendor != "postgresql":
            raise CommandError(f"{name} measures the PostgreSQL path: set DATABASE_URL to a PostgreSQL database")
        if not settings.REDIS_URL.startswith("redis://"):
            raise CommandError(f"{name} runs the gateway, which needs Redis: set REDIS_URL to redis://…")
        if broker and not settings.CELERY_BROKER_URL.startswith("redis://"):
            raise CommandError(f"{name} needs Redis: set CELERY_BROKER_URL (and REDIS_URL) to redis://…")

    def run_per_window(self, windows, options, header, run, print_figures):
        """One run per receipt window (None: bundled): tables vacuumed first, `header(window)` and the
        load average printed, the children's logs in --log-dir/window-<window> (else a temporary
        directory), `run(log_dir, window)`'s figures printed (and as one JSON line with --json).
        Returns the figures of each run."""
        runs = []
        for receipt_window in windows:
            self.vacuum()
            self.stdout.write(f"{header(receipt_window)}, load average: {load_average()}")
            if options["log_dir"]:
                log_dir = Path(options["log_dir"]) / f"window-{receipt_window or 'bundled'}"
                log_dir.mkdir(parents=True, exist_ok=True)
                figures = run(log_dir, receipt_window)
            else:
                prefix = self.command_name.replace("_", "-") + "-"
                with tempfile.TemporaryDirectory(prefix=prefix) as log_dir:
                    figures = run(log_dir, receipt_window)
            figures["load_average_after"] = load_average()
            print_figures(figures)
            if options["json"]:
                self.stdout.write(json.dumps(figures))
            runs.append(figures)
        return runs

    def vacuum(self):
        """Starts from clean tables: the dead rows of earlier runs would otherwise slow this one, as
        they would in production without autovacuum (which the development server may have off)."""
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            self.autovacuum_off = cursor.fetchone()[0] != "on"
            if self.autovacuum_off:
                self.stderr.write(
                    "autovacuum is off: dead rows of this run stay until the next run's VACUUM; the run "
                    f"analyzes campaigns_message every {ANALYZE_EVERY:.0f} s as autovacuum would"
                )
            cursor.execute(
                "VACUUM (ANALYZE) campaigns_message, campaigns_pendingreceipt, campaigns_batch, "
                "campaigns_campaign, campaigns_recipient"
            )

    def template(self):
        application, template = bench_template("bench-send", "您的订单${1}已发货，请注意查收。", ["CHARDIGIT"])
        return application, template

    def campaign(self, count, provider):
        application, template = self.template()
        started = time.perf_counter()
        with transaction.atomic():
            recipient_import = RecipientImport.objects.create(
                account=application.account,
                application=application,
                template=template,
                original_name="bench.csv",
            )
            copy_recipients(recipient_import, count)
        self.stdout.write(f"recipients written (COPY) in {time.perf_counter() - started:.1f}s")
        return Campaign.objects.create(
            account=application.account,
            application=application,
            signature=template.signature,
            template=template,
            connection=provider,
            name=f"bench {count}",
            recipient_import=recipient_import,
        )

    def environment(self, queue):
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # As in production: under DEBUG every query is also formatted and kept (the debug
            # cursor), which cost the gateway a third of its CPU. The keys stay those of this
            # process, which encrypted the connection's password.
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        }

    def start_simulator(self, log_dir, dlr_delay, receipt_window):
        port_file = Path(log_dir) / "smsc.port"
        if receipt_window is None:
            receipts = ["--bundled-receipts"]
        else:
            receipts = ["--dlr-delay", str(dlr_delay), "--receipt-window", str(receipt_window)]
        simulator = Child(
            "simulator",
            [
                sys.executable,
                "manage.py",
                "smsc_simulator",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--control-port",
                "0",
                "--system-id",
                SYSTEM_ID,
                "--password",
                PASSWORD,
                *receipts,
            ],
            {**os.environ, "PYTHONUNBUFFERED": "1"},
            log_dir,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            simulator.check()
            banner = simulator.log_path.read_text(errors="replace")
            control = re.search(r"^control \S+:(\d+)$", banner, re.M)
            if port_file.exists() and control:
                simulator.port = int(port_file.read_text())
                simulator.control_port = int(control.group(1))
                return simulator
            time.sleep(0.05)
        raise CommandError("the simulator did not start")

    def provider(self, simulator, binds, window, name=CONNECTION_NAME):
        provider, _ = ProviderConnection.objects.update_or_create(
            name=name,
            defaults=dict(
                host="127.0.0.1",
                port=simulator.port,
                system_id=SYSTEM_ID,
                tps=0,
                max_binds=binds,
                window=window,
                enabled=True,
            ),
        )
        provider.password = PASSWORD
        provider.save(update_fields=["password_encrypted"])
        return provider

    # --- the run --------------------------------------------------------------------------------

    def run(self, count, options, log_dir, receipt_window):
        from smsconsole.celery import app

        children = []
        campaign = None
        try:
            simulator = self.start_simulator(log_dir, options["dlr_delay"], receipt_window)
            children.append(simulator)
            provider = self.provider(simulator, options["binds"], options["window"])
            campaign = self.campaign(count, provider)

            queue = f"bench-send-{uuid.uuid4().hex[:8]}"
            env = self.environment(queue)
            celery = str(Path(sys.executable).with_name("celery"))
            for n in range(options["workers"]):
                children.append(
                    Child(
                        f"worker-{n + 1}",
                        [
                            celery,
                            "-A",
                            "smsconsole",
                            "worker",
                            "-P",
                            "prefork",
                            "-c",
                            "1",
                            "-Q",
                            queue,
                            "--loglevel",
                            "INFO",
                            "--without-gossip",
                            "--without-mingle",
                            "--without-heartbeat",
                            "-n",
                            f"bench-{n + 1}-{queue}@%h",
                        ],
                        env,
                        log_dir,
                    )
                )
            gateway_argv = [
                sys.executable,
                "manage.py",
                "run_gateway",
                "--connection",
                CONNECTION_NAME,
                "--gateway-id",
                f"bench-{queue}",
            ]
            for name in ("consumers", "chunk_size"):
                if options[name]:
                    gateway_argv += [f"--{name.replace('_', '-')}", str(options[name])]
            if options["gateway_processes"]:
                gateway_argv += ["--processes", str(options["gateway_processes"])]
            gateway = Child("gateway", gateway_argv, env, log_dir)
            children.append(gateway)
            self.wait(lambda: self.simulator_stats(simulator)["bound"] >= options["binds"], children, 60, "the binds")
            self.wait(
                lambda: all(
                    "ready." in c.log_path.read_text(errors="replace") for c in children if c.name.startswith("worker")
                ),
                children,
                60,
                "the workers",
            )

            app.conf.task_default_queue = queue  # plan_campaign, queued by launch(), goes to the workers
            figures = self.measure(campaign, simulator, children, count, options["timeout"])
            for child in children:
                if child.name.startswith("worker"):
                    planned = PLANNED.search(child.log_path.read_text(errors="replace"))
                    if planned:
                        figures["planning_task_s"] = float(planned.group(1))
            return figures
        finally:
            for child in reversed(children):
                child.stop()
            if campaign is not None and not options["keep"]:
                self.delete(campaign)

    def measure(self, campaign, simulator, children, count, timeout):
        cpu_before = {child.name: child.cpu_seconds() for child in children}
        launched = time.perf_counter()
        launched_at = time.time()  # the simulator stamps its first submit with the wall clock
        with transaction.atomic():
            campaign.launch()
        samples = []  # (seconds since launch, simulator submits, receipts applied)
        analyzed = time.perf_counter()
        planned_after = all_submitted_after = None
        deadline = launched + timeout
        while True:
            for child in children:
                child.check()
                child.sample_memory()
            row = {
                **Campaign.objects.values("status", "planned_at").get(pk=campaign.pk),
                **Campaign.objects.counters(campaign.pk),
            }
            stats = self.simulator_stats(simulator)
            now = time.perf_counter() - launched
            done = row["delivered"] + row["failed"] + row["expired"]
            samples.append((now, stats["submits"], done))
            if planned_after is None and row["planned_at"] is not None:
                planned_after = now
            if all_submitted_after is None and stats["submits"] >= count:
                all_submitted_after = now
            if row["status"] == Campaign.Status.COMPLETED and row["submitted"] == 0:
                break
            if row["status"] in {Campaign.Status.FAILED, Campaign.Status.CANCELLED}:
                raise CommandError(f"the campaign ended {row['status']}")
            if time.perf_counter() > deadline:
                raise CommandError(f"not finished after {timeout:.0f}s: {row}, simulator {stats}")
            if self.autovacuum_off and time.perf_counter() - analyzed >= ANALYZE_EVERY:
                analyzed = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE campaigns_message")
            time.sleep(0.25)
        finished_after = time.perf_counter() - launched
        for child in children:
            child.sample_memory(force=True)
        cpu = {child.name: round(child.cpu_seconds() - cpu_before[child.name], 1) for child in children}
        final = self.simulator_stats(simulator, per_destination=True)
        per_destination = final.pop("per_destination")
        first_submit = final["first_submit_at"]
        row = {name: Campaign.objects.counters(campaign.pk)[name] for name in Campaign.COUNTERS}
        if row["delivered"] != count:
            # A run where messages were skipped (a cap, an opt-out) or failed measured fewer
            # sends than it reports: its rates would be wrong, so it is no figure at all.
            raise CommandError(f"only {row['delivered']:,} of {count:,} messages were delivered: {row}")
        return {
            "recipients": count,
            "planned_after_s": round(planned_after or 0, 2),
            "first_submit_after_s": round(first_submit - launched_at, 2) if first_submit else None,
            "all_submitted_after_s": round(all_submitted_after or finished_after, 2),
            "all_receipts_applied_after_s": round(finished_after, 2),
            "submit_sm_per_s_sustained": round(sustained(samples, 1, count)),
            "submit_sm_per_s_by_tenth": [round(sustained(samples, 1, count, n / 10, (n + 1) / 10)) for n in range(10)],
            "receipts_per_s_sustained": round(sustained(samples, 2, count)),
            "receipts_per_s_by_tenth": [round(sustained(samples, 2, count, n / 10, (n + 1) / 10)) for n in range(10)],
            "end_to_end_per_s": round(count / finished_after),
            "peak_rss_mb": {child.name: child.peak for child in children},
            # CPU seconds of each child (with its descendants) from launch to the last receipt.
            "cpu_s": cpu,
            "gateway_cpu_s_per_100k": round(cpu.get("gateway", 0) * 100_000 / count, 1),
            "duplicates": final["duplicates"],
            "destinations": len(per_destination),
            "simulator": {
                k: final[k]
                for k in ("submits", "segments", "receipts_sent", "receipts_acked", "peak_unacked", "throttled")
            },
            "counters": row,
        }

    def wait(self, predicate, children, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            for child in children:
                child.check()
            if time.monotonic() > deadline:
                raise CommandError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def simulator_stats(self, simulator, per_destination=False):
        query = "" if per_destination else "?summary=1"
        with urllib.request.urlopen(f"http://127.0.0.1:{simulator.control_port}/stats{query}", timeout=30) as response:
            return json.load(response)

    def delete(self, campaign):
        """Raw deletes: the ORM's cascade would load a million rows to delete them."""
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM campaigns_messagepart WHERE message_id IN "
                "(SELECT id FROM campaigns_message WHERE campaign_id = %s)",
                [campaign.pk],
            )
            cursor.execute("DELETE FROM campaigns_message WHERE campaign_id = %s", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_batch WHERE campaign_id = %s", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_pendingreceipt WHERE connection_id = %s", [campaign.connection_id])
            cursor.execute("DELETE FROM campaigns_campaigncount WHERE campaign_id = %s", [campaign.pk])
            # The gateway charged the campaign's chunks (campaigns.sending_rules): the charges name it.
            cursor.execute("DELETE FROM campaigns_ledgerentry WHERE campaign_id = %s", [campaign.pk])
            cursor.execute("DELETE FROM campaigns_campaign WHERE id = %s", [campaign.pk])
            cursor.execute(
                "DELETE FROM campaigns_recipient WHERE recipient_import_id = %s", [campaign.recipient_import_id]
            )
            cursor.execute("DELETE FROM campaigns_recipientimport WHERE id = %s", [campaign.recipient_import_id])

    def print_figures(self, f):
        lines = [
            f"END TO END: {f['end_to_end_per_s']:,} messages/s ({f['recipients']:,} recipients, launch → last receipt "
            f"applied in {f['all_receipts_applied_after_s']:.1f}s, planning included)",
            f"first submit_sm: {f['first_submit_after_s']}s after launch",
            f"planning: {f['planned_after_s']:.1f}s after launch (the task itself: {f.get('planning_task_s', '?')}s)",
            f"submit_sm/s sustained (10-90 % of the campaign, at the simulator): {f['submit_sm_per_s_sustained']:,}",
            "submit_sm/s in each tenth of the campaign: " + ", ".join(f"{r:,}" for r in f["submit_sm_per_s_by_tenth"]),
            f"receipts applied/s sustained (10-90 %): {f['receipts_per_s_sustained']:,}",
            "receipts applied/s in each tenth: " + ", ".join(f"{r:,}" for r in f["receipts_per_s_by_tenth"]),
            f"all submitted after: {f['all_submitted_after_s']:.1f}s",
            f"all receipts applied after: {f['all_receipts_applied_after_s']:.1f}s "
            f"(end to end {f['end_to_end_per_s']:,} messages/s)",
            "peak RSS (MB, process + pool children): "
            + ", ".join(f"{name} {'+'.join(map(str, mb))}" for name, mb in f["peak_rss_mb"].items()),
            "CPU s from launch to the last receipt: " + ", ".join(f"{name} {s}" for name, s in f["cpu_s"].items()),
            f"gateway CPU s per 100,000 messages: {f['gateway_cpu_s_per_100k']}",
            f"duplicates at the simulator: {f['duplicates']} ({f['destinations']:,} destinations, "
            f"{f['simulator']['submits']:,} submits)",
            f"counters: {f['counters']}",
            f"simulator: {f['simulator']}",
            f"load average after the run: {f['load_average_after']}",
        ]
        for line in lines:
            self.stdout.write(line)


def load_average():
    """The machine's 1, 5 and 15 minute load averages: other work shares it."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def sustained(samples, column, count, low=0.1, high=0.9):
    """Rate between the samples where the column passed `low` and `high` of `count` (no ramps)."""
    start = next((s for s in samples if s[column] >= count * low), None)
    end = next((s for s in samples if s[column] >= count * high), None)
    if start is None or end is None or end[0] <= start[0]:
        return 0
    return (end[column] - start[column]) / (end[0] - start[0])
