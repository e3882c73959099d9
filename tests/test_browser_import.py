"""Uploading a recipient file and downloading its error report in headless Chromium.

Launch arguments for Debian's Chromium come from tests/conftest.py (`browser_type_launch_args`),
which skips these tests when /usr/bin/chromium is missing (fails them under REQUIRE_SERVICES=1).
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from campaigns.models import RecipientImport
from tests.factories import PASSWORD
from tests.import_helpers import create_import, create_order_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "phone,1,2\n"
    "13800138000,A100,张三\n"
    "13900139000,A101,李四\n"
    "1.38001E+10,A102,王五\n"
    "\"=cmd|' /C calc'!A0\",A103,赵六\n"
    "13800138000,A100,张三\n"
).encode()


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".who")).to_contain_text(username)


def test_an_operator_uploads_a_file_sees_the_summary_and_downloads_the_rejected_rows(
    page, live_server, factories, alice, shop
):
    template = create_order_template(factories, shop)
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("campaigns:import_create"))
    page.select_option("#id_application", str(shop.pk))
    page.select_option("#id_template", str(template.pk))
    # htmx swaps in the chosen template's columns and sample links.
    expect(page.locator("#sample-csv")).to_have_attribute(
        "href", reverse("campaigns:import_sample", args=[template.pk, "csv"])
    )
    page.set_input_files("#id_file", files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": FILE}])
    page.click("text=Upload and import")

    expect(page.locator("#import-summary")).to_contain_text(
        "Imported 2 numbers; removed 1 duplicate and 2 invalid; 2 segments"
    )
    expect(page.locator("#import-reasons")).to_contain_text("scientific notation (1.38E+10)")
    expect(page.locator("#rejected-rows tbody tr")).to_have_count(3)

    with page.expect_download() as download_info:
        page.click("#download-rejected-csv")
    download = download_info.value
    assert download.suggested_filename == "list-rejected.csv"
    data = open(download.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Reason,Detail,Number,${1},${2}"
    assert any(line.startswith("4,") and "1.38001E+10,A102,王五" in line for line in lines)
    assert any(line.startswith("5,") and "'=cmd|' /C calc'!A0" in line for line in lines)
    assert any(line.startswith("6,") and "+8613800138000" in line for line in lines)


def test_the_detail_page_follows_a_running_import_and_stops_polling_when_it_ends(
    page, live_server, factories, alice, acme, shop
):
    template = create_order_template(factories, shop)
    imp = create_import(acme, shop, template, data=b"13800138000,A1,x\n" * 10)
    imp.claim()
    RecipientImport.objects.filter(pk=imp.pk).update(rows_read=4, accepted=4)
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("campaigns:import_detail", args=[imp.pk]))
    expect(page.locator("#rows-read")).to_have_text("4")

    RecipientImport.objects.filter(pk=imp.pk).update(rows_read=8, accepted=7, rejected=1)
    expect(page.locator("#rows-read")).to_have_text("8")

    RecipientImport.objects.filter(pk=imp.pk).update(
        status=RecipientImport.Status.COMPLETED, rows_read=10, accepted=9, rejected=1, segments=9
    )
    expect(page.locator("#import-summary")).to_contain_text("Imported 9 numbers; removed 0 duplicates and 1 invalid")
    expect(page.locator("[hx-trigger]")).to_have_count(0)
