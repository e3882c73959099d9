"""Error pages in the console's layout and the reader's language, never Django's bare ones."""

import pytest
from django.urls import reverse

from tests.contact_helpers import create_contact_list


def raw_upload(client, url, filename, data=b"13800138000\n", **fields):
    """A multipart POST built by hand: the test client would shorten a long file name to 255."""
    boundary = "BoUnDaRy"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.generic("POST", url, body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_file_name_of_a_thousand_characters_gets_a_page_that_says_what_to_do(alice_client, acme):
    contact_list = create_contact_list(acme)
    url = reverse("campaigns:contact_list_import", args=[contact_list.pk])
    response = raw_upload(alice_client, url, "a" * 1000 + ".csv", region="CN")
    assert response.status_code == 400
    html = response.content.decode()
    assert "rename it to something shorter" in html
    assert 'class="topbar"' in html


def test_the_400_page_is_translated(alice_client, acme):
    contact_list = create_contact_list(acme)
    url = reverse("campaigns:contact_list_import", args=[contact_list.pk])
    alice_client.cookies["django_language"] = "zh-hans"
    response = raw_upload(alice_client, url, "a" * 1000 + ".csv", region="CN")
    assert "文件名" in response.content.decode()


def test_a_read_only_member_gets_the_consoles_403_page_in_their_language(client, bob, acme):
    client.force_login(bob)
    response = client.get(reverse("campaigns:opt_out_import"))
    assert response.status_code == 403
    assert "Read-only members" in response.content.decode()
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("campaigns:opt_out_import"))
    assert "只读成员" in response.content.decode()


@pytest.mark.parametrize("debug", [False])
def test_another_accounts_object_gets_the_consoles_404_page(settings, client, charlie, alice, acme, debug):
    settings.DEBUG = debug
    contact_list = create_contact_list(acme)
    client.force_login(charlie)
    response = client.get(reverse("campaigns:contact_list_detail", args=[contact_list.pk]))
    assert response.status_code == 404
    assert "belongs to another account" in response.content.decode()


def test_the_500_page_renders_without_the_database(rf):
    from django.utils import translation

    from smsconsole.errors import server_error

    request = rf.get("/")  # no user, no session: nothing to look up
    with translation.override("en"):
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_a_refusal_is_logged_in_one_line_without_a_traceback(client, bob):
    import io
    import logging

    from smsconsole.log_filters import QuietRefusals

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(QuietRefusals())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.force_login(bob)
        client.get(reverse("campaigns:opt_out_import"))
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "Forbidden (Permission denied): /opt-outs/import/" in output
    assert "Traceback" not in output
