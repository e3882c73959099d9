"""An oversized upload is refused while it is read: nothing of it reaches memory or disk, and the
form says how large it was and what is allowed."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from smsconsole.upload_limits import OversizedUpload


@pytest.fixture
def small_limits(settings):
    settings.SMS_UPLOAD_MAX_BYTES = 1024 * 1024
    settings.SMS_IMPORT_MAX_BYTES = 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024  # anything kept would go to a temporary file


def parse(body, request_factory):
    request = request_factory.generic("POST", "/", body, content_type=MULTIPART_CONTENT)
    from django.conf import settings
    from django.core.files.uploadhandler import load_handler

    handlers = [load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS]
    return MultiPartParser(request.META, io.BytesIO(body), handlers).parse()


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 1024 * 1024 + 1])
def test_a_file_over_the_limit_is_kept_as_its_size_only(small_limits, rf, size):
    body = encode_multipart(BOUNDARY, {"note": "x", "file": SimpleUploadedFile("big.csv", b"1" * size)})
    post, files = parse(body, rf)
    upload = files["file"]
    assert isinstance(upload, OversizedUpload) and not isinstance(upload, TemporaryUploadedFile)
    assert (upload.name, upload.size) == ("big.csv", size)
    assert post["note"] == "x"


def test_a_file_within_the_limit_is_stored_as_usual(small_limits, rf):
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("ok.csv", b"1" * 100_000)})
    _post, files = parse(body, rf)
    assert isinstance(files["file"], TemporaryUploadedFile)
    assert files["file"].size == 100_000


def test_the_import_form_says_how_large_the_file_was(small_limits, alice_client, shop, settings):
    upload = SimpleUploadedFile("big.csv", b"13800138000\n" * 300_000)
    response = alice_client.post(reverse("campaigns:import_create"), {"application": shop.pk, "file": upload})
    errors = " ".join(response.context["form"].errors["file"])
    assert "files up to 1.0\xa0MB can be imported" in errors
    assert not (settings.MEDIA_ROOT / "imports").exists()


def test_the_contact_import_refuses_it_too(small_limits, alice_client, acme):
    from tests.contact_helpers import create_contact_list

    contact_list = create_contact_list(acme)
    upload = SimpleUploadedFile("big.csv", b"13800138000\n" * 300_000)
    response = alice_client.post(
        reverse("campaigns:contact_list_import", args=[contact_list.pk]), {"file": upload, "region": "CN"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not contact_list.contacts.exists()
