"""Loopback throughput of the client and the simulator, each in its own process.

    python -m sms.smpp.bench [--messages 100000] [--binds 1 2] [--window 64] [--receipt-window 10 | --bundled]

Two measurements:
- `client`: SmppClient.submit_many with receipts on, until every receipt reached on_receipts
  (which stores nothing: this is the client's ceiling, not the gateway's);
- `raw`: pre-encoded submit_sm written as fast as the simulator answers (window per
  connection, receipts on), which is the simulator's own ceiling rather than the client's.
Receipts come as a carrier sends them (each its own deliver_sm, --receipt-window per bind
unacknowledged, no delay here) unless --bundled puts each in the submit_sm_resp's write.
"""

import argparse
import asyncio
import multiprocessing
import time

from .client import SmppClient, SubmitRequest
from .pdu import BIND_TRANSCEIVER, DELIVER_SM, DELIVER_SM_RESP, HEADER, SUBMIT_SM, SUBMIT_SM_RESP, Bind, submit_sm_body
from .simulator import SmscSimulator


def _serve(port_queue, stop_event, bundled, receipt_window):
    async def main():
        smsc = SmscSimulator(
            system_id="bench", password="bench", bundled=bundled, dlr_delay=0, receipt_window=receipt_window
        )
        port_queue.put(await smsc.start())
        while not stop_event.is_set():
            await asyncio.sleep(0.1)
        port_queue.put(smsc.snapshot(per_destination=False))
        await smsc.close()

    asyncio.run(main())


def _requests(count, offset=0):
    return [
        SubmitRequest(i, "10690001", f"+86138{i + offset:09d}", f"Your code is {i:06d}. Thanks") for i in range(count)
    ]


async def bench_client(port, messages, binds, window):
    received = 0
    done = asyncio.Event()

    def on_receipts(items):
        nonlocal received
        received += len(items)
        if received >= messages:
            done.set()

    client = SmppClient("127.0.0.1", port, "bench", "bench", binds=binds, window=window, on_receipts=on_receipts)
    await client.start()
    await client.wait_connected(5)
    while client.bound_sessions < binds:
        await asyncio.sleep(0.01)
    requests = _requests(messages, offset=binds * 10_000_000)
    started = time.perf_counter()
    accepted = 0
    for start in range(0, messages, 5000):
        accepted += sum(r.ok for r in await client.submit_many(requests[start : start + 5000]))
    submitted = time.perf_counter()
    await asyncio.wait_for(done.wait(), 120)
    finished = time.perf_counter()
    await client.stop()
    return {
        "accepted": accepted,
        "submit_per_s": messages / (submitted - started),
        "with_receipts_per_s": messages / (finished - started),
    }


async def bench_raw(port, messages, connections, window):
    """Pre-encoded PDUs, one window per connection; receipts acknowledged in the same write."""

    async def one(index, count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bind = Bind("bench", "bench").encode()
        writer.write(HEADER.pack(16 + len(bind), BIND_TRANSCEIVER, 0, 1) + bind)
        pdus = []
        for i in range(count):
            destination = f"86139{connections}{index:02d}{i:06d}"
            body = submit_sm_body("10690001", 0, 1, destination, 0, 1, 0, b"Your code is 123456")
            pdus.append(HEADER.pack(16 + len(body), SUBMIT_SM, 0, i + 2) + body)
        sent = answered = receipts = 0
        buffer = bytearray()
        writer.write(b"".join(pdus[:window]))
        sent = min(window, count)
        while answered < count or receipts < count:
            data = await reader.read(1 << 16)
            if not data:
                raise ConnectionError("simulator closed the connection")
            buffer += data
            pos, out, acked = 0, [], 0
            while len(buffer) - pos >= 16:
                length, command_id, _, seq = HEADER.unpack_from(buffer, pos)
                if len(buffer) - pos < length:
                    break
                if command_id == SUBMIT_SM_RESP:
                    answered += 1
                    acked += 1
                elif command_id == DELIVER_SM:
                    receipts += 1
                    out.append(HEADER.pack(17, DELIVER_SM_RESP, 0, seq) + b"\0")
                pos += length
            del buffer[:pos]
            more = pdus[sent : sent + acked]
            sent += len(more)
            if out or more:
                writer.write(b"".join(out + more))
        writer.close()

    share = messages // connections
    started = time.perf_counter()
    await asyncio.gather(*(one(i, share) for i in range(connections)))
    return {"submit_and_receipt_per_s": share * connections / (time.perf_counter() - started)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--binds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--receipt-window", type=int, default=10, help="deliver_sm per bind awaiting their resp")
    parser.add_argument("--bundled", action="store_true", help="each receipt in the submit_sm_resp's write")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(ports, stop, args.bundled, args.receipt_window), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=10)
        for binds in args.binds:
            result = asyncio.run(bench_client(port, args.messages, binds, args.window))
            print(f"client  binds={binds} window={args.window}: {result['submit_per_s']:,.0f} submit_sm/s, "
                  f"{result['with_receipts_per_s']:,.0f}/s until every receipt arrived "
                  f"({result['accepted']:,} accepted)")  # fmt: skip
        for connections in args.binds:
            result = asyncio.run(bench_raw(port, args.messages, connections, args.window))
            print(
                f"raw     connections={connections} window={args.window}: "
                f"{result['submit_and_receipt_per_s']:,.0f} submit_sm+receipt/s (simulator ceiling)"
            )
    finally:
        stop.set()
        stats = ports.get(timeout=10)
        server.join(5)
    print(
        f"simulator: {stats['submits']:,} submits, {stats['receipts_sent']:,} receipts, "
        f"{stats['duplicates']} duplicates"
    )


if __name__ == "__main__":
    main()
