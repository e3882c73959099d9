"""The gateway on an HTTP provider connection against a stand-in of the cloud's send API on loopback
(tests/cloud_standin.py: it checks the X-WSSE signature and answers per the reference), and the
status-report receiver that brings the remote service's reports back into the lifecycle."""

import asyncio
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import gateway, lifecycle
from campaigns.models import Campaign, Message, PendingReceipt, ProviderConnection, RemoteTemplate
from sms import cloud_client
from smsconsole.models import TransitionError
from tests.cloud_standin import CloudStandIn
from tests.sending_helpers import (  # noqa: F401 (fixture)
    counters,
    create_campaign,
    phones,
    rows_by_status,
    sending_redis,
)
from tests.test_gateway import InlineDatabase, run_until

APP_KEY, APP_SECRET = "appkey-of-the-remote-app", "app-secret-of-the-remote-app"


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Order ${1} shipped.")


def http_connection(base_url, template=None, name="cloud", secret=APP_SECRET, **fields):
    connection = ProviderConnection(
        name=name, kind=ProviderConnection.Kind.HTTP, base_url=base_url, app_key=APP_KEY, tps=0, window=4, **fields
    )
    connection.app_secret = secret
    connection.save()
    if template is not None:
        RemoteTemplate.objects.create(connection=connection, template=template, remote_template_id="remote-tpl-7")
    return connection


def launch(shop, template, connection, rows, settings):
    from campaigns.tasks import dispatch_campaign, plan_campaign

    settings.SMS_BATCH_SIZE = 1000
    campaign = create_campaign(shop, template, connection, rows, status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    dispatch_campaign(campaign.pk)
    return campaign


def run_gateway(connection, done, **options):
    options.setdefault("chunk_size", 3)
    gw = gateway.Gateway([connection], gateway_id="test", db=InlineDatabase(), poll_interval=0.05, **options)
    asyncio.run(run_until(gw, done))
    return gw


def post_report(client, connection, **fields):
    return client.post(
        reverse("campaigns:provider_status_reports", args=[connection.callback_token]),
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def test_a_campaign_goes_out_through_batch_send_sms_and_its_status_reports_deliver_it(
    client, shop, template, settings, sending_redis
):
    settings.CONSOLE_URL = "https://console.example.com/"
    with CloudStandIn(APP_KEY, APP_SECRET) as cloud:
        connection = http_connection(cloud.base_url, template)
        campaign = launch(shop, template, connection, phones(7), settings)
        run_gateway(connection, lambda: counters(campaign)["submitted"] == 7)

    # Same template and values: requests of the gateway's chunk (3), every number once, none refused.
    assert [len(fields["to"].split(",")) for fields in cloud.requests] == [3, 3, 1]
    assert sorted(cloud.numbers) == phones(7) and not cloud.refused
    first = cloud.requests[0]
    assert first["from"] == template.signature.channel_number and first["templateId"] == "remote-tpl-7"
    assert json.loads(first["templateParas"]) == ["A1"]
    assert first["statusCallback"] == f"https://console.example.com/provider-reports/{connection.callback_token}/"

    messages = list(Message.objects.filter(campaign=campaign).order_by("id"))
    assert all(m.status == "submitted" and m.provider_id.startswith("cloud-") for m in messages)
    for message in messages[:6]:
        assert (
            post_report(client, connection, smsMsgId=message.provider_id, status="DELIVRD", total="1").status_code
            == 200
        )
    response = post_report(client, connection, smsMsgId=messages[6].provider_id, status="UNDELIV", orgCode="MK:0005")
    assert response.json()["applied"] == 1

    assert rows_by_status(campaign)["delivered"] == 6 and rows_by_status(campaign)["failed"] == 1
    last = Message.objects.get(pk=messages[6].pk)
    assert (last.receipt_stat, last.error_code) == ("UNDELIV", "MK:0005")
    assert counters(campaign)["delivered"] == 6 and counters(campaign)["failed"] == 1
    assert lifecycle.reconcile(campaign.pk) == {}  # counters and hourly rows equal the rows


def test_per_number_codes_fail_lost_answers_are_unknown_and_nothing_is_sent_twice(
    shop, template, settings, sending_redis, monkeypatch
):
    monkeypatch.setattr(gateway, "RETRY_PAUSE", 0)
    numbers = phones(4)
    # Each row its own value, so each number is a request of its own and can be answered alone.
    rows = [(phone, [f"V{n}"]) for n, phone in enumerate(numbers)]
    answers = {numbers[1]: "E200028", numbers[2]: 503, numbers[3]: "close"}
    with CloudStandIn(APP_KEY, APP_SECRET, lambda number, fields: answers.get(number, "000000")) as cloud:
        connection = http_connection(cloud.base_url, template)
        campaign = launch(shop, template, connection, rows, settings)
        run_gateway(connection, lambda: Campaign.objects.get(pk=campaign.pk).status == "completed")

    by_phone = {m.phone: m for m in Message.objects.filter(campaign=campaign)}
    assert by_phone[numbers[0]].status == "submitted"
    assert (by_phone[numbers[1]].status, by_phone[numbers[1]].error_code) == ("failed", "E200028")
    assert by_phone[numbers[2]].status == "unknown"  # a 5xx: the request may have been taken
    assert by_phone[numbers[3]].status == "unknown"
    # Every number reached the stand-in exactly once: the unknown ones were not sent again.
    assert sorted(fields["to"] for fields in cloud.requests) == sorted(numbers)
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_wrong_app_secret_fails_the_messages_with_the_services_code(shop, template, settings, sending_redis):
    with CloudStandIn(APP_KEY, APP_SECRET) as cloud:
        connection = http_connection(cloud.base_url, template, secret="not the secret")
        campaign = launch(shop, template, connection, phones(2), settings)
        run_gateway(connection, lambda: Campaign.objects.get(pk=campaign.pk).status == "completed")
    assert {code for code, _detail in cloud.refused} == {"E000101"} and not cloud.numbers
    assert set(Message.objects.filter(campaign=campaign).values_list("status", "error_code")) == {("failed", "E000101")}


def test_launching_on_a_connection_with_no_remote_id_for_the_template_is_refused_before_anything_is_planned(
    shop, template
):
    connection = http_connection("https://cloud.example.com")  # no RemoteTemplate
    campaign = create_campaign(shop, template, connection, phones(2))
    with pytest.raises(TransitionError, match="no remote templateId for this template"):
        campaign.launch()
    with translation.override("zh-hans"), pytest.raises(TransitionError, match="远端模板"):
        campaign.schedule(timezone.now() + timedelta(hours=1))
    assert Campaign.objects.get(pk=campaign.pk).status == "draft" and not Message.objects.exists()
    RemoteTemplate.objects.create(connection=connection, template=template, remote_template_id="remote-tpl-7")
    campaign.launch()
    assert Campaign.objects.get(pk=campaign.pk).status == "running"


def test_a_scheduled_campaign_whose_remote_id_was_removed_fails_at_planning_with_that_reason(shop, template):
    from campaigns.tasks import plan_campaign

    connection = http_connection("https://cloud.example.com", template)
    campaign = create_campaign(shop, template, connection, phones(2))
    campaign.schedule(timezone.now() + timedelta(hours=1))
    RemoteTemplate.objects.filter(connection=connection).delete()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        campaign.launch()  # the beat's start: planning decides, so the campaign does not wait for ever
        plan_campaign(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == "failed" and "no remote templateId" in campaign.failure_reason
    assert not Message.objects.filter(campaign=campaign).exists()


def test_a_template_the_connection_lost_its_remote_id_for_after_planning_fails_with_that_reason_unsent(
    shop, template, settings, sending_redis
):
    with CloudStandIn(APP_KEY, APP_SECRET) as cloud:
        connection = http_connection(cloud.base_url, template)
        campaign = launch(shop, template, connection, phones(2), settings)
        RemoteTemplate.objects.filter(connection=connection).delete()  # removed while it sends
        run_gateway(connection, lambda: Campaign.objects.get(pk=campaign.pk).status == "completed")
    assert not cloud.requests
    assert set(Message.objects.filter(campaign=campaign).values_list("status", "error")) == {
        ("failed", cloud_client.NO_TEMPLATE_ERROR)
    }


# --- the receiver ---------------------------------------------------------------------------------


def submitted_message(shop, template, connection, provider_id):
    campaign = create_campaign(shop, template, connection, phones(1), status=Campaign.Status.RUNNING)
    from campaigns.tasks import plan_campaign

    plan_campaign(campaign.pk)
    message = Message.objects.get(campaign=campaign)
    lifecycle.claim(campaign.pk, [message.pk])
    lifecycle.record_submits(submitted=[(message.pk, provider_id)])
    return campaign, message


def test_an_unknown_report_marks_the_message_unknown_at_once_rather_than_waiting_for_the_expiry(
    client, shop, template, settings
):
    # The reference's pushed UNKNOWN is the carrier's last word: the outcome is not known, so the
    # message takes the product's state for ambiguous outcomes (never resent), with its report owed.
    settings.SMS_BATCH_SIZE = 1000
    connection = http_connection("https://cloud.example.com", template)
    campaign, message = submitted_message(shop, template, connection, "cloud-unk-1")
    response = post_report(client, connection, smsMsgId="cloud-unk-1", status="UNKNOWN", orgCode="ID:0099")
    assert response.json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.receipt_stat, message.error_code) == ("unknown", "UNKNOWN", "ID:0099")
    assert message.done_at is not None
    assert counters(campaign)["unknown"] == 1 and counters(campaign)["submitted"] == 0
    assert lifecycle.reconcile(campaign.pk) == {}


def test_reports_reach_only_the_connection_their_token_names(client, shop, template, settings):
    settings.SMS_BATCH_SIZE = 1000
    mine = http_connection("https://cloud-a.example.com", template, name="cloud-a")
    other = http_connection("https://cloud-b.example.com", name="cloud-b")
    campaign, message = submitted_message(shop, template, mine, "shared-id-1")

    # Another connection's token: the report cannot touch this connection's message.
    assert post_report(client, other, smsMsgId="shared-id-1", status="DELIVRD").json()["applied"] == 0
    assert Message.objects.get(pk=message.pk).status == "submitted"
    assert PendingReceipt.objects.filter(connection=other).count() == 1

    bad = client.post("/provider-reports/not-a-token/", urlencode({"smsMsgId": "shared-id-1", "status": "DELIVRD"}),
                      content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert bad.status_code == 404
    assert Message.objects.get(pk=message.pk).status == "submitted"

    batch = {"statusReportList": [{"smsMsgId": "shared-id-1", "status": "DELIVRD", "total": "1", "sequence": "1"}]}
    url = reverse("campaigns:provider_status_reports", args=[mine.callback_token])
    response = client.post(url, json.dumps(batch), content_type="application/json")
    assert response.status_code == 200 and response.json()["applied"] == 1
    assert Message.objects.get(pk=message.pk).status == "delivered"
    assert lifecycle.reconcile(campaign.pk) == {}


def test_a_report_that_cannot_be_read_is_refused_with_a_reason_and_changes_nothing(client, shop, template, settings):
    settings.SMS_BATCH_SIZE = 1000
    connection = http_connection("https://cloud-a.example.com", template)
    _campaign, message = submitted_message(shop, template, connection, "id-9")
    url = reverse("campaigns:provider_status_reports", args=[connection.callback_token])

    missing = post_report(client, connection, smsMsgId="id-9")
    assert missing.status_code == 400 and "smsMsgId and status" in missing.json()["description"]
    assert client.post(url, "{oops", content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405
    assert Message.objects.get(pk=message.pk).status == "submitted" and not PendingReceipt.objects.exists()


def test_an_smpp_connections_token_is_no_report_address(client, shop, template):
    smpp = ProviderConnection.objects.create(name="smsc", host="127.0.0.1", port=2775, system_id="x")
    response = post_report(client, smpp, smsMsgId="a", status="DELIVRD")
    assert response.status_code == 404


def test_add_http_connection_creates_the_connection_with_its_remote_templates_and_prints_its_report_url(
    template, settings
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.CONSOLE_URL = "https://console.example.com/"
    out = StringIO()
    call_command("add_http_connection", "cloud", "--base-url", "https://smsapi.example.com:443", "--app-key", "k1",
                 "--app-secret", "s1", "--from", "csms100000001", "--template", f"{template.pk}=tpl-remote",
                 "--window", "8", stdout=out)  # fmt: skip
    connection = ProviderConnection.objects.get(name="cloud")
    assert (connection.kind, connection.app_key, connection.app_secret, connection.window) == ("http", "k1", "s1", 8)
    assert connection.source_for(template.signature) == "csms100000001"
    assert connection.remote_template_id(template.pk) == "tpl-remote"
    assert f"https://console.example.com/provider-reports/{connection.callback_token}/" in out.getvalue()
    with pytest.raises(CommandError, match="LOCAL_ID=REMOTE_ID"):
        call_command("add_http_connection", "cloud", "--base-url", "https://x.example", "--app-key", "k",
                     "--app-secret", "s", "--template", "999999=x", stdout=StringIO())  # fmt: skip
    ProviderConnection.objects.create(name="smsc", host="127.0.0.1", port=2775, system_id="x")
    with pytest.raises(CommandError, match="SMPP"):
        call_command("add_http_connection", "smsc", "--base-url", "https://x.example", "--app-key", "k",
                     "--app-secret", "s", stdout=StringIO())  # fmt: skip


def test_a_long_message_has_one_sms_msg_id_and_is_delivered_by_the_report_of_its_last_segment(
    client, factories, shop, settings, sending_redis
):
    # Three segments (UCS-2): the remote service splits it and reports each segment under one smsMsgId.
    long_template = factories.create_template(shop, content="您的订单已经发货，请留意查收。" * 10, variables=[])
    with CloudStandIn(APP_KEY, APP_SECRET) as cloud:
        connection = http_connection(cloud.base_url, long_template)
        campaign = launch(shop, long_template, connection, phones(2), settings)
        run_gateway(connection, lambda: counters(campaign)["submitted"] == 2)
    assert "templateParas" not in cloud.requests[0]  # a template without variables sends none
    first, second = Message.objects.filter(campaign=campaign).order_by("id")
    assert first.segments == 3

    for sequence in ("1", "2"):
        post_report(client, connection, smsMsgId=first.provider_id, status="DELIVRD", total="3", sequence=sequence)
    assert Message.objects.get(pk=first.pk).status == "submitted"  # not all of it is there yet
    post_report(client, connection, smsMsgId=first.provider_id, status="DELIVRD", total="3", sequence="3")
    assert Message.objects.get(pk=first.pk).status == "delivered"

    # A segment that fails fails the message at once, with its code.
    post_report(client, connection, smsMsgId=second.provider_id, status="UNDELIV", total="3", sequence="1", orgCode="x")
    assert (Message.objects.get(pk=second.pk).status, Message.objects.get(pk=second.pk).error_code) == ("failed", "x")
    assert lifecycle.reconcile(campaign.pk) == {}
