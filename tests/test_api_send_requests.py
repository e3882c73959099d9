"""What a send request may hold (api.send_requests): request-level refusals with the reference's
codes, per-number statuses, duplicates, and the text each number would get."""

import json

import pytest
from django.http import QueryDict

from api.errors import ApiError
from api.send_requests import parse_batch_send_diff_sms, parse_batch_send_sms

CONTENT = "您的验证码为${1}，5分钟内有效。"


@pytest.fixture
def setup(factories, shop):
    signature = factories.create_signature(shop, name="Acme", type="verification")
    template = factories.create_template(
        shop, signature=signature, type="verification", name="code", content=CONTENT, variables=[("CHARDIGIT", 6)]
    )
    return {"signature": signature, "template": template, "channel": signature.channel_number}


def form(setup, **fields):
    data = {
        "from": setup["channel"],
        "to": "+8613800138000",
        "templateId": str(setup["template"].pk),
        "templateParas": '["123456"]',
    }
    data.update(fields)
    query = QueryDict(mutable=True)
    query.update(data)
    return query


def code_of(call):
    with pytest.raises(ApiError) as error:
        call()
    return error.value.code


def test_a_valid_request_renders_the_signed_text_for_each_number(shop, setup):
    request = parse_batch_send_sms(shop, form(setup, to="+8613800138000,13900139000"))
    [item] = request.items
    assert item.text == "【Acme】您的验证码为123456，5分钟内有效。" and item.segments == 1
    assert [(r.origin, r.phone, r.status) for r in item.recipients] == [
        ("+8613800138000", "+8613800138000", "000000"),
        ("13900139000", "+8613900139000", "000000"),
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "+86138 0013 8000"}, "E000503"),
        ({"to": "13800138000;13900139000"}, "E000503"),
        ({"to": ",".join(["13800138000"] * 501)}, "E000503"),
        ({"to": ""}, "E000503"),
        ({"templateId": ""}, "E000503"),
        ({"templateId": "9" * 40}, "E000503"),
        ({"templateId": "99999"}, "E000503"),
        ({"from": "not-a-channel"}, "E000503"),
        ({"templateParas": '["unclosed'}, "E000000"),
        ({"templateParas": '{"a": 1}'}, "E000503"),
        ({"extend": "{x}"}, "E000503"),
        ({"extend": "x" * 129}, "E000503"),
        ({"statusCallback": "ftp://example.com/r"}, "E000503"),
    ],
)
def test_what_fails_the_whole_request(shop, setup, fields, code):
    assert code_of(lambda: parse_batch_send_sms(shop, form(setup, **fields))) == code


def test_invalid_numbers_fail_alone(shop, setup):
    request = parse_batch_send_sms(shop, form(setup, to="+8613800138000,12345,+86" + "1" * 20))
    assert [r.status for r in request.recipients()] == ["000000", "E200031", "E200031"]


def test_the_same_content_to_the_same_number_twice_is_sent_once(shop, setup):
    request = parse_batch_send_sms(shop, form(setup, to="13800138000,+8613800138000,+8613900139000"))
    assert [r.status for r in request.recipients()] == ["000000", "E200041", "000000"]


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ('["12-34"]', "E200028"),
        ("[]", "E200028"),
        ('["1","2"]', "E200028"),
        ('[""]', "E200028"),  # every variable must be non-empty
        ('["1234567"]', "E200028"),  # longer than the variable's 6
    ],
)
def test_values_that_do_not_fit_the_template_fail_every_number(shop, setup, values, status):
    request = parse_batch_send_sms(shop, form(setup, templateParas=values))
    assert {r.status for r in request.recipients()} == {status}


def test_an_inactive_template_fails_every_number(shop, setup):
    setup["template"].__class__.objects.filter(pk=setup["template"].pk).update(status="inactive")
    assert {r.status for r in parse_batch_send_sms(shop, form(setup)).recipients()} == {"E200030"}


def test_another_signatures_channel_fails_every_number(factories, shop, setup):
    # The template is active: the channel in `from` belongs to a signature that is not the template's.
    other = factories.create_signature(shop, name="Other", type="verification")
    request = parse_batch_send_sms(shop, form(setup, **{"from": other.channel_number}))
    assert {r.status for r in request.recipients()} == {"E200029"} and request.items[0].text == ""


def test_another_applications_template_is_not_found(factories, acme, shop, setup):
    other_app = factories.create_application(acme, "Other")
    assert code_of(lambda: parse_batch_send_sms(other_app, form(setup))) == "E000503"


def test_a_diff_request_holds_several_templates_and_values(factories, shop, setup):
    second = factories.create_template(
        shop,
        signature=setup["signature"],
        type="verification",
        name="code2",
        content="Your code is ${1}.",
        variables=[("CHARDIGIT", 6)],
    )
    body = json.dumps(
        {
            "from": setup["channel"],
            "smsContent": [
                {"to": ["+8613800138000"], "templateId": str(setup["template"].pk), "templateParas": ["111111"]},
                {"to": ["+8613800138000", "+8613900139000"], "templateId": str(second.pk), "templateParas": ["222222"]},
            ],
        }
    ).encode()
    request = parse_batch_send_diff_sms(shop, body)
    assert [item.text for item in request.items] == [
        "【Acme】您的验证码为111111，5分钟内有效。",
        "【Acme】Your code is 222222.",
    ]
    assert [r.status for r in request.recipients()] == ["000000", "000000", "000000"]


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"smsContent": []}', b'{"smsContent": [{"to": "1380"}]}', b"x" * (65 * 1024)]
)
def test_a_malformed_diff_body_fails_the_request(shop, setup, body):
    assert code_of(lambda: parse_batch_send_diff_sms(shop, body)) in {"E000000", "E000503"}
