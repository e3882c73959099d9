"""SmppClient.submit_many sends a chunk's single-part messages without a task each (sms.smpp.client
_Batch): every outcome it reports must be the one submit reports for the same answer, in the
order of the requests, whatever mix of messages the chunk holds."""

from sms.smpp import pdu
from sms.smpp.client import SubmitRequest
from sms.smpp.simulator import SmscSimulator
from tests.smpp_helpers import raw_smsc, run
from tests.test_smpp_client import ACCOUNT, client_for, requests


def outcome(result):
    return (result.ok, result.permanent, result.ambiguous, result.command_status, result.error, result.segments)


def test_a_mixed_chunk_comes_back_in_order_with_each_message_sent_once():
    chunk = [
        SubmitRequest(10, "1069", "8613800000010", "short"),
        SubmitRequest(11, "1069", "8613800000011", "x" * 200),  # two parts: submit's way
        SubmitRequest(12, "1069", "86138０００", "hi"),  # no address: not sendable
        SubmitRequest(13, "1069", "8613800000013", "also short", priority=True),
        *requests(50, offset=100),
    ]

    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, window=8)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(chunk)
            await client.stop()
            return results, client.stats, smsc.snapshot()

    results, client_stats, stats = run(scenario())
    assert [r.ref for r in results] == [r.ref for r in chunk]
    assert results[2].permanent and not results[2].ok and results[2].error.startswith("not sendable")
    sent = [r for n, r in enumerate(results) if n != 2]
    assert all(r.ok and r.message_ids for r in sent)
    assert len(results[1].message_ids) == 2 and results[1].segments == 2
    assert stats["submits"] == 53 and stats["segments"] == 54 and stats["duplicates"] == 0
    assert client_stats["submitted"] == 54 and client_stats["peak_in_flight"] <= 8


def test_a_refusal_is_reported_as_submit_reports_it():
    async def scenario():
        async with SmscSimulator(**ACCOUNT, error_ratio=1.0, error_status=pdu.ESME_RINVDSTADR) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            alone = await client.submit(requests(1)[0])
            many = await client.submit_many(requests(5, offset=1))
            await client.stop()
            return alone, many

    alone, many = run(scenario())
    assert outcome(alone) == (False, True, False, pdu.ESME_RINVDSTADR, "ESME_RINVDSTADR", 1)
    assert [outcome(r) for r in many] == [outcome(alone)] * 5


def test_throttled_submits_are_resubmitted_until_they_pass_or_their_retries_run_out():
    async def scenario(seconds, retries):
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port, throttle_backoff=(0.001, 0.01), max_throttle_retries=retries)
            await client.start()
            await client.wait_connected(5)
            smsc.throttle(seconds)
            results = await client.submit_many(requests(20))
            await client.stop()
            return results, smsc.snapshot()

    passed, stats = run(scenario(0.1, 1000))
    assert all(r.ok for r in passed) and stats["submits"] == 20 and stats["duplicates"] == 0
    assert stats["throttled"] > 0
    for retries in (0, 3):
        refused, stats = run(scenario(60, retries))
        assert stats["submits"] == 0
        for result in refused:
            assert not result.ok and not result.permanent and not result.ambiguous
            assert result.command_status == pdu.ESME_RTHROTTLED
            assert result.error == f"ESME_RTHROTTLED after {retries + 1} attempts"


def test_submits_without_an_answer_time_out_as_ambiguous_and_are_never_resent():
    async def scenario():
        server, port, received, _ = await raw_smsc()
        client = client_for(port, response_timeout=0.2)
        await client.start()
        await client.wait_connected(5)
        results = await client.submit_many(requests(3))
        await client.stop()
        server.close()
        return results, client.stats, received

    results, client_stats, received = run(scenario())
    assert all(r.ambiguous and not r.ok and not r.permanent and r.error == "no submit_sm_resp in time" for r in results)
    assert client_stats["timeouts"] == 3
    assert [c for c, *_ in received].count(pdu.SUBMIT_SM) == 3


def test_after_stop_nothing_of_a_chunk_is_sent():
    async def scenario():
        async with SmscSimulator(**ACCOUNT) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            await client.stop()
            results = await client.submit_many(requests(4))
            return results, smsc.snapshot()

    results, stats = run(scenario())
    assert all(not r.ok and not r.ambiguous and r.error == "client stopped" for r in results)
    assert stats["submits"] == 0
