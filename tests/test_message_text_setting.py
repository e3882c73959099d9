"""The account's "days message text is kept" on Settings → Sending settings (campaigns.privacy reads it)."""

from django.urls import reverse

from smsconsole.models import AuditLog
from tests.test_sending_settings_views import form_data

URL = reverse("campaigns:sending_settings")


def test_the_page_shows_the_default_of_30_days_in_both_languages(alice_client):
    html = alice_client.get(URL).content.decode()
    assert 'name="message_text_days" value="30"' in html and "days message text is kept" in html
    alice_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "短信内容保留天数" in alice_client.get(URL).content.decode()


def test_an_operator_keeps_no_text_and_the_change_is_audited(alice_client, acme):
    assert alice_client.post(URL, form_data(message_text_days="0")).status_code == 302
    acme.refresh_from_db()
    assert acme.message_text_days == 0
    entry = AuditLog.objects.get(account=acme, action="edit")
    assert (entry.before, entry.after) == ({"message_text_days": 30}, {"message_text_days": 0})


def test_a_negative_number_of_days_is_refused_and_nothing_saved(alice_client, acme):
    response = alice_client.post(URL, form_data(message_text_days="-1"))
    assert response.status_code == 200 and "message_text_days" in response.context["form"].errors
    acme.refresh_from_db()
    assert acme.message_text_days == 30


def test_a_read_only_member_cannot_change_it(client, bob, acme):
    client.force_login(bob)
    client.post(URL, form_data(message_text_days="0"))
    acme.refresh_from_db()
    assert acme.message_text_days == 30
