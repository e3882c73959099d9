"""Every export of numbers leaves an audit entry: who, what, how many rows, the format, masked or not."""

import pytest
from django.urls import reverse

from smsconsole.models import AuditLog
from tests import campaign_helpers
from tests.contact_helpers import create_contact, create_contact_list, create_opt_out, streamed_text
from tests.import_helpers import add_rejected_rows


def the_export_entry():
    (entry,) = AuditLog.objects.filter(action="export")
    return entry


@pytest.fixture
def customers(acme):
    contact_list = create_contact_list(acme)
    for i in range(3):
        create_contact(contact_list, f"+861380013800{i}")
    return contact_list


def test_a_contact_list_export(alice_client, alice, acme, customers):
    streamed_text(alice_client.get(reverse("campaigns:contact_list_export", args=[customers.pk, "csv"])))
    entry = the_export_entry()
    assert (entry.actor, entry.account, entry.object_type, entry.object_id) == (
        alice,
        acme,
        "contactlist",
        str(customers.pk),
    )
    assert entry.after == {"what": "contacts", "rows": 3, "format": "csv", "masked": False}


def test_a_read_only_export_records_that_its_numbers_were_masked(client, bob, customers):
    client.force_login(bob)
    client.get(reverse("campaigns:contact_list_export", args=[customers.pk, "xlsx"]))
    entry = the_export_entry()
    assert entry.actor == bob and entry.after == {"what": "contacts", "rows": 3, "format": "xlsx", "masked": True}


def test_an_opt_out_export(alice_client, acme):
    create_opt_out(acme, "+8613800138000")
    create_opt_out(acme, "+8613900139000")
    alice_client.get(reverse("campaigns:opt_out_export", args=["csv"]))
    entry = the_export_entry()
    assert entry.object_type == "account" and entry.account == acme
    assert entry.after == {"what": "opt_outs", "rows": 2, "format": "csv", "masked": False}


def test_a_recipient_imports_rejected_rows_export(alice_client, factories, acme, shop):
    _signature, template = campaign_helpers.create_order_setup(factories, shop)
    imp = campaign_helpers.create_completed_import(acme, shop, template, rejected=2)
    add_rejected_rows(imp, [(2, ["123", "A", "B"], "invalid_number"), (3, ["456", "A", "B"], "invalid_number")])
    alice_client.get(reverse("campaigns:import_rejected_download", args=[imp.pk, "csv"]))
    entry = the_export_entry()
    assert entry.object_type == "recipientimport" and entry.account == acme
    assert entry.after == {"what": "rejected_rows", "rows": 2, "format": "csv", "masked": False}


def test_a_contact_list_imports_rejected_rows_download(alice_client, acme, customers):
    from tests.contact_helpers import csv_upload

    response = alice_client.post(
        reverse("campaigns:contact_list_import", args=[customers.pk]),
        {"file": csv_upload("phone\n12345\nabc\n"), "region": "CN"},
    )
    alice_client.get(response.url.replace("result=", "rejected="))
    entry = the_export_entry()
    assert entry.object_type == "listimport" and entry.after["rows"] == 2 and entry.after["what"] == "rejected_rows"


def test_an_export_of_nothing_is_recorded_too(alice_client, acme):
    alice_client.get(reverse("campaigns:opt_out_export", args=["csv"]))
    assert the_export_entry().after["rows"] == 0


def test_a_refused_export_records_nothing(client, charlie, customers):
    client.force_login(charlie)
    assert client.get(reverse("campaigns:contact_list_export", args=[customers.pk, "csv"])).status_code == 404
    assert not AuditLog.objects.filter(action="export").exists()


def test_an_admin_export_records_one_entry_per_account_it_holds(admin_client, admin_user, acme, other_co, customers):
    theirs = create_contact_list(other_co)
    create_contact(theirs, "+8613700137000")
    response = admin_client.post(
        reverse("admin:campaigns_contact_export"),
        {
            "format": "0",
            "resource": "0",
            **{
                f"contactresource_{name}": "on"
                for name in ("contact_list", "phone", "name", "custom_fields", "created_at")
            },
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    entries = {entry.account: entry for entry in AuditLog.objects.filter(action="export")}
    assert set(entries) == {acme, other_co}
    assert entries[acme].actor == admin_user
    assert entries[acme].after == {"what": "contacts", "rows": 3, "format": "csv", "masked": False}
    assert entries[other_co].after["rows"] == 1


def test_an_admin_opt_out_export_is_recorded(admin_client, acme):
    create_opt_out(acme)
    admin_client.post(
        reverse("admin:campaigns_optout_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"optoutresource_{name}": "on" for name in ("account", "phone", "source", "note", "created_at")},
        },
    )
    entry = the_export_entry()
    assert entry.account == acme and entry.after["what"] == "opt_outs" and entry.after["rows"] == 1
