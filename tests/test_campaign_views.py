"""Campaign pages: create and edit drafts, confirm, follow progress, pause/resume/cancel/copy, list,
and who may see or change what."""

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import importer
from campaigns.campaign_forms import initial_from
from campaigns.models import Campaign, Contact, ContactList, OptOut, RecipientImport
from smsconsole.models import AuditLog
from tests.campaign_helpers import (
    ORDER_FILE,
    create_campaign,
    create_completed_import,
    create_connection,
    create_order_setup,
)
from tests.import_helpers import create_import

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2025, 5, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def setup(factories, acme, shop):
    connection_ = create_connection()
    signature, template = create_order_setup(factories, shop)
    recipient_import = create_completed_import(acme, shop, template)
    return {"connection": connection_, "signature": signature, "template": template, "import": recipient_import}


@pytest.fixture
def draft(acme, setup):
    return create_campaign(acme, setup["template"], setup["connection"], recipient_import=setup["import"])


def running(acme, setup, **counters):
    return create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=setup["import"],
        status=Campaign.Status.RUNNING,
        started_at=timezone.now(),
        planned_at=timezone.now(),
        **counters,
    )


def post_data(setup, **overrides):
    data = {
        "name": "Spring sale",
        "application": setup["template"].application_id,
        "signature": setup["signature"].pk,
        "template": setup["template"].pk,
        "mode": "diff",
        "audience": f"import:{setup['import'].pk}",
        "when": "now",
        "scheduled_at": "",
    }
    data.update(overrides)
    return data


def url(name, campaign=None):
    return reverse(f"campaigns:{name}", args=[campaign.pk] if campaign else [])


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- Create and edit --------------------------------------------------------------------------------


@time_machine.travel(MORNING, tick=False)
def test_creating_a_campaign_saves_a_draft_and_goes_to_the_confirmation(alice_client, alice, acme, setup):
    response = alice_client.post(url("campaign_create"), post_data(setup))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("campaign_confirm", campaign)
    assert campaign.status == Campaign.Status.DRAFT
    assert (campaign.account, campaign.created_by, campaign.recipient_import) == (acme, alice, setup["import"])
    assert campaign.mode == Campaign.Mode.DIFF
    assert campaign.connection == setup["connection"]
    assert AuditLog.objects.filter(action="create", object_id=str(campaign.pk)).exists()


@time_machine.travel(MORNING, tick=False)
def test_a_scheduled_draft_keeps_its_time(alice_client, setup):
    alice_client.post(url("campaign_create"), post_data(setup, when="scheduled", scheduled_at="2025-05-02T09:30"))
    assert Campaign.objects.get().scheduled_at == datetime(2025, 5, 2, 9, 30, tzinfo=SHANGHAI)


@time_machine.travel(MORNING, tick=False)
def test_errors_are_shown_next_to_their_fields(alice_client, acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    response = alice_client.post(
        url("campaign_create"),
        post_data(
            setup,
            audience=f"import:{numbers.pk}",
            var_1="A-1",
            var_2="Li",
            when="scheduled",
            scheduled_at="2025-04-30T10:00",
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not Campaign.objects.exists()
    assert '<ul class="errorlist" id="id_var_1_error"><li>Only letters and digits.</li></ul>' in html
    assert '<ul class="errorlist" id="id_scheduled_at_error"><li>The time must be in the future.</li></ul>' in html


def test_the_create_form_names_the_default_connection_for_operators(alice_client, setup):
    html = alice_client.get(url("campaign_create")).content.decode()
    assert '<span id="connection-name">simulator</span>' in html
    assert 'name="connection"' not in html


def test_the_signature_options_follow_the_application(alice_client, factories, shop, setup):
    factories.create_signature(shop, name="Waiting", status="pending_review")
    html = alice_client.get(url("campaign_options_signatures"), {"application": shop.pk}).content.decode()
    assert 'id="campaign-after-application"' in html
    assert f'<option value="{setup["signature"].pk}">【Shop】 · Notification</option>' in html
    assert "Waiting" not in html


def test_the_template_options_follow_the_signature(alice_client, factories, shop, setup):
    factories.create_template(shop, signature=setup["signature"], name="Universal", universal=True)
    html = alice_client.get(
        url("campaign_options_templates"), {"application": shop.pk, "signature": setup["signature"].pk}
    ).content.decode()
    assert 'id="campaign-after-signature"' in html
    assert (
        f'<option value="{setup["template"].pk}">Order shipped · Notification · #{setup["template"].pk}</option>'
        in html
    )
    assert "Universal" not in html


def test_the_chosen_audience_decides_where_the_values_come_from(alice_client, acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    customers = ContactList.objects.create(account=acme, name="Customers", field_names=["city"])
    query = {"application": shop.pk, "signature": setup["signature"].pk, "template": setup["template"].pk}
    nothing_yet = alice_client.get(url("campaign_options_audiences"), query).content.decode()
    assert f'value="import:{numbers.pk}"' in nothing_yet and f'value="list:{customers.pk}"' in nothing_yet
    per_row = alice_client.get(url("campaign_options_audiences"), {**query, "audience": f"import:{setup['import'].pk}"})
    assert 'id="per-recipient-help"' in per_row.content.decode() and 'name="var_1"' not in per_row.content.decode()
    typed = alice_client.get(
        url("campaign_options_audiences"), {**query, "audience": f"import:{numbers.pk}"}
    ).content.decode()
    assert 'name="var_1"' in typed and 'name="src_1"' not in typed
    from_list = alice_client.get(
        url("campaign_options_audiences"), {**query, "audience": f"list:{customers.pk}", "src_1": "custom:city"}
    )
    html = from_list.content.decode()
    assert 'name="src_1"' in html and 'value="custom:city" selected' in html
    assert 'name="var_1"' not in html and 'name="var_2"' in html


def test_editing_shows_the_drafts_values(alice_client, acme, shop, setup):
    numbers = create_completed_import(acme, shop, None, name="numbers.csv")
    campaign = create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=numbers,
        mode=Campaign.Mode.TEMPLATE,
        shared_variables=["A100", "张三"],
    )
    html = alice_client.get(url("campaign_edit", campaign)).content.decode()
    assert 'name="var_1" value="A100"' in html
    assert 'name="var_2" value="张三"' in html
    assert f'<option value="import:{numbers.pk}" selected>' in html


@time_machine.travel(MORNING, tick=False)
def test_editing_a_draft_updates_it_and_returns_to_the_confirmation(alice_client, draft, setup):
    response = alice_client.post(url("campaign_edit", draft), post_data(setup, name="Summer sale"))
    assert response["Location"] == url("campaign_confirm", draft)
    draft.refresh_from_db()
    assert draft.name == "Summer sale"


def test_only_drafts_can_be_edited(alice_client, acme, setup):
    campaign = running(acme, setup)
    response = alice_client.get(url("campaign_edit", campaign), follow=True)
    assert response.redirect_chain[-1][0] == url("campaign_detail", campaign)
    assert "Only a draft can be edited." in messages_of(response)


# --- Confirmation -----------------------------------------------------------------------------------


def test_the_confirmation_counts_a_files_numbers_opt_outs_and_segments(alice_client, factories, acme, shop, setup):
    OptOut.objects.create(account=acme, phone="+8613900139000")
    imp = create_import(acme, shop, setup["template"], data=ORDER_FILE)
    importer.run_import(imp.pk)
    campaign = create_campaign(acme, setup["template"], setup["connection"], recipient_import=imp)
    response = alice_client.get(url("campaign_confirm", campaign))
    html = response.content.decode()
    assert response.context["recipients"] == 2
    assert response.context["opted_out"] == 1
    assert response.context["to_send"] == 1
    assert response.context["segments"] == 1  # the opted-out number's segment is not sent
    assert '<dd id="confirm-recipients">2</dd>' in html
    assert '<dd id="confirm-opted-out">1</dd>' in html
    # The preview is what the first number that will be sent receives.
    assert response.context["example_phone"] == "+8613800138000"
    assert (
        '【Shop】您的订单<mark class="variable">A100</mark>已发货，收货人<mark class="variable">张三</mark>。' in html
    )
    assert 'id="confirm-launch">Send now</button>' in html


def test_the_confirmation_counts_a_contact_list_with_the_shared_text(alice_client, factories, acme, shop, setup):
    long_text = "本次通知内容较长" * 10 + "${1}"
    template = factories.create_template(shop, signature=setup["signature"], name="Long", content=long_text)
    customers = ContactList.objects.create(account=acme, name="Customers")
    for phone in ("+8613800138000", "+8613800138001", "+8613800138002"):
        Contact.objects.create(contact_list=customers, phone=phone)
    OptOut.objects.create(account=acme, phone="+8613800138001")
    campaign = create_campaign(
        acme,
        template,
        setup["connection"],
        contact_list=customers,
        shared_variables=["王"],
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    response = alice_client.get(url("campaign_confirm", campaign))
    assert (response.context["recipients"], response.context["opted_out"], response.context["to_send"]) == (3, 1, 2)
    assert response.context["per_message"] == 2  # 87 characters with the signature: two segments
    assert response.context["segments"] == 4
    assert 'id="confirm-launch">Schedule</button>' in response.content.decode()


def test_confirming_sends_now_and_queues_the_planning(alice_client, draft, django_capture_on_commit_callbacks):
    with mock.patch("campaigns.tasks.plan_campaign.delay") as plan, django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url("campaign_confirm", draft))
    assert response["Location"] == url("campaign_detail", draft)
    plan.assert_called_once_with(draft.pk)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.RUNNING
    assert draft.started_at is not None
    assert AuditLog.objects.filter(action="launch", object_id=str(draft.pk)).exists()


def test_confirming_a_scheduled_draft_schedules_it_without_planning(
    alice_client, draft, django_capture_on_commit_callbacks
):
    at = timezone.now() + timedelta(days=1)
    Campaign.objects.filter(pk=draft.pk).update(scheduled_at=at)
    with mock.patch("campaigns.tasks.plan_campaign.delay") as plan, django_capture_on_commit_callbacks(execute=True):
        alice_client.post(url("campaign_confirm", draft))
    plan.assert_not_called()
    draft.refresh_from_db()
    assert (draft.status, draft.scheduled_at) == (Campaign.Status.SCHEDULED, at)


def test_a_draft_whose_time_passed_is_sent_back_to_the_form(alice_client, draft):
    Campaign.objects.filter(pk=draft.pk).update(scheduled_at=timezone.now() - timedelta(minutes=1))
    response = alice_client.post(url("campaign_confirm", draft))
    assert response.status_code == 200
    assert response.context["form"].errors["scheduled_at"] == ["The time must be in the future."]
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


def test_a_template_deactivated_since_the_draft_blocks_the_launch(alice_client, draft, setup, rita):
    setup["template"].deactivate(rita)
    response = alice_client.post(url("campaign_confirm", draft))
    assert "template" in response.context["form"].errors
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


def test_a_draft_without_recipients_is_sent_to_its_form_first(alice_client, acme, setup):
    copy = create_campaign(acme, setup["template"], setup["connection"], mode=Campaign.Mode.DIFF)
    response = alice_client.get(url("campaign_confirm", copy), follow=True)
    assert response.redirect_chain[-1][0] == url("campaign_edit", copy)
    assert "Choose the recipients first." in messages_of(response)
    alice_client.post(url("campaign_confirm", copy))
    copy.refresh_from_db()
    assert copy.status == Campaign.Status.DRAFT


def test_the_confirmation_of_a_launched_campaign_leads_to_its_page(alice_client, acme, setup):
    campaign = running(acme, setup)
    assert alice_client.get(url("campaign_confirm", campaign))["Location"] == url("campaign_detail", campaign)


# --- Actions ----------------------------------------------------------------------------------------


def test_pause_and_resume_through_the_page(alice_client, acme, setup):
    campaign = running(acme, setup)
    alice_client.post(url("campaign_pause", campaign))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    alice_client.post(url("campaign_resume", campaign))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert list(AuditLog.objects.filter(object_id=str(campaign.pk)).values_list("action", flat=True)) == [
        "resume",
        "pause",
    ]


def test_a_refused_transition_is_a_message(alice_client, acme, setup):
    campaign = create_campaign(
        acme, setup["template"], setup["connection"], recipient_import=setup["import"], status=Campaign.Status.COMPLETED
    )
    response = alice_client.post(url("campaign_pause", campaign), follow=True)
    assert "Not allowed while the campaign is “Completed”." in messages_of(response)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED


def test_actions_answer_post_only(alice_client, acme, setup):
    campaign = running(acme, setup)
    for name in ("campaign_pause", "campaign_resume", "campaign_cancel", "campaign_copy"):
        assert alice_client.get(url(name, campaign)).status_code == 405


def test_cancelling_a_running_campaign(alice_client, acme, setup):
    campaign = running(acme, setup)
    alice_client.post(url("campaign_cancel", campaign))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert campaign.finished_at is not None


def test_a_scheduled_campaign_cannot_be_cancelled_within_5_minutes_of_its_start(alice_client, acme, setup):
    with time_machine.travel(MORNING, tick=False) as traveller:
        campaign = create_campaign(
            acme,
            setup["template"],
            setup["connection"],
            recipient_import=setup["import"],
            status=Campaign.Status.SCHEDULED,
            scheduled_at=MORNING + timedelta(minutes=10),
        )
        traveller.move_to(MORNING + timedelta(minutes=5, seconds=1))
        response = alice_client.post(url("campaign_cancel", campaign), follow=True)
        assert "This campaign can no longer be cancelled." in messages_of(response)
        assert 'id="campaign-cancel"' not in response.content.decode()
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SCHEDULED


def test_a_scheduled_campaign_can_be_cancelled_earlier(alice_client, acme, setup):
    with time_machine.travel(MORNING, tick=False) as traveller:
        campaign = create_campaign(
            acme,
            setup["template"],
            setup["connection"],
            recipient_import=setup["import"],
            status=Campaign.Status.SCHEDULED,
            scheduled_at=MORNING + timedelta(minutes=10),
        )
        traveller.move_to(MORNING + timedelta(minutes=4))
        alice_client.post(url("campaign_cancel", campaign))
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.CANCELLED


def test_copying_makes_a_draft_without_audience_and_opens_its_form(alice_client, alice, acme, setup):
    campaign = create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=setup["import"],
        status=Campaign.Status.COMPLETED,
        mode=Campaign.Mode.TEMPLATE,
        shared_variables=["A1", "Li"],
    )
    response = alice_client.post(url("campaign_copy", campaign))
    copy = Campaign.objects.exclude(pk=campaign.pk).get()
    assert response["Location"] == url("campaign_edit", copy)
    assert (copy.status, copy.name, copy.created_by) == (Campaign.Status.DRAFT, "Spring sale (copy)", alice)
    assert copy.recipient_import is None and copy.contact_list is None
    assert copy.shared_variables == ["A1", "Li"]


# --- Progress ---------------------------------------------------------------------------------------


@time_machine.travel(MORNING, tick=False)
def test_the_progress_partial_shows_counters_and_keeps_polling_while_running(alice_client, acme, setup):
    campaign = running(
        acme,
        setup,
        total=1000,
        queued=400,
        sending=100,
        submitted=300,
        delivered=150,
        failed=30,
        unknown=10,
        skipped=10,
    )
    response = alice_client.get(url("campaign_progress", campaign))
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert '<span class="status running" id="campaign-status">Sending</span>' in html
    for key, value in [
        ("queued", "400"),
        ("sending", "100"),
        ("submitted", "300"),
        ("delivered", "150"),
        ("failed", "30"),
        ("unknown", "10"),
        ("skipped", "10"),
        ("cancelled", "0"),
    ]:
        assert f'<dd id="counter-{key}">{value}</dd>' in html
    assert response.context["percent"] == 50
    assert 'id="campaign-pause"' in html


def test_the_rate_is_measured_between_two_polls(alice_client, acme, setup):
    with time_machine.travel(MORNING, tick=False):
        campaign = running(acme, setup, total=1000, queued=400, sending=100, submitted=300, delivered=150, failed=50)
        sample_at = timezone.now().timestamp() - 2
        response = alice_client.get(url("campaign_progress", campaign), {"done": 300, "at": sample_at})
    assert response.context["rate_basis"] == "interval"
    assert response.context["rate"] == pytest.approx(100.0)  # (500 - 300) handed over in 2 s
    assert response.context["eta"] == "0:00:05"  # 500 queued or sending at 100/s
    assert "hx-vals='{&quot;done&quot;: 500, &quot;at&quot;: " in response.content.decode()


def test_without_a_previous_sample_the_rate_is_the_average_since_the_start(alice_client, acme, setup):
    with time_machine.travel(MORNING, tick=False):
        campaign = running(acme, setup, total=100, queued=50, submitted=50)
        Campaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now() - timedelta(seconds=10))
        response = alice_client.get(url("campaign_progress", campaign))
    assert response.context["rate_basis"] == "average"
    assert response.context["rate"] == pytest.approx(5.0)
    assert "5.0 messages/s" in response.content.decode()


def test_a_finished_campaign_stops_polling(alice_client, acme, setup):
    campaign = create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=setup["import"],
        status=Campaign.Status.COMPLETED,
        total=2,
        delivered=2,
    )
    html = alice_client.get(url("campaign_progress", campaign)).content.decode()
    assert "hx-trigger" not in html
    assert 'id="campaign-pause"' not in html and 'id="campaign-cancel"' not in html


def test_the_campaign_page_includes_the_progress(alice_client, acme, setup):
    campaign = running(acme, setup, total=10, queued=10)
    html = alice_client.get(url("campaign_detail", campaign)).content.decode()
    assert f'hx-get="{url("campaign_progress", campaign)}"' in html
    assert "orders.csv" in html


# --- List -------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_name(alice_client, acme, setup):
    create_campaign(acme, setup["template"], setup["connection"], name="Spring sale")
    create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        name="Autumn sale",
        recipient_import=setup["import"],
        status=Campaign.Status.COMPLETED,
    )
    create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        name="Spring reminder",
        recipient_import=setup["import"],
        status=Campaign.Status.COMPLETED,
    )

    def names(**query):
        response = alice_client.get(url("campaign_list"), query)
        return sorted(c.name for c in response.context["page"])

    assert names() == ["Autumn sale", "Spring reminder", "Spring sale"]
    assert names(status="completed") == ["Autumn sale", "Spring reminder"]
    assert names(name="spring") == ["Spring reminder", "Spring sale"]
    assert names(status="completed", name="spring") == ["Spring reminder"]


def test_the_list_shows_the_columns(alice_client, acme, setup):
    create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=setup["import"],
        status=Campaign.Status.COMPLETED,
        total=1200,
        delivered=1100,
        failed=100,
    )
    html = alice_client.get(url("campaign_list")).content.decode()
    for text in ("Spring sale", "Shop", "Order shipped", "Completed", "1,200", "1,100"):
        assert text in html


def test_the_list_costs_the_same_queries_for_a_full_page(alice_client, acme, setup):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(url("campaign_list")).status_code == 200
        return len(queries)

    create_campaign(acme, setup["template"], setup["connection"])
    few = count_queries()
    for i in range(60):
        create_campaign(acme, setup["template"], setup["connection"], name=f"Campaign {i}")
    assert count_queries() == few
    response = alice_client.get(url("campaign_list"))
    assert len(response.context["page"]) == 50


# --- Tenancy and read-only --------------------------------------------------------------------------


OBJECT_URLS = ["campaign_detail", "campaign_edit", "campaign_confirm", "campaign_progress"]
ACTIONS = ["campaign_pause", "campaign_resume", "campaign_cancel", "campaign_copy"]


@pytest.mark.parametrize("name", OBJECT_URLS + ACTIONS)
def test_another_account_gets_404_on_every_campaign_url(client, charlie, draft, name):
    client.force_login(charlie)
    method = client.post if name in ACTIONS else client.get
    assert method(url(name, draft)).status_code == 404
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


def test_another_account_sees_none_of_acmes_campaigns(client, charlie, draft):
    client.force_login(charlie)
    assert list(client.get(url("campaign_list")).context["page"]) == []


@pytest.mark.parametrize(
    "name", ["campaign_options_signatures", "campaign_options_templates", "campaign_options_audiences"]
)
def test_another_account_gets_no_options_of_acme(client, charlie, shop, setup, name):
    client.force_login(charlie)
    query = {
        "application": shop.pk,
        "signature": setup["signature"].pk,
        "template": setup["template"].pk,
        "mode": "diff",
    }
    html = client.get(url(name), query).content.decode()
    assert "Shop" not in html and "Order shipped" not in html and "orders.csv" not in html
    assert f'value="{setup["signature"].pk}"' not in html and "import:" not in html


def test_another_account_cannot_create_a_campaign_with_acmes_objects(client, charlie, setup):
    create_connection("other")
    client.force_login(charlie)
    response = client.post(url("campaign_create"), post_data(setup))
    assert response.status_code == 200
    assert set(response.context["form"].errors) >= {"application", "signature", "template", "audience"}
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("name", ["campaign_list", "campaign_detail", "campaign_progress"])
def test_a_read_only_member_may_look(client, bob, acme, setup, name):
    campaign = running(acme, setup)
    client.force_login(bob)
    response = client.get(url(name, None if name == "campaign_list" else campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="campaign-pause"' not in html and "New campaign" not in html


def test_a_read_only_member_may_not_create(client, bob, setup):
    client.force_login(bob)
    assert client.get(url("campaign_create")).status_code == 403
    assert client.post(url("campaign_create"), post_data(setup)).status_code == 403
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("name", ["campaign_edit", "campaign_confirm"])
def test_a_read_only_member_may_not_edit_or_confirm(client, bob, draft, setup, name):
    client.force_login(bob)
    assert client.get(url(name, draft)).status_code == 403
    assert client.post(url(name, draft), post_data(setup)).status_code == 403
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


@pytest.mark.parametrize("name", ACTIONS)
def test_a_read_only_member_may_not_act(client, bob, acme, setup, name):
    campaign = running(acme, setup)
    client.force_login(bob)
    assert client.post(url(name, campaign)).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert Campaign.objects.count() == 1


@time_machine.travel(MORNING, tick=False)
def test_a_contact_list_fills_variables_from_each_contact_through_a_checked_import(
    alice_client, acme, setup, django_capture_on_commit_callbacks
):
    from campaigns.planning import plan

    customers = ContactList.objects.create(account=acme, name="Customers", field_names=["order"])
    Contact.objects.create(contact_list=customers, phone="+8613800138000", name="Li", fields={"order": "A1"})
    Contact.objects.create(contact_list=customers, phone="+8613800138001", name="Wang", fields={"order": "A-2"})
    Contact.objects.create(contact_list=customers, phone="+8613800138002", name="Zhao", fields={})
    data = post_data(setup, audience=f"list:{customers.pk}", src_1="custom:order", src_2="name")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url("campaign_create"), data)
    campaign = Campaign.objects.get()
    assert response["Location"] == url("campaign_confirm", campaign)
    assert (campaign.contact_list, campaign.mode) == (customers, Campaign.Mode.DIFF)
    prepared = campaign.recipient_import
    prepared.refresh_from_db()
    # "A-2" is no CHARDIGIT and Zhao has no order: both are reported, not sent.
    assert (prepared.status, prepared.accepted, prepared.rejected) == ("completed", 1, 2)
    assert prepared.reason_counts == {"variable_invalid": 1, "missing_variable": 1}
    page = alice_client.get(url("campaign_confirm", campaign))
    assert page.context["to_send"] == 1 and page.context["not_fitting"] == 2
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.post(url("campaign_confirm", campaign))
    plan(campaign.pk)
    message = campaign.messages.get()
    assert (message.phone, message.variables) == ("+8613800138000", ["A1", "Li"])
    # The form still shows the contact list and the chosen sources.
    campaign.refresh_from_db()
    assert initial_from(campaign)["audience"] == f"list:{customers.pk}"
    assert (initial_from(campaign)["src_1"], initial_from(campaign)["src_2"]) == ("custom:order", "name")


def test_the_import_list_leaves_out_recipients_prepared_from_contact_lists(alice_client, acme, shop, setup):
    customers = ContactList.objects.create(account=acme, name="Customers")
    RecipientImport.objects.create(
        account=acme, application=shop, template=setup["template"], contact_list=customers, original_name="Customers"
    )
    names = [imp.original_name for imp in alice_client.get(reverse("campaigns:import_list")).context["page"]]
    assert names == ["orders.csv"]


# --- Pages that tell the truth (issue 8) -------------------------------------------------------------


def test_a_cancel_still_moving_its_queued_messages_keeps_the_page_polling_with_fresh_counters(
    alice_client, acme, setup
):
    campaign = running(acme, setup, total=1000, queued=800, submitted=200)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED, finished_at=timezone.now())
    html = alice_client.get(url("campaign_progress", campaign)).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Cancelling the messages not yet handed over" in html

    # The cancel task moved them: the next poll shows it and stops polling.
    Campaign.objects.filter(pk=campaign.pk).update(queued=0, cancelled=800)
    html = alice_client.get(url("campaign_progress", campaign)).content.decode()
    assert '<dd id="counter-cancelled">800</dd>' in html and '<dd id="counter-queued">0</dd>' in html
    assert "Cancelling the messages" not in html
    assert 'hx-trigger="every 1s"' not in html


def test_a_completed_campaign_shows_no_live_rate_or_time_left_even_from_a_last_sample(alice_client, acme, setup):
    with time_machine.travel(MORNING, tick=False):
        campaign = running(acme, setup, total=100, delivered=100)
        Campaign.objects.filter(pk=campaign.pk).update(
            status=Campaign.Status.COMPLETED,
            started_at=timezone.now() - timedelta(seconds=50),
            finished_at=timezone.now() - timedelta(seconds=40),
        )
        response = alice_client.get(
            url("campaign_progress", campaign), {"done": 10, "at": timezone.now().timestamp() - 1}
        )
    html = response.content.decode()
    assert response.context["rate_basis"] == "campaign"
    assert "10.0 messages/s" in html and "average over the campaign" in html  # 100 in its 10 s of sending
    assert "since the last update" not in html and 'id="campaign-eta"' not in html
    assert "hx-trigger" not in html


def test_a_scheduled_campaign_shows_the_recipients_its_confirmation_counted(alice_client, acme, setup):
    recipient_import = create_completed_import(acme, setup["template"].application, setup["template"], accepted=301)
    campaign = create_campaign(
        acme,
        setup["template"],
        setup["connection"],
        recipient_import=recipient_import,
        status=Campaign.Status.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    html = alice_client.get(url("campaign_detail", campaign)).content.decode()
    assert '<dd id="counter-total">301 <span class="help">' in html
