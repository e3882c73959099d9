import pytest

from templates_app.forms.templates import PROBLEM_MESSAGES, TemplateForm, problem_message
from templates_app.models import Signature
from templates_app.rules import PROBLEM_CODES, Problem


@pytest.fixture
def notice_signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="notification")


@pytest.fixture
def code_signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="verification")


@pytest.fixture
def promo_signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="promotion")


def form_for(acme, shop, signature=None, instance=None, **overrides):
    data = {
        "application": shop.pk,
        "signature": signature.pk if signature else "",
        "name": "order_notice_01",
        "type": signature.type if signature else "notification",
        "content": "您的订单${1}已发货。",
        "description": "",
    }
    data.update(overrides)
    return TemplateForm(data, instance=instance, account=acme)


def errors_of(form, field):
    form.is_valid()
    return form.errors.get(field, [])


# Every parameter any problem carries, so each message can be formatted.
ALL_PARAMS = {
    "length": 501,
    "limit": 500,
    "count": 2,
    "text": "${1}${2}",
    "characters": "【】",
    "symbols": "★",
    "signature": "Acme",
    "position": 1,
    "attribute": "PHONE",
    "link": "http://bit.ly/x",
}


def test_every_rule_problem_code_has_a_message():
    assert set(PROBLEM_MESSAGES) == set(PROBLEM_CODES)
    for code in PROBLEM_CODES:
        assert problem_message(Problem(code, ALL_PARAMS))


def test_a_valid_form_is_valid(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature)
    assert form.is_valid(), form.errors


def test_each_variable_gets_a_row_with_defaults_from_its_label(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, content="客服电话${PHONE}，订单${1}于${DATETIME}发货。")
    assert [(row["text"], row["attribute"].value(), row["max_length"].value()) for row in form.variable_rows()] == [
        ("${PHONE}", "PHONE", "15"),
        ("${1}", "TEXT", "20"),
        ("${DATETIME}", "DATETIME", "20"),
    ]
    assert "var-3-description" in form.fields


def test_a_verification_variable_defaults_to_the_longest_code_allowed(acme, shop, code_signature):
    form = form_for(acme, shop, code_signature, content="您的验证码是${1}，5分钟内有效。")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["var-1-max_length"] == 8


def test_posted_variable_settings_are_kept(acme, shop, notice_signature):
    form = form_for(
        acme,
        shop,
        notice_signature,
        **{
            "var-1-label": "1",
            "var-1-attribute": "CHARDIGIT",
            "var-1-max_length": "12",
            "var-1-description": "order no.",
        },
    )
    assert form.is_valid(), form.errors
    assert form.variable_rows_data() == [(1, "CHARDIGIT", 12, "order no.")]


def test_a_position_whose_label_changed_starts_again_from_its_defaults(acme, shop, notice_signature):
    form = form_for(
        acme,
        shop,
        notice_signature,
        content="请致电${PHONE}咨询。",
        **{
            "var-1-label": "1",
            "var-1-attribute": "TEXT",
            "var-1-max_length": "20",
        },
    )
    assert form.is_valid(), form.errors
    assert form.variable_rows_data() == [(1, "PHONE", 15, "")]


def test_an_edit_form_starts_from_the_stored_variables(factories, acme, shop, notice_signature):
    template = factories.create_template(
        shop, signature=notice_signature, status="draft", content="订单${1}已发货", variables=[("CHARDIGIT", 10)]
    )
    form = TemplateForm(instance=template, account=acme)
    row = form.variable_rows()[0]
    assert (row["attribute"].value(), row["max_length"].value()) == ("CHARDIGIT", 10)
    assert form.fields["application"].disabled


def test_adjacent_variables_are_reported_next_to_the_content(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, content="尊敬的${1}${2}，您的订单已发货。")
    assert errors_of(form, "content") == ["Separate the variables in “${1}${2}” with text; spaces do not count."]


def test_a_verification_template_without_its_keyword_is_refused(acme, shop, code_signature):
    form = form_for(acme, shop, code_signature, content="您的号码是${1}，5分钟内有效。")
    assert (
        "A verification template must contain 验证码, 注册码, 校验码 or 动态码 (“code” for English text)."
        in errors_of(form, "content")
    )


def test_a_promotion_without_an_opt_out_is_refused(acme, shop, promo_signature):
    form = form_for(acme, shop, promo_signature, content="春季大促，全场五折！")
    assert errors_of(form, "content") == ["A promotion must say how to opt out, for example “拒收请回复R”."]
    assert form_for(acme, shop, promo_signature, content="春季大促，全场五折！拒收请回复R").is_valid()


def test_brackets_in_the_content_are_refused(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, content="您的订单[${1}]已发货。")
    assert errors_of(form, "content") == ["Remove [] from the content: brackets are reserved for the signature."]


def test_too_long_counts_the_signature_and_its_brackets(acme, shop, notice_signature):
    # "【Acme】" is 6 characters: 494 of content reach the limit of 500 exactly.
    assert form_for(acme, shop, notice_signature, content="通" * 494).is_valid()
    form = form_for(acme, shop, notice_signature, content="通" * 495)
    assert errors_of(form, "content") == ["The text is 501 characters long with the signature; the limit is 500."]


def test_a_verification_code_longer_than_8_is_reported_on_its_variable_row(acme, shop, code_signature):
    form = form_for(
        acme,
        shop,
        code_signature,
        content="您的验证码是${1}。",
        **{
            "var-1-label": "1",
            "var-1-attribute": "CHARDIGIT",
            "var-1-max_length": "10",
        },
    )
    assert errors_of(form, "var-1-max_length") == [
        "A verification code is at most 8 characters long; variable 1 allows 10."
    ]
    assert "content" not in form.errors


def test_a_length_beyond_the_attribute_limit_is_reported_on_its_variable_row(acme, shop, notice_signature):
    form = form_for(
        acme,
        shop,
        notice_signature,
        content="请致电${1}咨询。",
        **{
            "var-1-label": "1",
            "var-1-attribute": "PHONE",
            "var-1-max_length": "16",
        },
    )
    assert errors_of(form, "var-1-max_length") == [
        "Variable 1 is a Phone number: its maximum length must be 1 to 15, not 16."
    ]


def test_a_malformed_variable_is_reported(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, content="您的订单${phone}已发货。")
    assert errors_of(form, "content")[0].startswith("“${phone}” is not a valid variable")


def test_the_name_is_at_most_30_characters(acme, shop, notice_signature):
    assert errors_of(form_for(acme, shop, notice_signature, name="n" * 31), "name")


def test_a_signature_is_needed_unless_the_template_is_universal(acme, shop):
    assert errors_of(form_for(acme, shop), "signature") == ["Choose a signature, or make the template universal."]
    form = form_for(acme, shop, universal="on")
    assert form.is_valid(), form.errors


def test_a_universal_template_drops_the_signature(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, universal="on")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["signature"] is None


def test_the_signature_must_be_of_the_same_type(acme, shop, code_signature):
    form = form_for(acme, shop, code_signature, type="notification")
    assert errors_of(form, "signature") == ["The signature must be of the same type as the template."]


def test_only_the_chosen_applications_signatures_are_offered(factories, acme, shop):
    other_app = factories.create_application(acme, "Other")
    theirs = factories.create_signature(other_app, name="Other", type="notification")
    ours = factories.create_signature(shop, name="Ours", type="notification")
    assert list(TemplateForm(account=acme, initial={"application": shop.pk}).fields["signature"].queryset) == [ours]
    assert not TemplateForm(account=acme).fields["signature"].queryset.exists()  # two applications, none chosen
    form = form_for(acme, shop, theirs)
    assert errors_of(form, "signature") == ["Select a valid choice. That choice is not one of the available choices."]


def test_rejected_signatures_are_not_offered(factories, acme, shop):
    rejected = factories.create_signature(
        shop, name="Nope", status=Signature.Status.REJECTED, reason_code="sig_neutral"
    )
    pending = factories.create_signature(shop, name="Soon", status=Signature.Status.PENDING_REVIEW)
    offered = set(TemplateForm(account=acme).fields["signature"].queryset)
    assert pending in offered
    assert rejected not in offered
    assert errors_of(form_for(acme, shop, rejected), "signature")


def test_another_accounts_signature_and_application_are_not_offered(factories, acme, other_co, shop):
    other_app = factories.create_application(other_co, "Theirs")
    theirs = factories.create_signature(other_app, name="Theirs")
    form = TemplateForm(account=acme)
    assert list(form.fields["application"].queryset) == [shop]
    assert theirs not in set(form.fields["signature"].queryset)
    assert errors_of(form_for(acme, other_app, theirs), "application")


def test_the_quota_is_checked_on_create(settings, factories, acme, shop, notice_signature):
    settings.SMS_MAX_TEMPLATES_PER_APPLICATION = 1
    existing = factories.create_template(shop, signature=notice_signature, status="draft")
    assert errors_of(form_for(acme, shop, notice_signature), "application") == [
        "An application can have at most 1 templates."
    ]
    # Editing an existing template does not need room for another.
    assert form_for(acme, shop, notice_signature, instance=existing).is_valid()


def test_saving_writes_the_template_and_its_variables(acme, shop, notice_signature):
    form = form_for(acme, shop, notice_signature, content="客服电话${PHONE}，订单${1}已发货。")
    assert form.is_valid(), form.errors
    template = form.save()
    assert template.status == "draft"
    assert [(v.position, v.attribute, v.max_length) for v in template.variables.all()] == [
        (1, "PHONE", 15),
        (2, "TEXT", 20),
    ]


def test_saving_an_edit_replaces_the_variables(factories, acme, shop, notice_signature):
    template = factories.create_template(
        shop,
        signature=notice_signature,
        status="rejected",
        content="订单${1}和${2}已发货",
        variables=[("TEXT", 20)] * 2,
    )
    form = form_for(acme, shop, notice_signature, instance=template, content="订单${1}已发货")
    assert form.is_valid(), form.errors
    form.save()
    template.refresh_from_db()
    assert template.content == "订单${1}已发货"
    assert template.status == "rejected"
    assert template.variables.count() == 1


def test_a_maximum_length_above_every_attribute_limit_is_refused_by_the_field(factories, acme, shop):
    # Bounded before the rules see it: the value must fit the column it is stored in.
    signature = factories.create_signature(shop, type="notification")
    form = TemplateForm(
        {
            "application": shop.pk,
            "signature": signature.pk,
            "name": "n",
            "type": "notification",
            "content": "Order ${1} shipped",
            "var-1-label": "1",
            "var-1-attribute": "TEXT",
            "var-1-max_length": "70000",
        },
        account=acme,
    )
    assert not form.is_valid()
    assert form.errors["var-1-max_length"] == ["Ensure this value is less than or equal to 20."]
