import re

import pytest
from django.conf import settings
from django.urls import reverse

from templates_app.models import Template

URL = reverse("templates_app:template_preview")


def figures(response):
    html = response.content.decode()
    return tuple(
        re.search(rf'id="preview-{name}">\s*([^<\s]+)', html).group(1) for name in ("length", "segments", "encoding")
    )


@pytest.fixture
def huawei(factories, shop):
    # The reference's own example signature: "【华为云】" is 5 characters.
    return factories.create_signature(shop, name="华为云", type="notification")


def preview(client, content, signature=None, **extra):
    data = {"content": content, "type": "notification", "signature": signature.pk if signature else "", **extra}
    return client.post(URL, data)


@pytest.mark.parametrize("total, segments", [(68, "1"), (134, "2"), (135, "3")])
def test_chinese_text_counts_70_then_67_a_segment_with_the_signature(alice_client, huawei, total, segments):
    response = preview(alice_client, "通" * (total - 5), huawei)
    assert response.status_code == 200
    assert figures(response) == (str(total), segments, "UCS-2")


@pytest.mark.parametrize("total, segments", [(158, "1"), (164, "2"), (320, "3")])
def test_gsm_text_counts_160_then_153_a_segment(alice_client, total, segments):
    # A universal template has no signature until it is sent, so plain GSM-7 text stays GSM-7.
    response = preview(alice_client, "a" * total, universal="on")
    assert figures(response) == (str(total), segments, "GSM-7")


def test_the_signature_brackets_count_and_make_latin_text_ucs2(factories, alice_client, shop):
    acme = factories.create_signature(shop, name="Acme", type="notification")
    # 152 + len("【Acme】") = 158: one GSM-7 segment without the signature, three UCS-2 ones with it.
    response = preview(alice_client, "a" * 152, acme)
    assert figures(response) == ("158", "3", "UCS-2")
    assert "【Acme】" in response.content.decode()


def test_variables_count_at_their_maximum_length_and_show_as_labels(alice_client, huawei):
    response = preview(
        alice_client,
        "订单${1}已发货，客服${PHONE}",
        huawei,
        **{
            "var-1-label": "1",
            "var-1-attribute": "CHARDIGIT",
            "var-1-max_length": "10",
        },
    )
    html = response.content.decode()
    # 5 (signature) + 2 + 10 + 6 + 15 (the PHONE default)
    assert figures(response) == ("38", "1", "UCS-2")
    assert '<mark class="variable">${1}</mark>' in html
    assert '<mark class="variable">${PHONE}</mark>' in html
    assert "Code or number (letters and digits)" in html
    assert "Phone number" in html


def test_problems_so_far_are_listed(alice_client, huawei):
    response = preview(alice_client, "尊敬的${1}${2}【活动】", huawei)
    html = response.content.decode()
    assert "Separate the variables in “${1}${2}” with text; spaces do not count." in html
    assert "Remove 【】 from the content: brackets are reserved for the signature." in html


def test_type_specific_problems_follow_the_chosen_type(alice_client, shop, factories):
    code_signature = factories.create_signature(shop, name="Acme", type="verification")
    response = alice_client.post(
        URL, {"content": "您的号码是${1}", "type": "verification", "signature": code_signature.pk}
    )
    assert "A verification template must contain" in response.content.decode()


def test_the_variable_rows_are_sent_out_of_band_only_when_the_variables_change(alice_client, huawei):
    changed = preview(alice_client, "订单${1}已发货", huawei).content.decode()
    assert 'id="template-variables" hx-swap-oob="innerHTML"' in changed
    assert 'name="var-1-attribute"' in changed
    same = preview(alice_client, "订单${1}已发货了", huawei, **{"var-1-label": "1"}).content.decode()
    assert "hx-swap-oob" not in same


def test_the_preview_never_saves(alice_client, huawei):
    preview(alice_client, "订单${1}已发货", huawei, name="x", application=huawei.application_id)
    assert Template.objects.count() == 0


def test_the_preview_does_not_reveal_another_accounts_signature(client, charlie, factories, shop):
    secret = factories.create_signature(shop, name="AcmeSecret", type="notification")
    client.force_login(charlie)
    response = preview(client, "订单已发货", secret)
    assert response.status_code == 200
    assert "AcmeSecret" not in response.content.decode()
    assert figures(response) == ("5", "1", "UCS-2")


def test_the_preview_answers_only_posts(alice_client):
    assert alice_client.get(URL).status_code == 405


def test_the_preview_sends_anonymous_visitors_to_log_in(client):
    response = client.post(URL, {"content": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_read_only_member_may_not_preview(client, bob, huawei):
    # Only operators type templates; the preview is part of the form they type in.
    client.force_login(bob)
    assert preview(client, "通" * 63, huawei).status_code == 403


def test_a_huge_maximum_length_is_counted_without_building_the_text(alice_client, huawei):
    # 999999999 used to allocate a 1 GB string per variable; now it is a number added to a count.
    response = preview(
        alice_client,
        "Order ${1} for ${2}",
        huawei,
        **{"var-1-label": "1", "var-1-max_length": "999999999", "var-2-label": "2", "var-2-max_length": "999999999"},
    )
    assert response.status_code == 200
    length, segments, encoding = figures(response)
    assert int(length) == len("【华为云】Order  for ") + 2 * 999999999
    assert "must be 1 to 20" in response.content.decode()


@pytest.mark.parametrize("value", ["1" * 5000, "²", "-5", "1e9"])
def test_a_maximum_length_that_is_no_number_falls_back_to_the_default(alice_client, huawei, value):
    response = preview(alice_client, "Order ${1}", huawei, **{"var-1-label": "1", "var-1-max_length": value})
    assert response.status_code == 200
    assert figures(response)[0] == str(len("【华为云】Order ") + 20)


def test_an_empty_content_shows_a_hint_and_no_figures(alice_client, huawei):
    html = preview(alice_client, "", huawei).content.decode()
    assert "Type the content to see the message" in html
    assert "preview-length" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_preview_follows_typing_in_a_browser(page, live_server, client, alice, huawei):
    from playwright.sync_api import expect

    client.force_login(alice)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.goto(live_server.url + reverse("templates_app:template_create"))
    page.select_option("#id_type", "notification")
    page.select_option("#id_signature", str(huawei.pk))
    page.fill("#id_content", "通" * 60 + "${PHONE}")
    # 5 for 【华为云】, 60, and 15 for the phone number at its maximum length.
    expect(page.locator("#preview-length")).to_have_text("80")
    expect(page.locator("#preview-segments")).to_have_text("2")
    # The variable's row arrived with the preview, with the attribute its label names.
    expect(page.locator("#id_var-1-attribute")).to_have_value("PHONE")
    page.fill("#id_var-1-max_length", "5")
    page.locator("#id_var-1-max_length").dispatch_event("change")
    expect(page.locator("#preview-length")).to_have_text("70")
    expect(page.locator("#preview-segments")).to_have_text("1")
    page.fill("#id_name", "service_notice")
    page.click("button[name=submit_for_review]")
    expect(page.locator("h1")).to_contain_text("service_notice")
    template = Template.objects.get()
    assert template.status == "pending_review"
    assert [(v.attribute, v.max_length) for v in template.variables.all()] == [("PHONE", 5)]


def test_the_preview_says_when_the_signature_is_not_the_applications(alice_client, factories, acme, shop, huawei):
    other_app = factories.create_application(acme, "Other")
    response = preview(alice_client, "您的订单已发货，请注意查收。", huawei, application=other_app.pk)
    html = response.content.decode()
    assert "Choose a signature of the template&#x27;s application." in html
    assert "No problems found" not in html


def test_the_signature_select_follows_the_chosen_application(alice_client, factories, acme, shop, huawei):
    other_app = factories.create_application(acme, "Other")
    theirs = factories.create_signature(other_app, name="Theirs", type="notification")
    html = alice_client.get(
        reverse("templates_app:template_signature_options"), {"application": other_app.pk}
    ).content.decode()
    assert 'id="field-signature"' in html
    assert f'value="{theirs.pk}"' in html and f'value="{huawei.pk}"' not in html


def test_the_preview_refuses_a_short_link_in_english_and_in_chinese(alice_client, huawei):
    content = "订单已发货，详见 http://bit.ly/x 查看"
    english = preview(alice_client, content, huawei).content.decode()
    assert "“http://bit.ly/x” is a short link" in english

    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = preview(alice_client, content, huawei).content.decode()
    assert "“http://bit.ly/x”是短链接" in chinese
