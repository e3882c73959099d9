"""The campaign form: what the cascade offers, and what it refuses, with the error on the right field."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns.campaign_forms import CampaignForm, default_connection
from campaigns.models import Campaign, Contact, ContactList, ProviderConnection, RecipientImport
from smsconsole.models import Application
from templates_app.models import Signature, Template
from tests.campaign_helpers import create_completed_import, create_connection, create_order_setup

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:00 in Shanghai: inside the promotion hours, so only the rule under test can fail.
MORNING = datetime(2025, 5, 1, 10, 0, tzinfo=SHANGHAI)


def make_form(account, data=None, *, initial=None, connections=None, campaign=None):
    return CampaignForm(
        data,
        initial=initial,
        applications=Application.objects.filter(account=account),
        signatures=Signature.objects.filter(application__account=account),
        templates=Template.objects.filter(application__account=account),
        imports=RecipientImport.objects.filter(account=account),
        contact_lists=ContactList.objects.filter(account=account),
        connections=connections,
        campaign=campaign,
    )


def options(form, name):
    return [value for value, _label in form.fields[name].choices if value != ""]


def audience_values(form):
    values = []
    for _group, label in form.fields["audience"].widget.choices:
        if isinstance(label, list):
            values += [v for v, _l in label]
    return values


@pytest.fixture
def setup(factories, acme, shop):
    connection = create_connection()
    signature, template = create_order_setup(factories, shop)
    recipient_import = create_completed_import(acme, shop, template)
    return {"connection": connection, "signature": signature, "template": template, "import": recipient_import}


def valid_data(setup, **overrides):
    data = {
        "name": "Spring sale",
        "application": setup["template"].application_id,
        "signature": setup["signature"].pk,
        "template": setup["template"].pk,
        "audience": f"import:{setup['import'].pk}",
        "when": "now",
        "scheduled_at": "",
    }
    data.update(overrides)
    return data


# --- The cascade ----------------------------------------------------------------------------------


def test_it_offers_the_accounts_created_and_launched_applications_only(factories, acme, other_co, shop):
    launched = factories.create_application(acme, "Launched")
    launched.launch()
    suspended = factories.create_application(acme, "Suspended")
    suspended.launch()
    suspended.suspend()
    factories.create_application(other_co, "Theirs")
    form = make_form(acme)
    assert set(options(form, "application")) == {shop.pk, launched.pk}


def test_it_offers_approved_non_verification_signatures_of_the_chosen_application(factories, acme, shop):
    approved = factories.create_signature(shop, name="Shop")
    promotion = factories.create_signature(shop, name="Shop", type="promotion")
    factories.create_signature(shop, name="Pending", status=Signature.Status.PENDING_REVIEW)
    factories.create_signature(shop, name="Rejected", status=Signature.Status.REJECTED)
    factories.create_signature(shop, name="Codes", type="verification")
    other_app = factories.create_application(acme, "Other")
    factories.create_signature(other_app, name="Elsewhere")
    form = make_form(acme, initial={"application": shop.pk})
    assert set(options(form, "signature")) == {approved.pk, promotion.pk}


def test_it_offers_no_signature_before_an_application_is_chosen(factories, acme, shop):
    factories.create_signature(shop, name="Shop")
    assert options(make_form(acme), "signature") == []


def test_it_offers_active_templates_bound_to_the_signature_and_of_its_type(factories, acme, shop):
    signature = factories.create_signature(shop, name="Shop")
    other_signature = factories.create_signature(shop, name="Other")
    active = factories.create_template(shop, signature=signature, name="Active")
    factories.create_template(shop, signature=signature, name="Pending", status=Template.Status.PENDING_REVIEW)
    factories.create_template(shop, signature=signature, name="Inactive", status=Template.Status.INACTIVE)
    factories.create_template(shop, signature=signature, name="Draft", status=Template.Status.DRAFT)
    factories.create_template(shop, signature=signature, name="Universal", universal=True)
    factories.create_template(shop, signature=None, name="Universal unbound", universal=True)
    factories.create_template(
        shop, signature=signature, name="Promo type", type="promotion", content="Sale ${1}, reply R to opt out"
    )
    factories.create_template(shop, signature=other_signature, name="Other signature")
    form = make_form(acme, initial={"application": shop.pk, "signature": signature.pk})
    assert options(form, "template") == [active.pk]


def test_verification_templates_are_never_offered(factories, acme, shop):
    codes = factories.create_signature(shop, name="Codes", type="verification")
    factories.create_template(shop, signature=codes, type="verification", content="Your code is ${1}")
    form = make_form(acme, initial={"application": shop.pk, "signature": codes.pk})
    assert options(form, "signature") == []
    assert options(form, "template") == []


def test_a_signature_of_another_application_yields_no_templates(factories, acme, shop):
    other_app = factories.create_application(acme, "Other")
    signature, _template = create_order_setup(factories, other_app)
    form = make_form(acme, initial={"application": shop.pk, "signature": signature.pk})
    assert options(form, "template") == []


def test_the_audience_lists_the_templates_files_number_files_and_contact_lists(factories, acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    create_completed_import(acme, shop, setup["template"], name="running.csv", status=RecipientImport.Status.RUNNING)
    other_app = factories.create_application(acme, "Other")
    create_completed_import(acme, other_app, None, name="elsewhere.csv")
    customers = ContactList.objects.create(account=acme, name="Customers")
    initial = {"application": shop.pk, "signature": setup["signature"].pk, "template": setup["template"].pk}
    form = make_form(acme, initial=initial)
    groups = [label for _value, label in form.fields["audience"].widget.choices if isinstance(label, list)]
    assert [[value for value, _l in group] for group in groups] == [
        [f"import:{setup['import'].pk}"],
        [f"import:{numbers.pk}"],
        [f"list:{customers.pk}"],
    ]


def cascade(setup, **extra):
    return {
        "application": setup["template"].application_id,
        "signature": setup["signature"].pk,
        "template": setup["template"].pk,
        **extra,
    }


def test_a_file_with_the_templates_values_sends_them_per_recipient(acme, setup):
    form = make_form(acme, initial=cascade(setup, audience=f"import:{setup['import'].pk}"))
    assert form.chosen_mode == Campaign.Mode.DIFF
    assert form.variable_rows() == [] or all(row["source"] is None for row in form.variable_rows())


def test_a_number_file_asks_for_one_value_per_variable(acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    form = make_form(acme, initial=cascade(setup, audience=f"import:{numbers.pk}"))
    assert form.chosen_mode == Campaign.Mode.TEMPLATE
    assert [row["value"].name for row in form.variable_rows()] == ["var_1", "var_2"]
    assert all(row["source"] is None for row in form.variable_rows())


def test_a_contact_list_offers_its_name_and_custom_fields_as_sources(acme, setup):
    customers = ContactList.objects.create(account=acme, name="Customers", field_names=["order", "city"])
    form = make_form(acme, initial=cascade(setup, audience=f"list:{customers.pk}"))
    assert form.chosen_mode == Campaign.Mode.TEMPLATE
    [first, _second] = form.variable_rows()
    assert [value for value, _label in first["source"].field.choices] == ["", "name", "custom:order", "custom:city"]


# --- Validation -----------------------------------------------------------------------------------


@time_machine.travel(MORNING, tick=False)
def test_a_valid_per_recipient_form_cleans_to_the_draft_fields(acme, setup):
    form = make_form(acme, valid_data(setup))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["recipient_import"] == setup["import"]
    assert form.cleaned_data["contact_list"] is None
    assert form.cleaned_data["shared_variables"] == []
    assert form.cleaned_data["connection"] == setup["connection"]
    assert form.cleaned_data["scheduled_at"] is None


@time_machine.travel(MORNING, tick=False)
def test_a_scheduled_time_is_read_in_the_consoles_time_zone(acme, setup):
    form = make_form(acme, valid_data(setup, when="scheduled", scheduled_at="2025-05-02T09:30"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["scheduled_at"] == datetime(2025, 5, 2, 9, 30, tzinfo=SHANGHAI)


@time_machine.travel(MORNING, tick=False)
def test_it_refuses_a_scheduled_time_in_the_past(acme, setup):
    form = make_form(acme, valid_data(setup, when="scheduled", scheduled_at="2025-05-01T09:59"))
    assert not form.is_valid()
    assert form.errors["scheduled_at"] == ["The time must be in the future."]


@time_machine.travel(MORNING, tick=False)
def test_it_refuses_a_time_more_than_31_days_ahead(acme, setup):
    latest = (MORNING + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
    assert make_form(acme, valid_data(setup, when="scheduled", scheduled_at=latest)).is_valid()
    too_late = (MORNING + timedelta(days=31, minutes=1)).strftime("%Y-%m-%dT%H:%M")
    form = make_form(acme, valid_data(setup, when="scheduled", scheduled_at=too_late))
    assert form.errors["scheduled_at"] == ["A campaign can be scheduled at most 31 days ahead."]


@time_machine.travel(MORNING, tick=False)
def test_scheduling_needs_a_time(acme, setup):
    form = make_form(acme, valid_data(setup, when="scheduled"))
    assert form.errors["scheduled_at"] == ["Enter the date and time to send at."]


@time_machine.travel(MORNING, tick=False)
def test_a_time_with_send_now_is_ambiguous_and_refused(acme, setup):
    form = make_form(acme, valid_data(setup, when="now", scheduled_at="2025-05-02T09:30"))
    assert "choose “Schedule” or clear the time" in form.errors["scheduled_at"][0]


@time_machine.travel(MORNING, tick=False)
@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (["A-100", "张三"], "var_1", "Only letters and digits."),
        (["A100", "张.三"], "var_2", "A text value may not contain . 。 ' < > { }"),
        (["A100", "一二三四五六七八九十一"], "var_2", "At most 10 characters."),
        (["", "张三"], "var_1", "Enter a value for this variable."),
        (["A100", "www.a.cn"], "var_2", "Links belong in the template's fixed text, not in a variable."),
    ],
)
def test_shared_values_must_fit_their_variables_attribute(acme, shop, setup, values, field, message):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    data = valid_data(setup, audience=f"import:{numbers.pk}", var_1=values[0], var_2=values[1])
    form = make_form(acme, data)
    assert not form.is_valid()
    assert form.errors[field] == [message]


@time_machine.travel(MORNING, tick=False)
def test_a_template_with_a_variable_of_an_unknown_attribute_is_refused_on_the_template(acme, shop, setup):
    setup["template"].variables.filter(position=2).update(attribute="BOGUS")  # written around the forms
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    form = make_form(acme, valid_data(setup, audience=f"import:{numbers.pk}", var_1="A100", var_2="张三"))
    assert not form.is_valid()
    assert form.errors["template"] == [
        "A variable of the template has an unknown attribute; correct the template's variables before sending."
    ]


@time_machine.travel(MORNING, tick=False)
def test_shared_values_are_kept_in_template_order(acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    form = make_form(acme, valid_data(setup, audience=f"import:{numbers.pk}", var_1="A100", var_2="张三"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["shared_variables"] == ["A100", "张三"]
    assert form.cleaned_data["mode"] == Campaign.Mode.TEMPLATE


@time_machine.travel(MORNING, tick=False)
def test_it_refuses_a_file_imported_for_another_application(factories, acme, setup):
    other_app = factories.create_application(acme, "Other")
    elsewhere = create_completed_import(acme, other_app, None, name="elsewhere.csv")
    form = make_form(acme, valid_data(setup, var_1="A1", var_2="Li", audience=f"import:{elsewhere.pk}"))
    assert form.errors["audience"] == ["This file was imported for another application (Other)."]


@time_machine.travel(MORNING, tick=False)
@pytest.mark.parametrize(
    "status", [RecipientImport.Status.PENDING, RecipientImport.Status.RUNNING, RecipientImport.Status.FAILED]
)
def test_it_refuses_a_file_whose_import_is_not_completed(acme, shop, setup, status):
    unfinished = create_completed_import(acme, shop, setup["template"], name="later.csv", status=status)
    form = make_form(acme, valid_data(setup, audience=f"import:{unfinished.pk}"))
    assert form.errors["audience"] == [
        f"Only a completed import can be sent to; this file is “{unfinished.get_status_display()}”."
    ]


@time_machine.travel(MORNING, tick=False)
def test_a_file_checked_against_another_template_is_refused(factories, acme, shop, setup):
    _signature, other = create_order_setup(factories, shop, name="Other")
    theirs = create_completed_import(acme, shop, other, name="other.csv")
    form = make_form(acme, valid_data(setup, audience=f"import:{theirs.pk}"))
    assert form.errors["audience"] == [
        "This file's columns were checked against another template; import it again for this one."
    ]


@time_machine.travel(MORNING, tick=False)
def test_a_contact_list_takes_variables_from_its_fields_or_typed_values(acme, setup):
    customers = ContactList.objects.create(account=acme, name="Customers", field_names=["order"])
    Contact.objects.create(contact_list=customers, phone="+8613800138000", name="Li", fields={"order": "A1"})
    data = valid_data(setup, audience=f"list:{customers.pk}", src_1="custom:order", src_2="", var_2="张三")
    form = make_form(acme, data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["variable_sources"] == ["custom:order", ""]
    assert form.cleaned_data["shared_variables"] == ["", "张三"]
    assert form.cleaned_data["contact_list"] == customers


@time_machine.travel(MORNING, tick=False)
def test_a_typed_value_beside_contact_sources_is_still_checked(acme, setup):
    customers = ContactList.objects.create(account=acme, name="Customers")
    Contact.objects.create(contact_list=customers, phone="+8613800138000", name="Li")
    form = make_form(acme, valid_data(setup, audience=f"list:{customers.pk}", src_2="name", var_1="A-1"))
    assert form.errors["var_1"] == ["Only letters and digits."]


@time_machine.travel(MORNING, tick=False)
def test_an_empty_contact_list_is_refused(acme, setup):
    customers = ContactList.objects.create(account=acme, name="Customers")
    form = make_form(acme, valid_data(setup, var_1="A1", var_2="Li", audience=f"list:{customers.pk}"))
    assert form.errors["audience"] == ["This contact list is empty."]


@time_machine.travel(MORNING, tick=False)
def test_a_file_where_every_number_opted_out_is_refused(acme, shop, setup):
    opted = create_completed_import(acme, shop, setup["template"], name="opted.csv", accepted=2, opted_out=2)
    form = make_form(acme, valid_data(setup, audience=f"import:{opted.pk}"))
    assert form.errors["audience"] == ["No number of this file can be sent to."]


@time_machine.travel(MORNING, tick=False)
def test_another_accounts_file_is_not_found(factories, acme, other_co, setup):
    theirs_app = factories.create_application(other_co, "Theirs")
    theirs = create_completed_import(other_co, theirs_app, None, name="theirs.csv")
    form = make_form(acme, valid_data(setup, audience=f"import:{theirs.pk}"))
    assert form.errors["audience"] == ["Choose a recipient file or a contact list."]


@pytest.mark.parametrize(
    ("moment", "ok"),
    [
        (datetime(2025, 5, 1, 7, 59, tzinfo=SHANGHAI), False),
        (datetime(2025, 5, 1, 8, 0, tzinfo=SHANGHAI), True),
        (datetime(2025, 5, 1, 21, 59, tzinfo=SHANGHAI), True),
        (datetime(2025, 5, 1, 22, 0, tzinfo=SHANGHAI), False),
    ],
)
def test_promotions_go_out_only_between_8_and_22(factories, acme, shop, moment, ok):
    create_connection()
    signature = factories.create_signature(shop, name="Shop", type="promotion")
    template = factories.create_template(
        shop, signature=signature, type="promotion", content="Sale today, reply R to opt out"
    )
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    data = {
        "name": "Sale",
        "application": shop.pk,
        "signature": signature.pk,
        "template": template.pk,
        "audience": f"import:{numbers.pk}",
        "when": "now",
    }
    with time_machine.travel(moment, tick=False):
        form = make_form(acme, data)
        assert form.is_valid() is ok
        if not ok:
            assert form.errors["when"] == ["Promotional messages can only be sent between 08:00 and 22:00."]
    with time_machine.travel(datetime(2025, 5, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        scheduled = dict(data, when="scheduled", scheduled_at=moment.replace(day=2).strftime("%Y-%m-%dT%H:%M"))
        form = make_form(acme, scheduled)
        assert form.is_valid() is ok
        if not ok:
            assert form.errors["scheduled_at"] == ["Promotional messages can only be sent between 08:00 and 22:00."]


def test_an_account_that_narrowed_its_promotion_window_is_held_to_it(factories, acme, shop):
    from campaigns.models import AccountLimits

    AccountLimits.objects.create(account=acme, promotion_start_hour=9, promotion_end_hour=20)
    create_connection()
    signature = factories.create_signature(shop, name="Shop", type="promotion")
    template = factories.create_template(
        shop, signature=signature, type="promotion", content="Sale today, reply R to opt out"
    )
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    data = {
        "name": "Sale",
        "application": shop.pk,
        "signature": signature.pk,
        "template": template.pk,
        "audience": f"import:{numbers.pk}",
        "when": "now",
    }
    with time_machine.travel(datetime(2025, 5, 1, 8, 30, tzinfo=SHANGHAI), tick=False):
        form = make_form(acme, data)
        assert form.errors["when"] == ["Promotional messages can only be sent between 09:00 and 20:00."]
    with time_machine.travel(datetime(2025, 5, 1, 19, 59, tzinfo=SHANGHAI), tick=False):
        assert make_form(acme, data).is_valid()


# --- Provider connection --------------------------------------------------------------------------


def test_the_default_connection_is_the_one_named_in_settings(db, settings):
    create_connection("aaa-first")
    named = create_connection("carrier")
    settings.SMS_DEFAULT_CONNECTION = "carrier"
    assert default_connection() == named


def test_without_the_named_connection_the_first_enabled_one_is_the_default(db, settings):
    create_connection("aaa-disabled", enabled=False)
    enabled = create_connection("bbb-enabled")
    settings.SMS_DEFAULT_CONNECTION = "missing"
    assert default_connection() == enabled


@time_machine.travel(MORNING, tick=False)
def test_without_any_connection_the_form_says_so(acme, setup):
    ProviderConnection.objects.all().delete()
    form = make_form(acme, valid_data(setup))
    assert not form.is_valid()
    assert form.non_field_errors() == ["No provider connection is available; ask an administrator to add one."]


@time_machine.travel(MORNING, tick=False)
def test_staff_may_choose_another_enabled_connection(acme, setup):
    other = create_connection("carrier")
    connections = ProviderConnection.objects.filter(enabled=True)
    form = make_form(acme, valid_data(setup, connection=other.pk), connections=connections)
    assert form.chooses_connection
    assert form.is_valid(), form.errors
    assert form.cleaned_data["connection"] == other


def test_operators_do_not_choose_a_connection(acme, setup):
    form = make_form(acme)
    assert not form.chooses_connection
    assert form.connection_name == "simulator"
