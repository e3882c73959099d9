"""The results pages after a real campaign: sent through the gateway (its SMPP client faked at the
boundary, as in test_gateway.py), the message lifecycle writes the hourly rollups, and the statistics
page and the campaign's diagnostics show exactly what the message rows say."""

import asyncio

import pytest

pytest.importorskip("campaigns.lifecycle", reason="needs the message lifecycle that writes HourlyStat")

from django.db.models import Count, Q  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns import gateway  # noqa: E402
from campaigns.models import Message  # noqa: E402
from sms.smpp.client import Receipt, SubmitResult  # noqa: E402
from tests.sending_helpers import counters, phones, sending_redis  # noqa: E402, F401 (fixture)
from tests.test_gateway import FakeClient, campaign_status, launch, make_gateway, run_until  # noqa: E402


@pytest.fixture
def template(factories, shop):
    return factories.create_template(shop, content="Order ${1} shipped.")


@pytest.fixture
def connection(db):
    from tests.sending_helpers import create_connection

    return create_connection(window=32, max_binds=1)


def test_the_pages_show_what_the_messages_of_a_sent_campaign_say(
    alice_client, shop, template, connection, settings, sending_redis, monkeypatch
):
    monkeypatch.setattr(gateway, "RETRY_PAUSE", 0)
    FakeClient.instances = []
    numbers = phones(9)
    campaign = launch(shop, template, connection, [(p, [f"A{n}"]) for n, p in enumerate(numbers)], settings)

    def answer(request, number):
        if request.destination == numbers[0]:
            return SubmitResult(request.ref, False, (), 0x0B, "ESME_RINVDSTADR", True, False, 1)
        return None

    async def receipts(requests):
        client = FakeClient.instances[0]
        first = len(client.submitted) - len(requests) + 1
        items = [
            Receipt(f"id{first + i}", "DELIVRD" if i % 2 else "UNDELIV", "000" if i % 2 else "005", "", "", "")
            for i in range(len(requests))
        ]
        await client.on_receipts(items[:-1])  # the last of each chunk waits for its receipt

    gw = make_gateway(connection, answer=answer, before_answer=receipts)
    asyncio.run(
        run_until(gw, lambda: campaign_status(campaign) == "completed" and counters(campaign)["submitted"] <= 3)
    )

    rows = Message.objects.filter(campaign=campaign).aggregate(
        delivered=Count("id", filter=Q(status="delivered")),
        failed=Count("id", filter=Q(status__in=["failed", "expired"])),
        sending=Count("id", filter=Q(status__in=["sending", "submitted"])),
        unknown=Count("id", filter=Q(status="unknown")),
    )
    rows["total"] = sum(rows.values())
    assert rows["delivered"] and rows["failed"] and rows["sending"] and rows["total"] == 9

    today = timezone.localdate().isoformat()
    page = alice_client.get(reverse("reports:statistics"), {"start": today, "end": today})
    sums = page.context["sums"]
    assert {name: sums[name] for name in rows} == rows

    diagnostics = alice_client.get(reverse("reports:diagnostics", args=[campaign.pk])).context
    with_receipts = Message.objects.filter(
        campaign=campaign, status__in=["delivered", "failed", "expired"], submitted_at__isnull=False
    ).count()
    assert diagnostics["histogram"]["total"] == with_receipts
    outcomes = {(status, code): n for _label, status, code, n in diagnostics["outcomes"]}
    assert outcomes[("delivered", "")] == rows["delivered"]
    assert sum(n for (status, _code), n in outcomes.items() if status in {"failed", "expired"}) == rows["failed"]
