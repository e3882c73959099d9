"""The README's production web process, as written there: its `gunicorn …` line, run with the
README's production settings on PostgreSQL and Redis, starts the workers it names and serves the
console and the API's OpenAPI description (with both authentication schemes) to a client behind
the README's TLS proxy."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.sending_helpers import database_url_for_children

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def readme_command():
    section = (REPO / "README.md").read_text().split("## Running on real servers", 1)[1]
    [line] = [line for line in section.splitlines() if line.startswith("gunicorn smsconsole.wsgi:application")]
    return shlex.split(line)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(port, path):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_the_readmes_gunicorn_command_serves_the_console_and_the_openapi_description(postgres_url, redis_url):
    command = readme_command()
    assert command[:2] == ["gunicorn", "smsconsole.wsgi:application"]
    workers = int(command[command.index("--workers") + 1])
    port = free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "DEBUG": "0",
        "SECRET_KEY": "readme-test-" + "k" * 40,
        "FIELD_ENCRYPTION_KEY": "readme-test-encryption-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "TRUSTED_PROXY_COUNT": "1",
        "CONN_MAX_AGE": "60",
        "DATABASE_URL": database_url_for_children(postgres_url),
        "CELERY_BROKER_URL": redis_url,
    }
    server = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, body = fetch(port, "/api/openapi.json")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None, f"gunicorn exited with {server.returncode}"
                assert time.monotonic() < deadline, "gunicorn did not answer within 120 s"
                time.sleep(0.5)
        description = json.loads(body)
        assert status == 200
        assert {"/sms/batchSendSms/v1", "/sms/batchSendDiffSms/v1", "/v2/{project_id}/msgsms/templates"} <= set(
            description["paths"]
        )
        assert set(description["components"]["securitySchemes"]) == {"AccessKeySignature", "ApplicationSignature"}
        status, page = fetch(port, "/login/")
        assert status == 200 and re.search(rb'name="username"', page)
        assert len(psutil.Process(server.pid).children()) == workers
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
