"""End to end in a real browser, in English and in Chinese: an operator applies for a qualification,
a signature and a template, a reviewer approves all three in the admin, and the operator sees the
channel number and the active template."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from sms.text import count_segments
from templates_app.models import Qualification, Signature, Template
from tests.factories import PASSWORD, PNG_1X1

CONTENT = "您的订单${1}已发货，预计三日内送达，请留意查收。如有疑问请联系在线客服，感谢您的支持。"

# What each language shows, as a reader of that language would look for it on the page.
TEXT = {
    "en": {
        "log_in": "Log in",
        "log_out": "Log out",
        "submit_for_review": "Submit for review",
        "save_draft": "Save draft",
        "qualification_submitted": "The qualification was submitted for review.",
        "signature_submitted": "The signature was submitted for review.",
        "template_saved": "Template “order_shipped” saved.",
        "template_submitted": "Template submitted for review.",
        "pending": "Pending review",
        "draft": "Draft",
        "approved_one": "1 item approved.",
        "approved": "Approved",
        "carrier_approved": "The carrier approved",
        "record_approval": "Record the approval",
        "recorded_one": "1 signature recorded as approved by the carrier.",
        "active": "Approved (active)",
        "signatures": "Signatures",
        "templates": "Templates",
        "channel_number": "Channel number",
    },
    "zh-hans": {
        "log_in": "登录",
        "log_out": "退出登录",
        "submit_for_review": "提交审核",
        "save_draft": "保存草稿",
        "qualification_submitted": "资质已提交审核。",
        "signature_submitted": "签名已提交审核。",
        "template_saved": "模板“order_shipped”已保存。",
        "template_submitted": "模板已提交审核。",
        "pending": "待审核",
        "draft": "待提交",
        "approved_one": "已审核通过 1 项。",
        "approved": "处理完毕",
        "carrier_approved": "运营商报备通过",
        "record_approval": "记录报备通过",
        "recorded_one": "已记录 1 个签名运营商报备通过。",
        "active": "审核通过-激活",
        "signatures": "签名管理",
        "templates": "模板管理",
        "channel_number": "通道号",
    },
}


@pytest.fixture
def documents(tmp_path):
    """Four small real PNGs, named as a scanner would, for the qualification's upload fields."""
    paths = {}
    for field in ("business_licence", "legal_person_id", "handler_id_front", "handler_id_back"):
        path = tmp_path / f"{field}.png"
        path.write_bytes(PNG_1X1)
        paths[field] = path
    return paths


def switch_language(page, language):
    page.locator(f"#lang-{language}").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(f"#lang-{language}")).to_have_attribute("aria-current", "true")


def console_login(page, live_server, text, username):
    page.goto(live_server.url + reverse("login"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=text["log_in"], exact=True).click()
    expect(page.locator(".topbar .who")).to_contain_text(username)


def approve_in_admin(page, live_server, text, model, pk):
    """Ticks one row of the pending queue, runs "approve_selected" and waits for the confirmation."""
    page.goto(live_server.url + reverse(f"admin:templates_app_{model}_changelist"))
    page.locator(f'input[name="_selected_action"][value="{pk}"]').check()
    page.locator('select[name="action"]').select_option("approve_selected")
    page.locator('button[name="index"]').click()
    expect(page.locator("ul.messagelist li.success")).to_have_text(text["approved_one"])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_application_goes_through_review_in_the_browser(
    page, live_server, factories, acme, alice, shop, rita, documents, tmp_path, language
):
    text = TEXT[language]
    factories.create_contact(acme, name="Ops", email="ops@example.com")

    # The operator chooses a language on the login page; the choice is a cookie and outlives the session.
    page.goto(live_server.url + reverse("login"))
    switch_language(page, language)
    console_login(page, live_server, text, "alice")

    # A qualification, with its four documents uploaded as files.
    page.goto(live_server.url + reverse("templates_app:qualification_create"))
    page.locator("#id_name").fill("Acme filing")
    page.locator("#id_company_name").fill("Acme Ltd")
    page.locator("#id_credit_code").fill("91330100MA2XXXXX1X")
    for field, path in documents.items():
        page.locator(f"#id_{field}").set_input_files(path)
    page.get_by_role("button", name=text["submit_for_review"], exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text(text["qualification_submitted"])
    expect(page.locator("h1")).to_contain_text("Acme filing")
    expect(page.locator(".status.pending_review").first).to_have_text(text["pending"])
    qualification = Qualification.objects.get(account=acme, name="Acme filing")
    assert qualification.business_licence.name.endswith("business_licence.png")

    # A signature that uses it, applied for while the qualification is still in review.
    page.goto(live_server.url + reverse("templates_app:signature_create"))
    page.locator("#id_application").select_option(str(shop.pk))
    page.locator("#id_name").fill("AcmeShop")
    page.locator("#id_type").select_option("notification")
    page.locator("#id_source").select_option("enterprise")
    page.locator("#id_qualification").select_option(str(qualification.pk))
    page.get_by_role("button", name=text["submit_for_review"], exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text(text["signature_submitted"])
    expect(page.locator("h1")).to_contain_text("【AcmeShop】")
    signature = Signature.objects.get(application=shop, name="AcmeShop")

    # A template, typed into the form while the live preview counts its length and segments.
    page.goto(live_server.url + reverse("templates_app:template_create"))
    page.locator("#id_type").select_option("notification")
    page.locator("#id_signature").select_option(str(signature.pk))
    page.locator("#id_name").fill("order_shipped")
    page.locator("#id_content").press_sequentially(CONTENT)
    max_length = page.locator("#id_var-1-max_length")
    expect(max_length).to_have_value(re.compile(r"^\d+$"))
    # The preview counts a variable at its maximum length, which the preview shows as zeros.
    expected = count_segments("【AcmeShop】" + CONTENT.replace("${1}", "0" * int(max_length.input_value())))
    assert expected.segments == 2
    expect(page.locator("#preview-length")).to_have_text(str(expected.length))
    expect(page.locator("#preview-segments")).to_have_text(str(expected.segments))
    expect(page.locator("#preview-encoding")).to_contain_text("UCS-2")
    expect(page.locator("#template-preview .preview mark.variable")).to_have_count(1)
    page.screenshot(path=tmp_path / f"template-form-{language}.png", full_page=True)
    page.get_by_role("button", name=text["save_draft"], exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text(text["template_saved"])
    expect(page.locator("h1 .status")).to_have_text(text["draft"])
    page.get_by_role("button", name=text["submit_for_review"], exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text(text["template_submitted"])
    expect(page.locator("h1 .status")).to_have_text(text["pending"])
    template = Template.objects.get(application=shop, name="order_shipped")
    assert template.status == Template.Status.PENDING_REVIEW

    page.get_by_role("button", name=text["log_out"], exact=True).click()
    expect(page.locator("#id_username")).to_be_visible()

    # The reviewer decides in the admin, in the same language: qualification, then signature, then template.
    page.goto(live_server.url + reverse("admin:login") + "?next=" + reverse("admin:index"))
    page.locator("#id_username").fill("rita")
    page.locator("#id_password").fill(PASSWORD)
    page.locator('#login-form [type="submit"]').click()
    expect(page.locator("#logout-form")).to_be_attached()
    approve_in_admin(page, live_server, text, "qualification", qualification.pk)
    approve_in_admin(page, live_server, text, "signature", signature.pk)
    # Content approval files the signature with the carrier; its answer is recorded on the signature's page.
    page.goto(live_server.url + reverse("admin:templates_app_signature_change", args=[signature.pk]))
    page.locator("#carrier-answer").get_by_role("link", name=text["carrier_approved"], exact=True).click()
    page.get_by_role("button", name=text["record_approval"], exact=True).click()
    expect(page.locator("ul.messagelist li.success")).to_have_text(text["recorded_one"])
    approve_in_admin(page, live_server, text, "template", template.pk)
    page.locator("#logout-form button").click()

    # Each decision was mailed to the account's notification contact.
    assert [m.to for m in mail.outbox] == [["ops@example.com"]] * 4

    # Back in the console, the operator sees the channel number and the active template.
    console_login(page, live_server, text, "alice")
    page.locator("nav.mainnav").get_by_role("link", name=text["signatures"], exact=True).click()
    page.get_by_role("link", name="【AcmeShop】").click()
    expect(page.locator("h1 .status.approved")).to_have_text(text["approved"])
    channel_number = page.locator("dl.props dt", has_text=text["channel_number"]).locator(
        "xpath=following-sibling::dd[1]"
    )
    expect(channel_number).to_have_text(re.compile(r"^1069\d{8}$"))
    screenshot = tmp_path / f"signature-{language}.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.exists() and screenshot.stat().st_size > 0

    page.locator("nav.mainnav").get_by_role("link", name=text["templates"], exact=True).click()
    row = page.locator(f"#template-{template.pk}")
    expect(row.locator(".status.active")).to_have_text(text["active"])
    row.get_by_role("link", name="order_shipped").click()
    expect(page.locator("h1 .status.active")).to_have_text(text["active"])

    signature.refresh_from_db()
    assert re.fullmatch(r"1069\d{8}", signature.channel_number)
