import tablib

from campaigns.models import Contact, OptOut
from campaigns.resources import ContactResource, OptOutResource
from tests.contact_helpers import FORMULA, create_contact, create_contact_list, create_opt_out


def dataset(headers, *rows):
    return tablib.Dataset(*rows, headers=headers)


def invalid_rows(result):
    return {
        row.number: {field: [str(m) for m in messages] for field, messages in row.error_dict.items()}
        for row in result.invalid_rows
    }


# --- ContactResource ---------------------------------------------------------------------------------


def test_contacts_import_with_normalised_numbers_and_custom_fields(acme):
    customers = create_contact_list(acme, "Customers", ["city"])
    data = dataset(
        ["contact_list", "phone", "name", "custom_fields"],
        [customers.pk, "138 0013 8000", "Wang", '{"city": "杭州"}'],
        [customers.pk, "+86 139-0013-9000", "Li", ""],
    )
    result = ContactResource().import_data(data, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 2
    wang = customers.contacts.get(phone="+8613800138000")
    assert (wang.name, wang.fields) == ("Wang", {"city": "杭州"})
    assert customers.contacts.get(phone="+8613900139000").fields == {}


def test_an_invalid_number_rejects_its_row_with_the_reason(acme):
    customers = create_contact_list(acme)
    data = dataset(
        ["contact_list", "phone", "name"],
        [customers.pk, "1.38001E+10", "Excel"],
        [customers.pk, "12345", "Short"],
        [customers.pk, "13800138000", "Good"],
    )
    result = ContactResource().import_data(data, dry_run=False)
    errors = invalid_rows(result)
    assert errors[1]["phone"][0].startswith("The number was shown in scientific notation")
    assert errors[2]["phone"] == ["Not a valid phone number for the application's region."]
    # Validation errors roll back nothing unless asked: the good row is kept.
    assert list(customers.contacts.values_list("phone", flat=True)) == ["+8613800138000"]


def test_an_unknown_contact_list_rejects_the_row(acme):
    result = ContactResource().import_data(dataset(["contact_list", "phone"], [9999, "13800138000"]), dry_run=False)
    assert invalid_rows(result)[1]["contact_list"] == ["No contact list with id “9999”."]
    assert not Contact.objects.exists()


def test_custom_fields_that_are_not_an_object_reject_the_row(acme):
    customers = create_contact_list(acme)
    data = dataset(["contact_list", "phone", "custom_fields"], [customers.pk, "13800138000", "[1, 2]"])
    result = ContactResource().import_data(data, dry_run=False)
    assert "Custom fields must be a JSON object" in invalid_rows(result)[1]["fields"][0]


def test_reimporting_a_number_updates_the_same_contact(acme):
    customers = create_contact_list(acme)
    create_contact(customers, "+8613800138000", "Old")
    data = dataset(["contact_list", "phone", "name"], [customers.pk, "0086 13800138000", "New"])
    result = ContactResource().import_data(data, dry_run=False)
    assert result.totals["update"] == 1
    assert customers.contacts.get().name == "New"


def test_the_region_of_the_lists_first_application_reads_national_numbers(factories, acme):
    factories.create_application(acme, "US shop", default_region="US")
    customers = create_contact_list(acme)
    ContactResource().import_data(dataset(["contact_list", "phone"], [customers.pk, "(201) 555-0123"]), dry_run=False)
    assert customers.contacts.get().phone == "+12015550123"


def test_a_dry_run_writes_nothing(acme):
    customers = create_contact_list(acme)
    ContactResource().import_data(dataset(["contact_list", "phone"], [customers.pk, "13800138000"]), dry_run=True)
    assert not Contact.objects.exists()


def test_the_contact_export_neutralises_formulas(acme):
    customers = create_contact_list(acme, field_names=["city"])
    create_contact(customers, "+8613800138000", FORMULA, city="@SUM(1)")
    exported = ContactResource().export()
    assert exported.headers == ["contact_list", "phone", "name", "custom_fields", "created_at"]
    row = exported.dict[0]
    assert (row["phone"], row["name"], row["custom_fields"]) == ("+8613800138000", "'" + FORMULA, '{"city": "@SUM(1)"}')


# --- OptOutResource ----------------------------------------------------------------------------------


def test_opt_outs_import_normalised_with_source_import_by_default(acme):
    data = dataset(["account", "phone", "note"], [acme.pk, "138-0013-8000", "TD"], [acme.pk, "+8613900139000", ""])
    result = OptOutResource().import_data(data, dry_run=False)
    assert result.totals["new"] == 2 and not result.has_validation_errors()
    opt_out = OptOut.objects.get(phone="+8613800138000")
    assert (opt_out.account, opt_out.source, opt_out.note) == (acme, OptOut.Source.IMPORT, "TD")


def test_an_opt_out_row_with_a_bad_number_or_source_is_rejected(acme):
    data = dataset(
        ["account", "phone", "source"],
        [acme.pk, "not a number", ""],
        [acme.pk, "13800138000", "carrier"],
        ["", "13900139000", ""],
    )
    result = OptOutResource().import_data(data, dry_run=False)
    errors = invalid_rows(result)
    assert errors[1]["phone"] == ["The number cell holds something other than a phone number."]
    assert errors[2]["source"] == ["Source must be one of: manual, import, reply."]
    assert errors[3]["account"] == ["No account with id “-”."]
    assert not OptOut.objects.exists()


def test_an_opt_out_already_listed_is_matched_not_duplicated(acme):
    create_opt_out(acme, "+8613800138000", note="Old")
    result = OptOutResource().import_data(
        dataset(["account", "phone", "note"], [acme.pk, "13800138000", "Old"]), dry_run=False
    )
    assert result.totals["skip"] == 1
    assert OptOut.objects.count() == 1


def test_the_opt_out_export_neutralises_formulas(acme):
    create_opt_out(acme, "+8613800138000", note=FORMULA)
    row = OptOutResource().export().dict[0]
    assert (row["account"], row["phone"], row["source"], row["note"]) == (
        str(acme.pk),
        "+8613800138000",
        "manual",
        "'" + FORMULA,
    )
