"""The README's promise, end to end: on a fresh clone, `make run` serves the console with the demo
data and Ctrl-C leaves nothing running; a second `make run` reuses the venv and the same keys."""

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("RUN_README_TEST") != "1",
        reason="slow: clones the repository, creates a fresh .venv and runs `make run`; "
        "set RUN_README_TEST=1 to run it (.ci/run does)",
    ),
]

# Settings that would point the clone at this checkout's services or files instead of its defaults.
CLEARED = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "TEST_REDIS_URL",
    "CONSOLE_URL",
    "SMSCONSOLE_VAR_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "SEED_PASSWORD",
    "PORT",
    "DJANGO_SETTINGS_MODULE",
    "VIRTUAL_ENV",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
    "PYTHONPATH",
}


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment():
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    # The clone must build its own venv with the machine's Python, not reuse this checkout's.
    own_venv = str(REPO / ".venv")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(own_venv))
    return env


def processes_inside(directory):
    """Live processes whose working directory or command line is inside `directory`."""
    prefix = str(directory)
    found = []
    for process in psutil.process_iter(["cwd", "cmdline", "status"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if (info["cwd"] or "").startswith(prefix) or any(prefix in arg for arg in info["cmdline"] or ()):
            found.append(process)
    return found


def wait_until_none_inside(directory, timeout=15):
    deadline = time.monotonic() + timeout
    left = processes_inside(directory)
    while left and time.monotonic() < deadline:
        psutil.wait_procs(left, timeout=0.2)
        left = processes_inside(directory)
    return left


class MakeRun:
    def __init__(self, clone, port, log_path, env):
        self.clone, self.port, self.log_path = clone, port, log_path
        with open(log_path, "wb") as log:
            # A process group of its own, like a terminal's foreground job, so SIGINT to the group
            # is what Ctrl-C does.
            self.process = subprocess.Popen(
                ["make", "run", f"PORT={port}"],
                cwd=clone,
                env=env,
                process_group=0,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self):
        return self.log_path.read_text(errors="replace")

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}/{path}"

    def wait_until_serving(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("login/"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"make run exited with {self.process.returncode}:\n{self.log[-5000:]}")
        pytest.fail(f"make run did not serve within {timeout} s:\n{self.log[-5000:]}")

    def interrupt(self):
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run did not stop within 90 s of Ctrl-C:\n{self.log[-5000:]}")

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def printed(log, label):
    match = re.search(rf"^\s*{label}:\s+(\S+)\s*$", log, re.MULTILINE)
    assert match, f"`make run` printed no {label}:\n{log[-5000:]}"
    return match.group(1)


def log_in(run, username, password):
    """Logs in through the login form; returns the final response's URL and status."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(run.url("login/"), timeout=10) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    with opener.open(run.url("login/"), data=form.encode(), timeout=10) as response:
        return response.geturl(), response.status


def manage(clone, env, *args, check=True, timeout=120):
    return subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "manage.py", *args],
        cwd=clone,
        env=env,
        check=check,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def send_campaign_args(clone, env, tmp_path, count):
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("".join(f"139{n:08d},A{n}\n" for n in range(count)))
    seeded = json.loads(manage(clone, env, "seed_demo", "--json").stdout)
    application = seeded["applications"][0]
    template = next(t for t in application["templates"] if t["type"] == "notification" and "${1}" in t["content"])
    return ["--application", application["name"], "--template", str(template["id"]), "--file", str(numbers)]


def send_through_the_embedded_services(clone, env, tmp_path, count=50):
    """From a second shell with only the README's variables (none: the commands find the embedded
    Redis of `make run` in var/): a connection added while everything runs, a campaign on it through
    the worker, the gateway (which picks the connection up without a restart) and the simulator,
    delivered to every number."""
    manage(clone, env, "add_smpp_connection", "added-later", "--host", "127.0.0.1", "--port", env["SMSC_PORT"],
           "--system-id", "second", "--password", "second")  # fmt: skip
    sent = manage(
        clone, env, "send_campaign", *send_campaign_args(clone, env, tmp_path, count), "--connection", "added-later"
    )
    campaign_id = sent.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = json.loads(manage(clone, env, "campaign_status", campaign_id, "--json").stdout)
        # The simulator fails SMSC_FAILURE_RATIO (3 %) of the messages.
        if status["status"] == "completed" and status["delivered"] + status["failed"] == count:
            assert status["connection"]["name"] == "added-later"
            assert status["delivered"] >= count * 0.8, status
            break
        time.sleep(1)
    else:
        pytest.fail(f"the campaign did not complete through make run's services: {status}")
    reply_from_a_second_shell(clone, env)


def reply_from_a_second_shell(clone, env):
    """The README's `simulate_reply NUMBER R`, typed with no settings at all, opts the number out."""
    manage(clone, env, "simulate_reply", "13900000000", "R", timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(clone / "var" / "smsconsole.sqlite3", timeout=10)) as db:
            found = db.execute("SELECT source FROM campaigns_optout WHERE phone = '+8613900000000'").fetchall()
        if found == [("reply",)]:
            return
        time.sleep(0.5)
    pytest.fail("the reply typed in a second shell did not opt the number out")


def send_campaign_without_make_run_is_refused(clone, env, tmp_path):
    """With `make run` stopped, nothing reads a broker: the command says so before launching."""
    refused = manage(clone, env, "send_campaign", *send_campaign_args(clone, env, tmp_path, 3), check=False)
    assert refused.returncode != 0, refused.stdout
    assert "make run" in refused.stderr and (
        "cannot reach" in refused.stderr or "no Celery worker answered" in refused.stderr
    )
    with sqlite3.connect(clone / "var" / "smsconsole.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM campaigns_campaign").fetchone() == (1,)


def test_make_run_on_a_fresh_clone_serves_the_demo_and_ctrl_c_leaves_nothing(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = clean_environment()
    keys = []
    for attempt in (1, 2):
        # The simulator's default port may be taken on a shared machine.
        env["SMSC_PORT"] = str(free_port())
        run = MakeRun(clone, free_port(), tmp_path / f"make-run-{attempt}.log", env)
        try:
            # The first run creates the venv and installs the requirements (pip's cache keeps it short).
            run.wait_until_serving(timeout=900 if attempt == 1 else 120)
            log = run.log
            assert f"Console: http://127.0.0.1:{run.port}/" in log
            app_key = printed(log, "app_key")
            assert re.fullmatch(r"[0-9a-f]{32}", app_key)
            if attempt == 1:
                keys.append((app_key, printed(log, "app_secret")))
            else:
                # The secret is printed when the application is created, not at every start.
                assert app_key == keys[0][0] and keys[0][1] not in log
                assert "seed_demo --show-secret" in log
            assert log_in(run, "demo-operator", "smsconsole-demo") == (run.url(), 200)
            if attempt == 1:
                send_through_the_embedded_services(clone, env, tmp_path)

            status = run.interrupt()
        finally:
            run.kill()
        log = run.log
        # make itself dies of the SIGINT it got, after run_all has stopped everything and exited 0.
        assert status in (0, -signal.SIGINT), log[-5000:]
        assert "run_all: Stopped." in log
        assert wait_until_none_inside(clone) == [], log[-5000:]
        if attempt == 1:
            send_campaign_without_make_run_is_refused(clone, env, tmp_path)
        if attempt == 2:
            assert "Installing requirements" not in log, "the second run reinstalled the requirements"

    seeded = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "manage.py", "seed_demo", "--json", "--show-secret"],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    application = json.loads(seeded.stdout)["applications"][0]
    assert (application["app_key"], application["app_secret"]) == keys[0]
