"""Which signatures may send is one rule (Signature.SENDABLE: the reference's 处理完毕 states, the
legacy ones being back-filled included), and every path that sends or offers a signature for
sending follows it: the campaign form, planning, the send API and send_campaign."""

import pytest
from django.core.management import CommandError
from django.http import QueryDict

from api.errors import ApiError
from api.send_requests import parse_batch_send_sms
from campaigns import planning
from campaigns.management.commands.send_campaign import Command as SendCampaign
from campaigns.models import Campaign, Message
from campaigns.tasks import plan_campaign
from templates_app.models import Signature
from tests.sending_helpers import create_campaign, create_connection, phones
from tests.test_campaign_form import make_form

pytestmark = pytest.mark.django_db

S = Signature.Status
SENDS = {S.APPROVED, S.LEGACY_UNQUALIFIED, S.LEGACY_QUALIFYING, S.LEGACY_FILING, S.LEGACY_FILING_FAILED}
STATUSES = [pytest.param(status, status in SENDS, id=status) for status in S.values]


def test_the_sendable_states_are_the_references_processing_completed_ones():
    assert Signature.SENDABLE == SENDS
    assert {status for status in S.values if Signature(status=status).can_send} == SENDS


@pytest.mark.parametrize(("status", "sends"), STATUSES)
def test_the_campaign_form_offers_exactly_the_signatures_that_may_send(factories, acme, shop, status, sends):
    signature = factories.create_signature(shop, name="Acme", status=status)
    form = make_form(acme, initial={"application": shop.pk})
    offered = [value for value, _label in form.fields["signature"].choices if value != ""]
    assert (signature.pk in [int(str(value)) for value in offered]) is sends
    assert Signature.objects.sendable().filter(pk=signature.pk).exists() is sends


@pytest.mark.parametrize(("status", "sends"), STATUSES)
def test_planning_refuses_a_signature_that_may_no_longer_send(factories, shop, status, sends):
    template = factories.create_template(shop, content="Your order ${1} has shipped.")
    campaign = create_campaign(shop, template, create_connection(), phones(2))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    Signature.objects.filter(pk=template.signature_id).update(
        status=status,
        restore_status=S.APPROVED if status in {S.TO_BE_ACTIVATED, S.PENDING_ACTIVATION} else "",
        channel_number=template.signature.channel_number,
    )

    plan_campaign(campaign.pk)

    campaign.refresh_from_db()
    if sends:
        assert campaign.status == "running" and Message.objects.filter(campaign=campaign).count() == 2
    else:
        assert (campaign.status, campaign.failure_reason) == ("failed", "The signature is no longer approved.")


@pytest.mark.parametrize(("status", "sends"), STATUSES)
def test_the_send_api_accepts_the_channel_of_a_signature_only_while_it_may_send(factories, shop, status, sends):
    signature = factories.create_signature(
        shop, name="Acme", type="verification", status=status, channel_number="106900001234"
    )
    template = factories.create_template(
        shop,
        signature=signature,
        type="verification",
        name="code",
        content="您的验证码为${1}，5分钟内有效。",
        variables=[("CHARDIGIT", 6)],
    )
    query = QueryDict(mutable=True)
    query.update(
        {"from": "106900001234", "to": "+8613800138000", "templateId": str(template.pk), "templateParas": '["123456"]'}
    )

    if sends:
        [item] = parse_batch_send_sms(shop, query).items
        assert item.signature == signature and item.recipients[0].status == "000000"
    else:
        with pytest.raises(ApiError) as refused:
            parse_batch_send_sms(shop, query)
        assert refused.value.code == "E000503"


@pytest.mark.parametrize(
    ("status", "sends"),
    [
        pytest.param(S.LEGACY_FILING_FAILED, True, id="legacy_filing_failed"),
        pytest.param(S.TO_BE_ACTIVATED, False, id="to_be_activated"),
    ],
)
def test_send_campaign_follows_the_same_rule(factories, shop, status, sends):
    signature = factories.create_signature(shop, name="Acme", status=status)
    template = factories.create_template(shop, signature=signature)
    if sends:
        assert SendCampaign().signature(shop, template) == signature
    else:
        with pytest.raises(CommandError, match="cannot send"):
            SendCampaign().signature(shop, template)


def test_check_still_sendable_names_the_reason(factories, shop):
    template = factories.create_template(shop, content="Hello")
    campaign = create_campaign(shop, template, create_connection(), phones(1))
    Signature.objects.filter(pk=template.signature_id).update(status=S.FILING, channel_number=None)
    campaign.refresh_from_db()
    with pytest.raises(planning.AudienceNotReady, match="no longer approved"):
        planning.check_still_sendable(campaign)
