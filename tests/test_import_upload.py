import io
import os

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from campaigns.import_reasons import failure_message
from campaigns.importer import run_import
from campaigns.models import Recipient, RecipientImport
from campaigns.recipient_files import read_rows
from campaigns.uploads import start_import
from smsconsole.models import AuditLog, Membership
from templates_app.models import Template
from tests.import_helpers import create_import, create_order_template, csv_file

CREATE = reverse("campaigns:import_create")


@pytest.fixture
def order_template(factories, shop):
    return create_order_template(factories, shop)


def post_upload(client, application, upload, template=None):
    data = {"application": application.pk, "template": template.pk if template else "", "file": upload}
    return client.post(CREATE, data)


def field_errors(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def stored_files(settings):
    root = settings.MEDIA_ROOT / "imports"
    return [f for _, _, files in os.walk(root) for f in files] if root.exists() else []


# --- Upload through the page -------------------------------------------------------------------------


def test_an_upload_is_stored_and_imported_once_the_request_commits(
    alice_client, alice, shop, order_template, django_capture_on_commit_callbacks
):
    upload = csv_file("phone,1,2\n13800138000,A100,张三\n13900139000,A101,李四\nnot-a-number,A102,王五\n")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_upload(alice_client, shop, upload, order_template)
    imp = RecipientImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("campaigns:import_detail", args=[imp.pk])
    assert len(callbacks) == 1
    assert (imp.status, imp.accepted, imp.rejected) == ("completed", 2, 1)
    assert (imp.original_name, imp.account, imp.template, imp.created_by) == (
        "list.csv",
        shop.account,
        order_template,
        alice,
    )
    assert sorted(Recipient.objects.values_list("phone", flat=True)) == ["+8613800138000", "+8613900139000"]
    assert AuditLog.objects.filter(action="create", object_type="recipientimport", object_id=str(imp.pk)).exists()


def test_a_template_variable_of_an_unknown_attribute_fails_the_import_with_a_translated_reason(
    alice_client, shop, order_template, django_capture_on_commit_callbacks
):
    order_template.variables.filter(position=2).update(attribute="BOGUS")  # written around the forms
    upload = csv_file("13800138000,A100,张三\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(alice_client, shop, upload, order_template)
    imp = RecipientImport.objects.get()
    assert response.status_code == 302
    assert (imp.status, imp.error_code) == ("failed", "unknown_attribute")
    assert not Recipient.objects.exists()
    html = alice_client.get(reverse("campaigns:import_detail", args=[imp.pk])).content.decode()
    assert "A variable of the template has an unknown attribute; correct the template&#x27;s variables" in html
    with translation.override("zh-hans"):
        assert failure_message(imp.error_code) == "模板的某个变量属性未知，请先修正模板变量再重新导入文件。"


def test_the_import_task_is_queued_only_after_commit(alice_client, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_upload(alice_client, shop, csv_file("13800138000\n"))
    assert len(callbacks) == 1
    assert RecipientImport.objects.get().status == "pending"


def test_a_file_without_a_template_keeps_only_the_numbers(alice_client, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_upload(alice_client, shop, csv_file("13800138000\n13900139000\n", name="numbers.txt"))
    imp = RecipientImport.objects.get()
    assert (imp.status, imp.accepted, imp.template) == ("completed", 2, None)


def test_a_file_over_the_size_cap_is_refused_at_the_file_field_before_it_is_stored(alice_client, shop, settings):
    settings.SMS_IMPORT_MAX_BYTES = 20
    response = post_upload(alice_client, shop, csv_file("13800138000\n13900139000\n"))
    assert response.status_code == 200
    assert field_errors(response, "file") == ["The file is 24\xa0bytes; files up to 20\xa0bytes can be imported."]
    assert 'class="field has-error"' in response.content.decode()
    assert not RecipientImport.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize("name", ["list.xls", "list.docx", "list"])
def test_a_wrong_extension_is_refused_at_the_file_field(alice_client, shop, settings, name):
    response = post_upload(alice_client, shop, csv_file("13800138000\n", name=name))
    errors = field_errors(response, "file")
    assert len(errors) == 1 and "cannot be imported; use .csv, .txt, .xlsx" in errors[0]
    assert not RecipientImport.objects.exists()
    assert stored_files(settings) == []


def test_an_empty_file_is_refused_at_the_file_field(alice_client, shop):
    response = post_upload(alice_client, shop, csv_file(""))
    assert field_errors(response, "file") == ["The submitted file is empty."]
    assert not RecipientImport.objects.exists()


def test_a_template_of_another_application_is_refused_at_the_template_field(alice_client, factories, acme, shop):
    other_app = factories.create_application(acme, "Games")
    template = create_order_template(factories, other_app)
    response = post_upload(alice_client, shop, csv_file("13800138000,A1,张三\n"), template)
    assert field_errors(response, "template") == ["This template belongs to another application."]
    assert not RecipientImport.objects.exists()


def test_another_accounts_application_and_templates_cannot_be_chosen(alice_client, factories, other_co, shop):
    theirs = factories.create_application(other_co, "Theirs")
    their_template = create_order_template(factories, theirs)
    response = post_upload(alice_client, theirs, csv_file("13800138000\n"), their_template)
    assert field_errors(response, "application") and field_errors(response, "template")
    assert not RecipientImport.objects.exists()


def test_only_active_templates_are_offered(alice_client, factories, shop):
    signature = factories.create_signature(shop)
    create_order_template(factories, shop, name="Live", signature=signature)
    create_order_template(factories, shop, name="Draft one", signature=signature, status=Template.Status.DRAFT)
    html = alice_client.get(CREATE).content.decode()
    assert "Shop · Live" in html and "Draft one" not in html


# --- The page itself -----------------------------------------------------------------------------------


def test_the_upload_page_explains_the_columns_of_the_chosen_template_and_links_its_samples(
    alice_client, shop, order_template
):
    html = alice_client.get(CREATE, {"template": order_template.pk}).content.decode()
    assert "${1}" in html and "${2}" in html and "phone,1,2" in html
    assert reverse("campaigns:import_sample", args=[order_template.pk, "csv"]) in html
    assert reverse("campaigns:import_sample", args=[order_template.pk, "xlsx"]) in html
    assert f'<option value="{order_template.pk}" selected>' in html
    assert 'hx-get="/' in html and 'hx-target="#import-layout"' in html


def test_choosing_a_template_with_htmx_returns_only_its_layout(alice_client, shop, order_template):
    response = alice_client.get(CREATE, {"template": order_template.pk}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-layout"')
    assert "<form" not in html and "${2}" in html


def test_the_upload_page_without_a_template_shows_no_sample_link(alice_client, shop):
    html = alice_client.get(CREATE).content.decode()
    assert "sample-csv" not in html and "Choose a template" in html


def test_a_read_only_member_cannot_upload(client, bob, shop):
    client.force_login(bob)
    assert client.get(CREATE).status_code == 403
    assert post_upload(client, shop, csv_file("13800138000\n")).status_code == 403
    assert not RecipientImport.objects.exists()


# --- The service ---------------------------------------------------------------------------------------


def test_start_import_reports_an_oversized_file_against_the_file_field(settings, alice, shop):
    settings.SMS_IMPORT_MAX_BYTES = 5
    membership = Membership.objects.get(user=alice)
    with pytest.raises(ValidationError) as error:
        start_import(membership, shop, None, csv_file("13800138000\n"))
    assert list(error.value.message_dict) == ["file"]
    assert not RecipientImport.objects.exists()


def test_start_import_refuses_a_read_only_member(bob, shop):
    with pytest.raises(PermissionDenied):
        start_import(Membership.objects.get(user=bob), shop, None, csv_file("13800138000\n"))


def test_start_import_refuses_another_accounts_application(alice, factories, other_co):
    theirs = factories.create_application(other_co, "Theirs")
    with pytest.raises(ValueError):
        start_import(Membership.objects.get(user=alice), theirs, None, csv_file("13800138000\n"))


# --- Sample files ----------------------------------------------------------------------------------------


def sample_url(template, fmt):
    return reverse("campaigns:import_sample", args=[template.pk, fmt])


def import_bytes(account, application, template, name, data):
    imp = create_import(account, application, template, name=name, data=data)
    run_import(imp.pk)
    imp.refresh_from_db()
    return imp


def test_the_csv_sample_of_a_two_variable_template_imports_with_no_rejections(
    alice_client, acme, shop, order_template, tmp_path
):
    response = alice_client.get(sample_url(order_template, "csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    path = tmp_path / "sample.csv"
    path.write_bytes(data)
    rows = [cells for _, cells in read_rows(str(path), "sample.csv")]
    assert rows[0] == ["phone", "${1}", "${2}"]
    assert len(rows) == 3 and all(len(row) == 3 for row in rows)
    imp = import_bytes(acme, shop, order_template, "sample.csv", data)
    assert (imp.status, imp.has_header, imp.accepted, imp.rejected) == ("completed", True, 2, 0)


def test_the_xlsx_sample_keeps_numbers_as_text_and_imports_with_no_rejections(
    alice_client, acme, shop, order_template, tmp_path
):
    response = alice_client.get(sample_url(order_template, "xlsx"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.data_type for c in sheet[2]] == ["s", "s", "s"]
    path = tmp_path / "sample.xlsx"
    path.write_bytes(response.content)
    assert len(list(read_rows(str(path), "sample.xlsx"))) == 3
    imp = import_bytes(acme, shop, order_template, "sample.xlsx", response.content)
    assert (imp.accepted, imp.rejected) == (2, 0)


@pytest.mark.parametrize(
    "variables",
    [
        [("PHONE", 15), ("DATETIME", 20), ("MONEY", 10)],
        [("PHONE", 4), ("DATETIME", 4), ("MONEY", 2), ("CHARDIGIT", 3), ("TEXT", 1)],
    ],
)
def test_samples_fit_every_attribute_and_length(alice_client, factories, acme, shop, variables):
    content = "通知：" + "，".join(f"项{i}为${{{i}}}" for i in range(1, len(variables) + 1)) + "。"
    template = factories.create_template(shop, content=content, variables=variables)
    data = alice_client.get(sample_url(template, "csv")).content
    imp = import_bytes(acme, shop, template, "sample.csv", data)
    assert (imp.accepted, imp.rejected) == (2, 0), imp.reason_counts


def test_the_sample_header_uses_variable_descriptions_when_given(alice_client, shop, order_template, acme):
    order_template.variables.filter(position=2).update(description="收货人")
    text = alice_client.get(sample_url(order_template, "csv")).content.decode("utf-8-sig")
    assert text.splitlines()[0] == "phone,${1},收货人"
    imp = import_bytes(acme, shop, order_template, "sample.csv", text.encode())
    assert (imp.accepted, imp.rejected) == (2, 0)


def test_the_sample_numbers_follow_the_applications_region(alice_client, factories, acme):
    app = factories.create_application(acme, "US shop", default_region="US")
    template = create_order_template(factories, app)
    data = alice_client.get(sample_url(template, "csv")).content
    imp = import_bytes(acme, app, template, "sample.csv", data)
    assert (imp.accepted, imp.rejected) == (2, 0)
    assert all(phone.startswith("+1") for phone in Recipient.objects.values_list("phone", flat=True))


def test_the_sample_is_served_only_for_the_accounts_own_templates(client, charlie, order_template):
    client.force_login(charlie)
    assert client.get(sample_url(order_template, "csv")).status_code == 404
    assert client.get(sample_url(order_template, "xlsx")).status_code == 404


def test_a_read_only_member_may_download_a_sample_but_not_in_an_unknown_format(client, bob, order_template):
    client.force_login(bob)
    assert client.get(sample_url(order_template, "csv")).status_code == 200
    assert client.get(sample_url(order_template, "xls")).status_code == 404
