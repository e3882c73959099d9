"""The management API is signed with an account's access key exactly as the official management
SDK signs: the SDK itself (huaweicloudsdkmsgsms), pointed at this console, lists countries; wrong,
revoked, replayed and other-project requests are refused."""

from datetime import UTC, datetime

import pytest
import requests

from api.models import AccessKey, create_access_key
from sms import signing
from tests.sending_helpers import sending_redis  # noqa: F401 (a fixture)


@pytest.fixture
def access_key(acme, alice):
    key, secret = create_access_key(acme, "sync", alice)
    return key, secret


def sdk_client(live_server, account_id, access_key, secret):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkmsgsms.v2 import MsgsmsClient

    return (
        MsgsmsClient.new_builder()
        .with_credentials(BasicCredentials(access_key, secret, str(account_id)))
        .with_endpoints([live_server.url])
        .with_http_config(HttpConfig.get_default_config())
        .build()
    )


@pytest.fixture
def api_redis(sending_redis):
    """Nonces, signatures and request rates live in Redis (a prefix of this test's own)."""
    return sending_redis


@pytest.mark.django_db(transaction=True)
def test_the_official_management_sdk_lists_countries(live_server, acme, access_key, api_redis):
    from huaweicloudsdkmsgsms.v2 import ListSendCountryDetailsRequest

    key, secret = access_key
    client = sdk_client(live_server, acme.pk, key.access_key, secret)
    response = client.list_send_country_details(ListSendCountryDetailsRequest(country_name_en="China"))
    names = {(c.country_id, c.country_name_en, c.country_name_zh) for c in response.body}
    assert (86, "China", "中国") in names
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_official_sdk_signs_a_path_id_holding_a_percent_and_is_answered_not_refused(
    live_server, acme, access_key, api_redis
):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
    from huaweicloudsdkmsgsms.v2 import ShowTemplateRequest

    key, secret = access_key
    client = sdk_client(live_server, acme.pk, key.access_key, secret)
    with pytest.raises(ClientRequestException) as error:
        client.show_template(ShowTemplateRequest(id="a%41b"))
    # Authenticated, then no such template: the signature over the once-decoded path matched.
    assert (error.value.status_code, error.value.error_code) == (404, "MSGSMS.0004")


def signed_get(live_server, path, access_key, secret, now=None):
    host = live_server.url.split("//", 1)[1]
    headers = signing.aksk_headers(access_key, secret, "GET", path, host, body=b"", now=now)
    return requests.get(live_server.url + path, headers=headers, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_requests_that_must_be_refused_are(live_server, acme, other_co, access_key, api_redis):
    key, secret = access_key
    path = f"/v2/{acme.pk}/msgsms/country"
    first = signed_get(live_server, path, key.access_key, secret)
    assert first.status_code == 200, first.text
    wrong = signed_get(live_server, path, key.access_key, "not-the-secret")
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "APIGW.0301")
    other = signed_get(live_server, f"/v2/{other_co.pk}/msgsms/country", key.access_key, secret)
    assert other.status_code == 403
    stale = signed_get(live_server, path, key.access_key, secret, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert stale.status_code == 401
    # The same signed change twice: the second is a replay (reads may repeat).
    host = live_server.url.split("//", 1)[1]
    headers = signing.aksk_headers(key.access_key, secret, "GET", path, host, body=b"")
    assert requests.get(live_server.url + path, headers=headers, timeout=10).status_code == 200
    assert requests.get(live_server.url + path, headers=headers, timeout=10).status_code == 200
    key.revoke()
    assert signed_get(live_server, path, key.access_key, secret).status_code == 401
    assert requests.get(live_server.url + path, timeout=10).status_code == 401


def test_access_keys_are_created_shown_once_and_revoked_by_operators(alice_client, bob, acme):
    from django.test import Client
    from django.urls import reverse

    client = Client()
    alice_client.post(reverse("api:access_key_create"), {"name": "CI"})
    key = AccessKey.objects.get()
    first = alice_client.get(reverse("api:access_key_list"))
    assert first.context["new_secret"] == key.secret
    assert alice_client.get(reverse("api:access_key_list")).context["new_secret"] is None
    client.force_login(bob)
    assert client.post(reverse("api:access_key_revoke", args=[key.pk])).status_code == 403
    assert client.post(reverse("api:access_key_create"), {"name": "x"}).status_code == 403
    assert key.secret not in client.get(reverse("api:access_key_list")).content.decode()
    alice_client.post(reverse("api:access_key_revoke", args=[key.pk]))
    key.refresh_from_db()
    assert not key.is_active


def test_another_accounts_key_is_not_listed_or_revocable(client, charlie, acme, access_key):
    from django.urls import reverse

    key, _secret = access_key
    client.force_login(charlie)
    assert list(client.get(reverse("api:access_key_list")).context["keys"]) == []
    assert client.post(reverse("api:access_key_revoke", args=[key.pk])).status_code == 404
