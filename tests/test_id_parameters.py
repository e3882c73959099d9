"""Ids typed into URLs and forms: Unicode digits such as "²" pass str.isdigit() and used to crash
the lookup with a 500; every id goes through tenancy.parse_id and answers 404, 400 or a form error."""

import pytest
from django.urls import reverse

from smsconsole.tenancy import parse_id


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("7", 7),
        (7, 7),
        ("²", None),
        ("١٢", None),
        ("", None),
        (None, None),
        ("-1", None),
        ("0", None),
        ("abc", None),
        ("9" * 19, None),
        (str(2**63 - 1), 2**63 - 1),
        ("12 ", None),
        (True, None),
    ],
)
def test_parse_id_accepts_ascii_digits_within_the_column_range_only(raw, expected):
    assert parse_id(raw) == expected


GET_URLS = [
    ("campaigns:import_create", {"template": "²"}),
    ("campaigns:campaign_create", {"application": "²"}),
    ("campaigns:campaign_options_signatures", {"application": "²"}),
    ("campaigns:campaign_options_templates", {"application": "²", "signature": "²"}),
    ("campaigns:campaign_options_audiences", {"application": "²", "template": "²"}),
    ("templates_app:template_create", {"signature": "²"}),
    ("reports:records", {"campaign": "²", "application": "9" * 30, "signature": "١٢", "template": "-1"}),
]


@pytest.mark.parametrize("name, params", GET_URLS)
def test_unicode_digits_in_query_parameters_are_no_error(alice_client, shop, name, params):
    response = alice_client.get(reverse(name), params)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "name, data",
    [
        ("templates_app:qualification_batch_delete", {"ids": ["²"]}),
        ("templates_app:template_batch_delete", {"ids": ["²", "abc"]}),
        ("templates_app:template_preview", {"content": "Hi ${1}", "type": "notification", "signature": "²"}),
        ("templates_app:template_create", {"content": "Hi ${1}", "type": "notification", "signature": "²"}),
        ("campaigns:campaign_create", {"audience": "import:²", "application": "²"}),
    ],
)
def test_unicode_digits_in_posted_ids_are_no_error(alice_client, shop, name, data):
    response = alice_client.post(reverse(name), data)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("object_id", ["abc", "²", "9" * 30])
def test_an_admin_decision_on_a_malformed_id_is_404(client, rita, object_id):
    client.force_login(rita)
    response = client.post(f"/admin/templates_app/template/{object_id}/approve/")
    assert response.status_code == 404
