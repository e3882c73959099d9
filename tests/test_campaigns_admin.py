import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import OptOut, RecipientImport
from tests.contact_helpers import create_contact, create_contact_list, create_opt_out


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client.force_login(user)
    return client


@pytest.fixture
def data(acme, shop):
    customers = create_contact_list(acme, "Customers", ["city"])
    contact = create_contact(customers, "+8613800138000", "Wang", city="Hangzhou")
    opt_out = create_opt_out(acme, "+8613900139000", note="TD")
    recipient_import = RecipientImport.objects.create(
        account=acme,
        application=shop,
        original_name="march.csv",
        status=RecipientImport.Status.COMPLETED,
        rows_read=10,
        accepted=8,
        rejected=2,
    )
    return {"contactlist": customers, "contact": contact, "optout": opt_out, "recipientimport": recipient_import}


@pytest.mark.parametrize("model", ["contactlist", "contact", "optout", "recipientimport"])
def test_the_changelist_and_change_page_load_for_a_superuser(admin_client, data, model):
    obj = data[model]
    changelist = admin_client.get(reverse(f"admin:campaigns_{model}_changelist"), {"q": "a"})
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"admin:campaigns_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:campaigns_{model}_change", args=[obj.pk])).status_code == 200


@pytest.mark.parametrize("model", ["contactlist", "contact", "optout"])
def test_the_add_page_loads(admin_client, model):
    assert admin_client.get(reverse(f"admin:campaigns_{model}_add")).status_code == 200


@pytest.mark.parametrize("model", ["contact", "optout"])
@pytest.mark.parametrize("action", ["import", "export"])
def test_the_import_and_export_pages_load(admin_client, data, model, action):
    assert admin_client.get(reverse(f"admin:campaigns_{model}_{action}")).status_code == 200


def test_the_contact_list_changelist_counts_contacts_in_one_query(admin_client, acme, django_assert_max_num_queries):
    for index in range(20):
        create_contact(create_contact_list(acme, f"List {index}"), f"+86138001380{index:02d}")
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("admin:campaigns_contactlist_changelist"))
    assert [row.contact_count for row in response.context["cl"].result_list] == [1] * 20


def test_recipient_imports_are_read_only(admin_client, data):
    recipient_import = data["recipientimport"]
    assert admin_client.get(reverse("admin:campaigns_recipientimport_add")).status_code == 403
    page = admin_client.get(reverse("admin:campaigns_recipientimport_change", args=[recipient_import.pk]))
    assert "march.csv" in page.content.decode() and 'name="_save"' not in page.content.decode()
    admin_client.post(
        reverse("admin:campaigns_recipientimport_change", args=[recipient_import.pk]), {"original_name": "changed.csv"}
    )
    recipient_import.refresh_from_db()
    assert recipient_import.original_name == "march.csv"
    assert (
        admin_client.post(reverse("admin:campaigns_recipientimport_delete", args=[recipient_import.pk])).status_code
        == 403
    )


def test_the_admin_contact_form_normalises_the_number_and_reports_a_bad_one(admin_client, data):
    customers = data["contactlist"]
    url = reverse("admin:campaigns_contact_add")
    bad = admin_client.post(url, {"contact_list": customers.pk, "phone": "12345", "name": "", "fields": "{}"})
    assert bad.context["adminform"].form.errors["phone"] == ["Not a valid phone number for the application's region."]
    admin_client.post(url, {"contact_list": customers.pk, "phone": "139 0013 9000", "name": "Li", "fields": "{}"})
    assert customers.contacts.filter(phone="+8613900139000").exists()
    taken = admin_client.post(url, {"contact_list": customers.pk, "phone": "13800138000", "fields": "{}"})
    assert taken.context["adminform"].form.non_field_errors() == [
        "Contact with this Contact list and Number already exists."
    ]
    assert customers.contacts.filter(phone="+8613800138000").count() == 1


def test_an_admin_opt_out_import_previews_rows_and_their_errors(admin_client, acme):
    upload = SimpleUploadedFile(
        "opt-outs.csv", f"account,phone,note\n{acme.pk},13800138000,TD\n{acme.pk},12345,bad\n".encode()
    )
    response = admin_client.post(
        reverse("admin:campaigns_optout_import"), {"resource": "0", "format": "0", "import_file": upload}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not a valid phone number for the application&#x27;s region." in html
    assert not OptOut.objects.exists()  # the first step is a dry run


def test_the_admin_export_of_contacts_downloads_a_csv(admin_client, data):
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
    lines = response.content.decode().splitlines()
    assert lines[0] == "contact_list,phone,name,custom_fields,created_at"
    assert lines[1].startswith(f'{data["contactlist"].pk},+8613800138000,Wang,"{{""city"": ""Hangzhou""}}",')
