"""Replies the gateway hands over: stored in one go, tied to their signature, application and last
campaign, opt-out keywords added to the account's list, and one push owed per reply."""

from dataclasses import dataclass
from datetime import UTC

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import replies
from campaigns.models import Message, OptOut, Push, Reply
from tests.sending_helpers import create_campaign, create_connection


@dataclass
class Inbound:
    source: str
    destination: str
    text: str


@pytest.fixture
def simulator_connection(db):
    return create_connection()


@pytest.fixture
def signature(factories, shop):
    return factories.create_signature(shop, channel_number="10690001")


def reply(text, source="8613800138000", destination="10690001"):
    return Inbound(source, destination, text)


def test_a_reply_is_stored_with_its_number_in_e164_and_tied_to_the_signature_of_its_channel_number(
    simulator_connection, signature, shop
):
    assert replies.store(simulator_connection.pk, [reply("Thanks!")]) == 1

    stored = Reply.objects.get()
    assert (stored.phone, stored.text, stored.destination) == ("+8613800138000", "Thanks!", "10690001")
    assert (stored.account_id, stored.application_id, stored.signature_id) == (shop.account_id, shop.pk, signature.pk)
    assert stored.connection_id == simulator_connection.pk and not stored.opted_out and stored.campaign_id is None


def test_a_destination_with_an_extension_belongs_to_the_longest_channel_number_it_starts_with(
    factories, simulator_connection, signature, shop
):
    longer = factories.create_signature(shop, name="Acme Two", channel_number="1069000123")

    replies.store(simulator_connection.pk, [reply("a", destination="106900012345"), reply("b", destination="10690001")])

    assert dict(Reply.objects.values_list("text", "signature_id")) == {"a": longer.pk, "b": signature.pk}


def test_a_reply_to_an_unknown_address_is_kept_for_no_account(simulator_connection, signature):
    replies.store(simulator_connection.pk, [reply("R", destination="999")])

    stored = Reply.objects.get()
    assert stored.account_id is None and stored.signature_id is None and not stored.opted_out
    assert not OptOut.objects.exists()


def test_a_reply_names_the_last_campaign_of_that_signature_that_reached_the_number(
    factories, simulator_connection, signature, shop
):
    template = factories.create_template(shop, signature=signature)
    other_signature = factories.create_signature(shop, name="Other", channel_number="10690009")
    other_template = factories.create_template(shop, signature=other_signature, name="Other")
    now = timezone.now()
    campaigns = []
    for sent_at, chosen in ((now - timezone.timedelta(days=2), template), (now - timezone.timedelta(days=1), template)):
        campaign = create_campaign(shop, chosen, simulator_connection, ["+8613800138000"], status="completed")
        Message.objects.create(
            campaign=campaign, connection=simulator_connection, phone="+8613800138000", status="delivered",
            provider_id=f"p{campaign.pk}", submitted_at=sent_at,
        )  # fmt: skip
        campaigns.append(campaign)
    # A later campaign of another signature, and one of the same signature never handed over.
    later = create_campaign(shop, other_template, simulator_connection, ["+8613800138000"], status="completed")
    Message.objects.create(
        campaign=later, connection=simulator_connection, phone="+8613800138000", status="delivered",
        provider_id="px", submitted_at=now,
    )  # fmt: skip
    skipped = create_campaign(shop, template, simulator_connection, ["+8613800138000"], status="completed")
    Message.objects.create(campaign=skipped, connection=simulator_connection, phone="+8613800138000", status="skipped")

    replies.store(simulator_connection.pk, [reply("ok")])

    assert Reply.objects.get().campaign_id == campaigns[1].pk


@pytest.mark.parametrize("text", ["R", " td ", "退订", "Stop", "ＳＴＯＰ", "unsubscribe.", "n", "t！"])
def test_a_default_opt_out_keyword_adds_the_number_to_the_accounts_opt_out_list(
    simulator_connection, signature, acme, text
):
    replies.store(simulator_connection.pk, [reply(text)])

    opt_out = OptOut.objects.get()
    assert (opt_out.account_id, opt_out.phone, opt_out.source) == (acme.pk, "+8613800138000", OptOut.Source.REPLY)
    assert Reply.objects.get().opted_out


@pytest.mark.parametrize("text", ["Thanks", "R please call me", "STOPPED", "退订了吗？还是"])
def test_other_replies_opt_nobody_out(simulator_connection, signature, text):
    replies.store(simulator_connection.pk, [reply(text)])

    assert not OptOut.objects.exists() and not Reply.objects.get().opted_out


def test_the_accounts_own_keywords_replace_the_defaults(simulator_connection, signature, acme):
    acme.opt_out_keywords = ["QUIT", "取消"]
    acme.save(update_fields=["opt_out_keywords"])

    replies.store(
        simulator_connection.pk,
        [
            reply("R", source="8613800000001"),
            reply("quit", source="8613800000002"),
            reply("取消", source="8613800000003"),
        ],
    )

    assert sorted(OptOut.objects.values_list("phone", flat=True)) == ["+8613800000002", "+8613800000003"]


def test_an_opt_out_already_on_the_list_stays_as_it_was(simulator_connection, signature, acme):
    OptOut.objects.create(account=acme, phone="+8613800138000", source=OptOut.Source.MANUAL, note="asked by phone")

    replies.store(simulator_connection.pk, [reply("STOP"), reply("R")])

    opt_out = OptOut.objects.get()
    assert (opt_out.source, opt_out.note) == (OptOut.Source.MANUAL, "asked by phone")
    assert Reply.objects.filter(opted_out=True).count() == 2


def test_each_reply_to_an_application_with_an_upstream_url_owes_one_push_in_the_references_shape(
    simulator_connection, signature, shop
):
    shop.upstream_url = "https://shop.example/mo"
    shop.save(update_fields=["upstream_url"])

    replies.store(simulator_connection.pk, [reply("Hello 你好")])

    stored, owed = Reply.objects.get(), Push.objects.get()
    assert (owed.kind, owed.url, owed.format, owed.application_id) == (
        "reply",
        "https://shop.example/mo",
        "form",
        shop.pk,
    )
    assert owed.dedupe_key == f"reply:{stored.mo_id}" and owed.status == Push.Status.PENDING
    assert owed.body == {
        "smsMsgId": str(stored.mo_id),
        "from": "+8613800138000",
        "to": "10690001",
        "body": "Hello 你好",
        "createTime": stored.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_replies_to_an_application_without_an_upstream_url_owe_no_push(simulator_connection, signature):
    replies.store(simulator_connection.pk, [reply("Hello")])

    assert Reply.objects.count() == 1 and not Push.objects.exists()


def test_a_flush_of_many_replies_is_stored_in_a_few_queries_not_one_per_reply(simulator_connection, signature, shop):
    shop.upstream_url = "https://shop.example/mo"
    shop.save(update_fields=["upstream_url"])
    flush = [reply("R" if n % 2 else "hi", source=f"86138{n:08d}") for n in range(500)]

    with CaptureQueriesContext(connection) as queries:
        replies.store(simulator_connection.pk, flush)

    assert Reply.objects.count() == 500 and OptOut.objects.count() == 250 and Push.objects.count() == 500
    # SQLite splits the bulk INSERTs by its parameter limit; PostgreSQL needs 10.
    assert len(queries) <= 30, [q["sql"][:80] for q in queries]
