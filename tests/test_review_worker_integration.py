"""A review decision reaches the contacts' mailbox through a real Celery worker process."""

import email
import os
import subprocess
import sys
import time
import uuid
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis
from django.db import connection, transaction

from campaigns.redis_client import normalise_url
from templates_app import notifications
from templates_app.models import Signature

PROJECT_DIR = Path(__file__).resolve().parent.parent
MESSAGE_SEPARATOR = b"-" * 79


def worker_database_url(postgres_url):
    """The URL of the database pytest-django created, for a process outside this one."""
    parsed = urlparse(postgres_url)
    return urlunparse(parsed._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def celery_queue(redis_url):
    """Points this process's Celery app at Redis and a queue of the test's own, then restores it."""
    from smsconsole.celery import app

    queue = f"test-review-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.broker_url = redis_url
    yield queue
    app.conf.update(saved)
    client = redis.Redis.from_url(normalise_url(redis_url))
    # Leftovers of the queue's declaration; the queue list itself is gone once consumed.
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


def start_worker(postgres_url, redis_url, queue, mail_dir, log_path):
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(postgres_url),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "smsconsole",
        "worker",
        "-P",
        "solo",
        "-c",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        queue,
        "--loglevel",
        "INFO",
    ]
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def wait_for_mail(mail_dir, worker, log_path, timeout=30.0):
    """The first complete message the file backend wrote, polling until it appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log")):
            content = path.read_bytes()
            # The backend ends every message with a line of dashes; before that it may be half-written.
            if MESSAGE_SEPARATOR in content:
                return email.message_from_bytes(content.split(MESSAGE_SEPARATOR)[0])
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    pytest.fail(f"no mail within {timeout} s; worker log:\n{log_path.read_text(errors='replace')}")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_signature_approved_in_review_is_mailed_by_the_worker(
    postgres_url, redis_url, celery_queue, factories, acme, shop, rita, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    log_path = tmp_path / "worker.log"
    factories.create_contact(acme, name="Ops", email="ops@acme.example")
    signature = factories.create_signature(shop, name="Acme", status=Signature.Status.PENDING_REVIEW)

    worker = start_worker(postgres_url, redis_url, celery_queue, mail_dir, log_path)
    try:
        with transaction.atomic():
            signature.approve(rita)
            notifications.queue_review_result(signature)
        message = wait_for_mail(mail_dir, worker, log_path)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    signature.refresh_from_db()
    assert message["To"] == "ops@acme.example"
    assert str(make_header(decode_header(message["Subject"]))) == (
        "[smsconsole] Signature 【Acme】 filed with the carrier / 签名实名报备中"
    )
    body = message.get_payload(decode=True).decode(message.get_content_charset())
    assert "It can send once the carrier approves the filing" in body and "运营商报备通过后即可发送短信" in body
    assert f"/signatures/{signature.pk}/" in body
