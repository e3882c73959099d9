"""The gateway's receipt journal (campaigns.receipt_journal): receipts survive the process between
their acknowledgement and the database, and a crash at any point loses none and repeats nothing
that matters."""

import asyncio

import pytest

from campaigns import receipt_journal
from campaigns.models import Message, PendingReceipt
from sms.smpp.receipts import Receipt
from tests.sending_helpers import counters, phones, rows_by_status, sending_redis  # noqa: F401 (fixture)
from tests.test_gateway import FakeClient, connection, launch, make_gateway, run_until, template  # noqa: F401


def journal(tmp_path, name="db-gw-1"):
    return receipt_journal.ReceiptJournal(tmp_path, name)


def test_appended_receipts_are_read_back_from_the_sealed_segment(tmp_path):
    store = journal(tmp_path)
    store.append([("id1", "DELIVRD", "000"), ("id\t2\n", "UNDELIV", "013")])
    store.append([("id3", "EXPIRED", "")])
    assert store.unsealed == 3

    [segment] = store.seal()

    assert store.read(segment) == [("id1", "DELIVRD", "000"), ("id\t2\n", "UNDELIV", "013"), ("id3", "EXPIRED", "")]
    assert store.unsealed == 0
    store.done(segment)
    assert store.seal() == [] and not list(tmp_path.iterdir())


def test_appends_after_a_seal_go_to_a_new_segment(tmp_path):
    store = journal(tmp_path)
    store.append([("a", "DELIVRD", "")])
    first = store.seal()
    store.append([("b", "DELIVRD", "")])

    both = store.seal()

    assert both[0] == first[0] and len(both) == 2
    assert [store.read(path) for path in both] == [[("a", "DELIVRD", "")], [("b", "DELIVRD", "")]]


def test_by_interval_a_write_waits_for_the_next_sync_and_each_syncs_before_it_returns(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(receipt_journal.os, "fdatasync", synced.append)
    interval = receipt_journal.ReceiptJournal(tmp_path / "interval", "j")
    interval.append([("a", "DELIVRD", "")])
    assert interval.dirty and synced == []
    interval.sync()
    assert not interval.dirty and len(synced) == 1
    interval.append([("b", "DELIVRD", "")])
    interval.seal()  # a segment is synced before it is applied
    assert len(synced) == 2

    each = receipt_journal.ReceiptJournal(tmp_path / "each", "j", sync_each=True)
    each.append([("a", "DELIVRD", "")])
    assert not each.dirty and len(synced) == 3


def test_a_journal_opened_again_finds_what_an_earlier_run_left_oldest_first(tmp_path):
    earlier = journal(tmp_path)
    earlier.append([("a", "DELIVRD", "")])
    earlier.seal()
    earlier.append([("b", "DELIVRD", "")])  # the process dies with this segment still open

    again = journal(tmp_path)
    again.append([("c", "DELIVRD", "")])

    assert [again.read(path) for path in again.seal()] == [
        [("a", "DELIVRD", "")],
        [("b", "DELIVRD", "")],
        [("c", "DELIVRD", "")],
    ]


def test_a_torn_last_line_is_skipped_and_the_rest_is_kept(tmp_path):
    store = journal(tmp_path)
    store.append([("a", "DELIVRD", ""), ("b", "DELIVRD", "")])
    [segment] = store.seal()
    with open(segment, "ab") as file:
        file.write(b'["c", "DELIV')  # killed mid-write: never synced, so never acknowledged

    assert journal(tmp_path).read(segment) == [("a", "DELIVRD", ""), ("b", "DELIVRD", "")]


def test_a_torn_last_round_is_skipped_whole_and_the_earlier_rounds_are_kept(tmp_path):
    store = journal(tmp_path)
    store.append([("a", "DELIVRD", ""), ("b", "UNDELIV", "001")])
    store.append([("c", "DELIVRD", "")])
    [segment] = store.seal()
    with open(segment, "ab") as file:
        # A round cut off after its first receipt: none of it was acknowledged, so none of it is read.
        file.write(b'[["d", "DELIVRD", ""], ["e", "EXPI')

    assert journal(tmp_path).read(segment) == [("a", "DELIVRD", ""), ("b", "UNDELIV", "001"), ("c", "DELIVRD", "")]


def test_a_round_is_one_line_and_segments_of_one_receipt_a_line_are_still_read(tmp_path):
    store = journal(tmp_path)
    store.append([("a", "DELIVRD", ""), ("b", "UNDELIV", "001")])
    store.append([("c", "DELIVRD", "")])
    [segment] = store.seal()
    assert segment.read_bytes().count(b"\n") == 2
    # An earlier version wrote a line per receipt; a gateway upgraded with such a segment left applies it.
    with open(segment, "ab") as file:
        file.write(b'["d", "EXPIRED", ""]\n["e", "DELIVRD", ""]\n')

    assert journal(tmp_path).read(segment) == [
        ("a", "DELIVRD", ""),
        ("b", "UNDELIV", "001"),
        ("c", "DELIVRD", ""),
        ("d", "EXPIRED", ""),
        ("e", "DELIVRD", ""),
    ]


def test_journals_of_other_gateways_connections_and_databases_are_left_alone(tmp_path):
    database = {"HOST": "127.0.0.1", "PORT": "5432", "NAME": "one"}
    names = {
        receipt_journal.journal_name(database, "gw", 1),
        receipt_journal.journal_name(database, "gw", 10),
        receipt_journal.journal_name(database, "gw-1", 1),
        receipt_journal.journal_name({**database, "NAME": "two"}, "gw", 1),
        receipt_journal.journal_name(database, "gw", 1, "the connection row of a database created again"),
    }
    assert len(names) == 5
    for name in names:
        journal(tmp_path, name).append([(name, "DELIVRD", "")])
        journal(tmp_path, name).seal()

    for name in names:
        store = journal(tmp_path, name)
        assert [store.read(path) for path in store.seal()] == [[(name, "DELIVRD", "")]]


@pytest.fixture
def journal_dir(tmp_path):
    return tmp_path / "receipts"


def delivering(stat="DELIVRD"):
    """A FakeClient hook: each chunk's receipts come in before its submit results are returned."""

    async def deliver(requests):
        client = FakeClient.instances[-1]
        first = len(client.submitted) - len(requests) + 1
        await client.on_receipts([Receipt(f"id{first + i}", stat, "000", "", "", "") for i in range(len(requests))])

    return deliver


def test_the_gateway_applies_the_receipts_it_journaled_and_deletes_the_segments(
    shop, template, connection, settings, sending_redis, journal_dir
):
    campaign = launch(shop, template, connection, phones(5), settings)
    gw = make_gateway(connection, before_answer=delivering(), journal_dir=journal_dir)
    asyncio.run(run_until(gw, lambda: counters(campaign)["delivered"] == 5))

    assert gw.runners[0].journal is not None
    assert rows_by_status(campaign)["delivered"] == 5
    assert counters(campaign)["submitted"] == 0
    assert not PendingReceipt.objects.exists()
    assert not any(journal_dir.iterdir())  # every segment applied and deleted


def test_receipts_a_gateway_journaled_but_never_applied_are_applied_by_the_next_start(
    shop, template, connection, settings, sending_redis, journal_dir
):
    campaign = launch(shop, template, connection, phones(3), settings)
    first = make_gateway(connection, journal_dir=journal_dir)
    asyncio.run(run_until(first, lambda: counters(campaign)["submitted"] == 3))
    # The first gateway died right after acknowledging these: its journal holds them, unapplied.
    ids = list(Message.objects.filter(campaign=campaign).values_list("provider_id", flat=True))
    left = receipt_journal.ReceiptJournal(journal_dir, first.runners[0].journal.name)
    left.append([(provider_id, "DELIVRD", "000") for provider_id in ids])
    left.close()

    second = make_gateway(connection, journal_dir=journal_dir)
    asyncio.run(run_until(second, lambda: counters(campaign)["delivered"] == 3))

    assert rows_by_status(campaign)["delivered"] == 3
    assert not any(journal_dir.iterdir())


def test_a_segment_applied_again_after_a_crash_moves_no_message_twice(
    shop, template, connection, settings, sending_redis, journal_dir
):
    campaign = launch(shop, template, connection, phones(2), settings)
    gw = make_gateway(connection, before_answer=delivering(), journal_dir=journal_dir)
    asyncio.run(run_until(gw, lambda: counters(campaign)["delivered"] == 2))
    # Killed after the commit and before the delete: the next start applies the segment again
    # (here with another outcome, to show the repeat changes nothing).
    ids = list(Message.objects.filter(campaign=campaign).values_list("provider_id", flat=True))
    again = receipt_journal.ReceiptJournal(journal_dir, gw.runners[0].journal.name)
    again.append([(provider_id, "UNDELIV", "013") for provider_id in ids])
    again.close()

    asyncio.run(run_until(make_gateway(connection, journal_dir=journal_dir), lambda: not any(journal_dir.iterdir())))

    assert rows_by_status(campaign)["delivered"] == 2
    assert counters(campaign)["delivered"] == 2 and counters(campaign)["failed"] == 0


def test_without_a_journal_each_round_is_stored_before_it_is_acknowledged(
    shop, template, connection, settings, sending_redis
):
    campaign = launch(shop, template, connection, phones(2), settings)
    received = []

    async def deliver_and_look(requests):
        await delivering()(requests)
        # Stored by the round itself (unmatched yet: the submit results come after).
        received.append(PendingReceipt.objects.count())

    gw = make_gateway(connection, before_answer=deliver_and_look)
    asyncio.run(run_until(gw, lambda: counters(campaign)["delivered"] == 2))

    assert gw.runners[0].journal is None
    assert received == [2]
    assert rows_by_status(campaign)["delivered"] == 2
