"""The preview before launch (campaigns.preview) counts what planning then does: the same
recipients, opt-outs as they are now, segments per message, and the cost, balance, quota and
ETA that follow from them."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Count

from campaigns import money, planning, preview
from campaigns.frequency import FrequencyCaps
from campaigns.models import AccountLimits, Campaign, Contact, ContactList, Message, OptOut, Recipient
from campaigns.tasks import plan_campaign
from sms import text
from tests.sending_helpers import (  # noqa: F401 (fixture)
    create_campaign,
    create_connection,
    create_import,
    phones,
    sending_redis,
)


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="尊敬的${1}，您的订单已发货。")


@pytest.fixture
def connection(db):
    return create_connection(tps=50)


def file_with_names(application, template, names, opted_out_at_import=()):
    """A completed import whose rows carry a name each, with the segments the importer counts;
    the rows at the indexes `opted_out_at_import` were on the opt-out list during the import."""
    numbers = phones(len(names))
    opted = {numbers[index] for index in opted_out_at_import}
    imp = create_import(application, template, list(zip(numbers, [[name] for name in names])), opted_out=opted)
    counter = text.segment_counter(text.split(template.content, template.signature.name))
    for recipient in Recipient.objects.filter(recipient_import=imp):
        Recipient.objects.filter(pk=recipient.pk).update(segments=counter(recipient.variables))
    imp.rejected, imp.duplicates = 5, 2
    imp.reason_counts = {"invalid_number": 3, "duplicate": 1, "duplicate_different_variables": 1}
    imp.save(update_fields=["rejected", "duplicates", "reason_counts"])
    return imp, numbers


def planned(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    plan_campaign(campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def test_the_preview_of_a_file_equals_what_planning_makes_of_it(acme, shop, template, connection):
    long_name = "Ludmila Wojciechowska-Żółkiewska " * 2  # pushes the message past 70 units: 2 segments
    names = ["王小明"] * 6 + [long_name] * 3 + ["Zoë"]
    imp, numbers = file_with_names(shop, template, names, opted_out_at_import={0})
    OptOut.objects.create(account=acme, phone=numbers[7])  # opted out after the import
    campaign = create_campaign(shop, template, connection, recipient_import=imp)

    figures = preview.build(campaign)
    campaign = planned(campaign)

    assert (figures.recipients, figures.opted_out, figures.to_send, figures.segments) == (
        campaign.total,
        campaign.skipped,
        campaign.queued,
        campaign.segments,
    )
    assert (figures.recipients, figures.opted_out, figures.to_send) == (10, 2, 8)
    queued = Message.objects.filter(campaign=campaign, status="queued")
    assert figures.per_recipient == sorted(queued.values_list("segments").annotate(n=Count("id")))
    assert figures.per_recipient == [(1, 6), (2, 2)]
    assert (figures.invalid, figures.duplicates) == (3, 2)
    assert figures.encodings == [(text.UCS2, 8)]


def test_the_preview_of_shared_values_for_a_contact_list_equals_planning(acme, shop, template, connection):
    contact_list = ContactList.objects.create(account=acme, name="VIP")
    Contact.objects.bulk_create([Contact(contact_list=contact_list, phone=phone) for phone in phones(7)])
    OptOut.objects.create(account=acme, phone=phones(1)[0])
    campaign = create_campaign(
        shop, template, connection, contact_list=contact_list, recipient_import=None, shared_variables=["顾客"]
    )
    figures = preview.build(campaign)
    campaign = planned(campaign)
    assert (figures.recipients, figures.opted_out, figures.to_send, figures.segments) == (7, 1, 6, 6)
    assert (campaign.total, campaign.skipped, campaign.queued, campaign.segments) == (7, 1, 6, 6)
    assert figures.per_recipient == [(planning.shared_segments(campaign), 6)]


def test_cost_and_balance_after_sending_follow_the_monthly_tier(acme, shop, template, connection):
    money.top_up(acme, "1.00")
    imp, _numbers = file_with_names(shop, template, ["王"] * 20)
    figures = preview.build(create_campaign(shop, template, connection, recipient_import=imp))
    assert figures.cost == money.price_of("industry", 20, 0) == Decimal("1.3000")
    assert figures.balance_after == Decimal("-0.3000")


def test_the_quota_left_says_how_many_messages_wait(acme, shop, template, connection):
    AccountLimits.objects.create(account=acme, daily_limit=15)
    imp, _numbers = file_with_names(shop, template, ["王"] * 20)
    figures = preview.build(create_campaign(shop, template, connection, recipient_import=imp))
    assert (figures.quota_room, figures.over_quota) == (15, 5)


def test_a_promotion_sent_now_at_23_00_starts_when_the_window_opens_and_the_eta_counts_from_then(
    factories, acme, shop, db
):
    promotion = factories.create_template(
        shop, type="promotion", content="双十一${1}全场五折，拒收请回复R", variables=[("TEXT", 10)]
    )
    imp, _numbers = file_with_names(shop, promotion, ["王"] * 600)
    slow = create_connection(name="slow", tps=2)
    campaign = create_campaign(shop, promotion, slow, recipient_import=imp)
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):  # 23:00 in Shanghai
        figures = preview.build(campaign)
    assert figures.waits_for_window
    assert figures.starts_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert figures.send_seconds == 300
    assert figures.finishes_at == datetime(2026, 12, 2, 0, 5, tzinfo=UTC)


def test_a_narrower_window_of_the_account_moves_the_eta(factories, acme, shop, db):
    AccountLimits.objects.create(account=acme, promotion_start_hour=10, promotion_end_hour=20)
    promotion = factories.create_template(
        shop, type="promotion", content="双十一${1}全场五折，拒收请回复R", variables=[("TEXT", 10)]
    )
    imp, _numbers = file_with_names(shop, promotion, ["王"] * 4)
    campaign = create_campaign(shop, promotion, create_connection(name="slow", tps=1), recipient_import=imp)
    with time_machine.travel(datetime(2026, 12, 1, 11, 59, 58, tzinfo=UTC), tick=False):  # 19:59:58 there
        figures = preview.build(campaign)
    # Two seconds tonight, two tomorrow from 10:00.
    assert figures.finishes_at == datetime(2026, 12, 2, 2, 0, 2, tzinfo=UTC)


def test_numbers_over_a_frequency_cap_now_are_counted_and_opted_out_ones_are_not(
    acme,
    shop,
    template,
    connection,
    sending_redis,  # noqa: F811
):
    imp, numbers = file_with_names(shop, template, ["王"] * 5)
    OptOut.objects.create(account=acme, phone=numbers[4])
    caps = FrequencyCaps.for_account(acme.pk)
    for phone in (numbers[0], numbers[4], "+8613999999999"):
        caps.admit([(f"m{i}", phone, "notification", f"text {i}") for i in range(10)])
    figures = preview.build(create_campaign(shop, template, connection, recipient_import=imp))
    assert figures.over_cap == 1 and not figures.over_cap_estimated


def test_beyond_the_sample_size_the_capped_numbers_are_estimated_from_a_spread_sample(
    acme,
    shop,
    template,
    connection,
    sending_redis,
    monkeypatch,  # noqa: F811
):
    monkeypatch.setattr(preview, "CAP_SAMPLE", 4)
    imp, numbers = file_with_names(shop, template, ["王"] * 12)
    caps = FrequencyCaps.for_account(acme.pk)
    for phone in numbers:
        caps.admit([(f"m{i}", phone, "notification", f"text {i}") for i in range(10)])
    figures = preview.build(create_campaign(shop, template, connection, recipient_import=imp))
    assert figures.over_cap_estimated
    assert figures.over_cap == 12  # every number sampled is over, so all are estimated to be
