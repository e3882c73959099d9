"""A universal template (通用模板) has no signature of its own: a send names one in `signature`, which
must send from the channel in `from` and be of the template's type (cloud-sms-spec.md 1.2); else
every number of the item gets E200029 and nothing is rendered (api.send_requests)."""

import json

import pytest
from django.http import QueryDict

from api.send_requests import parse_batch_send_diff_sms, parse_batch_send_sms


@pytest.fixture
def setup(factories, shop):
    signature = factories.create_signature(shop, name="Acme", type="verification")
    universal = factories.create_template(
        shop, signature=None, universal=True, type="verification", name="any_code", content="Code ${1}.",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip
    return {"signature": signature, "template": universal}


def form(setup, **fields):
    query = QueryDict(mutable=True)
    query.update(
        {
            "from": setup["signature"].channel_number,
            "to": "+8613800138000,+8613900139000",
            "templateId": str(setup["template"].pk),
            "templateParas": '["123456"]',
            **fields,
        }
    )
    return query


def test_it_is_sent_under_the_signature_named_in_the_request(shop, setup):
    request = parse_batch_send_sms(shop, form(setup, signature="Acme"))
    [item] = request.items
    assert item.signature == setup["signature"] and item.text == "【Acme】Code 123456."
    assert [r.status for r in item.recipients] == ["000000", "000000"]


@pytest.mark.parametrize("signature", [None, "", "Nobody"])
def test_without_a_signature_of_that_channel_every_number_fails_with_e200029(shop, setup, signature):
    fields = {} if signature is None else {"signature": signature}
    [item] = parse_batch_send_sms(shop, form(setup, **fields)).items
    assert [r.status for r in item.recipients] == ["E200029", "E200029"] and item.text == ""


def test_a_signature_of_another_type_on_the_channel_is_refused(factories, shop):
    promotion = factories.create_signature(shop, name="Deals", type="promotion")
    universal = factories.create_template(
        shop, signature=None, universal=True, type="verification", name="any_code", content="Code ${1}.",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip
    request = parse_batch_send_sms(shop, form({"signature": promotion, "template": universal}, signature="Deals"))
    assert {r.status for r in request.recipients()} == {"E200029"}


def test_a_diff_request_takes_the_signature_of_each_item(shop, setup):
    body = {
        "from": setup["signature"].channel_number,
        "smsContent": [
            {"to": ["+8613800138000"], "templateId": str(setup["template"].pk), "templateParas": ["111111"],
             "signature": "Acme"},
            {"to": ["+8613900139000"], "templateId": str(setup["template"].pk), "templateParas": ["222222"]},
        ],
    }  # fmt: skip
    request = parse_batch_send_diff_sms(shop, json.dumps(body).encode())
    assert [(item.text, [r.status for r in item.recipients]) for item in request.items] == [
        ("【Acme】Code 111111.", ["000000"]),
        ("", ["E200029"]),
    ]
