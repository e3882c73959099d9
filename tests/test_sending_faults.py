"""Faults mid-campaign with the real processes: the SMSC simulator, a Celery worker and the gateway.

Each test sends one campaign of FAULT_RECIPIENTS recipients on PostgreSQL and Redis, breaks
something while it is being sent, lets the system recover and then checks the guarantees: every
recipient has exactly one submit at the simulator or its message is unknown/failed with an error;
nothing is left queued or sending; nothing is lost; the campaign's counters equal its rows; and no
more messages are unknown than could have been in flight when the fault struck. The sweepers run
from the test, as beat would run them, with short thresholds. Each test logs its figures
(`--log-cli-level INFO`); docs/benchmarks.md has a run's.

The issue's size is 100,000 recipients: CI (`.ci/run`) and `make faults` run them at that size. A
`make test` on PostgreSQL runs them at 20,000, where each fault still strikes mid-campaign (a third
or half sent) and every bound below is the same: at 100,000 the five took 11.5 min on the loaded
2-core machine (load 7-12, docs/development.md), about 2 min when it was quiet.
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest
from django.db import connection as db_connection

from campaigns.management.commands.bench_send import copy_recipients
from campaigns.models import Campaign, Message, RecipientImport
from campaigns.redis_client import normalise_url
from campaigns.tasks import sweep_stuck_batches, sweep_stuck_sending
from tests.conftest import REQUIRE_SERVICES
from tests.sending_helpers import (
    counters,
    create_connection,
    gateway,
    kill9,
    processes,
    rows_by_status,
    simulator,
    stop,
    wait_for,
    worker,
)

log = logging.getLogger(__name__)

# Under xdist one worker runs these one after another (conftest.ONE_WORKER_MODULES).
pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# 100,000 in CI and `make faults` (the size); see the docstring.
RECIPIENTS = int(os.environ.get("FAULT_RECIPIENTS", "20000"))
WINDOW, BINDS = 64, 2
# The gateway's defaults (run_gateway --consumers / --chunk-size): at most this many messages are
# claimed (SENDING) at any moment, which bounds what a killed gateway can leave unknown.
CONSUMERS, CHUNK = 2, 400
IN_FLIGHT_AT_THE_SMSC = WINDOW * BINDS
CLAIMED_AT_ONCE = CONSUMERS * CHUNK
# Receipts a killed gateway had read but not yet stored: the client hands them over every 0.2 s
# (or 500 at a time) and more arrive while a list is written; at 6,000-7,000 messages/s that is
# up to about a second of receipts (seen: 200 and 1,072). Their messages stay SUBMITTED, sent once.
RECEIPTS_UNACKED = 5000
# Long enough for a whole campaign on a busy 2-core machine; each wait fails with the logs.
FINISH_TIMEOUT = 60 + RECIPIENTS / 500
STORM_SECONDS = 8
FINAL = {"delivered", "failed", "expired", "unknown", "skipped", "cancelled"}


# --- the rig ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_celery_pools():
    """Celery caches its publishing pool on the app: without a reset, `.delay()` in this process
    would still go to the broker of an earlier test after worker() changed broker_url."""
    from smsconsole.celery import app

    app._after_fork()
    yield
    app._after_fork()


@pytest.fixture
def redis_keys(redis_url, settings):
    """The engine's keys (the children's default prefix) live in this test's Redis; removed after."""
    import redis

    settings.REDIS_URL = redis_url
    yield
    client = redis.Redis.from_url(normalise_url(redis_url))
    prefix = getattr(settings, "SMS_REDIS_PREFIX", "smsconsole")
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def sweep_thresholds(settings):
    # Batches pushed this long ago with queued messages are pushed again (harmless: the gateway
    # claims messages with compare-and-set). Messages SENDING this long lost their gateway.
    settings.SMS_STUCK_BATCH_SECONDS = 3
    settings.SMS_STUCK_SENDING_SECONDS = 15
    return settings


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


def create_campaign(shop, template, port):
    connection = create_connection(port=port, window=WINDOW, max_binds=BINDS, tps=0)
    recipient_import = RecipientImport.objects.create(
        account=shop.account,
        application=shop,
        template=template,
        original_name="faults.csv",
    )
    copy_recipients(recipient_import, RECIPIENTS)
    return Campaign.objects.create(
        account=shop.account,
        application=shop,
        signature=template.signature,
        template=template,
        connection=connection,
        name="Faults",
        recipient_import=recipient_import,
    )


def campaign_row(campaign):
    return {
        **Campaign.objects.values("status", "planned_at").get(pk=campaign.pk),
        **Campaign.objects.counters(campaign.pk),
    }


def handed_over(campaign):
    """Messages past SENDING: the gateway has had an answer for them."""
    row = campaign_row(campaign)
    return row["submitted"] + row["delivered"] + row["failed"] + row["unknown"]


def summary(smsc):
    with urllib.request.urlopen(f"http://127.0.0.1:{smsc.control_port}/stats?summary=1", timeout=5) as response:
        return json.load(response)


class Settled:
    """Completed, and the receipts have stopped coming: none left at the simulator and the
    submitted count unchanged for QUIET seconds (a killed gateway can lose receipts it read but had
    not stored; the simulator, unlike a carrier, never sends an unacknowledged one again)."""

    QUIET = 3.0

    def __init__(self, campaign, smsc):
        self.campaign, self.smsc = campaign, smsc
        self.last = (None, 0.0)

    def __call__(self):
        row = campaign_row(self.campaign)
        if row["status"] != Campaign.Status.COMPLETED:
            return False
        if row["submitted"] == 0:
            return True
        if summary(self.smsc)["receipts_pending"]:
            return False
        now = time.monotonic()
        if self.last[0] != row["submitted"]:
            self.last = (row["submitted"], now)
        return now - self.last[1] >= self.QUIET


SWEPT = {}


def sweep():
    """What beat does every few minutes, here every call; a Redis outage makes it wait a turn.
    What the sweepers did adds up in SWEPT, for the test's figures."""
    with contextlib.suppress(Exception):
        for result in (sweep_stuck_batches(), sweep_stuck_sending()):
            for name, value in result.items():
                if isinstance(value, int):
                    SWEPT[name] = SWEPT.get(name, 0) + value
    db_connection.close()  # a fresh connection per turn, as a beat task would have


def wait_sweeping(predicate, timeout, what, processes, sweeping=True):
    last = [0.0]

    def check():
        if sweeping and time.monotonic() - last[0] > 1.0:
            last[0] = time.monotonic()
            sweep()
        return predicate()

    return wait_for(check, timeout, what, processes, interval=0.2)


# --- the checks ------------------------------------------------------------------------------------


def assert_recovered(campaign, smsc, *, unknown_at_most, submitted_at_most=0):
    """The guarantees after a fault; returns the figures for the test's report."""
    stats = smsc.stats()
    per_destination = stats["per_destination"]
    rows = list(Message.objects.filter(campaign=campaign).values_list("phone", "status", "error"))
    by_status = rows_by_status(campaign)

    assert len(rows) == RECIPIENTS, "a planned message is missing"
    assert stats["duplicates"] == 0 and stats["duplicate_submits"] == 0
    assert max(per_destination.values(), default=0) <= 1, "a destination was sent twice"
    assert by_status["queued"] == 0 and by_status["sending"] == 0, by_status
    phones = {phone.lstrip("+") for phone, _status, _error in rows}
    assert set(per_destination) <= phones, "the simulator got a number outside the campaign"
    never_sent = [(phone, status, error) for phone, status, error in rows if phone.lstrip("+") not in per_destination]
    assert all(status in {"unknown", "failed"} and error for _phone, status, error in never_sent), never_sent[:5]
    # A message reported sent must have reached the simulator exactly once.
    assert (
        sum(
            1
            for phone, status, _e in rows
            if status in {"submitted", "delivered"} and per_destination.get(phone.lstrip("+")) != 1
        )
        == 0
    )
    assert by_status["submitted"] <= submitted_at_most, by_status
    assert all(status in FINAL or status == "submitted" for _phone, status, _error in rows)
    campaign_counters = counters(campaign)
    assert campaign_counters.pop("total") == RECIPIENTS
    assert campaign_counters == {name: by_status[name] for name in Campaign.COUNTERS}
    assert by_status["unknown"] <= unknown_at_most, by_status
    swept = dict(SWEPT)
    SWEPT.clear()
    return {
        "rows": by_status,
        "simulator_submits": stats["submits"],
        "never_sent": len(never_sent),
        "throttled": stats["throttled"],
        "drops": stats["drops"],
        "swept": swept,
    }


def report(request, figures):
    """Keeps the figures on the test's report (junit XML) and in the log (`--log-cli-level INFO`)."""
    request.node.user_properties.append(("figures", figures))
    log.info("%s: %s", request.node.name, figures)


def post(smsc, path, **body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{smsc.control_port}{path}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def kill9_group(process):
    """kill -9 of a Celery worker with its pool children, as an OOM kill or a lost host would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def planning_in_progress():
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND query LIKE 'INSERT INTO campaigns_message%%'"
        )
        return cursor.fetchone()[0] > 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test alone, on a fixed free port, without persistence: a restart
    comes back empty, as a Redis without AOF does (the shared one on 6379 is never touched)."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = tmp_path / "redis.log"
        self.dir = tmp_path
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_for(self.answers, 10, "redis-server", [("redis", self.process, self.log_path)])

    def answers(self):
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis(tmp_path, redis_url, settings, monkeypatch):
    if shutil.which("redis-server") is None:
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is not installed and REQUIRE_SERVICES=1")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    yield server
    if server.process.poll() is None:
        stop(server.process)


def rows_in(campaign, status):
    return Message.objects.filter(campaign=campaign, status=status).count()


# --- the faults ------------------------------------------------------------------------------------


def test_the_gateway_killed_mid_campaign_leaves_at_most_its_claimed_chunks_unknown(
    request, postgres_url, redis_url, redis_keys, sweep_thresholds, shop, template, tmp_path
):
    with simulator(tmp_path, "--dlr-delay", "0.2") as smsc:
        campaign = create_campaign(shop, template, smsc.port)
        with worker(postgres_url, redis_url, tmp_path, concurrency=1) as celery_worker:
            with gateway(postgres_url, redis_url, tmp_path, gateway_id="faults") as first:
                running = processes(simulator=smsc, worker=celery_worker, gateway=first)
                campaign.launch()
                wait_sweeping(lambda: handed_over(campaign) >= RECIPIENTS // 3, FINISH_TIMEOUT, "a third sent", running)
                kill9(first)
            sending_at_kill = rows_in(campaign, "sending")
            # The same id: the new gateway takes up the jobs left on the killed one's processing list.
            with gateway(postgres_url, redis_url, tmp_path, gateway_id="faults", name="gateway-2") as second:
                running = processes(simulator=smsc, worker=celery_worker, gateway=second)
                wait_sweeping(Settled(campaign, smsc), FINISH_TIMEOUT, "the campaign to finish", running)
        figures = assert_recovered(campaign, smsc, unknown_at_most=CLAIMED_AT_ONCE, submitted_at_most=RECEIPTS_UNACKED)
    report(request, {"sending_at_kill": sending_at_kill, **figures})


def test_a_worker_killed_while_planning_and_again_mid_campaign_is_replaced_and_nothing_is_lost(
    request, postgres_url, redis_url, redis_keys, sweep_thresholds, shop, template, tmp_path
):
    """The worker's part in sending is planning and the first push of batches (the gateway pushes
    the next ones as it finishes batches): killed while planning, its transaction rolls back and the
    broker keeps its task unacknowledged for its visibility timeout (an hour), so the stuck-batch
    sweeper plans again; killed mid-campaign, sending goes on without it."""
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    with simulator(tmp_path, "--dlr-delay", "0.2") as smsc:
        campaign = create_campaign(shop, template, smsc.port)
        with gateway(postgres_url, redis_url, tmp_path) as gw:
            with worker(postgres_url, redis_url, tmp_path, queue=queue, concurrency=1, name="worker-1") as first:
                campaign.launch()
                wait_for(
                    planning_in_progress,
                    30,
                    "the worker to plan",
                    processes(simulator=smsc, worker=first, gateway=gw),
                    interval=0.005,
                )
                kill9_group(first)
            # Its transaction dies with it: nothing half-planned is left behind.
            assert campaign_row(campaign)["planned_at"] is None
            with worker(postgres_url, redis_url, tmp_path, queue=queue, concurrency=1, name="worker-2") as second:
                running = processes(simulator=smsc, worker=second, gateway=gw)
                wait_sweeping(lambda: handed_over(campaign) >= RECIPIENTS // 3, FINISH_TIMEOUT, "a third sent", running)
                kill9_group(second)
            sent_at_second_kill = handed_over(campaign)
            with worker(postgres_url, redis_url, tmp_path, queue=queue, concurrency=1, name="worker-3") as third:
                running = processes(simulator=smsc, worker=third, gateway=gw)
                wait_sweeping(Settled(campaign, smsc), FINISH_TIMEOUT, "the campaign to finish", running)
        figures = assert_recovered(campaign, smsc, unknown_at_most=0)
    assert figures["swept"]["replanned"] >= 1
    report(request, {"sent_at_second_kill": sent_at_second_kill, **figures})


def test_a_redis_restart_mid_campaign_loses_nothing_and_sends_nothing_twice(
    request, postgres_url, private_redis, sweep_thresholds, shop, template, tmp_path
):
    with simulator(tmp_path, "--dlr-delay", "0.2") as smsc:
        campaign = create_campaign(shop, template, smsc.port)
        with (
            worker(postgres_url, private_redis.url, tmp_path, concurrency=1) as celery_worker,
            gateway(postgres_url, private_redis.url, tmp_path) as gw,
        ):
            running = processes(simulator=smsc, worker=celery_worker, gateway=gw)
            campaign.launch()
            wait_sweeping(lambda: handed_over(campaign) >= RECIPIENTS // 3, FINISH_TIMEOUT, "a third sent", running)
            kill9(private_redis.process)
            sent_at_kill = handed_over(campaign)
            # Down until the gateway has finished a batch and found no Redis to take the next from.
            wait_for(
                lambda: "Redis unavailable" in gw.log_path.read_text(errors="replace"),
                30,
                "the gateway to miss Redis",
                running,
            )
            private_redis.start()  # same port, empty
            wait_sweeping(Settled(campaign, smsc), FINISH_TIMEOUT, "the campaign to finish", running)
        figures = assert_recovered(campaign, smsc, unknown_at_most=0)
    # The jobs waiting on the lost list came back through the sweeper alone.
    assert figures["swept"]["repushed"] >= 1
    report(request, {"sent_at_kill": sent_at_kill, **figures})


def test_smpp_connections_dropped_by_the_smsc_make_only_their_window_unknown(
    request, postgres_url, redis_url, redis_keys, sweep_thresholds, shop, template, tmp_path
):
    # Once on one bind after a quarter of the submits (the last one accepted, never answered), and
    # once on every bind through the control endpoint at half.
    drop_after = max(RECIPIENTS // 4, 1)
    with simulator(tmp_path, "--dlr-delay", "0.2", "--drop-after", drop_after) as smsc:
        campaign = create_campaign(shop, template, smsc.port)
        with (
            worker(postgres_url, redis_url, tmp_path, concurrency=1) as celery_worker,
            gateway(postgres_url, redis_url, tmp_path) as gw,
        ):
            running = processes(simulator=smsc, worker=celery_worker, gateway=gw)
            campaign.launch()
            wait_sweeping(lambda: handed_over(campaign) >= RECIPIENTS // 2, FINISH_TIMEOUT, "half sent", running)
            dropped = post(smsc, "/drop")["dropped"]
            wait_sweeping(Settled(campaign, smsc), FINISH_TIMEOUT, "the campaign to finish", running)
        figures = assert_recovered(campaign, smsc, unknown_at_most=WINDOW + IN_FLIGHT_AT_THE_SMSC)
    assert figures["drops"] == 1 + dropped and dropped == BINDS
    report(request, figures)


def test_a_storm_of_throttled_answers_is_waited_out_without_loss_or_duplicates(
    request, postgres_url, redis_url, redis_keys, sweep_thresholds, shop, template, tmp_path
):
    # A 2 s storm from the first submit and one of STORM_SECONDS mid-campaign. Throttled submits
    # are retried while they wait, so the stuck-sending sweeper must not take them meanwhile.
    sweep_thresholds.SMS_STUCK_SENDING_SECONDS = 120
    with simulator(tmp_path, "--dlr-delay", "0.2", "--throttle-storm", "2") as smsc:
        campaign = create_campaign(shop, template, smsc.port)
        with (
            worker(postgres_url, redis_url, tmp_path, concurrency=1) as celery_worker,
            gateway(postgres_url, redis_url, tmp_path) as gw,
        ):
            running = processes(simulator=smsc, worker=celery_worker, gateway=gw)
            campaign.launch()
            wait_sweeping(lambda: handed_over(campaign) >= RECIPIENTS // 3, FINISH_TIMEOUT, "a third sent", running)
            post(smsc, "/throttle", seconds=STORM_SECONDS)
            wait_sweeping(Settled(campaign, smsc), FINISH_TIMEOUT, "the campaign to finish", running)
        figures = assert_recovered(campaign, smsc, unknown_at_most=0)
    assert figures["throttled"] > 0
    assert figures["rows"]["delivered"] == RECIPIENTS
    report(request, figures)
