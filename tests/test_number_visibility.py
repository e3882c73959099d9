"""Masking on every page and export that shows a number, for each role: operators see numbers
whole, read-only members masked unless their account grants them full numbers."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from smsconsole.models import AuditLog
from tests import campaign_helpers
from tests.contact_helpers import create_contact, create_contact_list, create_opt_out, streamed_text
from tests.import_helpers import add_rejected_rows

FULL, MASKED = "+8613800138000", "+86138****8000"
RAW_FULL, RAW_MASKED = "138 0013 8000x", "138 **** 8000x"  # a rejected file cell, as it was typed
OTHER_FULL, OTHER_MASKED = "+8613900139000", "+86139****9000"

VIEWERS = ["operator", "read_only", "read_only_granted"]


@pytest.fixture
def viewer(request, client, alice, bob, acme):
    """Logs in as the role named by the test's parameter; returns what that role should see."""
    role = request.param
    if role == "read_only_granted":
        acme.read_only_full_numbers = True
        acme.save(update_fields=["read_only_full_numbers"])
    client.force_login(alice if role == "operator" else bob)
    return "masked" if role == "read_only" else "full"


@pytest.fixture
def data(factories, acme, shop):
    contact_list = create_contact_list(acme, field_names=["city"])
    create_contact(contact_list, FULL, "Wang", city="杭州")
    create_opt_out(acme, OTHER_FULL)
    factories.create_contact(acme, name="Ops", email="ops@acme.example", phone="13700137000")
    _signature, template = campaign_helpers.create_order_setup(factories, shop)
    imp = campaign_helpers.create_completed_import(acme, shop, template, rejected=2)
    add_rejected_rows(
        imp,
        [
            (2, [RAW_FULL, "A1", "张三"], "invalid_number"),
            (3, ["13900139000", "A2", "李四"], "duplicate", OTHER_FULL),
        ],
    )
    return {"list": contact_list, "import": imp}


def expect(html_or_text, shown, full, masked):
    if shown == "full":
        assert full in html_or_text and masked not in html_or_text
    else:
        assert masked in html_or_text and full not in html_or_text


def page(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def xlsx_text(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return "\n".join(",".join("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True))


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_contact_list_page(client, viewer, data):
    expect(page(client, "campaigns:contact_list_detail", data["list"].pk), viewer, FULL, MASKED)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_contact_list_export(client, viewer, data, fmt):
    response = client.get(reverse("campaigns:contact_list_export", args=[data["list"].pk, fmt]))
    expect(streamed_text(response) if fmt == "csv" else xlsx_text(response), viewer, FULL, MASKED)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_opt_out_list(client, viewer, data):
    expect(page(client, "campaigns:opt_out_list"), viewer, OTHER_FULL, OTHER_MASKED)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_opt_out_export(client, viewer, data, fmt):
    response = client.get(reverse("campaigns:opt_out_export", args=[fmt]))
    expect(streamed_text(response) if fmt == "csv" else xlsx_text(response), viewer, OTHER_FULL, OTHER_MASKED)


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
@pytest.mark.parametrize("name", ["campaigns:import_detail", "campaigns:import_progress"])
def test_an_imports_rejected_rows_on_its_page(client, viewer, data, name):
    html = page(client, name, data["import"].pk)
    expect(html, viewer, RAW_FULL, RAW_MASKED)
    expect(html, viewer, "13900139000", "139****9000")
    expect(html, viewer, OTHER_FULL, OTHER_MASKED)  # a duplicate's detail names the number
    assert "张三" in html and "A2" in html  # the other cells are shown as they are


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_imports_rejected_rows_export(client, viewer, data, fmt):
    response = client.get(reverse("campaigns:import_rejected_download", args=[data["import"].pk, fmt]))
    text = streamed_text(response) if fmt == "csv" else xlsx_text(response)
    expect(text, viewer, RAW_FULL, RAW_MASKED)
    expect(text, viewer, OTHER_FULL, OTHER_MASKED)
    assert "李四" in text


@pytest.mark.parametrize("viewer", VIEWERS, indirect=True)
def test_the_notification_contacts_page(client, viewer, data):
    expect(page(client, "templates_app:contact_list"), viewer, "13700137000", "137****7000")


# --- Searching ------------------------------------------------------------------------------------


def found(client, name, q, *args):
    return list(client.get(reverse(name, args=args), {"q": q}).context["page"])


def test_read_only_members_search_masked_numbers_only_by_the_whole_number(client, bob, data):
    client.force_login(bob)
    # Digit by digit would spell out the hidden middle: a part of a number finds nothing.
    assert found(client, "campaigns:opt_out_list", "13900") == []
    assert found(client, "campaigns:opt_out_list", "0139") == []
    assert [o.phone for o in found(client, "campaigns:opt_out_list", "139 0013 9000")] == [OTHER_FULL]
    assert found(client, "campaigns:contact_list_detail", "38001", data["list"].pk) == []
    assert [c.phone for c in found(client, "campaigns:contact_list_detail", "13800138000", data["list"].pk)] == [FULL]
    assert [c.phone for c in found(client, "campaigns:contact_list_detail", "Wang", data["list"].pk)] == [FULL]
    assert "search by the whole number" in client.get(reverse("campaigns:opt_out_list")).content.decode()


def test_operators_and_granted_members_search_by_any_part(client, alice, bob, acme, data):
    client.force_login(alice)
    assert [o.phone for o in found(client, "campaigns:opt_out_list", "0139")] == [OTHER_FULL]
    acme.read_only_full_numbers = True
    acme.save(update_fields=["read_only_full_numbers"])
    client.force_login(bob)
    assert [c.phone for c in found(client, "campaigns:contact_list_detail", "38001", data["list"].pk)] == [FULL]


# --- The account's setting ------------------------------------------------------------------------


def test_an_operator_grants_full_numbers_and_it_is_audited(alice_client, acme, alice):
    alice_client.post(reverse("accounts:number_visibility"), {"read_only_full_numbers": "full"})
    acme.refresh_from_db()
    assert acme.read_only_full_numbers
    entry = AuditLog.objects.get(action="change_number_visibility")
    assert (entry.actor, entry.account) == (alice, acme)
    assert (entry.before, entry.after) == ({"read_only_full_numbers": False}, {"read_only_full_numbers": True})
    alice_client.post(reverse("accounts:number_visibility"), {"read_only_full_numbers": "masked"})
    acme.refresh_from_db()
    assert not acme.read_only_full_numbers
    assert AuditLog.objects.filter(action="change_number_visibility").count() == 2


def test_saving_the_same_choice_writes_no_entry(alice_client):
    alice_client.post(reverse("accounts:number_visibility"), {"read_only_full_numbers": "masked"})
    assert not AuditLog.objects.filter(action="change_number_visibility").exists()


def test_a_read_only_member_cannot_grant_themselves_full_numbers(client, bob, acme):
    client.force_login(bob)
    assert client.post(reverse("accounts:number_visibility"), {"read_only_full_numbers": "full"}).status_code == 403
    acme.refresh_from_db()
    assert not acme.read_only_full_numbers


def test_one_accounts_grant_does_not_reach_another(client, factories, acme, other_co, data):
    acme.read_only_full_numbers = True
    acme.save(update_fields=["read_only_full_numbers"])
    viewer = factories.create_user("olga", account=other_co, role="read_only")
    other_list = create_contact_list(other_co)
    create_contact(other_list, FULL)
    client.force_login(viewer)
    expect(page(client, "campaigns:contact_list_detail", other_list.pk), "masked", FULL, MASKED)
