"""The send endpoints (api.send_views, api.sending) through Django's test client, signed as a
client signs (X-WSSE, sms.signing): the reference's response shape, its request-level codes with
their HTTP statuses, per-number statuses, where accepted numbers go (the hidden API campaign, its
batch on the priority or the bulk list), tenancy, and the status reports they owe."""

import json
from urllib.parse import urlencode

import pytest

from campaigns import dispatch, lifecycle, sending_rules, status_reports
from campaigns.models import ApiMessage, Batch, Campaign, Message, OptOut, Push, StatusReportDue
from sms import signing
from tests.sending_helpers import create_connection, fund, sending_redis  # noqa: F401 (fixture)

SEND = "/sms/batchSendSms/v1"
DIFF = "/sms/batchSendDiffSms/v1"
CONTENT = "Your code is ${1}."
CALLBACK = "https://customer.example/status"


@pytest.fixture
def route(factories, shop, sending_redis, settings):
    settings.SMS_DEFAULT_CONNECTION = "simulator"
    connection = create_connection("simulator")
    shop.launch()
    fund(shop.account)
    signature = factories.create_signature(shop, name="Acme", type="verification")
    template = factories.create_template(
        shop, signature=signature, type="verification", name="code", content=CONTENT, variables=[("CHARDIGIT", 6)]
    )
    return {"app": shop, "signature": signature, "template": template, "connection": connection}


def signed(application, secret=None):
    headers = signing.wsse_headers(application.app_key, secret or application.app_secret)
    return {"HTTP_AUTHORIZATION": headers["Authorization"], "HTTP_X_WSSE": headers["X-WSSE"]}


def send(client, route, headers=None, **fields):
    data = {
        "from": route["signature"].channel_number,
        "to": "+8613800138000",
        "templateId": str(route["template"].pk),
        "templateParas": '["123456"]',
        **fields,
    }
    return client.post(
        SEND,
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        **(headers if headers is not None else signed(route["app"])),
    )


def send_diff(client, route, body, headers=None):
    return client.post(
        DIFF,
        body if isinstance(body, (bytes, str)) else json.dumps(body),
        content_type="application/json",
        **(headers if headers is not None else signed(route["app"])),
    )


def test_an_accepted_request_answers_the_reference_shape_and_queues_api_messages(client, route, sending_redis):
    response = send(client, route, to="+8613800138000,13900139000", statusCallback=CALLBACK, extend="order-7")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "000000" and body["description"] == "Success"
    assert [set(entry) for entry in body["result"]] == [
        {"smsMsgId", "from", "originTo", "status", "createTime", "countryId", "total"}
    ] * 2
    first, second = body["result"]
    assert (first["originTo"], first["status"], first["countryId"], first["total"]) == (
        "+8613800138000",
        "000000",
        "86",
        1,
    )
    assert second["originTo"] == "13900139000" and first["from"] == route["signature"].channel_number
    assert first["createTime"].endswith("Z") and len(first["createTime"]) == 20

    messages = list(Message.objects.order_by("id"))
    assert [status_reports.message_ref(m.pk) for m in messages] == [first["smsMsgId"], second["smsMsgId"]]
    assert [(m.phone, m.status, m.via_api, m.variables) for m in messages] == [
        ("+8613800138000", "queued", True, ["123456"]),
        ("+8613900139000", "queued", True, ["123456"]),
    ]
    campaign = Campaign.objects.with_counters().get()
    assert (campaign.source, campaign.status, campaign.total, campaign.queued) == ("api", "running", 2, 2)
    assert (campaign.template, campaign.signature, campaign.connection) == (
        route["template"],
        route["signature"],
        route["connection"],
    )
    assert list(ApiMessage.objects.values_list("status_callback", "extend").distinct()) == [(CALLBACK, "order-7")]
    # Two numbers: a verification code's request, on the connection's priority list.
    batch = Batch.objects.get()
    assert batch.status == "pushed" and (batch.first_id, batch.last_id) == (messages[0].pk, messages[1].pk)
    connection_id = route["connection"].pk
    assert sending_redis.lrange(dispatch.priority_key(connection_id), 0, -1) == [
        dispatch.job_for(campaign.pk, batch.pk).encode()
    ]
    assert sending_redis.llen(dispatch.queue_key(connection_id)) == 0


def test_a_large_request_goes_to_the_bulk_list_and_the_same_route_reuses_its_campaign(client, route, sending_redis):
    numbers = [f"+86138{n:08d}" for n in range(50)]
    assert send(client, route, to=",".join(numbers)).json()["code"] == "000000"
    assert send(client, route, to=numbers[0]).json()["code"] == "000000"  # the same number again, a new request
    campaign = Campaign.objects.with_counters().get()
    assert campaign.total == 51 and Message.objects.filter(phone=numbers[0]).count() == 2
    assert sending_redis.llen(dispatch.queue_key(route["connection"].pk)) == 1
    assert sending_redis.llen(dispatch.priority_key(route["connection"].pk)) == 1
    assert [b.number for b in Batch.objects.order_by("number")] == [1, 2]


def test_per_number_statuses(client, route):
    body = send(client, route, to="+8613800138000,12345,13800138000,+8613900139000").json()
    assert [(e["originTo"], e["status"]) for e in body["result"]] == [
        ("+8613800138000", "000000"),
        ("12345", "E200031"),
        ("13800138000", "E200041"),
        ("+8613900139000", "000000"),
    ]
    assert [e["smsMsgId"] != "" for e in body["result"]] == [True, False, False, True]
    assert Message.objects.count() == 2


def test_values_that_do_not_fit_the_template_send_nothing(client, route):
    body = send(client, route, templateParas='["12-34"]').json()
    assert body["code"] == "000000" and [e["status"] for e in body["result"]] == ["E200028"]
    assert not Message.objects.exists() and not Campaign.objects.exists()


def test_a_template_variable_of_an_unknown_attribute_fails_its_numbers_not_the_server(client, route):
    # Written around the forms (the database, an admin bypass): the value check knows no such attribute.
    route["template"].variables.update(attribute="BOGUS")
    body = send(client, route).json()
    assert body["code"] == "000000" and [e["status"] for e in body["result"]] == ["E200028"]
    item = {"to": ["+8613800138000"], "templateId": str(route["template"].pk), "templateParas": ["123456"]}
    response = send_diff(client, route, {"from": route["signature"].channel_number, "smsContent": [item]})
    assert response.status_code == 200 and [e["status"] for e in response.json()["result"]] == ["E200028"]
    assert not Message.objects.exists() and not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"to": "+86138 0013 8000"}, 400, "E000503"),
        ({"to": ",".join(["13800138000"] * 501)}, 400, "E000503"),
        ({"templateId": ""}, 400, "E000503"),
        ({"templateParas": '["unclosed'}, 400, "E000000"),
        ({"extend": "{x}"}, 400, "E000503"),
    ],
)
def test_request_level_refusals_have_the_reference_code_and_status(client, route, fields, status, code):
    response = send(client, route, **fields)
    assert response.status_code == status
    assert response.json()["code"] == code and "result" not in response.json()
    assert not Message.objects.exists()


def test_authentication_failures(client, route):
    assert send(client, route, headers={}).status_code == 401
    assert send(client, route, headers={}).json()["code"] == "E000001"
    wrong = send(client, route, headers=signed(route["app"], secret="not-the-secret"))
    assert (wrong.status_code, wrong.json()["code"]) == (401, "E000101")
    headers = signed(route["app"])
    assert send(client, route, headers=headers).status_code == 200
    replay = send(client, route, headers=headers)
    assert (replay.status_code, replay.json()["code"]) == (401, "E000101")
    route["app"].suspend()
    suspended = send(client, route)
    assert (suspended.status_code, suspended.json()["code"]) == (403, "E000103")
    assert Message.objects.count() == 1


def test_aksk_signed_requests_are_accepted(client, route):
    body = json.dumps(
        {
            "from": route["signature"].channel_number,
            "smsContent": [{"to": ["+8613800138000"], "templateId": str(route["template"].pk), "templateParas": ["1"]}],
        }
    ).encode()
    headers = signing.aksk_headers(route["app"].app_key, route["app"].app_secret, "POST", DIFF, "testserver", body)
    response = client.post(
        DIFF, body, content_type="application/json", HTTP_AUTHORIZATION=headers["Authorization"],
        HTTP_X_SDK_DATE=headers["X-Sdk-Date"], HTTP_HOST="testserver",
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["result"][0]["status"] == "000000"


def test_a_diff_request_sends_each_template_with_its_values(client, factories, route):
    second = factories.create_template(
        route["app"], signature=route["signature"], type="verification", name="login", content="Login code ${1}.",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip
    body = {
        "from": route["signature"].channel_number,
        "extend": "x1",
        "smsContent": [
            {"to": ["+8613800138000"], "templateId": str(route["template"].pk), "templateParas": ["111111"]},
            {"to": ["+8613800138000", "1"], "templateId": str(second.pk), "templateParas": ["222222"]},
            {"to": ["+8613900139000"], "templateId": str(second.pk), "templateParas": ["1", "2"]},
        ],
    }
    result = send_diff(client, route, body).json()["result"]
    assert [(e["originTo"], e["status"]) for e in result] == [
        ("+8613800138000", "000000"),
        ("+8613800138000", "000000"),  # other content to the same number: sent
        ("1", "E200031"),
        ("+8613900139000", "E200028"),
    ]
    assert sorted(Campaign.objects.values_list("template__name", "total")) == [("code", 1), ("login", 1)]
    malformed = send_diff(client, route, b"{not json")
    assert (malformed.status_code, malformed.json()["code"]) == (400, "E000000")


def test_an_applications_key_never_reaches_another_accounts_templates_or_channels(client, factories, route):
    other_account = factories.create_account("Rival")
    rival = factories.create_application(other_account, "Rival shop")
    rival.launch()
    rival_signature = factories.create_signature(rival, name="Rival", type="verification")
    rival_template = factories.create_template(
        rival,
        signature=rival_signature,
        type="verification",
        name="code",
        content=CONTENT,
        variables=[("CHARDIGIT", 6)],
    )
    # Our key with their template, and with their channel number: not found, nothing sent.
    theirs = send(client, route, templateId=str(rival_template.pk))
    assert (theirs.status_code, theirs.json()["code"]) == (400, "E000503")
    their_channel = send(client, route, **{"from": rival_signature.channel_number})
    assert (their_channel.status_code, their_channel.json()["code"]) == (400, "E000503")
    # Their key with our template.
    ours = send(client, route, headers=signed(rival), **{"from": rival_signature.channel_number})
    assert (ours.status_code, ours.json()["code"]) == (400, "E000503")
    assert not Message.objects.exists()


def test_api_campaigns_stay_out_of_the_campaign_list_and_the_dashboard(client, factories, route, acme):
    assert send(client, route).status_code == 200
    user = factories.create_user("olga", account=acme)
    client.force_login(user)
    listing = client.get("/campaigns/")
    assert listing.status_code == 200 and "API: " not in listing.content.decode()
    assert "API: " not in client.get("/").content.decode()


def sent_and_delivered(message_ids, stat="DELIVRD"):
    campaign_id = Message.objects.get(pk=message_ids[0]).campaign_id
    lifecycle.claim(campaign_id, message_ids)
    lifecycle.record_submits(submitted=[(i, f"p{i}") for i in message_ids])
    lifecycle.apply_receipts([(i, stat, "000") for i in message_ids])


def test_a_status_callback_gets_the_reference_form_push_with_extend_and_to(client, route):
    send(client, route, statusCallback=CALLBACK, extend="order-7")
    message = Message.objects.get()
    sent_and_delivered([message.pk])
    assert list(StatusReportDue.objects.values_list("url", "per_message", "status")) == [(CALLBACK, True, "delivered")]
    status_reports.drain()
    push = Push.objects.get()
    assert push.url == CALLBACK and push.format == Push.Format.FORM
    assert push.body["smsMsgId"] == status_reports.message_ref(message.pk)
    assert (push.body["status"], push.body["extend"], push.body["to"]) == ("DELIVRD", "order-7", "+8613800138000")


def test_without_a_callback_the_applications_batch_url_gets_the_report_without_to(client, route):
    route["app"].report_url = "https://customer.example/batch"
    route["app"].save(update_fields=["report_url"])
    send(client, route)
    sent_and_delivered([Message.objects.get().pk])
    status_reports.drain()
    push = Push.objects.get()
    assert push.url == "https://customer.example/batch"
    [report] = push.body["statusReportList"]
    assert report["status"] == "DELIVRD" and "to" not in report and "extend" not in report


def test_an_api_message_skipped_by_a_send_time_rule_gets_its_report_with_the_reason(client, route):
    send(client, route, to="+8613800138000,+8613900139000", statusCallback=CALLBACK)
    OptOut.objects.create(account=route["app"].account, phone="+8613900139000")
    campaign = Campaign.objects.with_counters().get()
    chunk = list(Message.objects.order_by("id").values_list("id", "phone", "variables", "segments"))
    verdict = sending_rules.claim(campaign.pk, chunk)
    assert list(verdict.attempts) == [chunk[0][0]] and verdict.skipped == {"opt_out": [chunk[1][0]]}
    status_reports.drain()
    push = Push.objects.get()
    assert push.url == CALLBACK
    assert (push.body["status"], push.body["statusDesc"]) == ("BLACK", "not sent: the number opted out")


def test_a_campaign_message_skipped_owes_no_report(factories, route):
    from tests.sending_helpers import create_campaign, phones

    route["app"].report_url = "https://customer.example/batch"
    route["app"].save(update_fields=["report_url"])
    campaign = create_campaign(route["app"], route["template"], route["connection"], phones(1), status="running")
    from campaigns.tasks import plan_campaign

    plan_campaign(campaign.pk)
    lifecycle.skip(campaign.pk, list(Message.objects.values_list("id", flat=True)), "frequency_cap")
    assert not StatusReportDue.objects.exists()


def test_an_api_campaign_never_completes(client, route):
    send(client, route)
    campaign = Campaign.objects.with_counters().get()
    sent_and_delivered([Message.objects.get().pk])
    Batch.objects.update(status="done")
    assert dispatch.complete_if_finished(campaign.pk) is False
    assert Campaign.objects.get().status == "running"


def test_the_openapi_description_has_both_send_calls(client):
    spec = client.get("/api/openapi.json").json()
    assert (
        "application/x-www-form-urlencoded" in spec["paths"]["/sms/batchSendSms/v1"]["post"]["requestBody"]["content"]
    )
    assert "application/json" in spec["paths"]["/sms/batchSendDiffSms/v1"]["post"]["requestBody"]["content"]
    result = spec["components"]["schemas"]["SmsId"]["properties"]
    assert {"smsMsgId", "from", "originTo", "status", "createTime", "countryId", "total"} <= set(result)
