"""The balance runs out mid-campaign with real processes: the SMSC simulator, a Celery worker and
the gateway (tests/test_sending_integration.py). Exactly the affordable messages go out, the rest
after a top-up, none twice, and the counters equal the rows."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from campaigns import money
from campaigns.models import Campaign, LedgerEntry
from smsconsole.models import Account
from tests.sending_helpers import (
    counters,
    create_campaign,
    create_connection,
    phones,
    rows_by_status,
    sending_redis,  # noqa: F401 (fixture)
    simulator,
    wait_for,
    worker_and_gateway,
)

RECIPIENTS = 50
AFFORDABLE = 20
PRICE = Decimal("0.065")  # the industry price of a segment in the first monthly tier


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_balance_pays_for_exactly_what_goes_out_and_the_rest_follows_a_top_up(
    postgres_url, redis_url, sending_redis, tmp_path, factories, shop
):
    template = factories.create_template(shop, content="Your parcel is on its way.")
    with simulator(tmp_path) as smsc:
        connection = create_connection(port=smsc.port, max_binds=1)
        campaign = create_campaign(shop, template, connection, phones(RECIPIENTS), funded=False)
        money.top_up(shop.account, PRICE * AFFORDABLE)
        with worker_and_gateway(postgres_url, redis_url, tmp_path, smsc, funded=False) as processes:
            campaign.launch()

            def held():
                row = Campaign.objects.get(pk=campaign.pk)
                return row.status == "paused" and row.pause_reason == "balance" and row.sending == 0

            wait_for(held, 60, "the campaign held for its balance", processes)
            assert wait_for(lambda: smsc.stats()["submits"] == AFFORDABLE, 10, "the affordable submits", processes)
            assert Account.objects.get(pk=shop.account_id).balance == 0
            assert counters(campaign)["queued"] == RECIPIENTS - AFFORDABLE

            money.top_up(shop.account, Decimal("10"))  # resumes the campaign once committed
            wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == "completed", 60, "completion", processes)
            stats = smsc.stats()

    assert stats["submits"] == RECIPIENTS and stats["duplicate_submits"] == 0
    assert set(stats["per_destination"].values()) == {1} and len(stats["per_destination"]) == RECIPIENTS
    charges = LedgerEntry.objects.filter(account=shop.account, kind=LedgerEntry.Kind.CHARGE)
    assert charges.aggregate(n=Sum("segments"))["n"] == RECIPIENTS
    assert Account.objects.get(pk=shop.account_id).balance == Decimal("10") - PRICE * (RECIPIENTS - AFFORDABLE)
    rows = rows_by_status(campaign)
    assert {name: value for name, value in counters(campaign).items() if name != "total"} == {
        name: rows.get(name, 0) for name in Campaign.COUNTERS
    }
    assert rows["submitted"] + rows["delivered"] == RECIPIENTS
