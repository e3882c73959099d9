"""The pushes page (reports:pushes): an account's pushes with every attempt, filtered by kind and
status, fifty a page in a fixed number of queries, in both languages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from campaigns.models import Push, PushAttempt

URL = reverse("reports:pushes")
AT = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def owe(application, key, status=Push.Status.PENDING, kind=Push.Kind.REPLY, attempts=(), **fields):
    if status == Push.Status.DELIVERED:
        fields.setdefault("delivered_at", AT)
    if status == Push.Status.GAVE_UP:
        fields.setdefault("gave_up_at", AT)
    pushed = Push.objects.create(
        account=application.account, application=application, kind=kind, dedupe_key=key,
        url="https://shop.example/mo", body={"smsMsgId": key}, status=status, attempts=len(attempts),
        created_at=AT, **fields,
    )  # fmt: skip
    PushAttempt.objects.bulk_create(
        PushAttempt(push=pushed, number=n, started_at=AT + timedelta(seconds=n), duration_ms=12,
                    status_code=code, error="" if code == 200 else (f"HTTP {code}" if code else "no answer within 5 s"))
        for n, code in enumerate(attempts, start=1)
    )  # fmt: skip
    return pushed


def test_it_lists_each_push_with_its_attempts(alice_client, shop):
    owe(shop, "reply:1", Push.Status.DELIVERED, attempts=[500, None, 200])

    body = alice_client.get(URL).content.decode()

    assert "https://shop.example/mo" in body and "Delivered" in body
    assert "#1" in body and "HTTP 500" in body and "no answer within 5 s" in body and "HTTP 200" in body


def test_it_filters_by_kind_and_status(alice_client, shop):
    owe(shop, "reply:1", Push.Status.DELIVERED)
    owe(shop, "reply:2", Push.Status.GAVE_UP)
    owe(shop, "status:3", kind=Push.Kind.STATUS)

    def keys(**params):
        return sorted(p.dedupe_key for p in alice_client.get(URL, params).context["page"])

    assert keys() == ["reply:1", "reply:2", "status:3"]
    assert keys(kind="reply") == ["reply:1", "reply:2"]
    assert keys(status="gave_up") == ["reply:2"]
    assert keys(kind="status", status="pending") == ["status:3"]


def test_it_shows_nothing_of_another_account(client, charlie, shop):
    owe(shop, "reply:1")
    client.force_login(charlie)

    response = client.get(URL)

    assert list(response.context["page"]) == [] and "shop.example" not in response.content.decode()


def test_pages_of_fifty_with_their_attempts_in_a_fixed_number_of_queries(alice_client, shop, django_assert_num_queries):
    for n in range(60):
        owe(shop, f"reply:{n}", attempts=[500, 200])
    alice_client.get(URL)
    with django_assert_num_queries(6):
        response = alice_client.get(URL)
    assert len(response.context["page"]) == 50
    assert response.content.decode().count('class="attempt"') == 100


def test_the_page_reads_in_chinese(alice_client, shop):
    owe(shop, "reply:1", Push.Status.GAVE_UP, attempts=[500])
    alice_client.cookies["django_language"] = "zh-hans"

    body = alice_client.get(URL).content.decode()

    assert "推送记录" in body and "已放弃" in body and "上行短信" in body


@pytest.mark.parametrize("params", [{"kind": "nonsense"}, {"status": "x"}])
def test_an_unknown_filter_value_shows_everything_rather_than_failing(alice_client, shop, params):
    owe(shop, "reply:1")

    response = alice_client.get(URL, params)

    assert response.status_code == 200 and len(response.context["page"]) == 1
