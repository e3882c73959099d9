"""The connection's priority list (small API sends): the gateway takes from it before the bulk list,
through the same processing list, and its messages are claimed like any others (no second send)."""

import asyncio

from campaigns import dispatch
from campaigns.models import Campaign, Message
from tests.sending_helpers import phones, sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import route, send  # noqa: F401 (fixture)
from tests.test_gateway import FakeClient, _fresh_clients, launch, make_gateway, run_until  # noqa: F401

CODE = "+8613999999999"


def delivered_count(campaign):
    return Campaign.objects.get(pk=campaign.pk).submitted


def test_a_bulk_consumer_takes_the_priority_list_first(client, route, settings, sending_redis):
    connection = route["connection"]
    bulk = launch(route["app"], route["template"], connection, [(p, ["1"]) for p in phones(9)], settings, batch_size=3)
    assert sending_redis.llen(dispatch.queue_key(connection.pk)) == 3
    assert send(client, route, to=CODE).json()["result"][0]["status"] == "000000"  # queued after them
    api = Campaign.objects.get(source=Campaign.Source.API)
    assert sending_redis.llen(dispatch.priority_key(connection.pk)) == 1

    gw = make_gateway(connection, consumers=1, priority_consumers=0)
    asyncio.run(run_until(gw, lambda: delivered_count(bulk) == 9 and delivered_count(api) == 1))

    destinations = [request.destination for request in FakeClient.instances[0].submitted]
    assert destinations[0] == CODE and sorted(destinations[1:]) == phones(9)
    assert Message.objects.get(campaign=api).status == "submitted"
    assert Campaign.objects.get(pk=api.pk).status == "running"  # never completed
    assert sending_redis.llen(dispatch.processing_key(connection.pk, "test")) == 0


def test_a_priority_consumer_never_takes_bulk_jobs(client, route, settings, sending_redis):
    connection = route["connection"]
    bulk = launch(route["app"], route["template"], connection, [(p, ["1"]) for p in phones(3)], settings, batch_size=3)
    send(client, route, to=CODE)
    api = Campaign.objects.get(source=Campaign.Source.API)

    gw = make_gateway(connection, consumers=0, priority_consumers=1)
    asyncio.run(run_until(gw, lambda: delivered_count(api) == 1))

    assert [request.destination for request in FakeClient.instances[0].submitted] == [CODE]
    assert delivered_count(bulk) == 0 and sending_redis.llen(dispatch.queue_key(connection.pk)) == 1
