from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns.models import ProviderConnection, RemoteTemplate


def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


def form_data(**overrides):
    data = {
        "name": "carrier",
        "kind": "smpp",
        "host": "127.0.0.1",
        "port": "2775",
        "system_id": "acme",
        "new_password": "s3cret",
        "system_type": "",
        "tps": "200",
        "max_binds": "2",
        "window": "64",
        "source_rule": "channel_number",
        "source_address": "",
        "enabled": "on",
        # The remote templates inline (HTTP connections), empty.
        "remote_templates-TOTAL_FORMS": "0",
        "remote_templates-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_a_connection_added_in_the_admin_stores_its_password_encrypted(client, db):
    response = superuser_client(client).post(reverse("admin:campaigns_providerconnection_add"), form_data())
    assert response.status_code == 302
    connection = ProviderConnection.objects.get(name="carrier")
    assert connection.password == "s3cret"
    assert "s3cret" not in connection.password_encrypted
    assert (connection.tps, connection.max_binds, connection.window) == (200, 2, 64)


def test_editing_without_a_password_keeps_the_old_one_and_never_shows_it(client, db):
    client = superuser_client(client)
    client.post(reverse("admin:campaigns_providerconnection_add"), form_data())
    connection = ProviderConnection.objects.get(name="carrier")
    url = reverse("admin:campaigns_providerconnection_change", args=[connection.pk])
    assert "s3cret" not in client.get(url).content.decode()
    response = client.post(url, form_data(new_password="", tps="50"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.password, connection.tps) == ("s3cret", 50)


def test_a_new_connection_needs_a_password_and_a_fixed_source_needs_an_address(client, db):
    response = superuser_client(client).post(
        reverse("admin:campaigns_providerconnection_add"), form_data(new_password="", source_rule="fixed")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"new_password", "source_address"}
    assert not ProviderConnection.objects.exists()


def test_the_campaign_admin_is_read_only(client, db):
    client = superuser_client(client)
    assert client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_campaign_add")).status_code == 403


def http_form_data(**overrides):
    fields = dict(kind="http", host="", port="", system_id="", base_url="https://smsapi.example.com:443",
                  app_key="a1b2c3", new_password="app-secret-1")  # fmt: skip
    fields.update(overrides)
    return form_data(**fields)


def test_an_http_connection_needs_its_address_and_app_key_not_an_smpp_host(client, db):
    client = superuser_client(client)
    response = client.post(reverse("admin:campaigns_providerconnection_add"), http_form_data(base_url="", app_key=""))
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"base_url", "app_key"}
    response = client.post(reverse("admin:campaigns_providerconnection_add"), form_data(host="", system_id=""))
    assert set(response.context["adminform"].form.errors) == {"host", "system_id"}
    assert not ProviderConnection.objects.exists()


def test_an_http_connection_keeps_its_app_secret_encrypted_maps_templates_and_shows_its_report_url(
    client, db, factories, shop
):
    template = factories.create_template(shop, content="Code ${1}.")
    client = superuser_client(client)
    data = http_form_data(
        **{
            "remote_templates-TOTAL_FORMS": "1",
            "remote_templates-0-template": str(template.pk),
            "remote_templates-0-remote_template_id": "8ff55eac1d0b478ab3c06c3c6a492300",
        }
    )
    response = client.post(reverse("admin:campaigns_providerconnection_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    connection = ProviderConnection.objects.get(name="carrier")
    assert (connection.kind, connection.base_url, connection.app_key) == ("http", data["base_url"], "a1b2c3")
    assert connection.app_secret == "app-secret-1" and "app-secret-1" not in connection.password_encrypted
    assert connection.remote_template_id(template.pk) == "8ff55eac1d0b478ab3c06c3c6a492300"
    assert RemoteTemplate.objects.count() == 1
    page = client.get(reverse("admin:campaigns_providerconnection_change", args=[connection.pk])).content.decode()
    assert "app-secret-1" not in page
    assert f"/provider-reports/{connection.callback_token}/" in page
    assert len(connection.callback_token) >= 40
