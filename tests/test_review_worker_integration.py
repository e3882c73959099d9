"""A review decision reaches the contacts' mailbox through a real Celery worker process."""

import email
from email.header import decode_header, make_header

import pytest
from django.db import transaction

from templates_app import notifications
from templates_app.models import Signature
from tests.sending_helpers import processes, wait_for, worker

MESSAGE_SEPARATOR = b"-" * 79


def first_mail(mail_dir):
    """The first complete message the file backend wrote, or None yet."""
    for path in sorted(mail_dir.glob("*.log")):
        content = path.read_bytes()
        # The backend ends every message with a line of dashes; before that it may be half-written.
        if MESSAGE_SEPARATOR in content:
            return email.message_from_bytes(content.split(MESSAGE_SEPARATOR)[0])
    return None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_signature_approved_in_review_is_mailed_by_the_worker(
    postgres_url, redis_url, factories, acme, shop, rita, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    factories.create_contact(acme, name="Ops", email="ops@acme.example")
    signature = factories.create_signature(shop, name="Acme", status=Signature.Status.PENDING_REVIEW)

    mail = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": mail_dir}
    with worker(postgres_url, redis_url, tmp_path, concurrency=1, **mail) as celery:
        with transaction.atomic():
            signature.approve(rita)
            notifications.queue_review_result(signature)
        message = wait_for(lambda: first_mail(mail_dir), 30, "the mail", processes(worker=celery))

    signature.refresh_from_db()
    assert message["To"] == "ops@acme.example"
    assert str(make_header(decode_header(message["Subject"]))) == (
        "[smsconsole] Signature 【Acme】 filed with the carrier / 签名实名报备中"
    )
    body = message.get_payload(decode=True).decode(message.get_content_charset())
    assert "It can send once the carrier approves the filing" in body and "运营商报备通过后即可发送短信" in body
    assert f"/signatures/{signature.pk}/" in body
