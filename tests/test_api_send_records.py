"""API messages are found where campaign messages are: the send records search lists them under
their application (and by number), and a record's page opens for them; another account sees none."""

from django.urls import reverse

from campaigns.models import Message
from tests.sending_helpers import sending_redis  # noqa: F401 (fixture)
from tests.test_api_send import route, send  # noqa: F401 (fixture)

RECORDS = reverse("reports:records")


def test_an_api_message_is_listed_under_its_application_and_opens(client, factories, acme, route):
    assert send(client, route, to="+8613800138000").json()["code"] == "000000"
    message = Message.objects.get()
    client.force_login(factories.create_user("olga", account=acme))

    by_application = client.get(RECORDS, {"application": route["app"].pk})
    assert [m.pk for m in by_application.context["page"]] == [message.pk]
    by_number = client.get(RECORDS, {"phone": "+8613800138000"})
    assert [m.pk for m in by_number.context["page"]] == [message.pk]

    record = client.get(reverse("reports:record", args=[message.pk]))
    assert record.status_code == 200 and "Your code is 123456." in record.context["rendered"]


def test_another_account_does_not_see_it(client, charlie, route):
    send(client, route)
    message = Message.objects.get()
    client.force_login(charlie)
    assert list(client.get(RECORDS, {"phone": "+8613800138000"}).context["page"]) == []
    assert client.get(reverse("reports:record", args=[message.pk])).status_code == 404
