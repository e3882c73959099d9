import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from celery import Celery
from django.core.management import CommandError, call_command

from smsconsole.embedded_redis import EmbeddedRedis, EmbeddedRedisError, running_socket

REPO = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gone(process):
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def still_running(processes, timeout=10):
    """The processes still alive after up to `timeout` s (killed ones take a moment to vanish)."""
    deadline = time.monotonic() + timeout
    alive = [p for p in processes if not gone(p)]
    while alive and time.monotonic() < deadline:
        psutil.wait_procs(alive, timeout=0.1)
        alive = [p for p in alive if not gone(p)]
    return alive


def processes_with_marker(marker):
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("SMSCONSOLE_TEST_MARKER") == marker and not gone(process):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def test_the_embedded_redis_answers_over_its_socket_and_stops_without_leftovers(tmp_path):
    server = EmbeddedRedis(tmp_path / "var")

    with server:
        process = psutil.Process(server.process.pid)
        assert server.client().ping()
        assert server.client().set("greeting", "hello")
        assert server.url == f"unix://{server.socket_path}"
        assert server.celery_url == f"redis+socket://{server.socket_path}"
        assert server.socket_path.exists()

    assert still_running([process]) == []
    assert not server.socket_path.exists()


def test_the_embedded_redis_listens_on_no_tcp_port(tmp_path):
    with EmbeddedRedis(tmp_path / "var") as server:
        listening = [c for c in psutil.Process(server.process.pid).net_connections(kind="inet") if c.status == "LISTEN"]

    assert listening == []


def test_a_second_embedded_redis_in_the_same_directory_is_refused(tmp_path):
    with EmbeddedRedis(tmp_path / "var"):
        with pytest.raises(EmbeddedRedisError, match="already serving"):
            EmbeddedRedis(tmp_path / "var").start()


def test_a_socket_left_by_a_killed_server_does_not_block_the_next_start(tmp_path):
    first = EmbeddedRedis(tmp_path / "var").start()
    first.process.kill()
    first.process.wait()
    (tmp_path / "var" / "redis.sock").touch(exist_ok=True)

    with EmbeddedRedis(tmp_path / "var") as second:
        assert second.client().ping()


def test_a_deep_directory_gets_a_short_socket_path(tmp_path):
    deep = tmp_path.joinpath(*["nested-directory"] * 8)

    with EmbeddedRedis(deep) as server:
        assert len(str(server.socket_path)) < 100
        assert server.client().ping()
        socket_dir = server.socket_path.parent

    assert not socket_dir.exists()


def test_run_all_refuses_a_port_that_is_already_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError, match=f"Port {port} .* already in use"):
            call_command("run_all", "--port", str(port))


def _start_run_all(tmp_path, port, marker):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CONSOLE_URL"}
    }
    env |= {"SMSCONSOLE_VAR_DIR": str(tmp_path / "var"), "SMSCONSOLE_TEST_MARKER": marker, "PYTHONUNBUFFERED": "1"}
    # The simulator's default port may be taken on a shared machine.
    env["SMSC_PORT"] = str(free_port())
    log = open(tmp_path / "run_all.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_all", "--port", str(port), "--stop-timeout", "20"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process


def _wait_until_serving(process, port, tmp_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"run_all exited with {process.returncode}:\n{(tmp_path / 'run_all.log').read_text()}")
    pytest.fail(f"run_all did not serve within {timeout} s:\n{(tmp_path / 'run_all.log').read_text()}")


def _worker_answers(broker_url, timeout=60):
    """True once a worker replies to a broadcast ping through the broker."""
    # Not the current app: tasks in later tests would be sent through this one's broker, long gone.
    client = Celery(broker=broker_url, set_as_current=False)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if client.control.ping(timeout=0.5):
                return True
        return False
    finally:
        client.close()


@pytest.fixture
def run_all(tmp_path):
    port, marker = free_port(), uuid.uuid4().hex
    process = _start_run_all(tmp_path, port, marker)
    yield process, port, marker
    if process.poll() is None:
        process.kill()  # its children die with it (parent-death signal)
        process.wait()


@pytest.mark.slow  # all of `make run`'s processes start at once
def test_run_all_stops_every_child_and_the_embedded_redis_on_sigterm(run_all, tmp_path, monkeypatch):
    # Celery prefers this variable to the broker it is given.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    process, port, marker = run_all
    _wait_until_serving(process, port, tmp_path)
    descendants = psutil.Process(process.pid).children(recursive=True)
    names = " ".join(" ".join(p.cmdline()) for p in descendants)
    assert "runserver" in names and " worker " in names and " beat " in names and "redis-server" in names
    # The demo's SMSC fails a few percent of messages, so a new user sees failures on day one.
    assert "smsc_simulator" in names and "--failure-ratio 0.03" in names and "run_gateway" in names
    assert _worker_answers(f"redis+socket://{tmp_path / 'var' / 'redis.sock'}")
    # A command typed in a second shell of the checkout, with no broker in its environment, finds it.
    assert _brokers_seen_from_another_shell(tmp_path) == [
        f"redis+socket://{tmp_path / 'var' / 'redis.sock'}",
        f"unix://{tmp_path / 'var' / 'redis.sock'}",
    ]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0

    log = (tmp_path / "run_all.log").read_text()
    assert "run_all: Stopped." in log, log
    assert still_running(descendants) == []
    assert still_running(processes_with_marker(marker)) == []
    assert not (tmp_path / "var" / "redis.sock").exists()
    assert _brokers_seen_from_another_shell(tmp_path) == ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"]


def _brokers_seen_from_another_shell(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env["SMSCONSOLE_VAR_DIR"] = str(tmp_path / "var")
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from smsconsole import settings; print(settings.CELERY_BROKER_URL, settings.REDIS_URL)",
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return shown.stdout.split()


def test_the_embedded_redis_is_found_only_while_its_server_lives(tmp_path):
    var = tmp_path / "var"
    with EmbeddedRedis(var) as server:
        assert running_socket(var) == str(server.socket_path)
        pointer = (var / "embedded-redis.json").read_text()
    assert running_socket(var) is None

    # Left by a run killed with -9: its pid is gone, so the socket it names is not used.
    (var / "embedded-redis.json").write_text(pointer)
    (var / "redis.sock").touch()
    assert running_socket(var) is None


@pytest.mark.slow  # all of `make run`'s processes start at once
def test_run_all_stops_the_others_when_one_process_dies(run_all, tmp_path):
    process, port, marker = run_all
    _wait_until_serving(process, port, tmp_path)
    descendants = psutil.Process(process.pid).children(recursive=True)
    [web] = [p for p in descendants if "runserver" in p.cmdline()]

    web.kill()

    assert process.wait(timeout=60) == 1
    assert "web exited with status" in (tmp_path / "run_all.log").read_text()
    assert still_running(descendants) == []
    assert still_running(processes_with_marker(marker)) == []
