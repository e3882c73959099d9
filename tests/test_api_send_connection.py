"""Which provider connection an application's API sends go out on (api.sending.connection_for): the
application's own while it is enabled, else the one SMS_DEFAULT_CONNECTION names; with neither the
request is refused and nothing is kept. An HTTP connection without the template's remote templateId
refuses its numbers, as a console campaign's launch is refused."""

from campaigns.models import Campaign, Message, ProviderConnection, RemoteTemplate
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


def test_an_http_connection_without_the_templates_remote_template_id_refuses_its_numbers(client, route):
    cloud = create_connection("cloud", kind=ProviderConnection.Kind.HTTP, base_url="https://sms.example", app_key="k")
    route["app"].connection = cloud
    route["app"].save(update_fields=["connection"])
    body = send(client, route, to="+8613800138000,+8613900139000").json()
    assert body["code"] == "000000" and [e["status"] for e in body["result"]] == ["E200027", "E200027"]
    assert [e["smsMsgId"] for e in body["result"]] == ["", ""]
    assert not Message.objects.exists() and not Campaign.objects.exists()

    RemoteTemplate.objects.create(connection=cloud, template=route["template"], remote_template_id="tpl-remote")
    assert [e["status"] for e in send(client, route).json()["result"]] == ["000000"]
    assert Campaign.objects.get().connection == cloud
