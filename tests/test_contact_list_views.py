import pytest
from django.urls import reverse

from campaigns import contacts_import
from campaigns.models import Contact, ContactList, ListImport, ListImportRejectedRow
from smsconsole.models import AuditLog
from tests.contact_helpers import (
    FORMULA,
    create_contact,
    create_contact_list,
    csv_upload,
    streamed_text,
    xlsx_rows,
    xlsx_upload,
)


def url(name, *args):
    return reverse(f"campaigns:{name}", args=args)


@pytest.fixture
def customers(acme):
    return create_contact_list(acme, "Customers", ["city", "order"])


def errors_of(response, field):
    return [str(error) for error in response.context["form"].errors.get(field, [])]


# --- Index -------------------------------------------------------------------------------------------


def test_the_index_shows_name_contact_count_and_custom_fields(alice_client, acme, customers):
    create_contact(customers, "+8613800138000")
    create_contact(customers, "+8613800138001")
    create_contact_list(acme, "Empty")
    response = alice_client.get(url("contact_list_index"))
    counts = {contact_list.name: contact_list.contact_count for contact_list in response.context["page"]}
    assert counts == {"Customers": 2, "Empty": 0}
    html = response.content.decode()
    assert "city, order" in html


def test_the_index_runs_a_fixed_number_of_queries(alice_client, acme, django_assert_max_num_queries):
    for index in range(30):
        contact_list = create_contact_list(acme, f"List {index}", ["city"])
        create_contact(contact_list, f"+86138001380{index:02d}")
    with django_assert_max_num_queries(8):
        response = alice_client.get(url("contact_list_index"))
    assert len(response.context["page"]) == 30


def test_the_index_shows_nothing_of_another_account(client, charlie, customers):
    client.force_login(charlie)
    assert list(client.get(url("contact_list_index")).context["page"]) == []


# --- Create and edit ---------------------------------------------------------------------------------


def test_an_operator_creates_a_list_with_comma_separated_custom_fields(alice_client, acme):
    response = alice_client.post(
        url("contact_list_create"), {"name": "VIP", "field_names_text": "city， order no, tier"}
    )
    contact_list = ContactList.objects.get(account=acme, name="VIP")
    assert response.url == url("contact_list_detail", contact_list.pk)
    assert contact_list.field_names == ["city", "order no", "tier"]
    assert AuditLog.objects.filter(action="create", object_type="contactlist", account=acme).exists()


def test_a_list_name_taken_in_the_account_is_a_field_error(alice_client, acme, customers):
    response = alice_client.post(url("contact_list_create"), {"name": "Customers", "field_names_text": ""})
    assert response.status_code == 200
    assert errors_of(response, "name") == ["Your account already has a contact list named “Customers”."]
    assert ContactList.objects.filter(account=acme).count() == 1


def test_the_same_list_name_in_another_account_is_allowed(client, charlie, other_co, customers):
    client.force_login(charlie)
    client.post(url("contact_list_create"), {"name": "Customers"})
    assert ContactList.objects.filter(account=other_co, name="Customers").exists()


def test_a_custom_field_named_twice_is_a_field_error(alice_client):
    response = alice_client.post(url("contact_list_create"), {"name": "VIP", "field_names_text": "city, City"})
    assert errors_of(response, "field_names_text") == ["The field “City” is named twice."]


def test_editing_renames_the_list_and_changes_its_fields(alice_client, acme, customers):
    form = alice_client.get(url("contact_list_edit", customers.pk)).context["form"]
    assert form["field_names_text"].value() == "city, order"
    response = alice_client.post(url("contact_list_edit", customers.pk), {"name": "Buyers", "field_names_text": "city"})
    assert response.status_code == 302
    customers.refresh_from_db()
    assert (customers.name, customers.field_names) == ("Buyers", ["city"])
    entry = AuditLog.objects.get(action="update", object_type="contactlist")
    assert entry.before["name"] == "Customers" and entry.after["name"] == "Buyers"


def test_editing_to_the_name_of_another_list_is_a_field_error(alice_client, acme, customers):
    create_contact_list(acme, "Staff")
    response = alice_client.post(url("contact_list_edit", customers.pk), {"name": "Staff"})
    assert errors_of(response, "name") == ["Your account already has a contact list named “Staff”."]


def test_deleting_a_list_removes_its_contacts_after_confirmation(alice_client, customers):
    create_contact(customers)
    page = alice_client.get(url("contact_list_delete", customers.pk))
    assert "1 contact?" in page.content.decode()
    assert ContactList.objects.filter(pk=customers.pk).exists()
    response = alice_client.post(url("contact_list_delete", customers.pk))
    assert response.url == url("contact_list_index")
    assert not ContactList.objects.filter(pk=customers.pk).exists()
    assert not Contact.objects.exists()
    assert AuditLog.objects.get(action="delete", object_type="contactlist").before["contacts"] == 1


# --- Detail ------------------------------------------------------------------------------------------


def test_the_detail_pages_contacts_by_fifty_with_their_custom_fields(alice_client, customers):
    Contact.objects.bulk_create(
        Contact(contact_list=customers, phone=f"+86138001{i:05d}", name=f"N{i}", fields={"city": "Hangzhou"})
        for i in range(60)
    )
    first = alice_client.get(url("contact_list_detail", customers.pk))
    assert len(first.context["page"]) == 50
    assert first.context["rows"][0][1] == ["Hangzhou", ""]
    second = alice_client.get(url("contact_list_detail", customers.pk), {"page": 2})
    assert len(second.context["page"]) == 10


def test_the_detail_searches_by_number_or_name(alice_client, customers):
    create_contact(customers, "+8613800138000", "Wang Wei")
    create_contact(customers, "+8613900139000", "Li Na")

    def phones(q):
        page = alice_client.get(url("contact_list_detail", customers.pk), {"q": q}).context["page"]
        return [contact.phone for contact in page]

    assert phones("139 0013") == ["+8613900139000"]
    assert phones("wang") == ["+8613800138000"]
    assert phones("") == ["+8613800138000", "+8613900139000"]


def test_the_detail_runs_a_fixed_number_of_queries(alice_client, customers, django_assert_max_num_queries):
    Contact.objects.bulk_create(Contact(contact_list=customers, phone=f"+86138001{i:05d}") for i in range(50))
    with django_assert_max_num_queries(9):
        alice_client.get(url("contact_list_detail", customers.pk))


# --- Contacts ----------------------------------------------------------------------------------------


def contact_post(**overrides):
    data = {"phone": "138 0013-8000", "region": "CN", "name": "Wang Wei", "field_0": "Hangzhou", "field_1": ""}
    data.update(overrides)
    return data


def test_adding_a_contact_normalises_the_number_and_keeps_custom_fields(alice_client, acme, customers):
    response = alice_client.post(url("contact_create", customers.pk), contact_post())
    assert response.url == url("contact_list_detail", customers.pk)
    contact = customers.contacts.get()
    assert (contact.phone, contact.name, contact.fields) == ("+8613800138000", "Wang Wei", {"city": "Hangzhou"})
    assert AuditLog.objects.get(action="create", object_type="contact").account == acme


def test_the_region_select_defaults_to_the_first_applications_region(alice_client, factories, acme, customers):
    factories.create_application(acme, "Overseas", default_region="US")
    factories.create_application(acme, "Later", default_region="GB")
    form = alice_client.get(url("contact_create", customers.pk)).context["form"]
    assert form["region"].value() == "US"
    alice_client.post(url("contact_create", customers.pk), contact_post(phone="(201) 555-0123", region="US"))
    assert customers.contacts.get().phone == "+12015550123"


def test_the_region_select_defaults_to_cn_without_applications(alice_client, customers):
    assert alice_client.get(url("contact_create", customers.pk)).context["form"]["region"].value() == "CN"


@pytest.mark.parametrize(
    "phone, message",
    [
        ("12345", "Not a valid phone number for the application's region."),
        (
            "1.38001E+10",
            "The number was shown in scientific notation (1.38E+10) by Excel and its digits are lost; "
            "format the column as text and export the file again.",
        ),
        ("call me", "The number cell holds something other than a phone number."),
        ("", "This field is required."),
    ],
)
def test_an_unusable_number_is_an_error_next_to_the_number(alice_client, customers, phone, message):
    response = alice_client.post(url("contact_create", customers.pk), contact_post(phone=phone))
    assert errors_of(response, "phone") == [message]
    assert 'class="field has-error"' in response.content.decode()
    assert not customers.contacts.exists()


def test_a_number_already_in_the_list_is_an_error_next_to_the_number(alice_client, customers):
    create_contact(customers, "+8613800138000")
    response = alice_client.post(url("contact_create", customers.pk), contact_post(phone="+86 138 0013 8000"))
    assert errors_of(response, "phone") == ["+8613800138000 is already in this list."]


def test_editing_a_contact_changes_number_name_and_fields(alice_client, customers):
    contact = create_contact(customers, "+8613800138000", "Wang", city="Hangzhou")
    form = alice_client.get(url("contact_edit", customers.pk, contact.pk)).context["form"]
    assert form["field_0"].value() == "Hangzhou"
    response = alice_client.post(
        url("contact_edit", customers.pk, contact.pk),
        contact_post(phone="13900139000", name="Wang Wei", field_0="", field_1="A-1"),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.phone, contact.name, contact.fields) == ("+8613900139000", "Wang Wei", {"order": "A-1"})


def test_editing_a_contact_may_keep_its_own_number(alice_client, customers):
    contact = create_contact(customers, "+8613800138000")
    response = alice_client.post(url("contact_edit", customers.pk, contact.pk), contact_post(name="Same"))
    assert response.status_code == 302


def test_deleting_a_contact_needs_a_post(alice_client, customers):
    contact = create_contact(customers)
    alice_client.get(url("contact_delete", customers.pk, contact.pk))
    assert customers.contacts.exists()
    alice_client.post(url("contact_delete", customers.pk, contact.pk))
    assert not customers.contacts.exists()
    assert AuditLog.objects.filter(action="delete", object_type="contact").exists()


def test_a_contact_is_reached_only_through_its_own_list(alice_client, acme, customers):
    other_list = create_contact_list(acme, "Other")
    contact = create_contact(other_list)
    assert alice_client.get(url("contact_edit", customers.pk, contact.pk)).status_code == 404
    assert alice_client.post(url("contact_delete", customers.pk, contact.pk)).status_code == 404
    assert other_list.contacts.exists()


# --- Import ------------------------------------------------------------------------------------------


def import_file(client, contact_list, upload, region="CN"):
    return client.post(url("contact_list_import", contact_list.pk), {"file": upload, "region": region})


def test_an_import_adds_good_rows_and_reports_every_bad_one(alice_client, acme, customers):
    create_contact(customers, "+8613800138005", "Existing")
    text = (
        "13800138000,Wang,Hangzhou,A-1\n"
        "13800138001,Li\n"
        "12345,Bad\n"
        "1.38001E+10,Excel\n"
        "+86 138 0013 8000,Again\n"
        "\n"
        "13800138005,Already\n"
        "13800138002.0,Float\n"
    )
    response = import_file(alice_client, customers, csv_upload(text))
    result = ListImport.objects.get()
    assert response.url == url("contact_list_import", customers.pk) + f"?result={result.pk}"
    page = alice_client.get(response.url)
    result = page.context["result"]
    assert (result.rows, result.added, result.existing, result.rejected) == (7, 3, 1, 3)
    assert [(row, reason) for row, _cells, reason in page.context["rejected"]] == [
        (3, "Not a valid phone number for the application's region."),
        (
            4,
            "The number was shown in scientific notation (1.38E+10) by Excel and its digits are lost; "
            "format the column as text and export the file again.",
        ),
        (5, "The same number as an earlier row (row 1)."),
    ]
    wang = customers.contacts.get(phone="+8613800138000")
    assert (wang.name, wang.fields) == ("Wang", {"city": "Hangzhou", "order": "A-1"})
    assert customers.contacts.get(phone="+8613800138005").name == "Existing"
    assert customers.contacts.filter(phone="+8613800138002").exists()
    html = page.content.decode()
    assert "1.38001E+10 | Excel" in html
    entry = AuditLog.objects.get(action="import_contacts")
    assert entry.account == acme and entry.after["added"] == 3 and entry.after["rejected"] == 3


def test_the_rejected_rows_download_as_formula_safe_csv(alice_client, customers):
    import_file(alice_client, customers, csv_upload(f"12345,{FORMULA}\n13800138000,Ok\n"))
    response = alice_client.get(url("contact_list_import", customers.pk), {"rejected": ListImport.objects.get().pk})
    assert response["Content-Type"].startswith("text/csv")
    lines = streamed_text(response).splitlines()
    assert lines[0] == "Row,Reason,Column 1,Column 2"
    assert lines[1] == "1,Not a valid phone number for the application's region.,12345,'" + FORMULA


def test_a_gbk_encoded_csv_keeps_its_chinese_names(alice_client, customers):
    text = "手机号码,姓名,city\n13800138000,王伟,杭州\n"
    import_file(alice_client, customers, csv_upload(text, encoding="gbk"))
    contact = customers.contacts.get()
    assert (contact.name, contact.fields) == ("王伟", {"city": "杭州"})


def test_a_header_row_maps_custom_fields_by_name(alice_client, customers):
    text = "number,order,name,city\n13800138000,A-7,Wang,Suzhou\n"
    import_file(alice_client, customers, csv_upload(text))
    contact = customers.contacts.get()
    assert (contact.name, contact.fields) == ("Wang", {"city": "Suzhou", "order": "A-7"})


def test_an_xlsx_file_is_imported(alice_client, customers):
    upload = xlsx_upload([["Number", "Name"], [13800138000, "Wang"], ["139-0013-9000", None]])
    import_file(alice_client, customers, upload)
    assert sorted(customers.contacts.values_list("phone", flat=True)) == ["+8613800138000", "+8613900139000"]


def test_a_file_over_the_row_limit_is_refused_and_nothing_is_kept(alice_client, customers, monkeypatch):
    monkeypatch.setattr(contacts_import, "MAX_ROWS", 3)
    monkeypatch.setattr(contacts_import, "BATCH_ROWS", 2)
    upload = xlsx_upload([[f"1380013800{i}"] for i in range(5)])
    response = import_file(alice_client, customers, upload)
    assert errors_of(response, "file") == ["The file has more than 3 rows; split it into smaller files."]
    assert not customers.contacts.exists()


def test_a_csv_over_the_row_limit_is_refused_before_reading(alice_client, customers, monkeypatch):
    monkeypatch.setattr(contacts_import, "MAX_ROWS", 3)
    text = "".join(f"1380013800{i}\n" for i in range(8))
    response = import_file(alice_client, customers, csv_upload(text))
    assert errors_of(response, "file") == ["The file has more than 3 rows; split it into smaller files."]
    assert not customers.contacts.exists()


@pytest.mark.parametrize(
    "upload, message",
    [
        (csv_upload("x", name="contacts.pdf"), "Files of type .pdf cannot be imported; use .csv, .txt, .xlsx."),
        (csv_upload("", name="contacts.csv"), "The submitted file is empty."),
        (
            csv_upload("PK\x03\x04garbage", name="contacts.csv"),
            "The file is not text. Save it from Excel as CSV (UTF-8) or upload it as .xlsx under its real extension.",
        ),
    ],
)
def test_an_unusable_file_is_an_error_next_to_the_file(alice_client, customers, upload, message):
    response = import_file(alice_client, customers, upload)
    assert errors_of(response, "file") == [message]


def test_a_txt_file_with_one_number_a_line_is_imported(alice_client, customers):
    import_file(alice_client, customers, csv_upload("13800138000\r\n13900139000\r\n", name="numbers.txt"))
    assert customers.contacts.count() == 2


def test_the_import_page_without_a_result_shows_the_form(alice_client, customers):
    response = alice_client.get(url("contact_list_import", customers.pk))
    assert "form" in response.context and "result" not in response.context


def test_a_result_of_another_list_or_account_is_404(alice_client, client, charlie, acme, customers, other_co):
    import_file(alice_client, customers, csv_upload("12345,Bad\n"))
    result = ListImport.objects.get()
    other_list = create_contact_list(acme, "Other")
    assert alice_client.get(url("contact_list_import", other_list.pk), {"result": result.pk}).status_code == 404
    assert alice_client.get(url("contact_list_import", customers.pk), {"rejected": "²"}).status_code == 404
    client.force_login(charlie)
    theirs = create_contact_list(other_co, "Theirs")
    assert client.get(url("contact_list_import", theirs.pk), {"rejected": result.pk}).status_code == 404


def test_an_all_rejected_file_leaves_the_session_small(alice_client, customers):
    # Results once lived in the session: a 19 MB file of bad rows made every later page load 20 MB.
    rows = "".join(f"12345,{'x' * 5000}\n" for _ in range(400))
    import_file(alice_client, customers, csv_upload(rows))
    session = alice_client.session
    assert len(session.encode(dict(session))) < 2000
    assert ListImportRejectedRow.objects.count() == 400
    assert all(
        len(cell) <= 201 for cells in ListImportRejectedRow.objects.values_list("cells", flat=True) for cell in cells
    )


# --- Export ------------------------------------------------------------------------------------------


def test_the_csv_export_has_number_name_and_fields_and_neutralises_formulas(client, alice, customers):
    create_contact(customers, "+8613800138000", FORMULA, city="=1+2", order="-12.5")
    client.force_login(alice)
    response = client.get(url("contact_list_export", customers.pk, "csv"))
    assert "attachment" in response["Content-Disposition"]
    lines = streamed_text(response).splitlines()
    assert lines == ["Number,Name,city,order", "+8613800138000,'" + FORMULA + ",'=1+2,-12.5"]


def test_the_xlsx_export_writes_text_cells_only(alice_client, customers):
    create_contact(customers, "+8613800138000", FORMULA, city="Hangzhou")
    response = alice_client.get(url("contact_list_export", customers.pk, "xlsx"))
    assert xlsx_rows(response) == [["Number", "Name", "city", "order"], ["+8613800138000", FORMULA, "Hangzhou", None]]


def test_an_unknown_export_format_is_404(alice_client, customers):
    assert alice_client.get(url("contact_list_export", customers.pk, "pdf")).status_code == 404


def test_an_exported_list_imports_back_unchanged(alice_client, acme, customers):
    create_contact(customers, "+8613800138000", "Wang", city="Hangzhou", order="A-1")
    exported = streamed_text(alice_client.get(url("contact_list_export", customers.pk, "csv")))
    copy = create_contact_list(acme, "Copy", ["city", "order"])
    import_file(alice_client, copy, csv_upload(exported))
    contact = copy.contacts.get()
    assert (contact.phone, contact.name, contact.fields) == (
        "+8613800138000",
        "Wang",
        {"city": "Hangzhou", "order": "A-1"},
    )


# --- Tenancy and roles -------------------------------------------------------------------------------

OBJECT_URLS = [
    ("contact_list_detail", False),
    ("contact_list_edit", False),
    ("contact_list_delete", False),
    ("contact_list_import", False),
    ("contact_create", False),
    ("contact_edit", True),
    ("contact_delete", True),
]


def object_url(name, contact_list, contact, with_contact):
    return url(name, contact_list.pk, contact.pk) if with_contact else url(name, contact_list.pk)


@pytest.mark.parametrize("name, with_contact", OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_accounts_member_gets_404_on_every_object_url(client, charlie, customers, name, with_contact, method):
    contact = create_contact(customers)
    client.force_login(charlie)
    assert getattr(client, method)(object_url(name, customers, contact, with_contact)).status_code == 404
    assert ContactList.objects.filter(pk=customers.pk).exists() and Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_another_accounts_member_gets_404_on_the_export(client, charlie, customers, fmt):
    client.force_login(charlie)
    assert client.get(url("contact_list_export", customers.pk, fmt)).status_code == 404


@pytest.mark.parametrize("name, with_contact", [*OBJECT_URLS[1:]])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_read_only_member_gets_403_on_every_change(client, bob, customers, name, with_contact, method):
    contact = create_contact(customers)
    client.force_login(bob)
    assert getattr(client, method)(object_url(name, customers, contact, with_contact)).status_code == 403
    assert customers.contacts.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_read_only_member_cannot_create_a_list(client, bob, acme, method):
    client.force_login(bob)
    assert getattr(client, method)(url("contact_list_create"), {"name": "Mine"}).status_code == 403
    assert not ContactList.objects.exists()


def test_a_read_only_member_views_lists_without_change_links(client, bob, customers):
    create_contact(customers)
    client.force_login(bob)
    index = client.get(url("contact_list_index")).content.decode()
    detail = client.get(url("contact_list_detail", customers.pk)).content.decode()
    assert "+86138****8000" in detail and "+8613800138000" not in detail
    assert url("contact_list_create") not in index
    assert url("contact_create", customers.pk) not in detail and url("contact_list_import", customers.pk) not in detail


def test_an_anonymous_visitor_is_sent_to_the_login(client, customers):
    response = client.get(url("contact_list_index"))
    assert response.status_code == 302 and "login" in response.url


def test_a_contact_list_a_campaign_used_is_kept_with_a_message(alice_client, acme, shop, factories):
    from campaigns.models import Campaign, ContactList
    from tests.sending_helpers import create_connection

    contact_list = ContactList.objects.create(account=acme, name="VIP")
    template = factories.create_template(shop)
    Campaign.objects.create(
        account=acme,
        application=shop,
        signature=template.signature,
        template=template,
        connection=create_connection(),
        name="Sent",
        contact_list=contact_list,
        status="completed",
    )
    response = alice_client.post(reverse("campaigns:contact_list_delete", args=[contact_list.pk]), follow=True)
    assert response.status_code == 200
    assert ContactList.objects.filter(pk=contact_list.pk).exists()
    assert "kept for their records" in response.content.decode()
