"""The gateway follows the provider connections while it runs (added, changed, disabled) and tells
the campaign page and `campaign_status` whether a connection is bound."""

import asyncio
import json
from io import StringIO

from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from django.utils import translation

from campaigns import connection_state, gateway
from campaigns.models import Campaign, ProviderConnection
from tests.sending_helpers import counters, create_campaign, create_connection, phones, sending_redis  # noqa: F401
from tests.test_gateway import FakeClient, InlineDatabase, _fresh_clients, launch, template  # noqa: F401


def following_gateway(**options):
    return gateway.Gateway(
        gateway_id="test",
        client_factory=FakeClient,
        db=InlineDatabase(),
        load_connections=gateway.enabled_connections,
        reload_interval=0.05,
        poll_interval=0.05,
        chunk_size=3,
        **options,
    )


async def eventually(check, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.02)


def test_a_connection_added_while_the_gateway_runs_is_served_without_a_restart(shop, template, settings, sending_redis):
    gw = following_gateway()

    async def scenario():
        stopping = asyncio.Event()
        connections["default"] = gw.db.connection
        running = asyncio.create_task(gw.run(stopping))
        try:
            await asyncio.sleep(0.2)
            assert gw.active == {}
            campaign = launch(shop, template, create_connection(), phones(7), settings)
            await eventually(lambda: Campaign.objects.get(pk=campaign.pk).status == "completed")
        finally:
            stopping.set()
            await running
        return campaign

    campaign = asyncio.run(scenario())
    assert counters(campaign)["submitted"] == 7


def test_a_changed_connection_is_bound_again_and_a_disabled_one_let_go(db, sending_redis):
    connection = create_connection()
    gw = following_gateway()

    async def scenario():
        stopping = asyncio.Event()
        connections["default"] = gw.db.connection
        running = asyncio.create_task(gw.run(stopping))
        try:
            await eventually(lambda: len(FakeClient.instances) == 1)
            first = FakeClient.instances[0]
            connection.port = 2776
            connection.save(update_fields=["port"])
            await eventually(lambda: len(FakeClient.instances) == 2)
            assert first.stopped and FakeClient.instances[1].settings["port"] == 2776
            ProviderConnection.objects.filter(pk=connection.pk).update(enabled=False)
            await eventually(lambda: FakeClient.instances[1].stopped)
            assert not gw.active and len(FakeClient.instances) == 2
        finally:
            stopping.set()
            await running

    asyncio.run(scenario())


def test_the_gateway_reports_the_bind_and_withdraws_it_when_it_stops(db, sending_redis):
    connection = create_connection()
    gw = following_gateway()
    seen = []

    async def scenario():
        stopping = asyncio.Event()
        connections["default"] = gw.db.connection
        running = asyncio.create_task(gw.run(stopping))
        try:
            await eventually(lambda: connection_state.read(connection).connected)
            seen.append(connection_state.read(connection))
        finally:
            stopping.set()
            await running

    asyncio.run(scenario())
    assert seen == [connection_state.ConnectionState("simulator", True)]
    assert connection_state.read(connection) == connection_state.ConnectionState(
        "simulator", False, "the gateway stopped serving it"
    )


def report(connection, bound, reason=""):
    async def publish():
        from campaigns.redis_client import get_async_redis

        redis = get_async_redis()
        try:
            await connection_state.publish(redis, connection.pk, "gw-1", bound, reason)
        finally:
            await redis.aclose()

    asyncio.run(publish())


def running_campaign(shop, template, connection):
    campaign = create_campaign(shop, template, connection, phones(3), status=Campaign.Status.RUNNING)
    Campaign.objects.filter(pk=campaign.pk).update(total=3, queued=3, planned_at=campaign.created_at)
    return campaign


def test_a_campaign_whose_connection_is_not_bound_says_what_it_waits_for(client, alice, shop, template, sending_redis):
    connection = create_connection(name="carrier-a")
    campaign = running_campaign(shop, template, connection)
    client.force_login(alice)
    url = reverse("campaigns:campaign_progress", args=[campaign.pk])

    page = client.get(url).content.decode()
    assert "Waiting for connection carrier-a (not connected: no gateway is serving it)." in page

    report(connection, 0, "cannot connect to 127.0.0.1:2775: [Errno 111] Connection refused")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert (
        "正在等待通道 carrier-a（未连接：cannot connect to 127.0.0.1:2775: [Errno 111] Connection refused）。" in page
    )

    report(connection, 1)
    assert 'id="campaign-waiting"' not in client.get(url).content.decode()

    ProviderConnection.objects.filter(pk=connection.pk).update(enabled=False)
    page = client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert "Waiting for connection carrier-a (not connected: the connection is disabled)." in page


def test_campaign_status_json_says_what_a_running_campaign_waits_for(shop, template, sending_redis):
    connection = create_connection(name="carrier-a")
    campaign = running_campaign(shop, template, connection)
    report(connection, 0, "ESME_RBINDFAIL")

    out = StringIO()
    with translation.override("en"):
        call_command("campaign_status", str(campaign.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["connection"] == {"name": "carrier-a", "connected": False, "reason": "ESME_RBINDFAIL"}
    assert data["waiting_for"] == "Waiting for connection carrier-a (not connected: ESME_RBINDFAIL)."

    report(connection, 2)
    out = StringIO()
    call_command("campaign_status", str(campaign.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["connection"] == {"name": "carrier-a", "connected": True, "reason": ""}
    assert data["waiting_for"] is None
