"""The SMSC simulator: binds, counting for duplicate/loss checks, faults, and its control endpoint."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sms.smpp import pdu
from sms.smpp.client import SmppClient, SubmitRequest
from sms.smpp.pdu import HEADER, Bind, ShortMessage, submit_sm_body
from sms.smpp.receipts import parse_receipt
from sms.smpp.simulator import SmscSimulator
from tests.smpp_helpers import run, until

ROOT = Path(__file__).resolve().parent.parent


async def read_pdu(reader):
    header = await reader.readexactly(16)
    length, command_id, status, seq = HEADER.unpack(header)
    return command_id, status, seq, await reader.readexactly(length - 16)


async def raw_bind(port, command_id=pdu.BIND_TRANSCEIVER, system_id="acme", password="secret"):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = Bind(system_id, password).encode()
    writer.write(HEADER.pack(16 + len(body), command_id, 0, 1) + body)
    resp_id, status, _, _ = await read_pdu(reader)
    assert resp_id == command_id | pdu.RESPONSE_BIT
    return reader, writer, status


def submit_pdu(seq, destination, text=b"hello", esm_class=0, registered=1):
    body = submit_sm_body("10690001", 0, 1, destination, esm_class, registered, 0, text)
    return HEADER.pack(16 + len(body), pdu.SUBMIT_SM, 0, seq) + body


async def http(port, method, path, payload=None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(payload).encode() if payload is not None else b""
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    response = await reader.read()
    writer.close()
    head, _, data = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(data)


def client_for(port, **options):
    return SmppClient("127.0.0.1", port, "acme", "secret", reconnect_min=0.02, reconnect_max=0.1, **options)


def test_a_wrong_password_or_system_id_is_refused_with_its_status():
    async def scenario():
        async with SmscSimulator(system_id="acme", password="secret") as smsc:
            *_, wrong_password = await raw_bind(smsc.port, password="nope")
            *_, wrong_system = await raw_bind(smsc.port, system_id="other")
            *_, right = await raw_bind(smsc.port)
            return wrong_password, wrong_system, right, smsc.snapshot()

    wrong_password, wrong_system, right, stats = run(scenario())
    assert (wrong_password, wrong_system, right) == (pdu.ESME_RINVPASWD, pdu.ESME_RINVSYSID, 0)
    assert (stats["bind_failures"], stats["binds"]) == (2, 1)


def test_each_submit_gets_a_unique_hex_message_id_and_a_receipt_naming_it():
    async def scenario():
        async with SmscSimulator() as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"86138{seq:08d}") for seq in range(2, 7)))
            pdus = [await read_pdu(reader) for _ in range(10)]
            writer.close()
            return pdus

    pdus = run(scenario())
    resps = [p for p in pdus if p[0] == pdu.SUBMIT_SM_RESP]
    receipts = [parse_receipt(ShortMessage.decode(p[3])) for p in pdus if p[0] == pdu.DELIVER_SM]
    ids = [body.rstrip(b"\0").decode() for *_, body in resps]
    assert [seq for _, _, seq, _ in resps] == [2, 3, 4, 5, 6]
    assert len(set(ids)) == 5 and all(int(i, 16) for i in ids)
    assert [r.message_id for r in receipts] == ids
    assert {r.stat for r in receipts} == {"DELIVRD"}
    assert receipts[0].source == "8613800000002" and receipts[0].destination == "10690001"


def test_a_receipt_can_be_sent_before_the_submit_response():
    async def scenario():
        async with SmscSimulator(dlr_first=True) as smsc:  # bundled: the same write, receipt first
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(submit_pdu(2, "8613800000001"))
            first, second = await read_pdu(reader), await read_pdu(reader)
            writer.close()
            return first[0], second[0]

    assert run(scenario()) == (pdu.DELIVER_SM, pdu.SUBMIT_SM_RESP)


def test_receipts_wait_for_the_delay_and_no_receipt_is_sent_when_none_was_requested():
    async def scenario():
        async with SmscSimulator(dlr_delay=0.1) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(submit_pdu(2, "8613800000001", registered=0) + submit_pdu(3, "8613800000002"))
            loop = asyncio.get_running_loop()
            started = loop.time()
            pdus = [await read_pdu(reader) for _ in range(3)]
            elapsed = loop.time() - started
            writer.close()
            return [p[0] for p in pdus], elapsed, smsc.snapshot()

    commands, elapsed, stats = run(scenario())
    assert commands == [pdu.SUBMIT_SM_RESP, pdu.SUBMIT_SM_RESP, pdu.DELIVER_SM]
    assert elapsed >= 0.09
    assert stats["receipts_sent"] == 1


def test_a_transmitters_receipts_go_to_a_receiver_bound_later():
    async def scenario():
        async with SmscSimulator() as smsc:
            reader, writer, _ = await raw_bind(smsc.port, pdu.BIND_TRANSMITTER)
            writer.write(submit_pdu(2, "8613800000001"))
            resp = await read_pdu(reader)
            rx_reader, rx_writer, _ = await raw_bind(smsc.port, pdu.BIND_RECEIVER)
            receipt = await read_pdu(rx_reader)
            rx_writer.write(submit_pdu(9, "8613800000002"))
            refused = await read_pdu(rx_reader)
            writer.close()
            rx_writer.close()
            return resp, receipt, refused

    resp, receipt, refused = run(scenario())
    assert resp[0] == pdu.SUBMIT_SM_RESP and receipt[0] == pdu.DELIVER_SM
    assert parse_receipt(ShortMessage.decode(receipt[3])).message_id == resp[3].rstrip(b"\0").decode()
    assert (refused[0], refused[1]) == (pdu.SUBMIT_SM_RESP, pdu.ESME_RINVBNDSTS)


def test_unknown_commands_get_generic_nack_and_enquire_link_is_answered():
    async def scenario():
        async with SmscSimulator() as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(HEADER.pack(16, 0x99, 0, 5) + HEADER.pack(16, pdu.ENQUIRE_LINK, 0, 6))
            pdus = [await read_pdu(reader), await read_pdu(reader)]
            writer.close()
            return pdus

    assert run(scenario()) == [(pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, 5, b""), (pdu.ENQUIRE_LINK_RESP, 0, 6, b"")]


def test_duplicates_count_destinations_that_got_the_same_text_twice():
    async def scenario():
        async with SmscSimulator() as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            await client.submit_many([
                SubmitRequest(1, "1069", "8613800000001", "code 1"),
                SubmitRequest(2, "1069", "8613800000001", "code 1"),  # a resend
                SubmitRequest(3, "1069", "8613800000001", "another campaign"),
                SubmitRequest(4, "1069", "8613800000002", "long " * 60),
                SubmitRequest(5, "1069", "8613800000002", "long " * 60),  # resent, new UDH reference
                SubmitRequest(6, "1069", "8613800000003", "code 3"),
            ])  # fmt: skip
            await client.stop()
            return smsc.snapshot()

    stats = run(scenario())
    assert stats["per_destination"] == {"8613800000001": 3, "8613800000002": 2, "8613800000003": 1}
    assert (stats["submits"], stats["segments"]) == (6, 8)
    assert (stats["duplicates"], stats["duplicate_submits"]) == (2, 2)


def test_an_error_ratio_answers_with_the_chosen_status_and_counts_nothing():
    async def scenario():
        async with SmscSimulator(error_ratio=1.0, error_status=0x45) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(submit_pdu(2, "8613800000001"))
            resp = await read_pdu(reader)
            writer.close()
            return resp, smsc.snapshot()

    resp, stats = run(scenario())
    assert resp[:2] == (pdu.SUBMIT_SM_RESP, 0x45)
    assert (stats["submits"], stats["rejected"], stats["receipts_sent"]) == (0, 1, 0)


def test_the_tps_cap_answers_throttled_beyond_it():
    async def scenario():
        async with SmscSimulator(tps=3, receipts=False) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"8613800000{seq:03d}") for seq in range(2, 7)))
            statuses = [(await read_pdu(reader))[1] for _ in range(5)]
            writer.close()
            return statuses, smsc.snapshot()

    statuses, stats = run(scenario())
    assert statuses == [0, 0, 0, pdu.ESME_RTHROTTLED, pdu.ESME_RTHROTTLED]
    assert (stats["submits"], stats["throttled"]) == (3, 2)


def test_a_throttle_storm_starts_at_the_first_submit():
    async def scenario():
        async with SmscSimulator(throttle_storm=30, receipts=False) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(submit_pdu(2, "8613800000001"))
            resp = await read_pdu(reader)
            writer.close()
            return resp[1]

    assert run(scenario()) == pdu.ESME_RTHROTTLED


def test_drop_after_n_closes_the_connection_without_answering_the_nth_submit():
    async def scenario():
        async with SmscSimulator(drop_after=3, receipts=False) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"8613800000{seq:03d}") for seq in range(2, 8)))
            answered = []
            while True:
                try:
                    answered.append((await read_pdu(reader))[2])
                except asyncio.IncompleteReadError:
                    break
            reader2, writer2, _ = await raw_bind(smsc.port)
            writer2.write(submit_pdu(20, "8613800000020") + submit_pdu(21, "8613800000021"))
            later = [(await read_pdu(reader2))[2] for _ in range(2)]
            writer2.close()
            return answered, later, smsc.snapshot()

    answered, later, stats = run(scenario())
    assert answered == [2, 3]  # the third was counted but never answered
    assert later == [20, 21]  # once, not every three
    assert stats["submits"] == 5 and stats["drops"] == 1


def test_the_control_endpoint_reports_and_resets_stats():
    async def scenario():
        async with SmscSimulator(control_port=0) as smsc:
            client = client_for(smsc.port)
            await client.start()
            await client.wait_connected(5)
            await client.submit_many([SubmitRequest(i, "1069", f"86138000000{i:02d}", "hi") for i in range(3)])
            await until(lambda: smsc.stats.receipts_acked == 3)
            full = await http(smsc.control_port, "GET", "/stats")
            summary = await http(smsc.control_port, "GET", "/stats?summary=1")
            reset = await http(smsc.control_port, "POST", "/reset")
            after = await http(smsc.control_port, "GET", "/stats")
            missing = await http(smsc.control_port, "GET", "/nothing")
            await client.stop()
            return full, summary, reset, after, missing

    full, summary, reset, after, missing = run(scenario())
    assert full[0] == 200
    assert full[1]["submits"] == 3 and full[1]["receipts_sent"] == 3 and full[1]["binds"] == 1
    assert full[1]["duplicates"] == 0
    assert full[1]["per_destination"] == {"8613800000000": 1, "8613800000001": 1, "8613800000002": 1}
    assert "per_destination" not in summary[1] and summary[1]["submits"] == 3
    assert reset == (200, {"reset": True})
    assert after[1]["submits"] == 0 and after[1]["per_destination"] == {}
    assert missing[0] == 404


def test_the_control_endpoint_injects_replies_throttles_and_drops():
    async def scenario():
        inbound = []
        async with SmscSimulator(control_port=0) as smsc:
            client = client_for(smsc.port, on_inbound=inbound.extend, throttle_backoff=(0.01, 0.05))
            await client.start()
            await client.wait_connected(5)
            mo = await http(
                smsc.control_port, "POST", "/mo", {"source": "8613800000001", "destination": "1069", "text": "TD"}
            )
            await until(lambda: len(inbound) == 1)
            throttle = await http(smsc.control_port, "POST", "/throttle", {"seconds": 0.1})
            result = await client.submit(SubmitRequest(1, "1069", "8613800000001", "hi"))
            drop = await http(smsc.control_port, "POST", "/drop")
            await until(lambda: client.stats["reconnects"] >= 1 and client.bound_sessions == 1)
            bad = await http(smsc.control_port, "POST", "/mo", {"source": "1"})
            await client.stop()
            return mo, inbound, throttle, result, client.stats, drop, bad

    mo, inbound, throttle, result, client_stats, drop, bad = run(scenario())
    assert mo == (200, {"sent": True})
    assert (inbound[0].source, inbound[0].text) == ("8613800000001", "TD")
    assert throttle == (200, {"throttled_for": 0.1})
    assert result.ok and client_stats["throttled"] >= 1
    assert drop == (200, {"dropped": 1})
    assert bad[0] == 400


def test_a_million_destinations_fit_the_counter():
    smsc = SmscSimulator()
    for i in range(1_000_000):
        smsc.count(b"86%011d" % i, 0, b"hello")
    snapshot = smsc.snapshot(per_destination=False)
    assert (snapshot["submits"], snapshot["destinations"], snapshot["duplicates"]) == (1_000_000, 1_000_000, 0)


def test_the_command_prints_its_ports_and_writes_stats_on_sigterm(tmp_path):
    port_file, stats_file = tmp_path / "port", tmp_path / "stats.json"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "smsc_simulator", "--port", "0", "--control-port", "0",
         "--port-file", str(port_file), "--stats-file", str(stats_file), "--system-id", "acme", "--password", "secret",
         "--dlr-delay", "0", "--receipt-window", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith("listening 127.0.0.1:")
        port = int(first.rsplit(":", 1)[1])
        assert second.startswith("control 127.0.0.1:")
        assert int(port_file.read_text()) == port

        async def scenario():
            client = client_for(port)
            await client.start()
            await client.wait_connected(5)
            result = await client.submit(SubmitRequest(1, "1069", "+8613800000001", "hi"))
            more = await client.submit_many([SubmitRequest(i, "1069", f"+86138000001{i:02d}", "hi") for i in range(20)])
            await until(lambda: client.stats["receipts"] == 21)
            await client.stop()
            return result, more

        result, more = run(scenario())
        assert result.ok and all(r.ok for r in more)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    stats = json.loads(stats_file.read_text())
    assert stats["submits"] == 21 and stats["per_destination"]["8613800000001"] == 1
    assert (stats["receipts_acked"], stats["peak_unacked"]) == (21, 2)  # --receipt-window 2 took effect


def deliver_resp(seq):
    return HEADER.pack(17, pdu.DELIVER_SM_RESP, 0, seq) + b"\0"


async def read_for(reader, seconds):
    """Every PDU that arrives within `seconds` (the link going quiet is the point)."""
    pdus = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            pdus.append(await asyncio.wait_for(read_pdu(reader), left))
        except TimeoutError:
            break
    return pdus


def receipt_ids(pdus):
    return [parse_receipt(ShortMessage.decode(p[3])).message_id for p in pdus if p[0] == pdu.DELIVER_SM]


def test_by_default_receipts_come_as_a_carrier_sends_them_each_its_own_deliver_sm_after_a_delay():
    async def scenario():
        async with SmscSimulator() as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"86138{seq:08d}") for seq in range(2, 5)))
            right_away = await read_for(reader, 0.1)
            later = await read_for(reader, 0.4)
            writer.close()
            return smsc, right_away, later

    smsc, right_away, later = run(scenario())
    assert (smsc.dlr_delay, smsc.receipt_window, smsc.bundled) == (0.2, 10, False)
    assert [p[0] for p in right_away] == [pdu.SUBMIT_SM_RESP] * 3
    assert [p[0] for p in later] == [pdu.DELIVER_SM] * 3
    assert receipt_ids(later) == [body.rstrip(b"\0").decode() for *_, body in right_away]


def test_no_more_receipts_than_the_window_wait_for_their_acknowledgement_on_a_bind():
    async def scenario():
        async with SmscSimulator(dlr_delay=0, receipt_window=3) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"86138{seq:08d}") for seq in range(2, 10)))
            first = await read_for(reader, 0.2)
            waiting = smsc.snapshot(per_destination=False)
            delivers = [p for p in first if p[0] == pdu.DELIVER_SM]
            writer.write(deliver_resp(delivers[0][2]) + deliver_resp(delivers[1][2]))
            second = await read_for(reader, 0.2)
            writer.write(b"".join(deliver_resp(p[2]) for p in [delivers[2], *second]))
            third = await read_for(reader, 0.2)
            writer.write(b"".join(deliver_resp(p[2]) for p in third))
            await until(lambda: smsc.stats.receipts_acked == 8)
            writer.close()
            return first, waiting, second, third, smsc.snapshot(per_destination=False)

    first, waiting, second, third, done = run(scenario())
    assert [p[0] for p in first].count(pdu.SUBMIT_SM_RESP) == 8
    assert len(receipt_ids(first)) == 3
    assert (waiting["receipts_unacked"], waiting["receipts_pending"]) == (3, 8)
    assert len(receipt_ids(second)) == 2  # one for each acknowledgement
    assert len(receipt_ids(third)) == 3
    assert len(set(receipt_ids(first + second + third))) == 8
    assert (done["peak_unacked"], done["receipts_pending"], done["receipts_redelivered"]) == (3, 0, 0)


def test_receipts_a_closed_bind_left_unacknowledged_are_delivered_again_on_the_next_bind():
    async def scenario():
        async with SmscSimulator(dlr_delay=0) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"86138{seq:08d}") for seq in range(2, 5)))
            first = await read_for(reader, 0.2)
            writer.write(deliver_resp(next(p[2] for p in first if p[0] == pdu.DELIVER_SM)))
            await until(lambda: smsc.stats.receipts_acked == 1)
            writer.close()
            await until(lambda: not smsc.connections)
            pending = smsc.snapshot(per_destination=False)["receipts_pending"]
            reader, writer, _ = await raw_bind(smsc.port)
            again = await read_for(reader, 0.2)
            writer.close()
            return first, pending, again, smsc.snapshot(per_destination=False)

    first, pending, again, stats = run(scenario())
    assert pending == 2
    assert receipt_ids(again) == receipt_ids(first)[1:]
    assert stats["receipts_redelivered"] == 2 and stats["receipts_sent"] == 5


def test_receipts_waiting_for_room_go_out_on_another_bind_of_the_same_system_id():
    async def scenario():
        async with SmscSimulator(dlr_delay=0, receipt_window=1) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            other_reader, other_writer, _ = await raw_bind(smsc.port)
            writer.write(submit_pdu(2, "8613800000002") + submit_pdu(3, "8613800000003"))
            here, there = await read_for(reader, 0.2), await read_for(other_reader, 0.2)
            writer.close()
            other_writer.close()
            return here, there

    here, there = run(scenario())
    assert len(receipt_ids(here)) == 1 and len(receipt_ids(there)) == 1


def test_bundled_receipts_follow_their_response_at_once_and_need_no_acknowledgement():
    async def scenario():
        async with SmscSimulator(bundled=True) as smsc:
            reader, writer, _ = await raw_bind(smsc.port)
            writer.write(b"".join(submit_pdu(seq, f"86138{seq:08d}") for seq in range(2, 22)))
            pdus = [await read_pdu(reader) for _ in range(40)]
            writer.close()
            return pdus

    pdus = run(scenario())
    commands = [p[0] for p in pdus]
    assert commands == [pdu.SUBMIT_SM_RESP, pdu.DELIVER_SM] * 20  # 20 receipts, none acknowledged


def test_injected_receipts_name_the_given_ids_and_keep_to_the_window():
    async def scenario():
        received = []
        async with SmscSimulator(receipt_window=4, control_port=0) as smsc:
            client = client_for(smsc.port, on_receipts=received.extend)
            await client.start()
            await client.wait_connected(5)
            answer = await http(
                smsc.control_port, "POST", "/receipts", {"system_id": "acme", "first": 255, "count": 30}
            )
            await until(lambda: len(received) == 30)
            await until(lambda: smsc.stats.receipts_acked == 30)
            await client.stop()
            return answer, received, smsc.snapshot(per_destination=False)

    answer, received, stats = run(scenario())
    assert answer == (200, {"queued": 30})
    assert [r.message_id for r in received] == [f"{n:x}" for n in range(255, 285)]
    assert (stats["peak_unacked"], stats["receipts_pending"]) == (4, 0)
