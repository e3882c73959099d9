"""Runs every process of the product in the foreground until Ctrl-C: the supervisor of `make run`.

Each process is a child in a process group of its own, so the terminal's Ctrl-C reaches only this
supervisor, which then stops the children in order and waits for them: nothing is left running.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smsconsole.embedded_redis import EmbeddedRedis, EmbeddedRedisError, start_child, stop_child

# The processes `make run` starts, in start order (stopped in reverse). Placeholders:
# {python} this interpreter, {manage} manage.py, {addr} host:port of the console, {var} VAR_DIR,
# {smsc_port} the simulator's SMPP port (SMSC_PORT, default 2775), {failure_ratio} SMSC_FAILURE_RATIO.
CONTROL_PORT_FILE = "smsc-control.port"
PROCESSES = [
    ("web", ["{python}", "{manage}", "runserver", "--noreload", "{addr}"]),
    ("worker", ["{python}", "-m", "celery", "-A", "smsconsole", "worker", "--loglevel=INFO", "--concurrency=2"]),
    (
        "beat",
        [
            "{python}",
            "-m",
            "celery",
            "-A",
            "smsconsole",
            "beat",
            "--loglevel=INFO",
            "--schedule={var}/celerybeat-schedule",
        ],
    ),
    # The demo's provider connection (seed_demo's "simulator") and the gateway that binds to it.
    # It fails SMSC_FAILURE_RATIO of the messages, and `manage.py simulate_reply` finds its control
    # port in {var}/smsc-control.port to inject replies.
    (
        "smsc",
        [
            "{python}",
            "{manage}",
            "smsc_simulator",
            "--port",
            "{smsc_port}",
            "--failure-ratio",
            "{failure_ratio}",
            "--control-port",
            "0",
            "--control-port-file",
            "{var}/" + CONTROL_PORT_FILE,
        ],
    ),
    ("gateway", ["{python}", "{manage}", "run_gateway"]),
]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def port_is_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # runserver sets SO_REUSEADDR too, so a port in TIME_WAIT from the previous run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = (
        "Starts the web server, a Celery worker and Celery beat (and an embedded Redis when no broker is configured)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=10.0,
            help="Seconds a process gets to stop before it is killed.",
        )

    def handle(self, *args, host, port, stop_timeout, **options):
        if not port_is_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use (another `make run`?). Choose another with PORT=."
            )

        self.received = []
        self.wake = threading.Event()
        previous_handlers = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        embedded = None
        children = []
        try:
            env = self._child_environment(host, port)
            if "CELERY_BROKER_URL" not in env and "REDIS_URL" not in env:
                embedded = EmbeddedRedis(settings.VAR_DIR)
                try:
                    embedded.start()
                except EmbeddedRedisError as error:
                    raise CommandError(str(error)) from None
                env["CELERY_BROKER_URL"] = embedded.celery_url
                env["REDIS_URL"] = embedded.url
                self._say(f"Embedded Redis on {embedded.socket_path} (pid {embedded.process.pid})")
            else:
                env.setdefault("CELERY_BROKER_URL", env.get("REDIS_URL", ""))
                env.setdefault("REDIS_URL", env["CELERY_BROKER_URL"])

            substitutions = {
                "python": sys.executable,
                "manage": str(settings.BASE_DIR / "manage.py"),
                "addr": f"{host}:{port}",
                "var": str(settings.VAR_DIR),
                "smsc_port": os.environ.get("SMSC_PORT", "2775"),
                "failure_ratio": str(settings.SMSC_FAILURE_RATIO),
            }
            for name, template in PROCESSES:
                if self.received:
                    break
                argv = [part.format(**substitutions) for part in template]
                process = start_child(argv, cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL)
                children.append((name, process))
                self._say(f"Started {name} (pid {process.pid}): {' '.join(argv[1:])}")
            if not self.received:
                self._say(f"Console: {env['CONSOLE_URL']} - press Ctrl-C to stop everything.")

            failed = self._wait(children)
        finally:
            self._stop(children, stop_timeout)
            if embedded is not None:
                embedded.stop()
                self._say("Stopped the embedded Redis.")
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        if failed:
            name, code = failed
            raise CommandError(f"{name} exited with status {code}; stopped the others.")
        self._say("Stopped.")

    def _child_environment(self, host, port):
        env = dict(os.environ)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        env.setdefault("CONSOLE_URL", f"http://{shown_host}:{port}/")
        env.setdefault("DJANGO_SETTINGS_MODULE", "smsconsole.settings")
        # Children write into the same terminal or pipe; unbuffered output keeps the lines in order.
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _on_signal(self, signum, frame):
        self.received.append(signum)
        self.wake.set()

    def _wait(self, children):
        """Blocks until a stop signal arrives or a child exits; returns (name, status) for the latter."""
        while True:
            for name, process in children:
                if process.poll() is not None:
                    return name, process.returncode
            if self.received:
                return None
            self.wake.wait(0.5)

    def _stop(self, children, timeout):
        if not children:
            return
        # Forward the signal the user sent (Ctrl-C as SIGINT); otherwise ask politely with SIGTERM.
        signum = self.received[0] if self.received and self.received[0] != signal.SIGHUP else signal.SIGTERM
        self._say(f"Stopping {', '.join(name for name, _ in children)}…")
        for _name, process in children:
            if process.poll() is None:
                process.send_signal(signum)
        deadline = time.monotonic() + timeout
        signals_before = len(self.received)
        for name, process in reversed(children):
            # A second Ctrl-C means "now": skip the grace period.
            while process.poll() is None and time.monotonic() < deadline and len(self.received) <= signals_before:
                self.wake.clear()
                self.wake.wait(0.1)
            if process.poll() is None:
                self._say(f"{name} did not stop in time; killing it.")
            stop_child(process, signal.SIGKILL, timeout=timeout)

    def _say(self, message):
        self.stdout.write(f"run_all: {message}")
        self.stdout.flush()
