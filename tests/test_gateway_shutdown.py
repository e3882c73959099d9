"""A real `run_gateway` stops within 15 s of SIGTERM or SIGINT in each state it can be in: binding
to an SMSC that never answers, reconnecting to one that is not there, mid-window with submits in
flight to an SMSC that stopped answering, and after its SMSC died mid-campaign. Messages it claimed
but never wrote go back to the queue; only those written without an answer become unknown."""

import logging
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from campaigns import connection_state
from campaigns.models import Campaign
from campaigns.tasks import dispatch_campaign, plan_campaign
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    create_connection,
    gateway,
    kill9,
    phones,
    rows_by_status,
    sending_redis,
    simulator,
    wait_for,
)

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

STOP_WITHIN = 15.0
WINDOW = 32
# A campaign slow enough (the connection's token bucket) to still be sending when the signal comes.
RECIPIENTS, TPS = 3000, 300
SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Your order ${1} has shipped.")


class SilentSmsc:
    """Accepts TCP connections and never answers: a bind waits for its bind_transceiver_resp."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.server.close()
        for conn in self.accepted:
            conn.close()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bind_reason(connection):
    state = connection_state.read(connection)
    return None if state.connected else state.reason


def stop_and_time(process, signum):
    started = time.monotonic()
    os.kill(process.pid, signum)
    try:
        code = process.wait(STOP_WITHIN + 5)
    except subprocess.TimeoutExpired:
        code = None
    seconds = time.monotonic() - started
    log.info("run_gateway exited with %s %.1f s after %s", code, seconds, signal.Signals(signum).name)
    return code, seconds


def launch(shop, template, connection):
    campaign = create_campaign(shop, template, connection, phones(RECIPIENTS), status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    dispatch_campaign(campaign.pk)
    return campaign


def assert_handed_back(campaign):
    """Nothing left claimed, counters equal the rows, unknown bounded by the window, the rest queued."""
    rows = rows_by_status(campaign)
    log.info("after the stop: %s", {status: count for status, count in rows.items() if count})
    assert rows["sending"] == 0, rows
    assert {name: value for name, value in counters(campaign).items() if name != "total"} == {
        name: rows[name] for name in Campaign.COUNTERS
    }
    assert rows["unknown"] <= WINDOW, rows
    assert rows["queued"] > 0, rows
    assert rows["queued"] + rows["submitted"] + rows["delivered"] + rows["unknown"] == RECIPIENTS, rows
    return rows


@pytest.mark.parametrize("signum", SIGNALS)
def test_it_stops_while_binding_to_an_smsc_that_never_answers(signum, postgres_url, redis_url, sending_redis, tmp_path):
    smsc = SilentSmsc()
    connection = create_connection(port=smsc.port, window=WINDOW)
    try:
        with gateway(postgres_url, redis_url, tmp_path) as process:
            procs = [("gateway", process, process.log_path)]
            wait_for(lambda: smsc.accepted, 20, "the gateway's connection", procs)
            wait_for(lambda: (bind_reason(connection) or "").startswith("binding"), 10, "its report", procs)
            code, seconds = stop_and_time(process, signum)
    finally:
        smsc.close()
    assert code == 0 and seconds < STOP_WITHIN, (code, seconds)


@pytest.mark.parametrize("signum", SIGNALS)
def test_it_stops_while_reconnecting_to_an_smsc_that_is_not_there(
    signum, postgres_url, redis_url, sending_redis, tmp_path
):
    connection = create_connection(port=closed_port(), window=WINDOW)
    with gateway(postgres_url, redis_url, tmp_path) as process:
        procs = [("gateway", process, process.log_path)]
        wait_for(lambda: "cannot connect" in (bind_reason(connection) or ""), 20, "a refused connection", procs)
        # Long enough for the back-off to reach a few seconds between attempts.
        time.sleep(3)
        code, seconds = stop_and_time(process, signum)
    assert code == 0 and seconds < STOP_WITHIN, (code, seconds)


@pytest.mark.parametrize("signum", SIGNALS)
def test_it_stops_mid_window_when_the_smsc_stopped_answering(
    signum, shop, template, postgres_url, redis_url, sending_redis, tmp_path
):
    with simulator(tmp_path, "--no-receipts") as smsc:
        connection = create_connection(port=smsc.port, window=WINDOW, tps=TPS)
        campaign = launch(shop, template, connection)
        with gateway(postgres_url, redis_url, tmp_path) as process:
            procs = [("gateway", process, process.log_path), ("simulator", smsc.process, smsc.log_path)]
            wait_for(lambda: smsc.stats()["submits"] >= 300, 30, "300 submits at the simulator", procs)
            # Frozen: the TCP connection stays up, nothing is answered, the window fills.
            os.kill(smsc.pid, signal.SIGSTOP)
            try:
                time.sleep(1)
                code, seconds = stop_and_time(process, signum)
            finally:
                os.kill(smsc.pid, signal.SIGCONT)
        assert code == 0 and seconds < STOP_WITHIN, (code, seconds)
        rows = assert_handed_back(campaign)
        # What the SMSC answered before it froze is submitted; what it got without answering, unknown.
        received = wait_for(lambda: smsc.stats()["submits"], 10, "the simulator's count")
        assert rows["submitted"] <= received <= rows["submitted"] + rows["unknown"]


@pytest.mark.parametrize("signum", SIGNALS)
def test_it_stops_after_its_smsc_died_mid_campaign(
    signum, shop, template, postgres_url, redis_url, sending_redis, tmp_path
):
    with simulator(tmp_path, "--no-receipts") as smsc:
        connection = create_connection(port=smsc.port, window=WINDOW, tps=TPS)
        campaign = launch(shop, template, connection)
        with gateway(postgres_url, redis_url, tmp_path) as process:
            procs = [("gateway", process, process.log_path)]
            wait_for(lambda: smsc.stats()["submits"] >= 300, 30, "300 submits at the simulator", procs)
            kill9(smsc.process)
            wait_for(lambda: bind_reason(connection), 15, "the gateway to notice", procs)
            time.sleep(2)
            code, seconds = stop_and_time(process, signum)
    assert code == 0 and seconds < STOP_WITHIN, (code, seconds)
    assert_handed_back(campaign)
