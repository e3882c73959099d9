import re
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from smsconsole.models import AuditLog
from templates_app.models import Template

LIST = reverse("templates_app:template_list")
CREATE = reverse("templates_app:template_create")
BATCH_DELETE = reverse("templates_app:template_batch_delete")


def url(name, template):
    return reverse(f"templates_app:template_{name}", args=[template.pk])


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def field_html(response, name):
    """The HTML of one form field's block, up to the next field's."""
    html = response.content.decode()
    start = html.rindex("<div", 0, html.index(f'id="field-{name}"'))
    following = html.find('id="field-', html.index(f'id="field-{name}"') + 1)
    return html[start : following if following != -1 else None]


def listed_names(response):
    return [row["template"].name for row in response.context["rows"]]


@pytest.fixture
def signature(factories, shop):
    return factories.create_signature(shop, name="Acme", type="notification")


@pytest.fixture
def make(factories, shop, signature):
    def make(name="Order shipped", status="draft", **fields):
        if not fields.get("universal"):
            fields.setdefault("signature", signature)
        return factories.create_template(shop, name=name, status=status, **fields)

    return make


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(client, charlie):
    client.force_login(charlie)
    return client


def form_data(shop, signature, **overrides):
    data = {
        "application": shop.pk,
        "signature": signature.pk,
        "name": "order_notice_01",
        "type": "notification",
        "content": "您的订单${1}已发货，客服电话${PHONE}。",
        "description": "Shipping notices",
        "save_draft": "",
    }
    data.update(overrides)
    return data


# --- List ---------------------------------------------------------------------------------------


def test_the_list_shows_the_columns_of_each_template(alice_client, make, rita):
    make("Plain", content="订单${1}已发货", variables=[("TEXT", 10)])
    make("Everyone", universal=True)
    rejected = make("Refused", status="pending_review")
    rejected.reject(rita, "tpl_symbols")
    urged = make("Hurry", status="pending_review")
    urged.urge()
    response = alice_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert set(listed_names(response)) == {"Plain", "Everyone", "Refused", "Hurry"}
    assert "Universal" in html
    assert "【Acme】" in html
    assert "Format: banned symbols or 【】" in html
    assert '<span class="status urged">Urged</span>' in html
    plain = next(row for row in response.context["rows"] if row["template"].name == "Plain")
    # 【Acme】 (6) + 订单 (2) + the variable at 10 + 已发货 (3)
    assert (plain["segments"].length, plain["segments"].segments) == (21, 1)


def test_the_list_filters_by_name_type_status_and_creation_dates(factories, alice_client, shop, make):
    code_signature = factories.create_signature(shop, name="Acme", type="verification")
    make("spring_sale_notice", created_at=datetime(2025, 3, 1, 4, tzinfo=UTC))
    make(
        "login_code",
        type="verification",
        signature=code_signature,
        content="验证码${1}",
        status="active",
        created_at=datetime(2025, 3, 10, 4, tzinfo=UTC),
    )
    make("summer_sale_notice", status="active", created_at=datetime(2025, 6, 1, 4, tzinfo=UTC))

    assert sorted(listed_names(alice_client.get(LIST, {"name": "SALE"}))) == [
        "spring_sale_notice",
        "summer_sale_notice",
    ]
    assert listed_names(alice_client.get(LIST, {"type": "verification"})) == ["login_code"]
    assert sorted(listed_names(alice_client.get(LIST, {"status": "active"}))) == ["login_code", "summer_sale_notice"]
    between = alice_client.get(LIST, {"created_from": "2025-03-01", "created_to": "2025-03-10"})
    assert sorted(listed_names(between)) == ["login_code", "spring_sale_notice"]
    assert listed_names(alice_client.get(LIST, {"created_from": "2025-03-11"})) == ["summer_sale_notice"]
    assert listed_names(alice_client.get(LIST, {"name": "sale", "status": "draft"})) == ["spring_sale_notice"]


def test_the_creation_dates_are_days_of_the_console_time_zone(alice_client, make):
    # 2025-03-01 23:30 in Shanghai is still 2025-03-01 15:30 UTC.
    make("late", created_at=datetime(2025, 3, 1, 15, 30, tzinfo=UTC))
    assert listed_names(alice_client.get(LIST, {"created_from": "2025-03-02"})) == []
    assert listed_names(alice_client.get(LIST, {"created_to": "2025-03-01"})) == ["late"]


def test_the_list_has_50_templates_a_page(alice_client, make):
    for i in range(51):
        make(f"t{i:02d}")
    first = alice_client.get(LIST)
    assert len(first.context["rows"]) == 50
    second = alice_client.get(LIST, {"page": 2})
    assert len(second.context["rows"]) == 1


def test_the_list_does_not_query_per_row(alice_client, make, django_assert_max_num_queries):
    make("first", content="订单${1}和${2}", variables=[("TEXT", 5), ("MONEY", 8)])
    alice_client.get(LIST)  # warm the session
    with CaptureQueriesContext(connection) as one_row:
        alice_client.get(LIST)
    # session, user, membership, count, page, variables
    assert len(one_row) <= 6
    for i in range(49):
        make(f"more{i}", universal=(i % 2 == 0), content="订单${1}和${2}", variables=[("TEXT", 5), ("MONEY", 8)])
    with django_assert_max_num_queries(len(one_row)):
        response = alice_client.get(LIST)
    assert len(response.context["rows"]) == 50


def test_another_account_sees_nothing_in_the_list(charlie_client, make):
    make("Acme secret")
    response = charlie_client.get(LIST)
    assert response.status_code == 200
    assert listed_names(response) == []
    assert "Acme secret" not in response.content.decode()


def test_a_read_only_member_sees_the_list_without_change_controls(bob_client, make):
    make("Visible")
    response = bob_client.get(LIST)
    html = response.content.decode()
    assert listed_names(response) == ["Visible"]
    assert 'name="ids"' not in html
    assert CREATE not in html


def test_the_list_sends_anonymous_visitors_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Batch delete -------------------------------------------------------------------------------


def test_batch_delete_deletes_the_selected_templates_with_an_audit_entry_each(alice_client, make):
    doomed = [make("a"), make("b", status="active")]
    kept = make("c")
    response = alice_client.post(BATCH_DELETE, {"ids": [t.pk for t in doomed]})
    assert response.status_code == 302
    assert list(Template.objects.all()) == [kept]
    assert messages_of(response) == ["2 templates deleted."]
    assert AuditLog.objects.filter(action="template.delete").count() == 2


def test_batch_delete_refuses_more_than_the_limit(settings, alice_client, make):
    settings.SMS_TEMPLATE_BATCH_DELETE_MAX = 2
    templates = [make(f"t{i}") for i in range(3)]
    response = alice_client.post(BATCH_DELETE, {"ids": [t.pk for t in templates]})
    assert Template.objects.count() == 3
    assert messages_of(response) == ["At most 2 templates can be deleted at once; 3 were selected."]


def test_batch_delete_refuses_the_whole_batch_when_one_is_pending(alice_client, make):
    draft = make("draft one")
    pending = make("waiting", status="pending_review")
    response = alice_client.post(BATCH_DELETE, {"ids": [draft.pk, pending.pk]})
    assert Template.objects.count() == 2
    assert messages_of(response) == [
        "Nothing was deleted: templates pending review cannot be deleted (withdraw them first): waiting."
    ]
    assert not AuditLog.objects.filter(action="template.delete").exists()


def test_batch_delete_with_nothing_selected_says_so(alice_client):
    response = alice_client.post(BATCH_DELETE, {})
    assert messages_of(response) == ["Select the templates to delete."]


def test_batch_delete_of_another_accounts_templates_is_not_found(charlie_client, make):
    template = make()
    assert charlie_client.post(BATCH_DELETE, {"ids": [template.pk]}).status_code == 404
    assert Template.objects.filter(pk=template.pk).exists()


def test_batch_delete_is_refused_to_a_read_only_member(bob_client, make):
    template = make()
    assert bob_client.post(BATCH_DELETE, {"ids": [template.pk]}).status_code == 403
    assert Template.objects.filter(pk=template.pk).exists()


# --- Create and edit ----------------------------------------------------------------------------


def test_the_create_page_has_the_live_preview_wired_to_the_content(alice_client, shop, signature):
    response = alice_client.get(CREATE)
    content = field_html(response, "content")
    assert f'hx-post="{reverse("templates_app:template_preview")}"' in content
    assert 'hx-trigger="input changed delay:300ms' in content
    assert 'id="template-preview"' in response.content.decode()
    # The only application is chosen already.
    assert response.context["form"]["application"].value() == shop.pk


def test_saving_a_draft_creates_the_template_and_its_variables(alice_client, shop, signature):
    data = form_data(
        shop,
        signature,
        **{
            "var-1-label": "1",
            "var-1-attribute": "CHARDIGIT",
            "var-1-max_length": "12",
            "var-1-description": "order number",
        },
    )
    response = alice_client.post(CREATE, data)
    template = Template.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("detail", template)
    assert template.status == "draft"
    assert template.signature == signature
    assert [(v.attribute, v.max_length, v.description) for v in template.variables.all()] == [
        ("CHARDIGIT", 12, "order number"),
        ("PHONE", 15, ""),
    ]
    entry = AuditLog.objects.get(action="template.create")
    assert entry.actor.username == "alice"
    assert entry.after["variables"] == [["CHARDIGIT", 12], ["PHONE", 15]]


def test_submitting_from_the_form_saves_and_submits_for_review(alice_client, shop, signature):
    data = form_data(shop, signature)
    del data["save_draft"]
    data["submit_for_review"] = ""
    alice_client.post(CREATE, data)
    template = Template.objects.get()
    assert template.status == "pending_review"
    assert template.submitted_at is not None
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "template.create",
        "template.submit",
    ]


def test_rule_problems_are_shown_next_to_the_content(alice_client, shop, signature):
    response = alice_client.post(CREATE, form_data(shop, signature, content="尊敬的${1}${2}，[活动]开始了"))
    assert response.status_code == 200
    assert not Template.objects.exists()
    content = field_html(response, "content")
    assert "has-error" in content
    assert "Separate the variables in “${1}${2}” with text; spaces do not count." in content
    assert "Remove [] from the content: brackets are reserved for the signature." in content


def test_a_too_long_content_is_measured_with_the_signature(alice_client, shop, signature):
    response = alice_client.post(CREATE, form_data(shop, signature, content="通" * 495))
    assert "The text is 501 characters long with the signature; the limit is 500." in field_html(response, "content")


def test_a_verification_code_length_problem_is_shown_on_its_variable_row(factories, alice_client, shop):
    code_signature = factories.create_signature(shop, name="Acme", type="verification")
    response = alice_client.post(
        CREATE,
        form_data(
            shop,
            code_signature,
            type="verification",
            content="您的验证码是${1}",
            **{
                "var-1-label": "1",
                "var-1-attribute": "CHARDIGIT",
                "var-1-max_length": "9",
            },
        ),
    )
    html = response.content.decode()
    row = html[html.index('id="variable-1"') : html.index("</tr>", html.index('id="variable-1"'))]
    assert "A verification code is at most 8 characters long; variable 1 allows 9." in row
    assert "has-error" not in field_html(response, "content")


def test_promotions_need_an_opt_out_and_verification_templates_their_keyword(factories, alice_client, shop):
    promo = factories.create_signature(shop, name="Acme", type="promotion")
    response = alice_client.post(CREATE, form_data(shop, promo, type="promotion", content="春季大促，全场五折"))
    assert "A promotion must say how to opt out, for example “拒收请回复R”." in field_html(response, "content")
    code = factories.create_signature(shop, name="Acme", type="verification")
    response = alice_client.post(CREATE, form_data(shop, code, type="verification", content="您的号码${1}"))
    assert "A verification template must contain 验证码" in field_html(response, "content")


def test_the_quota_is_shown_next_to_the_application(settings, alice_client, shop, signature, make):
    settings.SMS_MAX_TEMPLATES_PER_APPLICATION = 1
    make()
    response = alice_client.post(CREATE, form_data(shop, signature))
    assert "An application can have at most 1 templates." in field_html(response, "application")
    assert Template.objects.count() == 1


def test_a_draft_can_be_edited_and_its_variables_replaced(alice_client, shop, signature, make):
    template = make(content="订单${1}和${2}", variables=[("TEXT", 20)] * 2)
    response = alice_client.post(
        url("edit", template), form_data(shop, signature, name="renamed", content="订单${1}已发货")
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.content, template.status) == ("renamed", "订单${1}已发货", "draft")
    assert template.variables.count() == 1
    entry = AuditLog.objects.get(action="template.edit")
    assert entry.before["name"] == "Order shipped"
    assert entry.after["name"] == "renamed"


def test_a_rejected_template_can_be_edited_and_submitted_again(alice_client, shop, signature, make, rita):
    template = make(status="pending_review")
    template.reject(rita, "tpl_symbols")
    data = form_data(shop, signature)
    del data["save_draft"]
    data["submit_for_review"] = ""
    alice_client.post(url("edit", template), data)
    template.refresh_from_db()
    assert template.status == "pending_review"


@pytest.mark.parametrize("status", ["pending_review", "active", "inactive"])
def test_only_drafts_and_rejected_templates_can_be_edited(alice_client, shop, signature, make, status):
    template = make(status=status)
    page = alice_client.get(url("edit", template))
    assert page.status_code == 302
    assert messages_of(page)[0].endswith("cannot be edited.")
    alice_client.post(url("edit", template), form_data(shop, signature, name="changed"))
    template.refresh_from_db()
    assert template.name == "Order shipped"


def test_the_edit_page_shows_the_stored_preview(alice_client, make):
    template = make(content="订单${1}已发货", variables=[("CHARDIGIT", 10)])
    html = alice_client.get(url("edit", template)).content.decode()
    # 【Acme】 (6) + 2 + 10 + 3
    assert re.search(r'id="preview-length">\s*21<', html)
    assert 'name="var-1-max_length" value="10"' in html


def test_create_and_edit_are_refused_to_a_read_only_member(bob_client, shop, signature, make):
    template = make()
    assert bob_client.get(CREATE).status_code == 403
    assert bob_client.post(CREATE, form_data(shop, signature)).status_code == 403
    assert bob_client.get(url("edit", template)).status_code == 403
    assert bob_client.post(url("edit", template), form_data(shop, signature, name="x")).status_code == 403
    assert Template.objects.get().name == "Order shipped"


def test_another_account_cannot_edit_or_use_acmes_application(charlie_client, shop, signature, make):
    template = make()
    assert charlie_client.get(url("edit", template)).status_code == 404
    assert charlie_client.post(url("edit", template), form_data(shop, signature, name="x")).status_code == 404
    response = charlie_client.post(CREATE, form_data(shop, signature))
    assert response.status_code == 200
    assert Template.objects.count() == 1
    assert "Acme" not in field_html(response, "signature")


# --- Detail and actions -------------------------------------------------------------------------


def test_the_detail_page_shows_the_signed_content_variables_and_reason(alice_client, make, rita):
    template = make(content="订单${1}已发货", variables=[("CHARDIGIT", 10)], status="pending_review")
    template.reject(rita, "other", "Name the shop in the text.")
    html = alice_client.get(url("detail", template)).content.decode()
    assert "【Acme】订单${1}已发货" in html
    assert "Code or number (letters and digits)" in html
    assert "Name the shop in the text." in html
    assert url("edit", template) in html
    assert url("submit", template) in html
    assert url("withdraw", template) not in html


@pytest.mark.parametrize(
    "status, offered, not_offered",
    [
        ("draft", ["edit", "submit", "delete"], ["withdraw", "urge"]),
        ("pending_review", ["withdraw", "urge"], ["edit", "submit", "delete"]),
        ("active", ["delete"], ["edit", "submit", "withdraw", "urge"]),
    ],
)
def test_the_detail_page_offers_the_actions_the_state_allows(alice_client, make, status, offered, not_offered):
    template = make(status=status)
    html = alice_client.get(url("detail", template)).content.decode()
    for action in offered:
        assert url(action, template) in html
    for action in not_offered:
        assert url(action, template) not in html


def test_a_read_only_member_sees_the_detail_without_actions(bob_client, make):
    template = make()
    response = bob_client.get(url("detail", template))
    assert response.status_code == 200
    assert url("submit", template) not in response.content.decode()


def test_submit_withdraw_and_urge_move_the_template_and_are_audited(alice_client, make):
    template = make()
    alice_client.post(url("submit", template))
    template.refresh_from_db()
    assert template.status == "pending_review"
    alice_client.post(url("urge", template))
    template.refresh_from_db()
    assert template.urged_at is not None
    alice_client.post(url("withdraw", template))
    template.refresh_from_db()
    assert template.status == "draft"
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "template.submit",
        "template.urge",
        "template.withdraw",
    ]


@pytest.mark.parametrize(
    "status, action, message",
    [
        ("active", "submit", "Not allowed while the status is “Approved (active)”."),
        ("draft", "withdraw", "Not allowed while the status is “Draft”."),
        ("inactive", "withdraw", "Not allowed while the status is “Approved (inactive)”."),
        ("draft", "urge", "Only a pending template can be urged, once."),
    ],
)
def test_a_refused_transition_is_an_error_message(alice_client, make, status, action, message):
    template = make(status=status)
    response = alice_client.post(url(action, template))
    assert response.status_code == 302
    assert response["Location"] == url("detail", template)
    assert messages_of(response) == [message]
    template.refresh_from_db()
    assert template.status == status
    assert not AuditLog.objects.exists()


def test_urging_twice_is_refused_with_a_message(alice_client, make):
    template = make(status="pending_review")
    alice_client.post(url("urge", template))
    response = alice_client.post(url("urge", template))
    assert messages_of(response)[-1] == "Only a pending template can be urged, once."


def test_submitting_a_draft_that_breaks_the_rules_is_refused(alice_client, make):
    template = make(content="尊敬的${1}${2}", variables=[("TEXT", 20)] * 2)
    response = alice_client.post(url("submit", template))
    assert "Separate the variables in “${1}${2}” with text; spaces do not count." in messages_of(response)[0]
    template.refresh_from_db()
    assert template.status == "draft"


def test_deleting_a_template_removes_it(alice_client, make):
    template = make(status="active")
    response = alice_client.post(url("delete", template))
    assert response["Location"] == LIST
    assert not Template.objects.exists()
    assert AuditLog.objects.get().action == "template.delete"


def test_a_pending_template_cannot_be_deleted(alice_client, make):
    template = make(status="pending_review")
    response = alice_client.post(url("delete", template))
    assert messages_of(response) == ["A template pending review cannot be deleted; withdraw it first."]
    assert Template.objects.exists()


@pytest.mark.parametrize("action", ["submit", "withdraw", "urge", "delete"])
def test_actions_are_refused_to_a_read_only_member(bob_client, make, action):
    template = make(status="pending_review" if action in ("withdraw", "urge") else "draft")
    before = (template.status, template.urged_at)
    assert bob_client.post(url(action, template)).status_code == 403
    template.refresh_from_db()
    assert (template.status, template.urged_at) == before


@pytest.mark.parametrize("action", ["detail", "edit", "submit", "withdraw", "urge", "delete"])
def test_another_accounts_member_gets_404_on_every_template_url(charlie_client, make, action):
    template = make(status="pending_review" if action in ("withdraw", "urge") else "draft")
    response = (
        charlie_client.post(url(action, template))
        if action not in ("detail", "edit")
        else charlie_client.get(url(action, template))
    )
    assert response.status_code == 404
    template.refresh_from_db()
    assert template.status in ("draft", "pending_review") and template.urged_at is None


def test_actions_answer_only_posts(alice_client, make):
    template = make()
    for action in ("submit", "withdraw", "urge", "delete"):
        assert alice_client.get(url(action, template)).status_code == 405
