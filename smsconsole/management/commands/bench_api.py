"""`manage.py bench_api`: the compatible API as production serves it, under gunicorn on PostgreSQL
and Redis, loaded by a concurrent client on this machine.

It starts `gunicorn smsconsole.wsgi:application` (DEBUG off; by default as the README runs it:
`--workers` one per core, `--worker-class gthread`, `--threads 4`, measured against sync workers)
as a child process with this process's database and Redis, and for each scenario keeps
`--concurrency` requests in flight for `--seconds` (after `--warmup` seconds not counted), each
signed as a customer's code signs it, and prints requests/s, numbers accepted/s and the latency
percentiles (client side: connect to last byte). Scenarios:

- `management`: an access-key-signed (SDK-HMAC-SHA256) GET of the template list, the harness's
  own check that authentication, the ORM and Redis are on the path;
- `send-1`: batchSendSms with one number (X-WSSE), a verification code's request;
- `send-500`: batchSendSms with 500 numbers (X-WSSE).

The send scenarios run when the send endpoints are there. Every request's numbers are new (so the
frequency caps and the duplicate check pass them); anything but a 2xx, or a number not accepted,
is counted and printed.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.urls import Resolver404, resolve

from api.models import AccessKey, create_access_key
from campaigns import money
from campaigns.management.bench_setup import bench_template
from campaigns.models import Campaign, Message, ProviderConnection
from campaigns.redis_client import get_redis
from sms import signing
from smsconsole.models import Application

SEND_PATH = "/sms/batchSendSms/v1"
SCENARIOS = ("management", "send-1", "send-500")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(sorted_values, share):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


class Numbers:
    """Distinct mobile numbers, shared by the client threads."""

    def __init__(self, series):
        self.series, self.next, self.lock = series, 0, threading.Lock()

    def take(self, count):
        with self.lock:
            first, self.next = self.next, self.next + count
        return [f"+86{self.series}{n:08d}" for n in range(first, first + count)]


def cpu_seconds(pids):
    """User + system CPU seconds used so far by the live processes among `pids` (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def session_pids(session_id):
    """The processes of a session (gunicorn's arbiter and its workers)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session_id:  # session id
                pids.append(int(name))
    return pids


def database_pids():
    """The PostgreSQL backends serving this database (the web processes' and this command's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [pid for (pid,) in cursor.fetchall()]


class Load:
    """Keeps `concurrency` requests in flight until `seconds` have passed; `make` returns
    (method, path, headers, body) for the next request, `accepted` the numbers a response accepted."""

    def __init__(self, port, make, accepted, concurrency, cpu=None):
        self.port, self.make, self.accepted, self.concurrency = port, make, accepted, concurrency
        self.cpu = cpu  # returns {name: CPU seconds so far}; sampled when measuring starts and stops
        self.cpu_used = {}

    def run(self, warmup, seconds):
        started = time.perf_counter()
        measure_from = started + warmup
        stop_at = measure_from + seconds
        results = [[] for _ in range(self.concurrency)]
        threads = [
            threading.Thread(target=self._client, args=(results[n], measure_from, stop_at), daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        if self.cpu is not None:
            time.sleep(max(0.0, measure_from - time.perf_counter()))
            before = self.cpu()
            time.sleep(max(0.0, stop_at - time.perf_counter()))
            after = self.cpu()
            self.cpu_used = {name: after[name] - before.get(name, 0) for name in after}
        for thread in threads:
            thread.join()
        return [sample for samples in results for sample in samples], seconds

    def _client(self, samples, measure_from, stop_at):
        conn = None
        while (now := time.perf_counter()) < stop_at:
            method, path, headers, body = self.make()
            began = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close" or response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                if conn is not None:
                    conn.close()
                conn = None
                status, payload = 0, str(error).encode()
            elapsed = time.perf_counter() - began
            if began >= measure_from and now < stop_at:
                samples.append((elapsed, status, self.accepted(status, payload), payload[:200]))
        if conn is not None:
            conn.close()


class Command(BaseCommand):
    help = "Measures the compatible API under gunicorn on PostgreSQL + Redis: requests/s, numbers/s and p95."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers")
        parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync, gthread)")
        parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
        parser.add_argument("--concurrency", type=int, default=8, help="requests the client keeps in flight")
        parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
        parser.add_argument("--warmup", type=float, default=2.0, help="seconds run before measuring")
        parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE of the web processes")
        parser.add_argument(
            "--scenario", action="append", choices=SCENARIOS, help="run only these (default: every one available)"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_api measures PostgreSQL; set DATABASE_URL.")
        try:
            get_redis().ping()
        except Exception as error:  # noqa: BLE001 (any failure to reach Redis says the same)
            raise CommandError(f"bench_api needs Redis at REDIS_URL / CELERY_BROKER_URL: {error}") from None
        scenarios = options["scenario"] or [s for s in SCENARIOS if s == "management" or self.sending_served()]
        if any(s != "management" for s in scenarios) and not self.sending_served():
            raise CommandError(f"{SEND_PATH} is not served by this version: only the management scenario runs.")
        application, template = bench_template("bench-api-code", "Your code is ${1}.", ["CHARDIGIT"])
        # The API sends' connection: no gateway runs here, so the accepted messages wait queued and
        # are deleted at the end.
        provider, _ = ProviderConnection.objects.get_or_create(
            name="bench-api", defaults={"host": "127.0.0.1", "port": 1, "system_id": "bench"}
        )
        Application.objects.filter(pk=application.pk).update(status=Application.Status.LAUNCHED, connection=provider)
        application.refresh_from_db()
        if application.account.balance < 1_000_000:
            money.top_up(application.account, "10000000", note="bench_api funds")
        key, secret = create_access_key(application.account, "bench_api")
        port = free_port()
        server = self.start_gunicorn(port, options)
        try:
            threads = f", {options['threads']} threads" if options["worker_class"] == "gthread" else ""
            self.stdout.write(
                f"gunicorn: {options['workers']} workers ({options['worker_class']}{threads}), "
                f"client: {options['concurrency']} in flight, {options['seconds']:g} s per scenario; "
                f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            for scenario in scenarios:
                make, accepted, per_request = self.scenario(scenario, port, application, template, key, secret)
                load = Load(port, make, accepted, options["concurrency"], cpu=self.cpu_probe(server))
                samples, seconds = load.run(options["warmup"], options["seconds"])
                self.report(scenario, samples, seconds, per_request, load.cpu_used)
        finally:
            self.stop(server)
            AccessKey.objects.filter(pk=key.pk).delete()
            self.clean(application)

    def clean(self, application):
        """The API messages of the run (their hidden campaigns, batches and rows)."""
        campaigns = Campaign.objects.filter(application=application, source=Campaign.Source.API)
        deleted = Message.objects.filter(campaign__in=campaigns).delete()[1].get("campaigns.Message", 0)
        campaigns.delete()
        if deleted:
            self.stdout.write(f"deleted the run's {deleted:,} API messages")

    def cpu_probe(self, server):
        """CPU seconds so far of gunicorn (arbiter and workers) and of this database's backends:
        per request, the figure a loaded machine does not distort as it does wall-clock time."""

        def cpu():
            # The backends are looked up each time: the web processes connect on their first request.
            return {"web": cpu_seconds(session_pids(server.pid)), "db": cpu_seconds(database_pids())}

        return cpu

    def sending_served(self):
        try:
            resolve(SEND_PATH)
        except Resolver404:
            return False
        return True

    def start_gunicorn(self, port, options):
        env = dict(
            os.environ,
            DEBUG="0",
            SECRET_KEY=settings.SECRET_KEY,
            FIELD_ENCRYPTION_KEY=settings.FIELD_ENCRYPTION_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
            CONN_MAX_AGE=str(options["conn_max_age"]),
            DATABASE_URL=os.environ.get("DATABASE_URL", ""),
            REDIS_URL=settings.REDIS_URL,
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            # The per-application limit stays on the path (a Redis round trip) without being reached.
            SMS_API_REQUESTS_PER_SECOND="1000000",
        )
        command = [
            sys.executable, "-m", "gunicorn", "smsconsole.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(options["workers"]),
            "--worker-class", options["worker_class"], "--threads", str(options["threads"]),
            "--backlog", "2048", "--log-level", "warning",
        ]  # fmt: skip
        server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)
        # Under load the workers take a while to import Django and answer the first request.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited with {server.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/api/openapi.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return server
            except OSError:
                time.sleep(0.5)
        self.stop(server)
        raise CommandError("gunicorn did not answer within 180 s")

    def stop(self, server):
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    def scenario(self, name, port, application, template, key, secret):
        """(make, accepted, numbers per request) of a scenario."""
        host = f"127.0.0.1:{port}"
        if name == "management":
            path = f"/v2/{application.account_id}/msgsms/templates"
            query = [("limit", "10")]

            def make():
                headers = signing.aksk_headers(key.access_key, secret, "GET", path, host, query_pairs=query)
                return "GET", f"{path}?{urlencode(query)}", headers, None

            def accepted(status, payload):
                return 1 if status == 200 else 0

            return make, accepted, 1
        count = 1 if name == "send-1" else 500
        numbers = Numbers(series="139" if count == 1 else "137")
        app_key, app_secret = application.app_key, application.app_secret
        channel = template.signature.channel_number

        def make():
            body = urlencode(
                {
                    "from": channel,
                    "to": ",".join(numbers.take(count)),
                    "templateId": str(template.pk),
                    "templateParas": json.dumps(["123456"]),
                }
            ).encode()
            headers = signing.wsse_headers(app_key, app_secret)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return "POST", SEND_PATH, headers, body

        def accepted(status, payload):
            if status != 200:
                return 0
            try:
                return sum(1 for result in json.loads(payload)["result"] if result["status"] == "000000")
            except (ValueError, KeyError, TypeError):
                return 0

        return make, accepted, count

    def report(self, name, samples, seconds, per_request, cpu_used=None):
        latencies = sorted(sample[0] for sample in samples)
        ok = [sample for sample in samples if 200 <= sample[1] < 300]
        numbers = sum(sample[2] for sample in samples)
        statuses = {}
        for sample in samples:
            statuses[sample[1]] = statuses.get(sample[1], 0) + 1
        line = (
            f"{name}: {len(samples):,} requests in {seconds:g} s, {len(samples) / seconds:,.0f} req/s "
            f"({len(ok):,} 2xx); p50 {percentile(latencies, 0.50) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
        )
        if per_request > 1 or name != "management":
            line += f"; {numbers:,} numbers accepted, {numbers / seconds:,.0f} numbers/s"
        if cpu_used and samples:
            line += "; CPU per request: " + ", ".join(
                f"{part} {used / len(samples) * 1000:.1f} ms" for part, used in cpu_used.items()
            )
        self.stdout.write(line)
        failed = [sample for sample in samples if not 200 <= sample[1] < 300 or sample[2] < per_request]
        if failed:
            self.stdout.write(
                f"  {len(failed):,} requests failed or not fully accepted; statuses {statuses}; "
                f"first: {failed[0][1]} {failed[0][3][:200]!r}"
            )
        self.stdout.write(f"  load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
