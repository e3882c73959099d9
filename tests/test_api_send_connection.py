"""Which provider connection an application's API sends go out on (api.sending.connection_for): the
application's own while it is enabled, else the one SMS_DEFAULT_CONNECTION names; with neither the
request is refused and nothing is kept."""

from campaigns.models import Campaign, Message, ProviderConnection
from tests.sending_helpers import create_connection, sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import route, send  # noqa: F401 (fixture)


def test_an_application_with_its_own_connection_sends_on_it(client, route):
    own = create_connection("shop-route")
    route["app"].connection = own
    route["app"].save(update_fields=["connection"])
    assert send(client, route).json()["code"] == "000000"
    assert Campaign.objects.get().connection == own


def test_without_one_the_default_connection_is_used(client, route):
    assert send(client, route).json()["code"] == "000000"
    assert Campaign.objects.get().connection == route["connection"]


def test_its_own_connection_disabled_falls_back_to_the_default(client, route):
    own = create_connection("shop-route", enabled=False)
    route["app"].connection = own
    route["app"].save(update_fields=["connection"])
    assert send(client, route).json()["code"] == "000000"
    assert Campaign.objects.get().connection == route["connection"]


def test_with_no_enabled_connection_the_request_is_refused_and_nothing_kept(client, route):
    ProviderConnection.objects.update(enabled=False)
    response = send(client, route)
    assert response.json()["code"] == "E000000" and "result" not in response.json()
    assert not Message.objects.exists() and not Campaign.objects.exists()
