from datetime import timedelta

import pytest
from django.core.files.base import ContentFile

from campaigns.importer import run_import
from campaigns.models import OptOut, Recipient, RecipientImport, RejectedRow
from sms.smpp.encoding import encode_text
from sms.text import render, split


@pytest.fixture
def order_template(factories, shop):
    return factories.create_template(
        shop, content="您的订单${1}已发货，收货人${2}。", variables=[("CHARDIGIT", 20), ("TEXT", 10)]
    )


def make_import(account, application, template, name, data, user=None):
    imp = RecipientImport(
        account=account, application=application, template=template, original_name=name, size=len(data)
    )
    imp.file.save(name, ContentFile(data), save=False)
    imp.save()
    return imp


def rejected(imp):
    return {r.row_number: r.reason for r in RejectedRow.objects.filter(recipient_import=imp)}


def test_a_clean_file_imports_every_row_with_its_variables(acme, shop, order_template):
    data = "phone,order,name\n13800138000,A100,张三\n+86 139 0013 9000,A101,李四\n".encode()
    imp = make_import(acme, shop, order_template, "list.csv", data)
    result = run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == "completed"
    assert imp.has_header is True
    assert (imp.rows_read, imp.accepted, imp.rejected) == (2, 2, 0)
    assert result["accepted"] == 2
    rows = list(Recipient.objects.filter(recipient_import=imp).order_by("row_number").values_list("phone", "variables"))
    assert rows == [("+8613800138000", ["A100", "张三"]), ("+8613900139000", ["A101", "李四"])]


def test_every_refused_row_is_reported_with_its_row_number_and_reason(acme, shop, order_template):
    data = (
        "13800138000,A100,张三\n"  # row 1: fine, no header
        "1.38001E+10,A101,李四\n"  # row 2: Excel destroyed the digits
        "12345,A102,王五\n"  # row 3: not a valid number
        "13900139000,,赵六\n"  # row 4: missing variable
        "13700137000,A-1,钱七\n"  # row 5: CHARDIGIT with a dash
        "13600136000,A105,见www.a.cn\n"  # row 6: a link in a TEXT variable
        "13800138000,A100,张三\n"  # row 7: exact duplicate of row 1
        "13800138000,A999,张三\n"  # row 8: same number, other variables
    ).encode()
    imp = make_import(acme, shop, order_template, "list.csv", data)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.has_header is False
    assert (imp.rows_read, imp.accepted, imp.rejected, imp.duplicates) == (8, 1, 7, 2)
    assert rejected(imp) == {
        2: "scientific_notation",
        3: "invalid_number",
        4: "missing_variable",
        5: "variable_invalid",
        6: "variable_link",
        7: "duplicate",
        8: "duplicate_different_variables",
    }
    assert imp.reason_counts["duplicate"] == 1
    row = RejectedRow.objects.get(recipient_import=imp, row_number=2)
    assert row.cells == ["1.38001E+10", "A101", "李四"]


def test_the_reject_number_policy_drops_every_row_of_a_conflicting_number(settings, acme, shop, order_template):
    settings.SMS_IMPORT_DUPLICATE_POLICY = "reject_number"
    data = "13800138000,A100,张三\n13800138000,A999,张三\n13900139000,A1,李四\n".encode()
    imp = make_import(acme, shop, order_template, "list.csv", data)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.accepted, imp.rejected) == (1, 2)
    assert set(rejected(imp).values()) == {"duplicate_different_variables"}


def test_numbers_on_the_opt_out_list_are_marked(acme, shop, order_template):
    OptOut.objects.create(account=acme, phone="+8613900139000")
    data = "13800138000,A1,张三\n13900139000,A2,李四\n".encode()
    imp = make_import(acme, shop, order_template, "list.csv", data)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.opted_out == 1
    assert list(Recipient.objects.filter(opted_out=True).values_list("phone", flat=True)) == ["+8613900139000"]


def test_segments_count_the_signature_and_the_variable_values(acme, shop, factories):
    template = factories.create_template(shop, content="Hi ${1}", variables=[("TEXT", 20)])
    data = b"13800138000,Ann\n13900139000," + ("x" * 20).encode() + b"\n"
    imp = make_import(acme, shop, template, "list.csv", data)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.segments == 2  # 【Acme】Hi Ann is one UCS-2 segment each, because of the 【】


def test_too_few_variable_columns_fail_the_file_before_any_row(acme, shop, order_template):
    imp = make_import(acme, shop, order_template, "list.csv", b"13800138000,A1\n13900139000,A2\n")
    run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == "failed"
    assert imp.error_code == "too_few_columns"
    assert not Recipient.objects.filter(recipient_import=imp).exists()


def test_a_file_over_the_row_limit_fails_before_any_work(settings, acme, shop):
    settings.SMS_IMPORT_MAX_ROWS = 3
    imp = make_import(acme, shop, None, "list.txt", b"13800138000\n" * 10)
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.error_code, imp.rows_read) == ("failed", "too_many_rows", 0)


def test_running_an_import_twice_imports_it_once(acme, shop):
    imp = make_import(acme, shop, None, "list.txt", b"13800138000\n13900139000\n")
    run_import(imp.pk)
    assert run_import(imp.pk) == {"import": imp.pk, "skipped": "completed"}
    assert Recipient.objects.filter(recipient_import=imp).count() == 2


def test_a_cancelled_import_keeps_no_rows(acme, shop):
    imp = make_import(acme, shop, None, "list.txt", b"13800138000\n")
    imp.cancel()
    assert run_import(imp.pk)["skipped"] == "cancelled"
    assert not Recipient.objects.filter(recipient_import=imp).exists()


def test_the_sweeper_fails_an_import_whose_worker_died_and_drops_its_rows(acme, shop, time_machine):
    from campaigns.tasks import sweep_stale_imports

    imp = make_import(acme, shop, None, "list.txt", b"13800138000\n")
    assert imp.claim()
    Recipient.objects.create(recipient_import=imp, row_number=1, phone="+8613800138000")
    time_machine.move_to(imp.progress_at + timedelta(minutes=16))
    assert sweep_stale_imports() == {"failed": 1}
    imp.refresh_from_db()
    assert (imp.status, imp.error_code) == ("failed", "interrupted")
    assert not Recipient.objects.filter(recipient_import=imp).exists()


def test_values_with_tabs_backslashes_and_quotes_survive_the_bulk_write(acme, shop, order_template):
    data = b'13800138000,A1,"b\\\\s ""q""\tz"\n12345,A2,"line\nbreak"\n'
    imp = make_import(acme, shop, order_template, "list.csv", data)
    run_import(imp.pk)
    recipient = Recipient.objects.get(recipient_import=imp)
    assert recipient.variables == ["A1", 'b\\\\s "q"\tz']
    assert RejectedRow.objects.get(recipient_import=imp).cells == ["12345", "A2", "line\nbreak"]


def test_an_xlsx_declaring_too_many_rows_fails_before_any_row_is_read(settings, acme, shop):
    import io

    from openpyxl import Workbook

    settings.SMS_IMPORT_MAX_ROWS = 3
    workbook = Workbook()
    for n in range(10):
        workbook.active.append([f"1380013800{n}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imp = make_import(acme, shop, None, "list.xlsx", buffer.getvalue())
    run_import(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.error_code, imp.rows_read) == ("failed", "too_many_rows", 0)


def test_a_rows_segments_are_the_parts_the_encoder_sends_its_message_in(acme, shop, factories):
    # 【Acme】 + 60 characters put the value's emoji across the end of the first part: 134 units
    # would be two parts by division (as "ab" is), but the surrogate pair cannot be split: three.
    template = factories.create_template(shop, content="验" * 60 + "${1}" + "验" * 66, variables=[("TEXT", 20)])
    imp = make_import(acme, shop, template, "list.csv", "13800138000,😀\n13900139000,ab\n".encode())

    run_import(imp.pk)

    stored = dict(Recipient.objects.filter(recipient_import=imp).values_list("phone", "segments"))
    sent = {
        phone: len(encode_text(render(split(template.content, "Acme"), [value])).chunks)
        for phone, value in [("+8613800138000", "😀"), ("+8613900139000", "ab")]
    }
    assert stored == sent == {"+8613800138000": 3, "+8613900139000": 2}
