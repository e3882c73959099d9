"""The operator's flows of issue 8 in headless Chromium at 1024 px, in English and in Chinese:
the layout fits, forms follow the data, pages tell the truth, refusals are the console's pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaigns import importer
from campaigns.models import Campaign, Contact, ContactList
from tests.campaign_helpers import ORDER_FILE, create_connection, create_order_setup
from tests.factories import PASSWORD
from tests.import_helpers import create_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {
        "log_in": "Log in",
        "forbidden": "Not allowed",
        "campaign_from_file": "Create a campaign with this file",
        "save": "Save and continue",
        "name_source": "Each contact's name",
        "send_now": "Send now",
        "sending_now": "Sending now",
    },
    "zh-hans": {
        "log_in": "登录",
        "forbidden": "无权操作",
        "campaign_from_file": "用此文件创建群发任务",
        "save": "保存并继续",
        "name_source": "每个联系人的姓名",
        "send_now": "立即发送",
        "sending_now": "正在发送",
    },
}


@pytest.fixture(params=["en", "zh-hans"])
def language(request):
    return request.param


@pytest.fixture
def screen(page, live_server, language):
    """A 1024 x 768 browser that reads the console in `language`."""
    page.set_viewport_size({"width": 1024, "height": 768})
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    return page


def log_in(page, live_server, username, text):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=text["log_in"], exact=True).click()
    expect(page.locator(".who")).to_contain_text(username)


def settled(page):
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)


def test_the_header_fits_1024_px_with_a_long_account_name(screen, live_server, factories, language):
    account = factories.create_account("Hangzhou West Lake Very Long Trading Company Name Limited")
    factories.create_user("operator-with-a-long-user-name", account=account)
    log_in(screen, live_server, "operator-with-a-long-user-name", TEXT[language])
    logout = screen.locator(".topbar form.inline button")
    box = logout.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024
    assert screen.locator(".topbar").bounding_box()["height"] <= 44
    # Navigation lives in the sidebar, every link visible at once within the screen's height.
    links = screen.locator("nav.sidebar a")
    assert links.count() >= 10
    last = links.last.bounding_box()
    assert last["y"] + last["height"] <= 768


def test_a_read_only_member_gets_the_consoles_403_page(screen, live_server, acme, bob, language):
    log_in(screen, live_server, "bob", TEXT[language])
    response = screen.goto(live_server.url + reverse("campaigns:opt_out_import"))
    assert response.status == 403
    expect(screen.locator("h1")).to_have_text(TEXT[language]["forbidden"])
    expect(screen.locator("nav.sidebar")).to_be_visible()


def test_an_import_leads_to_a_campaign_whose_form_is_filled_in(
    screen, live_server, factories, acme, alice, shop, language
):
    create_connection()
    signature, template = create_order_setup(factories, shop)
    imp = create_import(acme, shop, template, name="orders.csv", data=ORDER_FILE)
    importer.run_import(imp.pk)
    log_in(screen, live_server, "alice", TEXT[language])
    screen.goto(live_server.url + reverse("campaigns:import_detail", args=[imp.pk]))
    screen.get_by_role("link", name=TEXT[language]["campaign_from_file"]).click()
    expect(screen.locator("#id_application")).to_have_value(str(shop.pk))
    expect(screen.locator("#id_signature")).to_have_value(str(signature.pk))
    expect(screen.locator("#id_template")).to_have_value(str(template.pk))
    expect(screen.locator("#id_audience")).to_have_value(f"import:{imp.pk}")
    expect(screen.locator("#per-recipient-help")).to_be_visible()


def test_a_contact_list_fills_a_variable_from_each_contacts_name(
    screen, live_server, factories, acme, alice, shop, language
):
    create_connection()
    signature, template = create_order_setup(factories, shop)
    customers = ContactList.objects.create(account=acme, name="VIP", field_names=["order"])
    Contact.objects.create(contact_list=customers, phone="+8613800138000", name="张三", fields={"order": "A100"})
    Contact.objects.create(contact_list=customers, phone="+8613800138001", name="李四", fields={"order": "A-1"})
    log_in(screen, live_server, "alice", TEXT[language])
    screen.goto(
        live_server.url + reverse("campaigns:campaign_create") + f"?application={shop.pk}"
        f"&signature={signature.pk}&template={template.pk}"
    )
    screen.fill("#id_name", "VIP notice")
    settled(screen)
    screen.select_option("#id_audience", f"list:{customers.pk}")
    expect(screen.locator("#id_src_1")).to_be_visible()
    settled(screen)
    screen.select_option("#id_src_1", "custom:order")
    expect(screen.locator("#id_var_1")).to_have_count(0)
    settled(screen)
    screen.select_option("#id_src_2", "name")
    expect(screen.locator("#id_var_2")).to_have_count(0)
    settled(screen)
    screen.get_by_role("button", name=TEXT[language]["save"]).click()
    # The list's values are checked like a file's rows; "A-1" is no CHARDIGIT and is reported.
    expect(screen.locator("#confirm-to-send")).to_have_text("1")
    expect(screen.locator("#confirm-not-fitting")).to_contain_text("1")
    expect(screen.locator("#confirm-launch")).to_have_text(TEXT[language]["send_now"])
    assert Campaign.objects.get().contact_list == customers


def test_the_template_forms_signatures_follow_the_application(
    screen, live_server, factories, acme, alice, shop, language
):
    other = factories.create_application(acme, "Other")
    ours = factories.create_signature(shop, name="Ours", type="notification")
    theirs = factories.create_signature(other, name="Theirs", type="notification")
    log_in(screen, live_server, "alice", TEXT[language])
    screen.goto(live_server.url + reverse("templates_app:template_create"))
    expect(screen.locator("#id_signature option")).to_have_count(1)  # none chosen: only the empty choice
    screen.select_option("#id_application", str(other.pk))
    expect(screen.locator(f'#id_signature option[value="{theirs.pk}"]')).to_have_count(1)
    expect(screen.locator(f'#id_signature option[value="{ours.pk}"]')).to_have_count(0)
    assert ours.pk != theirs.pk


def test_the_overview_shows_a_campaign_sending_now(screen, live_server, factories, acme, alice, shop, language):
    from django.utils import timezone

    connection = create_connection()
    signature, template = create_order_setup(factories, shop)
    imp = create_import(acme, shop, template, name="orders.csv", data=ORDER_FILE)
    importer.run_import(imp.pk)
    Campaign.objects.create(
        account=acme,
        application=shop,
        signature=signature,
        template=template,
        connection=connection,
        recipient_import=imp,
        name="Live one",
        status="running",
        total=4,
        queued=2,
        started_at=timezone.now(),
    )
    log_in(screen, live_server, "alice", TEXT[language])
    panel = screen.locator("#sending-now")
    expect(panel).to_contain_text(TEXT[language]["sending_now"])
    expect(panel).to_contain_text("Live one")
    expect(panel.locator(".status.running")).to_be_visible()
