"""The official send SDK (huaweicloudsdksmsapi from PyPI), unmodified, against a live server:
configured with the server's base URL and an application's app key and secret, it signs AK/SK
(SDK-HMAC-SHA256) as it does for the cloud, and batchSendSms and batchSendDiffSms are accepted,
their numbers queued as messages; a wrong secret is refused in the SDK's own exception."""

import pytest

from campaigns.models import ApiMessage, Message
from campaigns.status_reports import message_ref
from tests.sending_helpers import create_connection, fund, sending_redis  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def route(factories, shop, sending_redis, settings):  # noqa: F811
    settings.SMS_DEFAULT_CONNECTION = "simulator"
    create_connection("simulator")
    shop.launch()
    fund(shop.account)
    signature = factories.create_signature(shop, name="Acme", type="verification")
    code = factories.create_template(
        shop, signature=signature, type="verification", name="code", content="Your code is ${1}.",
        variables=[("CHARDIGIT", 6)],
    )  # fmt: skip
    welcome = factories.create_template(
        shop, signature=signature, type="verification", name="welcome", content="Welcome, ${1}: ${2}.",
        variables=[("CHARDIGIT", 10), ("CHARDIGIT", 6)],
    )  # fmt: skip
    return {"app": shop, "signature": signature, "code": code, "welcome": welcome}


def sdk(live_server, app_key, app_secret):
    from huaweicloudsdksmsapi.v1 import SMSApiClient
    from huaweicloudsdksmsapi.v1.smsapi_credentials import SMSApiCredentials

    return (
        SMSApiClient.new_builder()
        .with_credentials(SMSApiCredentials(app_key, app_secret))
        .with_endpoints([live_server.url])
        .build()
    )


def test_the_official_sdk_sends_batch_send_sms(live_server, route):
    from huaweicloudsdksmsapi.v1 import BatchSendSmsRequest, BatchSendSmsRequestBody

    app = route["app"]
    client = sdk(live_server, app.app_key, app.app_secret)
    response = client.batch_send_sms(
        BatchSendSmsRequest(
            body=BatchSendSmsRequestBody(
                _from=route["signature"].channel_number,
                to="+8613800138000,13900139000,12",
                template_id=str(route["code"].pk),
                template_paras='["123456"]',
                extend="order-7",
            )
        )
    )
    assert response.code == "000000"
    assert [(r.origin_to, r.status) for r in response.result] == [
        ("+8613800138000", "000000"),
        ("13900139000", "000000"),
        ("12", "E200031"),
    ]
    sent = Message.objects.filter(campaign__application=app).order_by("phone")
    assert [(m.phone, m.variables, m.via_api, m.campaign.template_id) for m in sent] == [
        ("+8613800138000", ["123456"], True, route["code"].pk),
        ("+8613900139000", ["123456"], True, route["code"].pk),
    ]
    by_phone = {m.phone: m for m in sent}
    assert [r.sms_msg_id for r in response.result] == [
        message_ref(by_phone["+8613800138000"].pk),
        message_ref(by_phone["+8613900139000"].pk),
        "",
    ]
    assert set(ApiMessage.objects.filter(message__in=sent).values_list("extend", flat=True)) == {"order-7"}


def test_the_official_sdk_sends_batch_send_diff_sms(live_server, route):
    from huaweicloudsdksmsapi.v1 import BatchSendDiffSmsRequest, BatchSendDiffSmsRequestBody, SmsContent

    app = route["app"]
    client = sdk(live_server, app.app_key, app.app_secret)
    response = client.batch_send_diff_sms(
        BatchSendDiffSmsRequest(
            body=BatchSendDiffSmsRequestBody(
                _from=route["signature"].channel_number,
                sms_content=[
                    SmsContent(to=["+8613800138000"], template_id=str(route["code"].pk), template_paras=["654321"]),
                    SmsContent(
                        to=["+8613900139000", "+8613700137000"],
                        template_id=str(route["welcome"].pk),
                        template_paras=["Li", "777777"],
                    ),
                ],
            )
        )
    )
    assert response.code == "000000"
    assert [(r.origin_to, r.status) for r in response.result] == [
        ("+8613800138000", "000000"),
        ("+8613900139000", "000000"),
        ("+8613700137000", "000000"),
    ]
    sent = Message.objects.filter(campaign__application=app).values_list("phone", "campaign__template", "variables")
    assert {phone: (template, values) for phone, template, values in sent} == {
        "+8613800138000": (route["code"].pk, ["654321"]),
        "+8613900139000": (route["welcome"].pk, ["Li", "777777"]),
        "+8613700137000": (route["welcome"].pk, ["Li", "777777"]),
    }


def test_a_wrong_secret_is_refused_in_the_sdks_own_exception(live_server, route):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdksmsapi.v1 import BatchSendSmsRequest, BatchSendSmsRequestBody

    client = sdk(live_server, route["app"].app_key, "not-the-secret")
    with pytest.raises(ClientRequestException) as error:
        client.batch_send_sms(
            BatchSendSmsRequest(
                body=BatchSendSmsRequestBody(
                    _from=route["signature"].channel_number, to="+8613800138000", template_id=str(route["code"].pk),
                    template_paras='["123456"]',
                )
            )
        )  # fmt: skip
    assert error.value.status_code == 401
    assert not Message.objects.filter(campaign__application=route["app"]).exists()
