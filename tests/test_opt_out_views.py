from datetime import UTC

import pytest
from django.urls import reverse

from campaigns.models import ListImport, OptOut
from smsconsole.models import AuditLog
from tests.contact_helpers import FORMULA, create_opt_out, csv_upload, streamed_text, xlsx_rows, xlsx_upload


def url(name, *args):
    return reverse(f"campaigns:{name}", args=args)


def errors_of(response, field):
    return [str(error) for error in response.context["form"].errors.get(field, [])]


# --- List and search ---------------------------------------------------------------------------------


def test_the_list_shows_number_source_and_note(alice_client, acme):
    create_opt_out(acme, "+8613800138000", note="Complained by phone")
    create_opt_out(acme, "+8613900139000", source=OptOut.Source.REPLY)
    html = alice_client.get(url("opt_out_list")).content.decode()
    assert "+8613800138000" in html and "Complained by phone" in html and "Added by an operator" in html
    assert "Reply with an opt-out keyword" in html


def test_the_list_searches_by_number(alice_client, acme):
    create_opt_out(acme, "+8613800138000")
    create_opt_out(acme, "+8613900139000")

    def phones(q):
        return [o.phone for o in alice_client.get(url("opt_out_list"), {"q": q}).context["page"]]

    assert phones("139-0013") == ["+8613900139000"]
    assert sorted(phones("")) == ["+8613800138000", "+8613900139000"]


def test_the_list_pages_by_fifty_in_a_fixed_number_of_queries(alice_client, acme, django_assert_max_num_queries):
    OptOut.objects.bulk_create(OptOut(account=acme, phone=f"+86138001{i:05d}") for i in range(60))
    with django_assert_max_num_queries(8):
        response = alice_client.get(url("opt_out_list"))
    assert len(response.context["page"]) == 50
    assert len(alice_client.get(url("opt_out_list"), {"page": 2}).context["page"]) == 10


def test_the_list_shows_nothing_of_another_account(client, charlie, acme):
    create_opt_out(acme)
    client.force_login(charlie)
    assert list(client.get(url("opt_out_list")).context["page"]) == []


# --- Add and remove ----------------------------------------------------------------------------------


def test_an_operator_adds_a_number_normalised_with_a_note(alice_client, acme):
    response = alice_client.post(
        url("opt_out_create"), {"phone": "0086 138-0013-8000", "region": "CN", "note": "Asked"}
    )
    assert response.url == url("opt_out_list")
    opt_out = OptOut.objects.get(account=acme)
    assert (opt_out.phone, opt_out.note, opt_out.source) == ("+8613800138000", "Asked", OptOut.Source.MANUAL)
    assert AuditLog.objects.get(action="create", object_type="optout").account == acme


def test_a_number_already_on_the_list_is_an_error_next_to_the_number(alice_client, acme):
    create_opt_out(acme, "+8613800138000")
    response = alice_client.post(url("opt_out_create"), {"phone": "13800138000", "region": "CN"})
    assert errors_of(response, "phone") == ["+8613800138000 is already on the opt-out list."]
    assert OptOut.objects.count() == 1


def test_the_same_number_may_be_on_another_accounts_list(client, charlie, acme, other_co):
    create_opt_out(acme, "+8613800138000")
    client.force_login(charlie)
    client.post(url("opt_out_create"), {"phone": "13800138000", "region": "CN"})
    assert OptOut.objects.filter(account=other_co, phone="+8613800138000").exists()


def test_an_invalid_number_is_an_error_next_to_the_number(alice_client):
    response = alice_client.post(url("opt_out_create"), {"phone": "1.38001E+10", "region": "CN"})
    assert errors_of(response, "phone")[0].startswith("The number was shown in scientific notation")
    assert not OptOut.objects.exists()


def test_the_region_select_reads_numbers_without_a_country_code(alice_client, acme):
    alice_client.post(url("opt_out_create"), {"phone": "07400 123456", "region": "GB"})
    assert OptOut.objects.get(account=acme).phone == "+447400123456"


def test_removing_a_number_needs_a_post_and_is_audited(alice_client, acme):
    opt_out = create_opt_out(acme)
    assert "+8613800138000" in alice_client.get(url("opt_out_delete", opt_out.pk)).content.decode()
    assert OptOut.objects.exists()
    response = alice_client.post(url("opt_out_delete", opt_out.pk))
    assert response.url == url("opt_out_list")
    assert not OptOut.objects.exists()
    assert AuditLog.objects.get(action="delete", object_type="optout").before["phone"] == "+8613800138000"


# --- Import ------------------------------------------------------------------------------------------


def import_file(client, upload, region="CN"):
    return client.post(url("opt_out_import"), {"file": upload, "region": region})


def test_an_import_adds_numbers_and_reports_present_and_rejected_ones(alice_client, acme):
    create_opt_out(acme, "+8613800138001", note="Old")
    text = "number,note\n13800138000,TD reply\n13800138001,again\n12345,bad\n1.38001E+10,\n13800138000,twice\n"
    response = import_file(alice_client, csv_upload(text))
    result = ListImport.objects.get()
    assert response.url == url("opt_out_import") + f"?result={result.pk}"
    page = alice_client.get(response.url)
    result = page.context["result"]
    assert (result.rows, result.added, result.existing, result.rejected) == (5, 1, 1, 3)
    assert [row for row, _cells, _reason in page.context["rejected"]] == [4, 5, 6]
    added = OptOut.objects.get(account=acme, phone="+8613800138000")
    assert (added.source, added.note) == (OptOut.Source.IMPORT, "TD reply")
    assert OptOut.objects.get(phone="+8613800138001").note == "Old"
    entry = AuditLog.objects.get(action="import_opt_outs")
    assert (entry.account, entry.object_type, entry.after["added"]) == (acme, "account", 1)


def test_an_import_reads_gbk_and_xlsx(alice_client, acme):
    import_file(alice_client, csv_upload("号码,备注\n13800138000,投诉\n", encoding="gbk"))
    import_file(alice_client, xlsx_upload([[13900139000], ["+86 137 0013 7000"]]))
    assert OptOut.objects.get(phone="+8613800138000").note == "投诉"
    assert sorted(OptOut.objects.values_list("phone", flat=True)) == [
        "+8613700137000",
        "+8613800138000",
        "+8613900139000",
    ]


def test_the_rejected_rows_of_an_import_download_as_csv(alice_client):
    import_file(alice_client, csv_upload(f"12345,{FORMULA}\n"))
    response = alice_client.get(url("opt_out_import"), {"rejected": ListImport.objects.get().pk})
    lines = streamed_text(response).splitlines()
    assert lines[1] == "1,Not a valid phone number for the application's region.,12345,'" + FORMULA


def test_an_unreadable_file_is_an_error_next_to_the_file(alice_client):
    response = import_file(alice_client, csv_upload("PK\x03\x04 not really", name="numbers.xlsx"))
    assert errors_of(response, "file") == ["The file is not a valid Excel workbook (.xlsx)."]
    assert not OptOut.objects.exists()


# --- Export ------------------------------------------------------------------------------------------


def test_the_csv_export_neutralises_formulas(client, alice, acme):
    create_opt_out(acme, "+8613800138000", note=FORMULA)
    client.force_login(alice)
    response = client.get(url("opt_out_export", "csv"))
    lines = streamed_text(response).splitlines()
    assert lines[0] == "Number,Source,Note,Added at"
    assert lines[1].startswith("+8613800138000,Added by an operator,'" + FORMULA + ",")


def test_the_xlsx_export_writes_text_cells(alice_client, acme):
    create_opt_out(acme, "+8613800138000", note=FORMULA)
    rows = xlsx_rows(alice_client.get(url("opt_out_export", "xlsx")))
    assert rows[0] == ["Number", "Source", "Note", "Added at"]
    # Typed as text, so nothing to neutralise and no apostrophe to show.
    assert rows[1][:3] == ["+8613800138000", "Added by an operator", FORMULA]


def test_the_export_holds_only_the_accounts_own_numbers(client, charlie, acme, other_co):
    create_opt_out(acme, "+8613800138000")
    create_opt_out(other_co, "+8613900139000")
    client.force_login(charlie)
    lines = streamed_text(client.get(url("opt_out_export", "csv"))).splitlines()
    assert len(lines) == 2 and lines[1].startswith("+8613900139000")


def test_an_unknown_export_format_is_404(alice_client):
    assert alice_client.get(url("opt_out_export", "pdf")).status_code == 404


# --- Tenancy and roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404_on_removing_a_number(client, charlie, acme, method):
    opt_out = create_opt_out(acme)
    client.force_login(charlie)
    assert getattr(client, method)(url("opt_out_delete", opt_out.pk)).status_code == 404
    assert OptOut.objects.filter(pk=opt_out.pk).exists()


@pytest.mark.parametrize("name", ["opt_out_create", "opt_out_import", "opt_out_delete"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_read_only_member_gets_403_on_every_change(client, bob, acme, name, method):
    opt_out = create_opt_out(acme)
    client.force_login(bob)
    target = url(name, opt_out.pk) if name == "opt_out_delete" else url(name)
    assert getattr(client, method)(target, {"phone": "13900139000", "region": "CN"}).status_code == 403
    assert list(OptOut.objects.values_list("phone", flat=True)) == ["+8613800138000"]


def test_a_read_only_member_sees_the_list_without_change_links(client, bob, acme):
    opt_out = create_opt_out(acme)
    client.force_login(bob)
    html = client.get(url("opt_out_list")).content.decode()
    assert "+86138****8000" in html and "+8613800138000" not in html
    assert url("opt_out_create") not in html and url("opt_out_delete", opt_out.pk) not in html
    assert url("opt_out_export", "csv") in html


def test_export_times_are_in_the_accounts_time_zone(alice_client, acme):
    from datetime import datetime

    acme.timezone = "Europe/Berlin"
    acme.save(update_fields=["timezone"])
    opt_out = create_opt_out(acme, "+8613800138000")
    OptOut.objects.filter(pk=opt_out.pk).update(created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    lines = streamed_text(alice_client.get(url("opt_out_export", "csv"))).splitlines()
    assert lines[1].endswith(",2026-07-01T14:00:00+02:00")
    page = alice_client.get(url("opt_out_list")).content.decode()
    assert "14:00" in page
