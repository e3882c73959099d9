"""Service activation in the console: where the application stands, applying, and what waits for it."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import SERVICE_TERMS_VERSION, ServiceApplication
from campaigns import planning
from campaigns.models import Campaign
from smsconsole.models import AuditLog
from tests import campaign_helpers

APPLY = {
    "company_name": "Newcomer Trading Co., Ltd.",
    "intended_use": "Delivery notices, about 5,000 a month.",
    "accept_terms": "on",
}


@pytest.fixture
def nina_client(client, nina):
    client.force_login(nina)
    return client


def page(client):
    return client.get(reverse("accounts:activation"))


def test_a_new_account_sees_it_has_not_applied_and_the_form(nina_client):
    response = page(nina_client)
    html = response.content.decode()
    assert 'data-status="not_applied"' in html and 'id="apply-form"' in html
    assert reverse("accounts:terms") in html


def test_applying_needs_the_terms_accepted(nina_client, newcomer):
    response = nina_client.post(reverse("accounts:activation"), {**APPLY, "accept_terms": ""})
    assert response.status_code == 200 and response.context["form"].errors["accept_terms"]
    assert not ServiceApplication.objects.filter(account=newcomer).exists()


def test_applying_records_the_application_the_company_and_an_audit_entry(nina_client, nina, newcomer):
    # Monday 2025-06-02 11:00 GMT+8, in review hours.
    with time_machine.travel(datetime(2025, 6, 2, 3, 0, tzinfo=UTC), tick=False):
        response = nina_client.post(reverse("accounts:activation"), APPLY, follow=True)
    application = ServiceApplication.objects.get(account=newcomer)
    assert application.status == "pending_review" and application.applied_by == nina
    newcomer.refresh_from_db()
    assert newcomer.company_name == "Newcomer Trading Co., Ltd."
    entry = AuditLog.objects.get(action="apply")
    assert entry.account == newcomer and entry.actor == nina
    assert (
        entry.after["terms_version"] == SERVICE_TERMS_VERSION and entry.after["company_name"] == APPLY["company_name"]
    )
    html = response.content.decode()
    assert 'data-status="pending_review"' in html and 'id="apply-form"' not in html
    # Answered by 18:00 the same day, shown on the account's clock (Asia/Shanghai is GMT+8 too).
    assert "Monday June 2, 2025 18:00" in html


def test_an_evening_application_is_due_the_next_workday(nina_client, newcomer):
    # Friday 2025-06-06 18:00 GMT+8 exactly.
    with time_machine.travel(datetime(2025, 6, 6, 10, 0, tzinfo=UTC), tick=False):
        nina_client.post(reverse("accounts:activation"), APPLY)
        html = page(nina_client).content.decode()
    assert "Monday June 9, 2025 18:00" in html


def test_applying_twice_is_refused(nina_client, newcomer):
    nina_client.post(reverse("accounts:activation"), APPLY)
    response = nina_client.post(reverse("accounts:activation"), APPLY, follow=True)
    assert "The account has applied already." in response.content.decode()
    assert AuditLog.objects.filter(action="apply").count() == 1


def test_a_read_only_member_sees_the_status_but_cannot_apply(client, factories, newcomer):
    viewer = factories.create_user("vic", account=newcomer, role="read_only")
    client.force_login(viewer)
    assert 'id="apply-form"' not in page(client).content.decode()
    assert client.post(reverse("accounts:activation"), APPLY).status_code == 403
    assert not ServiceApplication.objects.filter(account=newcomer).exists()


def test_a_rejection_is_shown_with_its_reason_and_the_account_may_apply_again(nina_client, nina, newcomer, rita):
    application = ServiceApplication.apply(newcomer, nina, "Things.")
    application.reject(rita, "svc_use_unclear", "Say to whom you send.")
    html = page(nina_client).content.decode()
    assert "what the account will send, and to whom, is missing or unclear" in html
    assert "Say to whom you send." in html and 'id="apply-form"' in html
    nina_client.post(reverse("accounts:activation"), APPLY)
    application.refresh_from_db()
    assert application.status == "pending_review" and application.intended_use == APPLY["intended_use"]


def test_an_activated_account_sees_it_is_activated(alice_client):
    html = page(alice_client).content.decode()
    assert 'data-status="approved"' in html and 'id="apply-form"' not in html


def test_each_account_sees_only_its_own_application(alice_client, newcomer, nina):
    ServiceApplication.apply(newcomer, nina, "Newcomer's own use")
    assert "Newcomer&#x27;s own use" not in page(alice_client).content.decode()


# --- What waits for activation ------------------------------------------------------------------


def test_a_new_account_cannot_create_applications(nina_client, newcomer):
    response = nina_client.post(reverse("application_create"), {"name": "Shop", "default_region": "CN"})
    assert response.status_code == 302 and response.url == reverse("accounts:activation")
    assert not newcomer.applications.exists()
    listing = nina_client.get(reverse("application_list")).content.decode()
    assert reverse("application_create") not in listing and reverse("accounts:activation") in listing


def test_the_overview_tells_a_new_account_to_apply_and_offers_no_application(nina_client):
    html = nina_client.get(reverse("dashboard")).content.decode()
    assert 'id="activation-panel"' in html and reverse("application_create") not in html


def test_the_overview_of_an_activated_account_has_no_activation_panel(alice_client):
    assert 'id="activation-panel"' not in alice_client.get(reverse("dashboard")).content.decode()


def test_a_new_account_may_prepare_qualifications_and_contact_lists(nina_client):
    assert nina_client.get(reverse("templates_app:qualification_create")).status_code == 200
    assert nina_client.get(reverse("campaigns:contact_list_create")).status_code == 200
    assert nina_client.get(reverse("accounts:team")).status_code == 200


def test_planning_refuses_a_campaign_of_an_account_that_is_not_activated(factories, acme, shop):
    signature, template = campaign_helpers.create_order_setup(factories, shop)
    recipient_import = campaign_helpers.create_completed_import(acme, shop, template)
    campaign = campaign_helpers.create_campaign(
        acme,
        template,
        campaign_helpers.create_connection(),
        recipient_import=recipient_import,
        status=Campaign.Status.RUNNING,
    )
    ServiceApplication.objects.filter(account=acme).delete()
    result = planning.plan(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED and "not activated" in result["failed"]
    assert not campaign.messages.exists()


def test_the_terms_are_readable_without_logging_in(client):
    response = client.get(reverse("accounts:terms"))
    assert response.status_code == 200 and SERVICE_TERMS_VERSION in response.content.decode()


def test_the_due_time_reads_in_chinese_with_the_weekday(nina_client, newcomer):
    nina_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    with time_machine.travel(datetime(2025, 6, 6, 10, 0, tzinfo=UTC), tick=False):
        nina_client.post(reverse("accounts:activation"), APPLY)
        html = page(nina_client).content.decode()
    assert "星期一 2025年6月9日 18:00" in html and "短信服务开通" in html
