"""In headless Chromium, in English and in Chinese: the operator finds a signature the carrier
refused, reads the carrier's reason, corrects the materials and files it again; once the carrier
approves, the signature can send and the campaign form offers it."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from templates_app.models import Signature
from tests.campaign_helpers import create_connection
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "营业执照已过期 / the business licence has expired"
TEXT = {
    "en": {
        "log_in": "Log in",
        "refused": "Rejected by the carrier",
        "correct": "Correct and resubmit",
        "resubmit": "Resubmit to the carrier",
        "filing": "Filing with the carrier",
        "approved": "Approved",
        "yes": "Yes",
    },
    "zh-hans": {
        "log_in": "登录",
        "refused": "实名报备失败",
        "correct": "修改并重新提交",
        "resubmit": "重新提交运营商报备",
        "filing": "实名报备中",
        "approved": "处理完毕",
        "yes": "是",
    },
}


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    return request.param


@pytest.fixture
def refused(factories, acme, shop, rita):
    expired = factories.create_qualification(acme, name="Expired licence")
    signature = factories.create_signature(
        shop,
        name="AcmeShop",
        status=Signature.Status.PENDING_REVIEW,
        qualification=expired,
        description="Order notices",
    )
    signature.approve(rita)
    signature.carrier_reject(rita, REASON)
    factories.create_qualification(acme, name="Renewed licence")
    create_connection()
    return signature


def signatures_offered_for_a_campaign(page, live_server, shop):
    """The signatures the campaign form offers for the shop, once htmx has reloaded the select."""
    page.goto(live_server.url + reverse("campaigns:campaign_create"))
    # Waiting for the options' response, so an empty select is the answer and not the page before it.
    with page.expect_response(lambda response: reverse("campaigns:campaign_options_signatures") in response.url):
        page.select_option("#id_application", str(shop.pk))
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)
    return [text.strip() for text in page.locator("#id_signature option").all_inner_texts() if "【" in text]


def test_a_signature_the_carrier_refused_is_corrected_and_filed_again(
    page, live_server, alice, rita, shop, refused, language
):
    text = TEXT[language]
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=text["log_in"], exact=True).click()

    page.goto(live_server.url + reverse("templates_app:signature_list"))
    row = page.locator("tr", has_text="【AcmeShop】")
    expect(row).to_contain_text(text["refused"])
    expect(row).to_contain_text(REASON)
    row.get_by_role("link", name="【AcmeShop】").click()

    expect(page.locator("#signature-banner")).to_contain_text(REASON)
    page.locator("#correct-signature").click()
    expect(page.locator("#id_name")).to_be_disabled()
    expect(page.locator("#id_type")).to_be_disabled()
    # Only approved qualifications go to the carrier; the renewed licence is one.
    page.select_option("#id_qualification", label="Renewed licence")
    page.fill("#id_description", "Order notices; the renewed licence is attached.")
    page.get_by_role("button", name=text["resubmit"]).click()

    expect(page.locator("h1 .status")).to_have_text(text["filing"])
    expect(page.locator("#can-send")).not_to_have_text(text["yes"])
    refused.refresh_from_db()
    assert (refused.status, refused.qualification.name, refused.name) == ("filing", "Renewed licence", "AcmeShop")
    detail = page.url
    assert signatures_offered_for_a_campaign(page, live_server, shop) == []

    # Staff record the carrier's approval on the review desk; the operator's page follows.
    refused.carrier_approve(rita, "10690123")
    page.goto(detail)
    expect(page.locator("h1 .status")).to_have_text(text["approved"])
    expect(page.locator("#can-send")).to_have_text(text["yes"])
    expect(page.locator("dd.mono")).to_have_text("10690123")
    expect(page.locator("#signature-banner")).to_have_count(0)
    [offered] = signatures_offered_for_a_campaign(page, live_server, shop)
    assert offered.startswith("【AcmeShop】")
