"""A carrier's results file (CSV or XLSX) imported on the review desk: every row checked before
anything is recorded, a file with bad rows refused whole with each bad row's reason, a good file
recorded through the transitions (audited, mailed) once staff confirm the preview."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from smsconsole.models import AuditLog
from templates_app.models import Signature

pytestmark = pytest.mark.django_db

S = Signature.Status
IMPORT = "admin:templates_app_signature_import"
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def rita_client(client, rita):
    client.force_login(rita)
    return client


@pytest.fixture
def filed(factories, shop):
    return {
        "new": factories.create_signature(shop, name="Acme", status=S.FILING),
        "promo": factories.create_signature(shop, name="Acme", type="promotion", status=S.FILING),
        "legacy": factories.create_signature(shop, name="Old", status=S.LEGACY_FILING, channel_number="106900000900"),
    }


def csv_file(*lines):
    return SimpleUploadedFile("results.csv", ("\n".join(lines) + "\n").encode("utf-8-sig"), content_type="text/csv")


def xlsx_file(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("results.xlsx", buffer.getvalue())


def preview(client, upload, file_format=CSV_FORMAT):
    return client.post(reverse(IMPORT), {"resource": "0", "format": file_format, "import_file": upload})


def confirm(client, response):
    return client.post(
        reverse("admin:templates_app_signature_process_import"), response.context["confirm_form"].initial
    )


def invalid_rows(response):
    return {row.number: " ".join(row.error.messages) for row in response.context["result"].invalid_rows}


def test_a_good_file_is_previewed_without_recording_then_recorded_on_confirmation(
    rita_client, rita, shop, filed, factories, mailoutbox, django_capture_on_commit_callbacks
):
    factories.create_contact(shop.account, email="ops@acme.example")
    upload = csv_file(
        "signature_id,application,signature_name,type,result,reason,channel_number",
        f"{filed['new'].pk},,,,approved,,10690077",
        f",{shop.app_key},Acme,promotion,驳回,签名与营业执照主体不符,",
        f",{shop.app_key},Old,,通过,,",
    )

    shown = preview(rita_client, upload)

    assert shown.status_code == 200 and "confirm_form" in shown.context
    assert not shown.context["result"].has_validation_errors()
    for signature in filed.values():
        signature.refresh_from_db()
    assert [s.status for s in filed.values()] == [S.FILING, S.FILING, S.LEGACY_FILING]
    assert not AuditLog.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = confirm(rita_client, shown)

    assert done.status_code == 302
    for signature in filed.values():
        signature.refresh_from_db()
    assert (filed["new"].status, filed["new"].channel_number, filed["new"].carrier_answered_by) == (
        S.APPROVED,
        "10690077",
        rita,
    )
    assert (filed["promo"].status, filed["promo"].carrier_reason) == (S.FILING_FAILED, "签名与营业执照主体不符")
    assert (filed["legacy"].status, filed["legacy"].channel_number) == (S.APPROVED, "106900000900")
    assert sorted(AuditLog.objects.values_list("action", flat=True)) == [
        "carrier_approved",
        "carrier_approved",
        "carrier_rejected",
    ]
    assert len(mailoutbox) == 3


def test_an_xlsx_file_with_numeric_cells_is_read_as_text(rita_client, filed):
    upload = xlsx_file(
        [
            ["signature_id", "result", "reason", "channel_number"],
            [float(filed["new"].pk), "Approved", None, 10690078],
        ]
    )

    shown = preview(rita_client, upload, XLSX_FORMAT)
    confirm(rita_client, shown)

    filed["new"].refresh_from_db()
    assert (filed["new"].status, filed["new"].channel_number) == (S.APPROVED, "10690078")


def test_a_file_with_bad_rows_is_refused_whole_and_each_bad_row_says_why(rita_client, factories, shop, filed, other_co):
    factories.create_signature(shop, name="Taken", channel_number="10690001")
    done = factories.create_signature(shop, name="Done")
    upload = csv_file(
        "signature_id,application,signature_name,type,result,reason,channel_number",
        f"{filed['new'].pk},,,,approved,,",  # 1: good
        "999999,,,,approved,,",  # 2: no such signature
        f",{shop.app_key},Acme,,approved,,",  # 3: the name has two types
        f"{filed['promo'].pk},,,,rejected,,",  # 4: no reason
        f"{filed['legacy'].pk},,,,maybe,,",  # 5: unknown result
        f"{done.pk},,,,approved,,",  # 6: not waiting for the carrier
        f",{shop.app_key},Old,,approved,,10690001",  # 7: another signature's number
        f",{shop.app_key},Acme,fax,approved,,",  # 8: unknown type
        f"{filed['promo'].pk},,,,rejected,Expired licence,10690002",  # 9: a number for a rejection
    )

    shown = preview(rita_client, upload)

    assert "confirm_form" not in shown.context
    rows = invalid_rows(shown)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "No such signature" in rows[2]
    assert "several types" in rows[3]
    assert "carrier's reason" in rows[4]
    assert "approved (通过) or rejected" in rows[5]
    assert "not waiting for the carrier" in rows[6]
    assert "10690001 belongs to another signature" in rows[7]
    assert "Unknown type" in rows[8]
    assert "no channel number" in rows[9]
    filed["new"].refresh_from_db()
    assert filed["new"].status == S.FILING and not AuditLog.objects.exists()


def test_another_accounts_signature_is_found_by_its_own_app_key_only(rita_client, factories, shop, other_co):
    theirs = factories.create_application(other_co, "Theirs")
    factories.create_signature(theirs, name="Acme", status=S.FILING)
    mine = factories.create_signature(shop, name="Acme", status=S.FILING)

    shown = preview(rita_client, csv_file("application,signature_name,result", f"{shop.app_key},Acme,approved"))
    confirm(rita_client, shown)

    mine.refresh_from_db()
    assert mine.status == S.APPROVED
    assert Signature.objects.get(application=theirs).status == S.FILING


def test_the_same_signature_twice_in_one_file_is_refused(rita_client, filed):
    shown = preview(
        rita_client,
        csv_file(
            "signature_id,result,reason",
            f"{filed['new'].pk},approved,",
            f"{filed['new'].pk},rejected,Too late",
        ),
    )
    assert invalid_rows(shown) == {2: "The signature is “Approved”, not waiting for the carrier."}


def test_a_file_without_the_columns_is_refused_with_the_columns_it_needs(rita_client, filed):
    shown = preview(rita_client, csv_file("name,answer", "Acme,ok"))
    errors = shown.context["result"].base_errors
    assert errors and "needs the columns result and signature_id" in str(errors[0].error)
    assert "confirm_form" not in shown.context


def test_a_row_that_changed_since_the_preview_undoes_the_whole_file(rita_client, rita, filed):
    shown = preview(
        rita_client,
        csv_file(
            "signature_id,result,reason",
            f"{filed['new'].pk},approved,",
            f"{filed['promo'].pk},approved,",
        ),
    )
    Signature.objects.get(pk=filed["promo"].pk).carrier_reject(rita, "Answered by phone meanwhile")

    done = confirm(rita_client, shown)

    filed["new"].refresh_from_db()
    assert filed["new"].status == S.FILING
    assert done.status_code == 302 and done["Location"] == reverse(IMPORT)


def test_the_export_of_waiting_signatures_has_the_import_columns(rita_client, factories, shop, filed):
    factories.create_signature(shop, name="Done")
    columns = (
        "signature_id",
        "application",
        "account",
        "signature_name",
        "type",
        "status",
        "result",
        "reason",
        "channel_number",
    )
    response = rita_client.post(
        reverse("admin:templates_app_signature_export") + "?status=with_carrier",
        {"resource": "0", "format": "1", **{f"carrierresultresource_{name}": "on" for name in columns}},
    )

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == columns
    assert sorted(row[3] for row in rows[1:]) == ["Acme", "Acme", "Old"]
    assert {row[1] for row in rows[1:]} == {shop.app_key}


@pytest.mark.parametrize("user", ["alice", "charlie"])
def test_account_members_cannot_import_carrier_results(client, request, filed, user):
    client.force_login(request.getfixturevalue(user))
    response = preview(client, csv_file("signature_id,result", f"{filed['new'].pk},approved"))
    assert response.status_code == 302
    filed["new"].refresh_from_db()
    assert filed["new"].status == S.FILING
