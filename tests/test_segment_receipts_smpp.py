"""Over SMPP: the client hands back every segment's message id in segment order, and the simulator
sends a receipt for each segment, failing the one it is told to (--fail-part)."""

from sms.smpp.client import SmppClient, SubmitRequest
from sms.smpp.simulator import SmscSimulator
from tests.smpp_helpers import run, until

LONG = "Your parcel is on its way. " * 12  # 324 GSM-7 characters: three segments of 153


def submit_long(**simulator_options):
    async def scenario():
        receipts = []
        async with SmscSimulator(system_id="acme", password="secret", dlr_delay=0, **simulator_options) as smsc:
            client = SmppClient("127.0.0.1", smsc.port, "acme", "secret", on_receipts=receipts.extend)
            await client.start()
            await client.wait_connected(5)
            results = await client.submit_many(
                [SubmitRequest(i, "10690001", f"+8613800000{i:03d}", LONG) for i in range(5)]
            )
            await until(lambda: len(receipts) == 15)
            await client.stop()
            return results, receipts, smsc.snapshot()

    return run(scenario())


def test_every_segment_has_its_id_and_its_receipt():
    results, receipts, stats = submit_long()
    assert all(r.ok and r.segments == 3 and len(set(r.message_ids)) == 3 for r in results)
    assert stats["submits"] == 5 and stats["segments"] == 15
    assert sorted(r.message_id for r in receipts) == sorted(i for r in results for i in r.message_ids)
    assert {r.stat for r in receipts} == {"DELIVRD"}


def test_the_simulator_fails_the_chosen_segment_of_every_message():
    results, receipts, _stats = submit_long(fail_part=2, failure_err="034")
    stat = {r.message_id: (r.stat, r.err) for r in receipts}
    for result in results:
        first, second, third = result.message_ids
        assert stat[first][0] == "DELIVRD" and stat[third][0] == "DELIVRD"
        assert stat[second] == ("UNDELIV", "034")
