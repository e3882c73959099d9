"""Receipts that matched no message are listed in the admin for diagnosis (issue 10: "unmatched
receipts kept for a while and listed"); they name no campaign, so no tenant's console shows them."""

import pytest
from django.contrib.auth import get_user_model

from campaigns.models import PendingReceipt, ProviderConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_the_admin_lists_unmatched_receipts_newest_first_and_finds_one_by_its_id(superuser_client):
    connection = ProviderConnection.objects.create(name="carrier-a", host="127.0.0.1", port=2775)
    PendingReceipt.objects.create(connection=connection, provider_id="aa11", stat="DELIVRD")
    PendingReceipt.objects.create(connection=connection, provider_id="bb22", stat="UNDELIV", err="005")

    page = superuser_client.get("/admin/campaigns/pendingreceipt/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("bb22") < body.index("aa11")
    assert "UNDELIV" in body and "carrier-a" in body

    found = superuser_client.get("/admin/campaigns/pendingreceipt/", {"q": "aa11"}).content.decode()
    assert "aa11" in found and "bb22" not in found


def test_unmatched_receipts_are_read_only(superuser_client):
    connection = ProviderConnection.objects.create(name="carrier-a", host="127.0.0.1", port=2775)
    receipt = PendingReceipt.objects.create(connection=connection, provider_id="aa11", stat="DELIVRD")
    assert superuser_client.get("/admin/campaigns/pendingreceipt/add/").status_code == 403
    superuser_client.post(f"/admin/campaigns/pendingreceipt/{receipt.pk}/delete/", {"post": "yes"})
    assert PendingReceipt.objects.filter(pk=receipt.pk).exists()


def test_the_admin_page_speaks_chinese(superuser_client):
    page = superuser_client.get("/admin/campaigns/pendingreceipt/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "未匹配回执" in page.content.decode()
