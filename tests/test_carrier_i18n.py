"""The carrier states, back-filling and arrears speak both languages: the reference's own Chinese
terms (处理完毕(待补充资质), 实名报备失败, 待激活) on the console and the review desk."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import arrears, money
from campaigns.models import Campaign
from templates_app.models import Signature
from tests.sending_helpers import create_campaign, create_connection, phones
from tests.test_i18n import english_msgids, switch_language, visible_texts

pytestmark = pytest.mark.django_db

S = Signature.Status


def page(client, name, *args):
    return client.get(reverse(name, args=args)).content.decode()


def no_english_left(html):
    english = english_msgids()
    return [text for text in visible_texts(html) if text.rstrip(":：") in english]


@pytest.fixture
def signatures(factories, shop):
    legacy = factories.create_signature(shop, name="Old")
    legacy.mark_legacy()
    return {
        "legacy": legacy,
        "refused": factories.create_signature(shop, name="Refused", status=S.FILING_FAILED, carrier_reason="执照过期"),
        "lapsed": factories.create_signature(shop, name="Lapsed", status=S.TO_BE_ACTIVATED),
    }


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Approved (qualification needed)",
                "Rejected by the carrier",
                "To be activated",
                "Attach a qualification",
                "needs its owner's qualification",
            ],
        ),
        ("zh-hans", ["处理完毕(待补充资质)", "实名报备失败", "待激活", "补充资质", "需补充资质"]),
    ],
)
def test_the_signature_list_names_the_carrier_states_in_each_language(alice_client, signatures, language, expected):
    switch_language(alice_client, language)
    html = page(alice_client, "templates_app:signature_list")
    for text in expected:
        assert text in html, text
    if language == "zh-hans":
        assert no_english_left(html) == []


@pytest.mark.parametrize("which", ["legacy", "refused", "lapsed"])
def test_the_signature_banners_are_chinese(alice_client, signatures, which):
    switch_language(alice_client, "zh-hans")
    html = page(alice_client, "templates_app:signature_detail", signatures[which].pk)
    assert 'id="signature-banner"' in html
    assert no_english_left(html) == []
    assert {"legacy": "实名报备要求实施之前", "refused": "运营商报备失败", "lapsed": "申请激活"}[which] in html


def test_arrears_read_in_chinese_on_the_campaign_page(alice_client, settings, factories, acme, shop, time_machine):
    settings.SMS_ARREARS_GRACE_HOURS = 0
    time_machine.move_to("2025-06-02 10:00:00+08:00", tick=False)
    template = factories.create_template(shop, content="Hello")
    campaign = create_campaign(
        shop, template, create_connection(), phones(1), status=Campaign.Status.RUNNING, funded=False
    )
    money.correct(acme, Decimal("-8"), "Correction")
    arrears.enforce()

    switch_language(alice_client, "zh-hans")
    html = page(alice_client, "campaigns:campaign_detail", campaign.pk)

    assert "已停止发送：账号欠费。" in html and "因账号欠费暂停" in html and "-8.00 元" in html
    assert no_english_left(html) == []


def test_the_review_desk_records_the_carriers_answer_in_chinese(client, rita, factories, shop):
    filing = factories.create_signature(shop, name="Filing", status=S.FILING)
    switch_language(client, "zh-hans")
    client.force_login(rita)

    change = page(client, "admin:templates_app_signature_change", filing.pk)
    changelist = page(client, "admin:templates_app_signature_changelist")

    assert "运营商报备通过" in change and "运营商报备失败" in change and "实名报备中" in change
    assert "等待运营商报备结果" in changelist and "将所选项标记为存量签名" in changelist
