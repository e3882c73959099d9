import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.importer import run_import
from campaigns.models import Recipient, RecipientImport, RejectedRow
from tests.import_helpers import add_rejected_rows, create_import, create_order_template

HOSTILE = "=cmd|' /C calc'!A0"
Status = RecipientImport.Status


def url(name, *args):
    return reverse(f"campaigns:{name}", args=args)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def order_template(factories, shop):
    return create_order_template(factories, shop)


@pytest.fixture
def finished(acme, shop, order_template):
    """A completed import with a hostile cell, a bad number and a duplicate among its rejected rows."""
    data = (
        "phone,1,2\n"
        "13800138000,A100,张三\n"
        "13900139000,A101,李四\n"
        f'"{HOSTILE}",A102,王五\n'
        "1.38001E+10,A103,赵六\n"
        "13800138000,A100,张三\n"
    ).encode()
    imp = create_import(acme, shop, order_template, data=data)
    run_import(imp.pk)
    imp.refresh_from_db()
    return imp


@pytest.fixture
def running(acme, shop, order_template):
    imp = create_import(acme, shop, order_template, data=b"13800138000,A1,x\n" * 100)
    imp.claim()
    RecipientImport.objects.filter(pk=imp.pk).update(rows_read=40, accepted=30, rejected=10, duplicates=2)
    imp.refresh_from_db()
    return imp


# --- List ------------------------------------------------------------------------------------------------


def test_the_list_shows_each_import_with_its_figures(alice_client, finished, acme, shop):
    create_import(acme, shop, None, name="numbers.txt")
    html = alice_client.get(url("import_list")).content.decode()
    assert "list.csv" in html and "numbers.txt" in html and "Order shipped" in html
    assert url("import_detail", finished.pk) in html
    assert "Completed" in html and "Waiting" in html


def test_the_list_pages_by_50_with_a_fixed_number_of_queries(alice_client, acme, shop, order_template):
    for i in range(3):
        create_import(acme, shop, order_template, name=f"f{i}.csv")
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url("import_list"))
    for i in range(3, 55):
        create_import(acme, shop, order_template, name=f"f{i}.csv")
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(url("import_list"))
    assert len(many) == len(few)
    page = response.context["page"]
    assert len(page.object_list) == 50 and page.paginator.num_pages == 2


def test_the_list_shows_only_the_accounts_imports(client, charlie, finished):
    client.force_login(charlie)
    assert "list.csv" not in client.get(url("import_list")).content.decode()


def test_a_read_only_member_sees_the_list_without_the_upload_button(client, bob, finished):
    client.force_login(bob)
    html = client.get(url("import_list")).content.decode()
    assert "list.csv" in html and url("import_create") not in html


# --- Progress --------------------------------------------------------------------------------------------


def test_a_running_import_polls_its_progress_every_second(alice_client, running):
    html = alice_client.get(url("import_detail", running.pk)).content.decode()
    assert f'hx-get="{url("import_progress", running.pk)}"' in html
    assert 'hx-trigger="every 1s"' in html and 'hx-swap="outerHTML"' in html
    assert '<dd id="rows-read">40</dd>' in html and '<dd id="rows-rejected">10</dd>' in html
    assert url("import_cancel", running.pk) in html


def test_the_progress_partial_shows_the_counts_and_an_estimated_percentage(alice_client, running):
    response = alice_client.get(url("import_progress", running.pk))
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert '<dd id="rows-accepted">30</dd>' in html and '<dd id="rows-duplicates">2</dd>' in html
    assert '<progress id="import-bar" max="100" value="40"' in html


def test_a_waiting_import_shows_an_indeterminate_bar(alice_client, acme, shop):
    imp = create_import(acme, shop)
    html = alice_client.get(url("import_progress", imp.pk)).content.decode()
    assert '<progress id="import-bar" style="width: 100%; max-width: 560px"></progress>' in html
    assert 'hx-trigger="every 1s"' in html


def test_the_progress_partial_stops_polling_and_shows_the_result_once_finished(alice_client, finished):
    html = alice_client.get(url("import_progress", finished.pk)).content.decode()
    assert "hx-trigger" not in html and "hx-get" not in html
    assert "Imported 2 numbers; removed 1 duplicate and 2 invalid; 2 segments" in html
    assert url("import_rejected_download", finished.pk, "csv") in html


def test_progress_figures_come_from_the_import_row_not_from_counting_recipients(alice_client, running, finished):
    for imp in (running, finished):
        with CaptureQueriesContext(connection) as queries:
            alice_client.get(url("import_detail", imp.pk))
            alice_client.get(url("import_progress", imp.pk))
        assert not [q for q in queries if '"campaigns_recipient"' in q["sql"]]


# --- Result ------------------------------------------------------------------------------------------------


def test_the_summary_reads_like_the_cloud_console(alice_client, acme, shop, order_template):
    imp = create_import(
        acme,
        shop,
        order_template,
        status=Status.COMPLETED,
        rows_read=10_000,
        accepted=9_500,
        rejected=500,
        duplicates=300,
        opted_out=120,
        segments=10_400,
    )
    html = alice_client.get(url("import_detail", imp.pk)).content.decode()
    assert (
        "Imported 9,500 numbers; removed 300 duplicates and 200 invalid; 120 are on the opt-out list; 10,400 segments"
        in html
    )


def test_the_result_counts_rows_by_reason_with_their_messages(alice_client, finished):
    response = alice_client.get(url("import_detail", finished.pk))
    html = response.content.decode()
    assert "scientific notation (1.38E+10)" in html
    assert "The number cell holds something other than a phone number." in html
    assert "The same number and values as an earlier row" in html
    assert finished.reason_counts == {"scientific_notation": 1, "duplicate": 1, "not_a_number": 1}
    assert [r["code"] for r in response.context["reasons"]] == ["duplicate", "not_a_number", "scientific_notation"]


def test_the_first_20_rejected_rows_are_shown_with_row_number_cells_and_reason(alice_client, acme, shop):
    imp = create_import(acme, shop, status=Status.COMPLETED, rejected=25, reason_counts={"invalid_number": 25})
    add_rejected_rows(imp, [(n, [f"bad{n:02d}", "<b>x</b>"], "invalid_number") for n in range(1, 26)])
    response = alice_client.get(url("import_detail", imp.pk))
    html = response.content.decode()
    assert len(response.context["rejected_rows"]) == 20
    assert "<code>bad20</code>" in html and "bad21" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "The first 20 rejected rows" in html


def test_a_failed_import_shows_its_translated_message_with_params(alice_client, acme, shop, order_template):
    imp = create_import(acme, shop, order_template, data=b"13800138000\n")
    run_import(imp.pk)
    html = alice_client.get(url("import_detail", imp.pk)).content.decode()
    assert "The template needs 3 columns (the number and its variables) but the file has 1." in html
    assert "hx-trigger" not in html


def test_a_failure_with_a_row_says_where(alice_client, acme, shop):
    imp = create_import(acme, shop, status=Status.FAILED, error_code="encoding", error_params={"row": 1204})
    html = alice_client.get(url("import_detail", imp.pk)).content.decode()
    assert "save it as CSV UTF-8. The problem is at row 1,204." in html


def test_a_cancelled_import_says_nothing_was_kept(alice_client, acme, shop):
    imp = create_import(acme, shop, status=Status.CANCELLED)
    html = alice_client.get(url("import_detail", imp.pk)).content.decode()
    assert "none of its rows were kept" in html and "hx-trigger" not in html


# --- Cancel ------------------------------------------------------------------------------------------------


def test_cancelling_a_running_import_stops_it_and_discards_its_rows(
    alice_client, running, django_capture_on_commit_callbacks
):
    Recipient.objects.create(recipient_import=running, row_number=1, phone="+8613800138000")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url("import_cancel", running.pk), follow=True)
    running.refresh_from_db()
    assert running.status == "cancelled"
    assert not Recipient.objects.filter(recipient_import=running).exists()
    assert "The import was cancelled; none of its rows were kept." in messages_of(response)


def test_cancelling_a_finished_import_explains_why_not(alice_client, finished):
    response = alice_client.post(url("import_cancel", finished.pk), follow=True)
    finished.refresh_from_db()
    assert finished.status == "completed"
    assert messages_of(response) == ["This import has already finished."]


def test_cancel_only_answers_post(alice_client, running):
    assert alice_client.get(url("import_cancel", running.pk)).status_code == 405


# --- Rejected-row downloads ------------------------------------------------------------------------------


def test_the_rejected_rows_download_as_csv_with_a_bom_and_neutralised_formulas(alice_client, finished):
    response = alice_client.get(url("import_rejected_download", finished.pk, "csv"))
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="list-rejected.csv"' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Reason", "Detail", "Number", "${1}", "${2}"]
    by_row = {row[0]: row for row in rows[1:]}
    assert set(by_row) == {"4", "5", "6"}
    assert by_row["4"][3] == "'" + HOSTILE
    assert by_row["5"][1].startswith("The number was shown in scientific notation")
    assert by_row["5"][3:] == ["1.38001E+10", "A103", "赵六"]
    assert by_row["6"][2] == "+8613800138000"


def test_the_rejected_rows_download_as_xlsx_with_every_cell_as_text(alice_client, finished):
    response = alice_client.get(url("import_rejected_download", finished.pk, "xlsx"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="list-rejected.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == ["Row", "Reason", "Detail", "Number", "${1}", "${2}"]
    hostile = next(row for row in rows[1:] if row[0].value == "4")
    # A text cell is never evaluated, so it keeps its text exactly, without the CSV apostrophe.
    assert hostile[3].value == HOSTILE
    assert {c.data_type for row in rows for c in row if c.value is not None} == {"s"}


def test_rejected_rows_are_not_offered_before_the_import_completes(alice_client, running):
    assert alice_client.get(url("import_rejected_download", running.pk, "csv")).status_code == 404


def test_an_unknown_download_format_is_not_found(alice_client, finished):
    assert alice_client.get(url("import_rejected_download", finished.pk, "pdf")).status_code == 404


def test_the_rejected_rows_of_a_file_with_only_good_rows_offer_no_download_link(alice_client, acme, shop):
    imp = create_import(acme, shop, status=Status.COMPLETED, accepted=1, rows_read=1)
    html = alice_client.get(url("import_detail", imp.pk)).content.decode()
    assert "download-rejected" not in html and "Imported 1 number;" in html


# --- Tenancy and roles ---------------------------------------------------------------------------------------


OBJECT_URLS = [
    ("import_detail",),
    ("import_progress",),
    ("import_rejected_download", "csv"),
    ("import_rejected_download", "xlsx"),
]


@pytest.mark.parametrize("name_and_args", OBJECT_URLS)
def test_another_account_gets_404_on_every_import_url(client, charlie, finished, name_and_args):
    client.force_login(charlie)
    name, *extra = name_and_args
    assert client.get(url(name, finished.pk, *extra)).status_code == 404


def test_another_account_gets_404_when_cancelling(client, charlie, running):
    client.force_login(charlie)
    assert client.post(url("import_cancel", running.pk)).status_code == 404
    running.refresh_from_db()
    assert running.status == "running"


@pytest.mark.parametrize("name_and_args", OBJECT_URLS)
def test_a_read_only_member_may_view_and_download(client, bob, finished, name_and_args):
    client.force_login(bob)
    name, *extra = name_and_args
    assert client.get(url(name, finished.pk, *extra)).status_code == 200


def test_a_read_only_member_cannot_cancel_and_sees_no_cancel_button(client, bob, running):
    client.force_login(bob)
    assert url("import_cancel", running.pk) not in client.get(url("import_detail", running.pk)).content.decode()
    assert client.post(url("import_cancel", running.pk)).status_code == 403
    running.refresh_from_db()
    assert running.status == "running"


def test_pages_need_a_login(client, finished):
    response = client.get(url("import_detail", finished.pk))
    assert response.status_code == 302 and "/login" in response.url


def test_the_rejected_rows_stay_with_their_import(finished):
    assert RejectedRow.objects.filter(recipient_import=finished).count() == finished.rejected == 3


def test_the_list_shows_no_accepted_rows_for_a_cancelled_import(alice_client, acme, shop, order_template):
    imp = create_import(acme, shop, order_template, name="big.csv")
    RecipientImport.objects.filter(pk=imp.pk).update(status=Status.CANCELLED, accepted=80000, rows_read=80000)
    html = alice_client.get(url("import_list")).content.decode()
    assert "big.csv" in html and "80,000" not in html and "<td>—</td><td>—</td>" in html


def test_a_completed_import_shows_no_progress(alice_client, finished):
    html = alice_client.get(url("import_progress", finished.pk)).content.decode()
    assert "Completed" in html
    assert "hx-trigger" not in html and 'id="import-bar"' not in html and "Cancel import" not in html
