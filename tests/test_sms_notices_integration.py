"""A rejected template reaches its contact's phone through the real engine: the reviewer's decision
queues the result task, a real Celery worker runs it (the mail, then the system account's notice
campaign, planned by the worker too), the gateway sends it to the SMSC simulator and applies its
receipt. Only the contact who asked for SMS gets one, once, from the system signature, unbilled."""

import pytest
from django.urls import reverse

from campaigns.models import LedgerEntry, Message, Notice
from tests.sending_helpers import (
    create_connection,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

OPS_PHONE = "+8613900000001"
BOSS_PHONE = "+8613900000002"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_rejected_templates_contact_gets_the_sms(
    postgres_url, redis_url, sending_redis, tmp_path, factories, acme, shop, rita, client
):
    factories.create_contact(acme, name="Ops", email="ops@acme.example", phone=OPS_PHONE, notify_by_sms=True)
    factories.create_contact(acme, name="Boss", email="boss@acme.example", phone=BOSS_PHONE)  # mail only
    template = factories.create_template(shop, name="Sale", content="Big sale today", status="pending_review")
    client.force_login(rita)
    with simulator(tmp_path) as smsc:
        create_connection(name="simulator", port=smsc.port, max_binds=1)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc, funded=False) as processes:
            response = client.post(
                reverse("admin:templates_app_template_changelist"),
                {
                    "action": "reject_selected",
                    "_selected_action": [template.pk],
                    "apply": "yes",
                    "reason_code": "tpl_no_opt_out",
                    "reason_text": "Add an opt-out.",
                },
            )
            assert response.status_code == 302

            def delivered():
                return Message.objects.filter(campaign__account__is_system=True, status="delivered").first()

            message = wait_for(delivered, 60, "the notice to be delivered", processes)
            stats = smsc.stats()

    assert stats["per_destination"] == {OPS_PHONE.lstrip("+"): 1}  # the mail-only contact gets no SMS
    assert message.phone == OPS_PHONE
    notice = Notice.objects.get(account=acme, kind="review")
    assert notice.campaign_id == message.campaign_id and notice.recipients == 1
    assert notice.text == "Acme: The template “Sale” was rejected. Reason: Content: a promotion without an opt-out"
    campaign = message.campaign
    assert campaign.signature.name == "smsconsole" and campaign.shared_variables == [notice.text]
    assert not LedgerEntry.objects.filter(account=campaign.account).exists()  # unbilled
