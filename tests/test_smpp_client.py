"""The windowed SMPP client against the simulator (and a raw server for silent or odd SMSCs)."""

import asyncio
import socket

from sms.smpp import pdu
from sms.smpp.client import Inbound, Receipt, SmppClient, SubmitRequest
from sms.smpp.simulator import SmscSimulator
from tests.smpp_helpers import raw_smsc, run, until

ACCOUNT = {"system_id": "acme", "password": "secret"}


def client_for(port, **options):
    options.setdefault("reconnect_min", 0.02)
    options.setdefault("reconnect_max", 0.1)
    return SmppClient("127.0.0.1", port, "acme", "secret", **options)


def requests(count, text="Your code is {i:04d}", offset=0):
    return [SubmitRequest(i, "10690001", f"+86138{i + offset:08d}", text.format(i=i)) for i in range(count)]


def test_it_binds_and_keeps_many_submits_in_flight_on_one_bind():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, window=16)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(300))
            await client.stop()
            return smsc.snapshot(), client.stats, results

    stats, client_stats, results = run(scenario())
    assert all(r.ok and len(r.message_ids) == 1 and r.segments == 1 for r in results)
    assert [r.ref for r in results] == list(range(300))
    assert len({r.message_ids[0] for r in results}) == 300
    assert 1 < client_stats["peak_in_flight"] <= 16
    assert stats["submits"] == 300 and stats["duplicates"] == 0
    assert stats["per_destination"]["8613800000007"] == 1


def test_submits_spread_over_several_binds():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, binds=2, window=8)
            await client.start()
            await until(lambda: client.bound_sessions == 2)
            results = await client.submit_many(requests(200))
            await client.stop()
            return smsc.snapshot(), results

    stats, results = run(scenario())
    assert all(r.ok for r in results)
    assert stats["binds"] == 2 and stats["submits"] == 200


def test_every_socket_has_nagle_disabled():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            sock = client._bound[0].transport.get_extra_info("socket")
            value = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            await client.stop()
            return value

    assert run(scenario()) == 1


def test_receipts_reach_the_callback_parsed_and_matched_to_message_ids():
    async def scenario():
        receipts = []
        async with SmscSimulator(**ACCOUNT, failure_ratio=0.5, seed=3) as smsc:
            client = client_for(smsc.port, on_receipts=receipts.extend)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(50))
            await until(lambda: len(receipts) == 50)
            await until(lambda: smsc.stats.receipts_acked == 50)
            await client.stop()
            return results, receipts

    results, receipts = run(scenario())
    assert all(isinstance(r, Receipt) for r in receipts)
    assert {r.message_id for r in receipts} == {res.message_ids[0] for res in results}
    assert {r.stat for r in receipts} == {"DELIVRD", "UNDELIV"}
    failed = next(r for r in receipts if r.stat == "UNDELIV")
    assert failed.err == "001" and failed.source.startswith("86138") and failed.destination == "10690001"
    assert "stat:UNDELIV" in failed.raw


def test_a_receipt_that_arrives_before_its_submit_response_is_still_delivered():
    async def scenario():
        receipts = []
        async with SmscSimulator(**ACCOUNT, dlr_first=True) as smsc:
            client = client_for(smsc.port, on_receipts=receipts.extend)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(20))
            await until(lambda: len(receipts) == 20)
            await client.stop()
            return results, receipts

    results, receipts = run(scenario())
    assert all(r.ok for r in results)
    assert sorted(r.message_id for r in receipts) == sorted(res.message_ids[0] for res in results)


def test_receipts_are_acknowledged_only_after_the_callback_returned():
    async def scenario():
        release = asyncio.Event()
        seen = []

        async def on_receipts(items):
            seen.extend(items)
            await release.wait()

        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, on_receipts=on_receipts)
            await client.start()
            await client.wait_connected(5)
            await client.submit_many(requests(5))
            await until(lambda: len(seen) == 5)
            acked_while_blocked = smsc.stats.receipts_acked
            release.set()
            await until(lambda: smsc.stats.receipts_acked == 5)
            await client.stop()
            return acked_while_blocked

    assert run(scenario()) == 0


def test_a_failing_receipt_callback_is_retried_before_anything_is_acknowledged():
    async def scenario():
        calls = []

        def on_receipts(items):
            calls.append(len(items))
            if len(calls) == 1:
                raise RuntimeError("database unavailable")

        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, on_receipts=on_receipts)
            await client.start()
            await client.wait_connected(5)
            await client.submit(requests(1)[0])
            await until(lambda: len(calls) == 1)
            acked_after_failure = smsc.stats.receipts_acked
            await until(lambda: smsc.stats.receipts_acked == 1)
            await client.stop()
            return calls, acked_after_failure

    calls, acked_after_failure = run(scenario())
    assert calls == [1, 1]
    assert acked_after_failure == 0


def test_a_long_message_goes_out_as_concatenated_parts():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            result = await client.submit(SubmitRequest("m1", "10690001", "8613800000001", "您好" * 50))
            await client.stop()
            return result, smsc.snapshot()

    result, stats = run(scenario())
    assert result.ok and result.segments == 2 and len(result.message_ids) == 2
    assert (stats["submits"], stats["segments"]) == (1, 2)


def test_a_wrong_password_is_reported_and_retried_with_backoff():
    async def scenario():
        async with SmscSimulator(system_id="acme", password="right") as smsc:
            client = client_for(smsc.port)
            await client.start()
            await until(lambda: client.stats["bind_failures"] >= 2)
            try:
                await client.wait_connected(0.05)
                connected = True
            except TimeoutError:
                connected = False
            await client.stop()
            return client, connected, smsc.snapshot()

    client, connected, stats = run(scenario())
    assert not connected
    assert client.last_bind_error == "ESME_RINVPASWD"
    assert stats["bind_failures"] >= 2 and stats["binds"] == 0


def test_a_throttled_submit_backs_off_and_then_succeeds():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, throttle_backoff=(0.01, 0.05))
            await client.start()
            await client.wait_connected(5)
            smsc.throttle(0.15)
            results = await client.submit_many(requests(10))
            await client.stop()
            return results, client.stats, smsc.snapshot()

    results, client_stats, stats = run(scenario())
    assert all(r.ok for r in results)
    assert client_stats["throttled"] >= 10
    assert stats["submits"] == 10 and stats["duplicates"] == 0


def test_a_tps_cap_is_respected_without_losing_or_repeating_messages():
    async def scenario():
        async with SmscSimulator(**ACCOUNT, tps=100) as smsc:
            client = client_for(smsc.port, throttle_backoff=(0.01, 0.1))
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(150))
            await client.stop()
            return results, smsc.snapshot()

    results, stats = run(scenario())
    assert all(r.ok for r in results)
    assert stats["throttled"] > 0
    assert stats["submits"] == 150 and stats["duplicates"] == 0


def test_a_submit_throttled_too_often_fails_as_retryable():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, throttle_backoff=(0.001, 0.002), max_throttle_retries=3)
            await client.start()
            await client.wait_connected(5)
            smsc.throttle(60)
            result = await client.submit(requests(1)[0])
            await client.stop()
            return result

    result = run(scenario())
    assert not result.ok and not result.permanent and not result.ambiguous
    assert result.command_status == pdu.ESME_RTHROTTLED and "ESME_RTHROTTLED" in result.error


def test_an_invalid_destination_fails_permanently():
    async def scenario():
        async with SmscSimulator(**ACCOUNT, error_ratio=1.0, error_status=pdu.ESME_RINVDSTADR) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            result = await client.submit(requests(1)[0])
            await client.stop()
            return result

    result = run(scenario())
    assert not result.ok and result.permanent and not result.ambiguous
    assert (result.command_status, result.error, result.message_ids) == (0x0B, "ESME_RINVDSTADR", ())


def test_a_system_error_is_retryable():
    async def scenario():
        async with SmscSimulator(**ACCOUNT, error_ratio=1.0, error_status=pdu.ESME_RSYSERR) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            result = await client.submit(requests(1)[0])
            await client.stop()
            return result

    result = run(scenario())
    assert not result.ok and not result.permanent and not result.ambiguous


def test_a_dropped_connection_makes_in_flight_submits_ambiguous_and_the_rest_go_out_after_reconnect():
    async def scenario():
        async with SmscSimulator(**ACCOUNT, drop_after=40) as smsc:
            client = client_for(smsc.port, window=16)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(200))
            await client.stop()
            return results, client.stats, smsc.snapshot()

    results, client_stats, stats = run(scenario())
    ambiguous = [r for r in results if r.ambiguous]
    accepted = [r for r in results if r.ok]
    assert ambiguous, "the submits in flight at the drop must be reported ambiguous"
    assert len(ambiguous) <= 16
    assert all(not r.ok and not r.permanent and r.error for r in ambiguous)
    assert len(accepted) + len(ambiguous) == 200
    assert client_stats["reconnects"] >= 1
    per_destination = stats["per_destination"]
    # Every accepted message reached the SMSC exactly once; an ambiguous one at most once.
    assert all(per_destination.get(f"86138{r.ref:08d}") == 1 for r in accepted)
    assert all(per_destination.get(f"86138{r.ref:08d}", 0) <= 1 for r in ambiguous)
    assert stats["duplicates"] == 0


def test_a_submit_without_a_response_times_out_as_ambiguous():
    async def scenario():
        server, port, received, _ = await raw_smsc()
        client = client_for(port, response_timeout=0.2)
        await client.start()
        await client.wait_connected(5)
        result = await client.submit(requests(1)[0])
        await client.stop()
        server.close()
        return result, client.stats, received

    result, client_stats, received = run(scenario())
    assert result.ambiguous and not result.ok and not result.permanent
    assert client_stats["timeouts"] == 1
    assert [c for c, *_ in received].count(pdu.SUBMIT_SM) == 1  # never resent


def test_it_answers_enquire_link_and_unknown_commands():
    async def scenario():
        server, port, received, protocols = await raw_smsc()
        client = client_for(port)
        await client.start()
        await client.wait_connected(5)
        protocols[0].send(pdu.ENQUIRE_LINK, 77)
        protocols[0].send(0x00000099, 78)
        await until(lambda: len(received) >= 2)
        await client.stop()
        server.close()
        return received

    received = run(scenario())
    assert (pdu.ENQUIRE_LINK_RESP, 0, 77, b"") in received
    assert (pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, 78, b"") in received


def test_it_sends_enquire_link_when_the_link_is_idle():
    async def scenario():
        server, port, received, _ = await raw_smsc()
        client = client_for(port, enquire_link_interval=0.05)
        await client.start()
        await client.wait_connected(5)
        await until(lambda: any(c == pdu.ENQUIRE_LINK for c, *_ in received))
        await client.stop()
        server.close()

    run(scenario())


def test_an_unanswered_enquire_link_reconnects():
    async def scenario():
        server, port, received, protocols = await raw_smsc()
        client = client_for(port, enquire_link_interval=0.05, response_timeout=0.1)
        await client.start()
        await client.wait_connected(5)
        await until(lambda: len(protocols) >= 2)
        await client.stop()
        server.close()
        return client.stats

    assert run(scenario())["reconnects"] >= 1


def test_the_simulators_enquire_link_is_answered():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            smsc.send_enquire_link()
            await until(lambda: smsc.stats.enquire_link_resps == 1)
            await client.stop()

    run(scenario())


def test_replies_reach_the_inbound_callback():
    async def scenario():
        inbound = []
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, on_inbound=inbound.extend)
            await client.start()
            await client.wait_connected(5)
            assert smsc.inject_mo("+8613800000001", "10690001", "退订")
            assert smsc.inject_mo("8613800000002", "10690001", "STOP")
            await until(lambda: len(inbound) == 2)
            await client.stop()
            return inbound

    inbound = run(scenario())
    assert inbound == [Inbound("8613800000001", "10690001", "退订"), Inbound("8613800000002", "10690001", "STOP")]


def test_sequence_numbers_wrap_around():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            client._bound[0].sequence = 0x7FFFFFFE
            results = await client.submit_many(requests(3))
            sequence = client._bound[0].sequence
            await client.stop()
            return results, sequence

    results, sequence = run(scenario())
    assert all(r.ok for r in results)
    assert sequence == 2


def test_stop_unbinds_and_later_submits_fail_without_being_sent():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            await client.stop()
            await until(lambda: smsc.snapshot()["bound"] == 0)
            result = await client.submit(requests(1)[0])
            return result, smsc.snapshot()

    result, stats = run(scenario())
    assert not result.ok and not result.ambiguous and result.error == "client stopped"
    assert stats["submits"] == 0


def test_an_unsendable_message_fails_permanently_without_reaching_the_smsc():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            too_long = await client.submit(SubmitRequest(1, "1069", "8613800000001", "a" * 153 * 256))
            bad_address = await client.submit(SubmitRequest(2, "1069", "86138０００", "hi"))
            await client.stop()
            return too_long, bad_address, smsc.snapshot()

    too_long, bad_address, stats = run(scenario())
    for result in (too_long, bad_address):
        assert not result.ok and result.permanent and not result.ambiguous and result.segments == 0
    assert stats["segments"] == 0


def test_a_message_with_some_parts_accepted_is_not_worth_resending():
    async def scenario():
        server, port, received, protocols = await raw_smsc()
        client = client_for(port)
        await client.start()
        await client.wait_connected(5)
        pending = asyncio.ensure_future(client.submit(SubmitRequest(1, "1069", "8613800000001", "x" * 200)))
        await until(lambda: len(received) == 2)
        (_, _, first, _), (_, _, second, _) = received
        protocols[0].send(pdu.SUBMIT_SM_RESP, first, b"a1\0")
        protocols[0].send(pdu.SUBMIT_SM_RESP, second, b"", status=pdu.ESME_RSYSERR)
        result = await pending
        await client.stop()
        server.close()
        return result

    result = run(scenario())
    assert not result.ok and not result.ambiguous and result.permanent
    assert result.message_ids == ("a1",) and result.command_status == pdu.ESME_RSYSERR
    assert result.error == "1 of 2 parts accepted, then ESME_RSYSERR"


def test_with_a_window_of_one_each_receipt_is_handed_over_and_acknowledged_as_it_arrives():
    async def scenario():
        receipts = []
        async with SmscSimulator(**ACCOUNT, dlr_delay=0, receipt_window=1) as smsc:
            client = client_for(smsc.port, on_receipts=receipts.extend)
            await client.start()
            await client.wait_connected(5)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await client.submit_many(requests(100))
            await until(lambda: smsc.stats.receipts_acked == 100, timeout=10)
            elapsed = loop.time() - started
            await client.stop()
            return receipts, client.stats, smsc.snapshot(per_destination=False), elapsed

    receipts, client_stats, stats, elapsed = run(scenario())
    assert len({r.message_id for r in receipts}) == 100
    assert client_stats["handovers"] == 100 and stats["peak_unacked"] == 1
    # A flush timer, even a short one, would hold every one of the 100 round trips (at the old
    # 0.2 s: 20 s); nothing here waits for one.
    assert elapsed < 10


def test_store_and_acknowledge_rounds_overlap_and_each_is_acknowledged_when_it_returns():
    async def scenario():
        calls = []  # (message ids, release event)

        async def on_receipts(items):
            release = asyncio.Event()
            calls.append(([r.message_id for r in items], release))
            await release.wait()

        async with SmscSimulator(**ACCOUNT, dlr_delay=0) as smsc:
            client = client_for(smsc.port, on_receipts=on_receipts, receipt_rounds=2)
            await client.start()
            await client.wait_connected(5)
            first = await client.submit(requests(1)[0])
            await until(lambda: len(calls) == 1)
            second = await client.submit(requests(1, offset=1)[0])
            await until(lambda: len(calls) == 2)
            await client.submit(requests(1, offset=2)[0])
            await until(lambda: client.stats["receipts"] == 3)
            await asyncio.sleep(0.05)
            rounds_while_two_are_busy = len(calls)
            calls[1][1].set()  # the second round returns first
            await until(lambda: smsc.stats.receipts_acked == 1)
            await until(lambda: len(calls) == 3)
            acked_before_the_first_returned = smsc.stats.receipts_acked
            calls[0][1].set()
            calls[2][1].set()
            await until(lambda: smsc.stats.receipts_acked == 3)
            await client.stop()
            return calls, first, second, rounds_while_two_are_busy, acked_before_the_first_returned, client.stats

    calls, first, second, waiting, acked_early, client_stats = run(scenario())
    assert [ids for ids, _ in calls[:2]] == [list(first.message_ids), list(second.message_ids)]
    assert waiting == 2  # the third receipt waited for a free round
    assert acked_early == 1  # the second round's deliver_sm_resp did not wait for the first round
    assert client_stats["peak_rounds"] == 2


def test_a_round_takes_at_most_a_batch_and_the_rest_follow_as_rounds_free_up():
    async def scenario():
        calls = []

        async def on_receipts(items):
            calls.append(len(items))
            await asyncio.sleep(0.01)

        async with SmscSimulator(**ACCOUNT, dlr_delay=0) as smsc:
            client = client_for(smsc.port, on_receipts=on_receipts, receipt_rounds=1, receipt_batch=3)
            await client.start()
            await client.wait_connected(5)
            await client.submit_many(requests(7))
            await until(lambda: smsc.stats.receipts_acked == 7)
            await client.stop()
            return calls, client.stats

    calls, client_stats = run(scenario())
    assert sum(calls) == 7 and max(calls) <= 3
    assert client_stats["peak_rounds"] == 1


def test_receipts_in_a_round_cut_off_by_a_dropped_bind_come_again_and_are_acknowledged_on_the_next():
    async def scenario():
        seen = []
        release = asyncio.Event()

        async def on_receipts(items):
            seen.extend(r.message_id for r in items)
            await release.wait()

        async with SmscSimulator(**ACCOUNT, dlr_delay=0) as smsc:
            client = client_for(smsc.port, on_receipts=on_receipts)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(requests(2))
            await until(lambda: len(seen) == 2)
            smsc.drop()  # their deliver_sm_resp has not gone out: the SMSC still owes them
            await until(lambda: len(seen) == 4)
            release.set()
            await until(lambda: smsc.stats.receipts_acked == 2)
            await client.stop()
            return results, seen, smsc.snapshot(per_destination=False)

    results, seen, stats = run(scenario())
    ids = sorted(r.message_ids[0] for r in results)
    assert sorted(seen[:2]) == ids and sorted(seen[2:]) == ids
    assert (stats["receipts_redelivered"], stats["receipts_pending"]) == (2, 0)


def test_a_linger_gathers_receipts_that_arrive_within_it_into_one_round_and_none_hands_each_over_at_once():
    async def rounds(linger):
        calls = []
        async with SmscSimulator(**ACCOUNT, dlr_delay=0) as smsc:
            client = client_for(smsc.port, on_receipts=lambda items: calls.append(len(items)), receipt_linger=linger)
            await client.start()
            await client.wait_connected(5)
            await client.submit(requests(1)[0])
            await client.submit(requests(1, offset=1)[0])
            await until(lambda: smsc.stats.receipts_acked == 2)
            await client.stop()
        return calls

    async def scenario():
        return await rounds(0.0), await rounds(0.5)

    at_once, lingering = run(scenario())
    assert at_once == [1, 1]
    assert lingering == [2]


def test_a_priority_submit_takes_the_next_free_window_slot_ahead_of_those_waiting():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, window=4)
            await client.start()
            await client.wait_connected(5)
            bulk = asyncio.create_task(client.submit_many(requests(400)))
            await until(lambda: client.stats["segments_sent"] >= 8)  # the window is full, the rest wait
            code = SubmitRequest("code", "10690001", "+8613999999999", "Your code is 4242", priority=True)
            # Read with no await before the submit: nothing else is written in between.
            written_at_request = client.stats["segments_sent"]
            result = await client.submit(code)
            sent_before_code = smsc.stats.submits
            await bulk
            await client.stop()
            return result, written_at_request, sent_before_code, list(smsc.stats.per_destination)

    result, written_at_request, sent_before_code, order = run(scenario())
    assert result.ok
    position = order.index("8613999999999")
    # Behind the waiting submits it would have been the 401st; it went in the next free slot after
    # those already written when it was asked for (a margin of one window for slots freeing at once),
    # however fast the bulk went meanwhile on a loaded machine.
    assert written_at_request <= position <= written_at_request + 4, (position, written_at_request)
    assert sent_before_code < 400, sent_before_code
