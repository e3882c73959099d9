"""An SMPP 3.4 SMSC for loopback tests, demos and benchmarks, with a small HTTP control endpoint.

Counting: `submits` and `per_destination` count complete messages, one per destination per
message (a concatenated message counts at its part with UDH sequence 1); `segments` counts every
accepted submit_sm. `duplicates` is the number of destinations that received the same text (UDH
stripped) more than once, which is what a resend after a fault would look like.

Receipts, by default, come the way a carrier's SMSC sends them: each one its own deliver_sm,
`dlr_delay` seconds after the submit (0.2 s), and at most `receipt_window` deliver_sm per bind
waiting for their deliver_sm_resp (10; 0 lifts the bound). What waits for room is sent as
acknowledgements come back, on any receiving bind of the same system_id; what a closed bind left
unacknowledged is delivered again on another bind or the next one, as an SMSC does. `bundled`
writes each receipt in the same write as its submit_sm_resp with no window (the old benchmark
mode, which hides the cost of the receipt path).

Faults on demand: a TPS cap and throttle storms (ESME_RTHROTTLED), an error ratio with a chosen
status, dropped connections after N submits or on request, receipts sent before the
submit_sm_resp (dlr_first, which implies bundled), UNDELIV receipts at a failure ratio or for
one segment of every concatenated message (`fail_part`: its UDH sequence number). Receipts
for message ids it never issued can be injected (`inject_receipts`, POST /receipts), for the
receipts benchmark.
"""

import asyncio
import json
import logging
import os
import random
import socket
import struct
import time
from collections import deque

from .encoding import DATA_CODING_UCS2, encode_gsm7, is_gsm7
from .pdu import (
    BIND_COMMANDS,
    DELIVER_SM,
    DELIVER_SM_RESP,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    ESME_RALYBND,
    ESME_RINVBNDSTS,
    ESME_RINVCMDID,
    ESME_RINVCMDLEN,
    ESME_RINVMSGLEN,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RTHROTTLED,
    GENERIC_NACK,
    HEADER,
    HEADER_SIZE,
    MAX_PDU_SIZE,
    RESPONSE_BIT,
    SUBMIT_SM,
    SUBMIT_SM_RESP,
    TLV_MESSAGE_PAYLOAD,
    TLV_MESSAGE_STATE,
    TLV_RECEIPTED_MESSAGE_ID,
    UNBIND,
    UNBIND_RESP,
    Bind,
    BindResp,
    PduError,
    ShortMessage,
)

log = logging.getLogger(__name__)

_TLV = struct.Struct("!HH")
_STATE_DELIVERED = struct.pack("!HHB", TLV_MESSAGE_STATE, 1, 2)
_STATE_UNDELIVERABLE = struct.pack("!HHB", TLV_MESSAGE_STATE, 1, 5)
# The receipt's "text:" echoes the message start; only printable ASCII keeps it one readable line.
_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x3F for b in range(256))


def _parse_submit(body: bytes):
    """(source ton, npi, source, destination, esm_class, registered_delivery, short_message)."""
    index = body.index
    p = index(0) + 1  # service_type
    ton, npi = body[p], body[p + 1]
    e = index(0, p + 2)
    source = body[p + 2 : e]
    p = e + 3  # dest ton/npi
    e = index(0, p)
    destination = body[p:e]
    esm = body[e + 1]
    p = index(0, e + 4) + 1  # schedule_delivery_time
    p = index(0, p) + 1  # validity_period
    registered = body[p]
    n = body[p + 4]
    message = body[p + 5 : p + 5 + n]
    if not n and len(body) > p + 5:
        message = _payload_tlv(body, p + 5)
    return ton, npi, source, destination, esm, registered, message


def _part_number(esm: int, message: bytes) -> int:
    """The UDH sequence number of a concatenated segment (8- or 16-bit reference); 1 otherwise."""
    if esm & 0x40 and message:
        udhl = message[0]
        if udhl >= 5 and message[1:3] == b"\0\3":
            return message[5]
        if udhl >= 6 and message[1:3] == b"\x08\x04":
            return message[6]
    return 1


def _esm_offset(body: bytes) -> int:
    """Where esm_class sits in a deliver_sm body (after service_type and two addresses)."""
    p = body.index(0) + 3
    p = body.index(0, p) + 3
    return body.index(0, p) + 1


def _payload_tlv(body, pos):
    while pos + 4 <= len(body):
        tag, length = _TLV.unpack_from(body, pos)
        if tag == TLV_MESSAGE_PAYLOAD:
            return body[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return b""


class _Stats:
    def __init__(self):
        self.submits = 0
        self.segments = 0
        self.first_submit_at = None  # wall clock, for the time from a campaign's launch to its first submit
        self.per_destination: dict[str, int] = {}
        # Destinations a benchmark asked to time (POST /watch): the wall clock of their first submit.
        self.watched: dict[str, float | None] = {}
        self.seen: set[int] = set()
        self.duplicate_destinations: set[bytes] = set()
        self.duplicate_submits = 0
        self.receipts_sent = 0
        self.receipts_acked = 0
        self.receipts_redelivered = 0
        self.peak_unacked = 0
        self.binds = 0
        self.bind_failures = 0
        self.rejected = 0
        self.throttled = 0
        self.mo_sent = 0
        self.drops = 0
        self.enquire_link_resps = 0


class SmscSimulator:
    def __init__(self, host="127.0.0.1", port=0, *, system_id=None, password=None, receipts=True,
                 dlr_delay=0.2, receipt_window=10, bundled=False, dlr_first=False, failure_ratio=0.0,
                 failure_err="001", error_ratio=0.0, error_status=0x0B, tps=0, throttle_storm=0.0, drop_after=0,
                 drop_every=False, seed=None, control_host=None, control_port=None, fail_part=0):  # fmt: skip
        self.host = host
        self.port = port
        self.system_id = system_id  # None: any system_id is accepted
        self.password = password  # None: any password is accepted
        self.receipts = receipts
        self.dlr_delay = dlr_delay
        self.receipt_window = receipt_window
        self.bundled = bundled or dlr_first
        self.dlr_first = dlr_first
        self.failure_ratio = failure_ratio
        self.failure_err = failure_err.encode()
        # Receipts of this segment (UDH sequence number) of every concatenated message are UNDELIV.
        self.fail_part = fail_part
        self.error_ratio = error_ratio
        self.error_status = error_status
        self.tps = tps
        self.throttle_storm = throttle_storm
        self.drop_after = drop_after
        self.drop_every = drop_every
        self.control_host = control_host or host
        self.control_port = control_port
        self.random = random.Random(seed)
        self.stats = _Stats()
        self.connections: set[_SmscConnection] = set()
        self.message_counter = 0
        self.accepted_since_start = 0
        self.dropped_once = False
        self.throttle_until = 0.0
        self.storm_started = False
        self.tokens = float(tps)
        self.tokens_at = 0.0
        self.delayed: deque = deque()  # (due, system_id, origin connection, deliver_sm body)
        # Per system_id: deliver_sm bodies waiting for a receiving bind with room in its window,
        # and injected receipts generated as room opens (a million bodies need not sit in memory).
        self.outbox: dict[str, deque] = {}
        self.injected: dict[str, deque] = {}  # system_id -> iterators of bodies, in order
        self.injected_left = 0
        self.server = None
        self.control = None
        self._ticker = None
        self._rr = 0
        self._date = ("", 0)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.tokens_at = loop.time()
        self.server = await loop.create_server(lambda: _SmscConnection(self), self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        if self.control_port is not None:
            self.control = await asyncio.start_server(self._control, self.control_host, self.control_port)
            self.control_port = self.control.sockets[0].getsockname()[1]
        self._ticker = loop.create_task(self._tick())
        return self.port

    async def close(self):
        if self._ticker:
            self._ticker.cancel()
        for server in (self.server, self.control):
            if server is not None:
                server.close()
        for conn in list(self.connections):
            conn.transport.abort()
        for server in (self.server, self.control):
            if server is not None:
                await server.wait_closed()

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    # --- control ----------------------------------------------------------------------------

    def snapshot(self, per_destination=True) -> dict:
        s = self.stats
        data = {
            "submits": s.submits,
            "segments": s.segments,
            "first_submit_at": s.first_submit_at,
            "destinations": len(s.per_destination),
            "duplicates": len(s.duplicate_destinations),
            "duplicate_submits": s.duplicate_submits,
            "receipts_sent": s.receipts_sent,
            "receipts_acked": s.receipts_acked,
            "receipts_redelivered": s.receipts_redelivered,
            "receipts_pending": self.receipts_pending(),
            "receipts_unacked": self.receipts_unacked(),
            "peak_unacked": s.peak_unacked,
            "binds": s.binds,
            "bound": sum(1 for c in self.connections if c.bind_type),
            "bind_failures": s.bind_failures,
            "rejected": s.rejected,
            "throttled": s.throttled,
            "mo_sent": s.mo_sent,
            "drops": s.drops,
            "enquire_link_resps": s.enquire_link_resps,
        }
        if per_destination:
            data["per_destination"] = s.per_destination
        if s.watched:
            data["watched"] = s.watched
        return data

    def receipts_unacked(self) -> int:
        return sum(1 for c in self.connections for _body, receipt in c.unacked.values() if receipt)

    def receipts_pending(self) -> int:
        """Receipts not yet acknowledged: waiting for their delay, for room, or for their resp."""
        queued = sum(len(box) for box in self.outbox.values()) + self.injected_left
        return len(self.delayed) + queued + self.receipts_unacked()

    def write_stats(self, path):
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(self.snapshot(), f)
        os.replace(tmp, path)

    def reset(self):
        """Zeroes the counters; message ids keep counting, so they stay unique for the run."""
        self.stats = _Stats()

    def throttle(self, seconds: float):
        self.throttle_until = self.loop.time() + seconds

    def drop(self) -> int:
        connections = list(self.connections)
        for conn in connections:
            conn.transport.abort()
        self.stats.drops += len(connections)
        return len(connections)

    def inject_mo(self, source: str, destination: str, text: str) -> bool:
        """A reply from a handset, delivered to one bound receiver (round robin)."""
        receivers = [c for c in self.connections if c.can_receive]
        if not receivers:
            return False
        self._rr = (self._rr + 1) % len(receivers)
        if is_gsm7(text):
            data, coding = encode_gsm7(text), 0
        else:
            data, coding = text.encode("utf-16-be"), DATA_CODING_UCS2
        tlvs = ()
        if len(data) > 254:
            data, tlvs = b"", ((TLV_MESSAGE_PAYLOAD, data),)
        body = ShortMessage(source.lstrip("+"), destination, data, source_addr_ton=1, source_addr_npi=1,
                            dest_addr_ton=0, dest_addr_npi=1, data_coding=coding, tlvs=tlvs).encode()  # fmt: skip
        target = receivers[self._rr]
        if self.has_room(target):
            target.send_deliver(body, receipt=False)
        else:
            self.outbox.setdefault(target.system_id, deque()).append(body)
        self.stats.mo_sent += 1
        return True

    def inject_receipts(self, system_id: str, first: int, count: int) -> int:
        """Queues DELIVRD receipts (UNDELIV at the failure ratio) for the message ids first … first +
        count - 1 in hex, as if this SMSC had issued them, for the receivers of `system_id`."""
        bodies = (
            self.receipt_body(b"%x" % n, 1, 1, b"86139%08d" % (n % 10**8), b"10690001", b"bench")
            for n in range(first, first + count)
        )
        self.injected.setdefault(system_id, deque()).append(bodies)
        self.injected_left += count
        self.drain(system_id)
        return count

    def send_enquire_link(self) -> int:
        for conn in self.connections:
            conn.write(HEADER.pack(HEADER_SIZE, ENQUIRE_LINK, 0, conn.next_sequence()))
        return len(self.connections)

    # --- submit handling --------------------------------------------------------------------

    def next_message_id(self) -> bytes:
        self.message_counter += 1
        return b"%x" % self.message_counter

    def admit(self, now: float) -> bool:
        """False when the submit must be answered ESME_RTHROTTLED (storm or TPS cap)."""
        if self.throttle_storm and not self.storm_started:
            self.storm_started = True
            self.throttle_until = now + self.throttle_storm
        if now < self.throttle_until:
            return False
        if self.tps:
            self.tokens = min(float(self.tps), self.tokens + (now - self.tokens_at) * self.tps)
            self.tokens_at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
        return True

    def dates(self) -> bytes:
        second = int(time.time())
        if self._date[1] != second:
            self._date = (time.strftime("%y%m%d%H%M", time.localtime(second)).encode(), second)
        return self._date[0]

    def receipt_body(self, message_id, ton, npi, source, destination, message, fail=False) -> bytes:
        failed = fail or (self.failure_ratio and self.random.random() < self.failure_ratio)
        date = self.dates()
        text = b"".join((
            b"id:", message_id, b" sub:001 dlvrd:", b"000" if failed else b"001",
            b" submit date:", date, b" done date:", date,
            b" stat:UNDELIV err:" + self.failure_err if failed else b" stat:DELIVRD err:000",
            b" text:", message[:20].translate(_PRINTABLE),
        ))  # fmt: skip
        # The receipt travels from the handset back to the ESME: addresses swapped.
        return b"".join((
            b"\0\1\1", destination, b"\0", bytes((ton, npi)), source, b"\0\4\0\0\0\0\0\0\0\0",
            bytes((len(text),)), text,
            _TLV.pack(TLV_RECEIPTED_MESSAGE_ID, len(message_id) + 1), message_id, b"\0",
            _STATE_UNDELIVERABLE if failed else _STATE_DELIVERED,
        ))  # fmt: skip

    def count(self, destination: bytes, esm: int, message: bytes):
        s = self.stats
        s.segments += 1
        if s.first_submit_at is None:
            s.first_submit_at = time.time()
        if esm & 0x40 and message:
            if _part_number(esm, message) != 1:
                return  # a later part of a concatenated message
            message = message[1 + message[0] :]
        s.submits += 1
        key = destination.decode("latin-1")
        per_destination = s.per_destination
        per_destination[key] = per_destination.get(key, 0) + 1
        if s.watched and key in s.watched and s.watched[key] is None:
            s.watched[key] = time.time()
        pair = hash((destination, message))
        if pair in s.seen:
            s.duplicate_submits += 1
            s.duplicate_destinations.add(destination)
        else:
            s.seen.add(pair)

    def has_room(self, conn) -> bool:
        return (
            conn.can_receive
            and not conn.closing
            and (not self.receipt_window or len(conn.unacked) < self.receipt_window)
        )

    def receiver_with_room(self, system_id):
        for conn in self.connections:
            if conn.system_id == system_id and self.has_room(conn):
                return conn
        return None

    def route_receipt(self, system_id, origin, body):
        """Sends a due deliver_sm on its own bind if it has room, else on another bind of the same
        system_id; else it waits its turn in the outbox."""
        if not self.outbox.get(system_id) and system_id not in self.injected:
            if origin is not None and self.has_room(origin):
                origin.send_deliver(body)
                return
            conn = self.receiver_with_room(system_id)
            if conn is not None:
                conn.send_deliver(body)
                return
        self.outbox.setdefault(system_id, deque()).append(body)

    def drain(self, system_id):
        """Fills the windows of the receivers of `system_id` from its outbox, then from injected receipts."""
        box = self.outbox.get(system_id)
        while box or system_id in self.injected:
            conn = self.receiver_with_room(system_id)
            if conn is None:
                return
            while self.has_room(conn):
                if box:
                    conn.send_deliver(box.popleft())
                    continue
                sources = self.injected.get(system_id)
                if not sources:
                    self.injected.pop(system_id, None)
                    break
                body = next(sources[0], None)
                if body is None:
                    sources.popleft()
                    continue
                self.injected_left -= 1
                conn.send_deliver(body, receipt=True)
        if box is not None and not box:
            del self.outbox[system_id]

    async def _tick(self):
        while True:
            await asyncio.sleep(0.01)
            if self.delayed:
                now = self.loop.time()
                delayed = self.delayed
                while delayed and delayed[0][0] <= now:
                    _, system_id, origin, body = delayed.popleft()
                    self.route_receipt(system_id, origin, body)

    # --- HTTP control -----------------------------------------------------------------------

    async def _control(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            status, payload = self._route(method, target, body)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            status, payload = 400, {"error": str(exc)}
        data = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "OK")
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % (status, reason.encode(), len(data)) + data)  # fmt: skip
        try:
            await writer.drain()
        finally:
            writer.close()

    def _route(self, method, target, body):
        path, _, query = target.partition("?")
        args = json.loads(body) if body.strip() else {}
        if path == "/stats" and method == "GET":
            return 200, self.snapshot(per_destination="summary=1" not in query)
        if method != "POST":
            known = ("/mo", "/receipts", "/throttle", "/drop", "/reset", "/watch")
            return 405 if path in known else 404, {"error": "not found"}
        if path == "/watch":
            for destination in args["destinations"]:
                self.stats.watched.setdefault(str(destination), None)
            return 200, {"watched": len(self.stats.watched)}
        if path == "/mo":
            sent = self.inject_mo(str(args["source"]), str(args["destination"]), str(args["text"]))
            return 200, {"sent": sent}
        if path == "/receipts":
            queued = self.inject_receipts(str(args["system_id"]), int(args["first"]), int(args["count"]))
            return 200, {"queued": queued}
        if path == "/throttle":
            seconds = float(args.get("seconds", 10))
            self.throttle(seconds)
            return 200, {"throttled_for": seconds}
        if path == "/drop":
            return 200, {"dropped": self.drop()}
        if path == "/reset":
            self.reset()
            return 200, {"reset": True}
        return 404, {"error": "not found"}


class _SmscConnection(asyncio.Protocol):
    def __init__(self, smsc: SmscSimulator):
        self.smsc = smsc
        self.buffer = bytearray()
        self.bind_type = None
        self.system_id = None
        self.sequence = 0
        self.closing = False
        self.out = []
        self.flush_pending = False
        self.unacked: dict[int, tuple[bytes, bool]] = {}  # deliver_sm seq -> (body, is a receipt)

    @property
    def can_receive(self):
        return self.bind_type in ("RX", "TRX")

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.smsc.connections.add(self)

    def connection_lost(self, exc):
        self.closing = True
        smsc = self.smsc
        smsc.connections.discard(self)
        if self.unacked:
            # Never acknowledged, so never delivered as far as the SMSC knows: again, first in line.
            smsc.stats.receipts_redelivered += sum(1 for _body, receipt in self.unacked.values() if receipt)
            smsc.outbox.setdefault(self.system_id, deque()).extendleft(
                reversed([body for body, _receipt in self.unacked.values()])
            )
            self.unacked.clear()
            smsc.loop.call_soon(smsc.drain, self.system_id)

    def next_sequence(self):
        self.sequence = 1 if self.sequence >= 0x7FFFFFFF else self.sequence + 1
        return self.sequence

    def write(self, data):
        if self.closing:
            return
        self.out.append(data)
        if not self.flush_pending:
            self.flush_pending = True
            self.smsc.loop.call_soon(self._flush)

    def _flush(self):
        self.flush_pending = False
        if self.out and not self.closing:
            self.transport.write(b"".join(self.out))
        self.out.clear()

    def send_deliver(self, body, receipt=None):
        """Writes a deliver_sm that counts against the window until its deliver_sm_resp comes."""
        stats = self.smsc.stats
        if receipt is None:
            receipt = bool(body[_esm_offset(body)] & 0x04)
        if receipt:
            stats.receipts_sent += 1
        seq = self.next_sequence()
        self.unacked[seq] = (body, receipt)
        if len(self.unacked) > stats.peak_unacked:
            stats.peak_unacked = len(self.unacked)
        self.write(HEADER.pack(HEADER_SIZE + len(body), DELIVER_SM, 0, seq) + body)

    def data_received(self, data):
        if self.closing:
            return
        buffer = self.buffer
        buffer += data
        smsc = self.smsc
        stats = smsc.stats
        out = self.out
        pos = 0
        available = len(buffer)
        now = smsc.loop.time()
        drop = False
        acked = False
        while available - pos >= HEADER_SIZE:
            length, command_id, status, seq = HEADER.unpack_from(buffer, pos)
            if length < HEADER_SIZE or length > MAX_PDU_SIZE:
                out.append(HEADER.pack(HEADER_SIZE, GENERIC_NACK, ESME_RINVCMDLEN, seq))
                drop = True
                break
            if available - pos < length:
                break
            body = bytes(buffer[pos + HEADER_SIZE : pos + length])
            pos += length
            if command_id == SUBMIT_SM:
                if self.bind_type not in ("TX", "TRX"):
                    out.append(HEADER.pack(HEADER_SIZE, SUBMIT_SM_RESP, ESME_RINVBNDSTS, seq))
                    continue
                try:
                    ton, npi, source, destination, esm, registered, message = _parse_submit(body)
                except (ValueError, IndexError):
                    out.append(HEADER.pack(HEADER_SIZE, SUBMIT_SM_RESP, ESME_RINVMSGLEN, seq))
                    continue
                if not smsc.admit(now):
                    stats.throttled += 1
                    out.append(HEADER.pack(HEADER_SIZE, SUBMIT_SM_RESP, ESME_RTHROTTLED, seq))
                    continue
                if smsc.error_ratio and smsc.random.random() < smsc.error_ratio:
                    stats.rejected += 1
                    out.append(HEADER.pack(HEADER_SIZE, SUBMIT_SM_RESP, smsc.error_status, seq))
                    continue
                smsc.count(destination, esm, message)
                smsc.accepted_since_start += 1
                if (
                    smsc.drop_after
                    and smsc.accepted_since_start % smsc.drop_after == 0
                    and (smsc.drop_every or not smsc.dropped_once)
                ):
                    # Accepted but never answered: the client cannot know, which is the point.
                    smsc.dropped_once = True
                    stats.drops += 1
                    drop = True
                    break
                message_id = smsc.next_message_id()
                resp = HEADER.pack(17 + len(message_id), SUBMIT_SM_RESP, 0, seq) + message_id + b"\0"
                if registered & 1 and smsc.receipts:
                    fail = bool(smsc.fail_part) and _part_number(esm, message) == smsc.fail_part
                    receipt = smsc.receipt_body(message_id, ton, npi, source, destination, message, fail)
                    if not smsc.bundled:
                        out.append(resp)
                        if smsc.dlr_delay > 0:
                            smsc.delayed.append((now + smsc.dlr_delay, self.system_id, self, receipt))
                        else:
                            smsc.route_receipt(self.system_id, self, receipt)
                    elif not self.can_receive:
                        out.append(resp)
                        smsc.route_receipt(self.system_id, None, receipt)
                    else:
                        dlr = HEADER.pack(HEADER_SIZE + len(receipt), DELIVER_SM, 0, self.next_sequence()) + receipt
                        stats.receipts_sent += 1
                        if smsc.dlr_first:
                            out.append(dlr)
                            out.append(resp)
                        else:
                            out.append(resp)
                            out.append(dlr)
                else:
                    out.append(resp)
            elif command_id == DELIVER_SM_RESP:
                stats.receipts_acked += 1
                if self.unacked.pop(seq, None) is not None:
                    acked = True
            elif command_id == ENQUIRE_LINK:
                out.append(HEADER.pack(HEADER_SIZE, ENQUIRE_LINK_RESP, 0, seq))
            elif command_id == ENQUIRE_LINK_RESP:
                stats.enquire_link_resps += 1
            elif command_id in BIND_COMMANDS:
                out.append(self._bind(command_id, seq, body))
            elif command_id == UNBIND:
                out.append(HEADER.pack(HEADER_SIZE, UNBIND_RESP, 0, seq))
                self.bind_type = None
            elif command_id & RESPONSE_BIT:
                pass  # unbind_resp, generic_nack: nothing to do
            else:
                out.append(HEADER.pack(HEADER_SIZE, GENERIC_NACK, ESME_RINVCMDID, seq))
        del buffer[:pos]
        if acked and (self.system_id in smsc.outbox or self.system_id in smsc.injected):
            smsc.drain(self.system_id)
        if drop:
            self._flush()
            self.closing = True
            self.transport.close()
        elif out and not self.flush_pending:
            self.flush_pending = True
            smsc.loop.call_soon(self._flush)

    def _bind(self, command_id, seq, body):
        smsc = self.smsc
        resp_id = command_id | RESPONSE_BIT
        if self.bind_type is not None:
            return HEADER.pack(HEADER_SIZE, resp_id, ESME_RALYBND, seq)
        try:
            bind = Bind.decode(body)
        except PduError as exc:
            return HEADER.pack(HEADER_SIZE, resp_id, exc.status, seq)
        if smsc.system_id is not None and bind.system_id != smsc.system_id:
            status = ESME_RINVSYSID
        elif smsc.password is not None and bind.password != smsc.password:
            status = ESME_RINVPASWD
        else:
            status = 0
        if status:
            smsc.stats.bind_failures += 1
            log.info("refused bind from %r: 0x%02X", bind.system_id, status)
            return HEADER.pack(HEADER_SIZE, resp_id, status, seq)
        self.bind_type = BIND_COMMANDS[command_id]
        self.system_id = bind.system_id
        smsc.stats.binds += 1
        if self.can_receive and (self.system_id in smsc.outbox or self.system_id in smsc.injected):
            smsc.loop.call_soon(smsc.drain, self.system_id)
        resp = BindResp("SMSCSIM").encode()
        return HEADER.pack(HEADER_SIZE + len(resp), resp_id, 0, seq) + resp
