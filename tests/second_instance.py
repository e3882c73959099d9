"""A second instance of the product on loopback, for the HTTP provider's end-to-end test: its own
PostgreSQL database (migrated by `manage.py migrate`), its own Redis key prefix and Celery queue,
its own web server (gunicorn, as in production), worker and gateway. Instance A, the test's own
database, reaches it over HTTP like any cloud SMS account.

`web(...)` serves either instance: A needs one too, since B pushes its status reports to A's
statusCallback URL.
"""

import contextlib
import json
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlparse, urlunparse

from tests.sending_helpers import PROJECT_DIR, _start, child_environment, log_tail, stop, wait_for


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database(postgres_url, suffix):
    """A database of its own beside the test's, migrated; dropped afterwards. Yields its URL."""
    import psycopg
    from django.db import connection

    name = f"{connection.settings_dict['NAME']}_{suffix}"[:63]
    parsed = urlparse(postgres_url)
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    url = urlunparse(parsed._replace(path="/" + name))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = instance_environment(postgres_url, "", database_url=url)
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def instance_environment(postgres_url, redis_url, *, database_url, prefix=None, queue=None, **extra):
    """The environment of a process of an instance whose database is `database_url`."""
    env = child_environment(postgres_url, redis_url or "redis://127.0.0.1:6379/0", **extra)
    env["DATABASE_URL"] = database_url
    if prefix:
        env["SMS_REDIS_PREFIX"] = prefix
    if queue:
        env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    return env


def run_script(env, code):
    """Runs `code` with Django set up in the instance's environment; returns what it printed as JSON."""
    script = "import django, json, sys; django.setup()\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def web(env, tmp_path, name):
    """gunicorn serving the instance of `env` on a free loopback port; yields its base URL."""
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    argv = [sys.executable, "-m", "gunicorn", "smsconsole.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--timeout", "60", "--access-logfile", "-"]  # fmt: skip
    process = _start(argv, env, log_path)
    process.log_path = log_path
    try:
        wait_for(lambda: _answers(port), 60, f"{name} to listen", [(name, process, log_path)])
        process.url = f"http://127.0.0.1:{port}"
        yield process
    finally:
        stop(process)


def _answers(port):
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def worker(env, tmp_path, name):
    """A Celery worker of the instance of `env`, on its CELERY_TASK_DEFAULT_QUEUE."""
    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    log_path = tmp_path / f"{name}.log"
    argv = [sys.executable, "-m", "celery", "-A", "smsconsole", "worker", "-P", "prefork", "-c", "2",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue, "--loglevel", "INFO",
            "-n", f"{name}-{queue}@%h"]  # fmt: skip
    process = _start(argv, env, log_path)
    process.log_path = log_path
    try:
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def gateway(env, tmp_path, name):
    log_path = tmp_path / f"{name}.log"
    argv = [sys.executable, "manage.py", "run_gateway", "--gateway-id", f"{name}-{uuid.uuid4().hex[:6]}"]
    process = _start(argv, env, log_path)
    process.log_path = log_path
    try:
        yield process
    finally:
        stop(process)


__all__ = ["database", "free_port", "gateway", "instance_environment", "log_tail", "run_script", "web", "worker"]
