"""Builders, a Redis fixture and real-process helpers for the sending engine's tests.

The context managers `simulator(...)`, `worker(...)` and `gateway(...)` start the real processes
(the SMSC simulator, a Celery worker and `manage.py run_gateway`) against the test database and
Redis, yield what a test needs (ports, pids, the Popen), and stop them (SIGTERM, then SIGKILL of
the whole process group) however the test ends. Fault tests can `kill -9` them mid-run.
`worker_and_gateway(...)` starts the pair an end-to-end test sends through, and
`add_simulator_connection` / `send_file` do what an operator does: add the simulator as a
connection, and send a recipients file with `manage.py send_campaign`.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from io import StringIO
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
SIM_SYSTEM_ID = "smsconsole"
SIM_PASSWORD = "secret"


# --- data ---------------------------------------------------------------------------------------


def create_connection(name="simulator", **fields):
    from campaigns.models import ProviderConnection

    defaults = dict(host="127.0.0.1", port=2775, system_id=SIM_SYSTEM_ID, tps=0, window=64, max_binds=1)
    defaults.update(fields)
    password = defaults.pop("password", SIM_PASSWORD)
    connection = ProviderConnection(name=name, **defaults)
    connection.password = password
    connection.save()
    return connection


def create_import(application, template, rows, opted_out=()):
    """A completed recipient import with `rows` as (phone, [variables]) or phones."""
    from campaigns.models import Recipient, RecipientImport

    imp = RecipientImport.objects.create(
        account=application.account,
        application=application,
        template=template,
        original_name="list.csv",
        status=RecipientImport.Status.COMPLETED,
    )
    recipients = []
    for number, row in enumerate(rows, start=1):
        phone, variables = (row, ["A1"]) if isinstance(row, str) else row
        recipients.append(
            Recipient(
                recipient_import=imp,
                row_number=number,
                phone=phone,
                variables=variables,
                opted_out=phone in opted_out,
                segments=1,
            )
        )
    Recipient.objects.bulk_create(recipients, batch_size=5000)
    imp.accepted = len(recipients)
    imp.save(update_fields=["accepted"])
    return imp


def phones(count, start=0):
    return [f"+86138{n:08d}" for n in range(start, start + count)]


def recipients_file(tmp_path, prefix, count):
    """A CSV of `count` recipients (phone, order) for `send_file`: numbers `prefix` + 7 digits."""
    path = tmp_path / "recipients.csv"
    path.write_text("phone,order\n" + "".join(f"{prefix}{n:07d},A{n}\n" for n in range(count)))
    return path


@pytest.fixture
def order_template(factories, shop):
    """The template the end-to-end tests send `recipients_file` with: one CHARDIGIT variable."""
    return factories.create_template(shop, content="Your order ${1} has shipped.", variables=[("CHARDIGIT", 20)])


@pytest.fixture
def shipped_template(factories, shop):
    """The one-variable template the lifecycle and receipt tests send."""
    return factories.create_template(shop, content="Your order ${1} has shipped.")


@pytest.fixture
def simulator_connection(db):
    return create_connection()


def planned_campaign(application, template, connection, count):
    """A running campaign to `count` numbers, planned: its messages are queued in batches."""
    from campaigns.tasks import plan_campaign

    campaign = create_campaign(application, template, connection, phones(count), status="running")
    plan_campaign(campaign.pk)
    return campaign


def message_ids(campaign):
    """The campaign's message ids, in id order."""
    from campaigns.models import Message

    return list(Message.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))


def create_campaign(
    application,
    template,
    connection,
    rows=None,
    *,
    recipient_import=None,
    contact_list=None,
    status="draft",
    funded=True,
    **fields,
):
    from campaigns.models import Campaign

    if recipient_import is None and contact_list is None:
        recipient_import = create_import(application, template, rows if rows is not None else phones(3))
    if funded:
        fund(application.account)
    return Campaign.objects.create(
        account=application.account,
        application=application,
        signature=template.signature,
        template=template,
        connection=connection,
        name=fields.pop("name", "Spring"),
        recipient_import=recipient_import,
        contact_list=contact_list,
        status=status,
        **fields,
    )


def fund(account, amount="1000000"):
    """Gives an account with an empty balance enough to send (the gateway charges every chunk:
    campaigns.sending_rules); a test of the balance itself passes funded=False."""
    from campaigns import money
    from smsconsole.models import Account

    if Account.objects.filter(pk=account.pk, balance=0).exists():
        money.top_up(account, amount, note="test funds")


def counters(campaign):
    from campaigns.models import Campaign

    counted = Campaign.objects.counters(campaign.pk)  # the row plus its unsquashed deltas
    return {name: counted[name] for name in ("total", *Campaign.COUNTERS)}


def rows_by_status(campaign):
    from django.db.models import Count

    from campaigns.models import Message

    found = dict(Message.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")))
    return {status: found.get(status, 0) for status in Message.Status.values}


@pytest.fixture
def sending_redis(redis_url, settings):
    """Points the engine at the test Redis under a key prefix of the test's own; deletes its keys after."""
    from campaigns.redis_client import get_redis

    prefix = f"test-sending-{uuid.uuid4().hex[:10]}"
    settings.REDIS_URL = redis_url
    settings.SMS_REDIS_PREFIX = prefix
    client = get_redis(redis_url)
    yield client
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


# --- what an operator does -----------------------------------------------------------------------


def add_simulator_connection(smsc, *options, tps=0, name="simulator"):
    """`manage.py add_smpp_connection` of the running simulator; extra `options` go to its command line."""
    from django.core.management import call_command

    call_command("add_smpp_connection", name, "--host", "127.0.0.1", "--port", str(smsc.port),
                 "--system-id", SIM_SYSTEM_ID, "--password", SIM_PASSWORD, "--tps", str(tps), *map(str, options),
                 stdout=StringIO())  # fmt: skip


def send_file(application, template, path, connection="simulator"):
    """`manage.py send_campaign` of a recipients file; returns the id of the campaign it launched."""
    from django.core.management import call_command

    out = StringIO()
    call_command("send_campaign", "--application", application.app_key, "--template", str(template.pk),
                 "--file", str(path), "--connection", connection, stdout=out, stderr=StringIO())  # fmt: skip
    return int(out.getvalue().strip().splitlines()[-1])


# --- real processes -----------------------------------------------------------------------------


def database_url_for_children(postgres_url):
    """The URL of the database pytest-django created, for processes outside this one."""
    from django.db import connection

    parsed = urlparse(postgres_url)
    return urlunparse(parsed._replace(path="/" + connection.settings_dict["NAME"]))


def child_environment(postgres_url, redis_url, **extra):
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(postgres_url),
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "tests.sending_settings",
        "SMS_REDIS_PREFIX": getattr(settings, "SMS_REDIS_PREFIX", "smsconsole"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def _start(argv, env, log_path):
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so the pool children die with it
        )


def stop(process, timeout=15.0):
    """SIGTERM, then SIGKILL to the whole group after `timeout` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return process.returncode


def kill9(process):
    """kill -9 of the process alone (its group's other members are left for stop())."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


def log_tail(path, lines=40):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_for(predicate, timeout, what, processes=(), interval=0.1):
    """Polls `predicate` until it returns something truthy; fails with the processes' logs if not."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for name, process, log_path in processes:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode} while waiting for {what}:\n{log_tail(log_path)}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {name} ---\n{log_tail(log_path)}" for name, _p, log_path in processes)
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(interval)


class Simulator:
    def __init__(self, process, port, control_port, log_path):
        self.process, self.port, self.control_port, self.log_path = process, port, control_port, log_path

    @property
    def pid(self):
        return self.process.pid

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.control_port}/stats", timeout=5) as response:
            return json.load(response)

    def control(self, path, method="POST"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read()


@contextlib.contextmanager
def simulator(tmp_path, *options, system_id=SIM_SYSTEM_ID, password=SIM_PASSWORD, timeout=20.0):
    """The SMSC simulator on free loopback ports; extra `options` go to its command line."""
    port_file = tmp_path / f"smsc-{uuid.uuid4().hex[:6]}.json"
    log_path = tmp_path / "simulator.log"
    argv = [
        sys.executable,
        "manage.py",
        "smsc_simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--control-port",
        "0",
        "--system-id",
        system_id,
        "--password",
        password,
        *map(str, options),
    ]
    process = _start(argv, {**os.environ, "PYTHONUNBUFFERED": "1"}, log_path)
    try:
        ports = wait_for(
            lambda: _read_ports(port_file, log_path),
            timeout,
            "the simulator's ports",
            [("simulator", process, log_path)],
        )
        yield Simulator(process, *ports, log_path)
    finally:
        stop(process)


def _read_ports(port_file, log_path):
    """(SMPP port, control port) once the port file and the 'control host:port' line are written."""
    try:
        port = int(port_file.read_text().strip())
        banner = log_path.read_text(errors="replace")
    except (FileNotFoundError, ValueError):
        return None
    for line in banner.splitlines():
        if line.startswith("control "):
            return port, int(line.rsplit(":", 1)[1])
    return None


@contextlib.contextmanager
def worker(postgres_url, redis_url, tmp_path, queue=None, concurrency=2, name="worker", **env):
    """A Celery worker on a queue of its own (the Popen has .queue and .log_path)."""
    from smsconsole.celery import app

    queue = queue or f"test-sending-{uuid.uuid4().hex[:10]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue", "broker_url")}
    # Tasks this test process queues (launch → plan_campaign) must reach that worker.
    app.conf.update(task_always_eager=False, task_default_queue=queue, broker_url=redis_url)
    log_path = tmp_path / f"{name}.log"
    argv = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "smsconsole",
        "worker",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        queue,
        "--loglevel",
        "INFO",
        "-n",
        f"{name}-{queue}@%h",
    ]
    process = _start(argv, child_environment(postgres_url, redis_url, CELERY_TASK_DEFAULT_QUEUE=queue, **env), log_path)
    process.queue, process.log_path = queue, log_path
    try:
        yield process
    finally:
        stop(process)
        app.conf.update(saved)
        import redis

        from campaigns.redis_client import normalise_url

        client = redis.Redis.from_url(normalise_url(redis_url))
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


@contextlib.contextmanager
def gateway(postgres_url, redis_url, tmp_path, *options, name="gateway", gateway_id=None, funded=True, **env):
    """`manage.py run_gateway` (the Popen has .gateway_id and .log_path). It charges every chunk
    (campaigns.sending_rules): unless `funded=False`, the accounts that exist with an empty
    balance get enough to send first."""
    if funded:
        from smsconsole.models import Account

        for account in Account.objects.filter(balance=0):
            fund(account)
    gateway_id = gateway_id or f"test-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / f"{name}.log"
    argv = [sys.executable, "manage.py", "run_gateway", "--gateway-id", gateway_id, *map(str, options)]
    process = _start(argv, child_environment(postgres_url, redis_url, **env), log_path)
    process.gateway_id, process.log_path = gateway_id, log_path
    try:
        yield process
    finally:
        stop(process)


def processes(**named):
    """The (name, process, log path) of each running `simulator`, `worker` or `gateway`, for wait_for."""
    return [(name, p.process if isinstance(p, Simulator) else p, p.log_path) for name, p in named.items()]


@contextlib.contextmanager
def worker_and_gateway(postgres_url, redis_url, tmp_path, smsc, *gateway_options, funded=True, **env):
    """A Celery worker and the gateway, which queues its tasks (pushes, report drains) on that
    worker's queue as a deployment's gateway does on the workers' one; yields the processes for
    wait_for, the simulator's first, once the worker answers a ping (send_campaign waits only
    15 s for one, less than a worker takes to start on a loaded machine). `gateway_options` go
    to run_gateway's command line, `funded` to gateway(), `env` to both processes."""
    from smsconsole.celery import app

    with (
        worker(postgres_url, redis_url, tmp_path, **env) as celery,
        gateway(postgres_url, redis_url, tmp_path, *gateway_options, funded=funded,
                CELERY_TASK_DEFAULT_QUEUE=celery.queue, **env) as gw,
    ):  # fmt: skip
        running = processes(simulator=smsc, worker=celery, gateway=gw)
        wait_for(lambda: app.control.ping(timeout=1.0), 60, "the worker", running)
        yield running
