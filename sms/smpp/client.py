"""Windowed asyncio SMPP 3.4 client (ESME) with transceiver binds, receipts and replies.

Guarantees the gateway relies on:
- a segment the SMSC refused with ESME_RTHROTTLED / ESME_RMSGQFUL is sent again by the client
  (the SMSC does not have it); nothing else is ever resent;
- a segment written without an answer (connection lost, response timeout) makes the result
  `ambiguous`: the SMSC may have it, so the caller must not resend;
- deliver_sm_resp for receipts and replies goes out only after the callback returned, so a crash
  before that point makes the SMSC deliver them again instead of losing them.

Receipts keep pace with the SMSC: a carrier lets only a few deliver_sm per bind wait for their
deliver_sm_resp (often 1-10), so the round trip of storing and acknowledging them bounds how many
arrive per second (window / round trip). A hand-over round starts as soon as what arrived in one
read burst has been parsed, that is when the window has stalled (nothing more is in the socket),
with no timer to wait out; up to `receipt_rounds` rounds are in flight at once, each acknowledging
its own deliver_sm as soon as its callback returns; what arrives while all rounds are busy goes,
up to `receipt_batch` at a time, into the next one that finishes. `receipt_linger` waits that long
for more before a round that would not fill its batch (0, the default, does not wait).
"""

import asyncio
import inspect
import logging
import random
import socket
from collections import deque
from dataclasses import dataclass

from .encoding import ConcatReferences, MessageTooLong, encode_text
from .pdu import (
    BIND_RECEIVER_RESP,
    BIND_TRANSCEIVER,
    BIND_TRANSCEIVER_RESP,
    BIND_TRANSMITTER_RESP,
    DELIVER_SM,
    DELIVER_SM_RESP,
    ENQUIRE_LINK,
    ENQUIRE_LINK_RESP,
    ESME_RINVCMDID,
    ESME_RSYSERR,
    GENERIC_NACK,
    HEADER,
    HEADER_SIZE,
    MAX_PDU_SIZE,
    PERMANENT_STATUSES,
    RESPONSE_BIT,
    SUBMIT_SM,
    SUBMIT_SM_RESP,
    THROTTLE_STATUSES,
    UNBIND,
    UNBIND_RESP,
    Bind,
    BindResp,
    PduError,
    ShortMessage,
    status_name,
    submit_sm_body,
)
from .receipts import Inbound, Receipt, is_receipt, parse_inbound, parse_receipt

__all__ = ["Inbound", "Receipt", "SmppClient", "SubmitRequest", "SubmitResult"]

log = logging.getLogger(__name__)

RECEIPT_BATCH = 2000
RECEIPT_ROUNDS = 4
MAX_THROTTLE_RETRIES = 20

# Pseudo statuses for answers that never came; they never leave this module.
_LOST = -1
_TIMED_OUT = -2


@dataclass(slots=True)  # one per message: not frozen (pdu.ShortMessage)
class SubmitRequest:
    ref: object
    source: str
    destination: str
    text: str
    registered_delivery: bool = True
    # Waits for a window slot ahead of the others (a verification code behind a bulk campaign's chunks).
    priority: bool = False


@dataclass(slots=True)  # one per message: not frozen (pdu.ShortMessage)
class SubmitResult:
    ref: object
    ok: bool
    message_ids: tuple[str, ...]
    command_status: int
    error: str
    # True when sending again cannot help: the SMSC refused the content or address, or some parts
    # were accepted already (sending the message again would repeat them).
    permanent: bool
    ambiguous: bool
    segments: int


class ClientStopped(RuntimeError):
    pass


@dataclass(slots=True)
class _Segment:
    ok: bool = False
    message_id: str = ""
    status: int = 0
    error: str = ""
    ambiguous: bool = False


def _throttled_out(status: int, throttles: int) -> _Segment:
    """A segment refused as throttled more often than the client retries."""
    return _Segment(status=status, error=f"{status_name(status)} after {throttles} attempts")


class _Batch:
    """The single-part submits of one SmppClient.submit_many call and their answers."""

    __slots__ = ("client", "requests", "results", "bodies", "pending", "throttled", "finished")

    def __init__(self, client: "SmppClient", requests):
        self.client = client
        self.requests = requests
        self.results: list[SubmitResult | None] = [None] * len(requests)
        self.bodies: dict[int, bytes] = {}  # request index -> its one submit_sm body
        self.pending = 0  # written, not yet answered
        self.throttled: list[_Slot] = []  # answered ESME_RTHROTTLED: submit_many resubmits them
        self.finished = None

    def answer(self, slot: "_Slot", status: int, message_id: str):
        client = self.client
        if status in THROTTLE_STATUSES:
            client.stats["throttled"] += 1
            slot.conn.throttled()
            if client.max_throttle_retries >= 1:
                self.throttled.append(slot)
            else:
                self.results[slot.index] = client._result(self.requests[slot.index].ref, [_throttled_out(status, 1)])
        elif status == 0:
            slot.conn.accepted()
            client.stats["submitted"] += 1
            self.results[slot.index] = SubmitResult(
                self.requests[slot.index].ref, True, (message_id,), 0, "", False, False, 1
            )
        else:
            self.results[slot.index] = client._result(
                self.requests[slot.index].ref, [client._outcome(slot.conn, status, message_id)]
            )
        self.pending -= 1
        if not self.pending and self.finished is not None and not self.finished.done():
            self.finished.set_result(None)

    async def answered(self) -> list["_Slot"]:
        """Once every written submit is answered: those answered with a throttle."""
        if self.pending:
            self.finished = self.client._loop.create_future()
            await self.finished
        return self.throttled


class _Slot:
    """A connection's in-flight entry for a submit of a _Batch, where submit's own entry is a future:
    the connection's set_result (answer, lost connection or timeout) hands it to the batch at once."""

    __slots__ = ("batch", "index", "conn", "body", "answered")

    def __init__(self, batch: _Batch, index: int, conn: "_Connection", body: bytes):
        self.batch, self.index, self.conn, self.body = batch, index, conn, body
        self.answered = False

    def done(self) -> bool:
        return self.answered

    def set_result(self, answer):
        self.answered = True
        self.batch.answer(self, *answer)


class _Abort:
    """Shared by the segments of one message: once one fails, unwritten ones are not sent."""

    __slots__ = ("failed",)

    def __init__(self):
        self.failed = False


def source_ton_npi(source: str) -> tuple[int, int, str]:
    """TON/NPI for the source address: international, national digits, or alphanumeric."""
    if source.startswith("+") and source[1:].isdigit():
        return 1, 1, source[1:]
    if source.isdigit():
        return 0, 1, source
    return 5, 0, source


class _Connection(asyncio.Protocol):
    """One TCP connection and its bind; a reconnect makes a new instance."""

    def __init__(self, client: "SmppClient", index: int):
        self.client = client
        self.index = index
        self.loop = client._loop
        self.transport = None
        self.buffer = bytearray()
        self.bound = False
        self.closing = False
        self.closed = self.loop.create_future()
        self.sequence = 0
        # submit_sm seq -> (answer, deadline); the answer is a future or a _Slot of submit_many's.
        self.inflight: dict[int, tuple[asyncio.Future, float]] = {}
        self.requests: dict[int, asyncio.Future] = {}  # other requests (bind, enquire_link, unbind)
        self.out: list[bytes] = []
        self.flush_pending = False
        self.last_received = self.loop.time()
        self.paused_until = 0.0
        self.throttle_delay = client.throttle_backoff[0]

    # --- transport --------------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc):
        self.closing = True
        self.bound = False
        for future, _ in self.inflight.values():
            if not future.done():
                future.set_result((_LOST, ""))
        self.inflight.clear()
        for future in self.requests.values():
            if not future.done():
                future.set_result(None)
        self.requests.clear()
        if not self.closed.done():
            self.closed.set_result(exc)

    def write(self, data: bytes):
        # Writes in one loop iteration leave as one transport.write (one syscall).
        if self.closing:
            return
        self.out.append(data)
        if not self.flush_pending:
            self.flush_pending = True
            self.loop.call_soon(self._flush)

    def _flush(self):
        self.flush_pending = False
        if self.out and not self.closing:
            data = b"".join(self.out)
            self.out.clear()
            self.transport.write(data)

    def abort(self):
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.abort()

    def next_sequence(self) -> int:
        seq = self.sequence
        while True:
            seq = 1 if seq >= 0x7FFFFFFF else seq + 1
            if seq not in self.inflight and seq not in self.requests:
                self.sequence = seq
                return seq

    def request(self, command_id: int, body: bytes = b"") -> asyncio.Future:
        seq = self.next_sequence()
        future = self.loop.create_future()
        self.requests[seq] = future
        self.write(HEADER.pack(HEADER_SIZE + len(body), command_id, 0, seq) + body)
        return future

    # --- reading ----------------------------------------------------------------------------

    def data_received(self, data):
        if self.closing:
            return
        buffer = self.buffer
        buffer += data
        self.last_received = self.loop.time()
        pos = 0
        available = len(buffer)
        answered = False
        unpack = HEADER.unpack_from
        inflight = self.inflight
        while available - pos >= HEADER_SIZE:
            length, command_id, status, seq = unpack(buffer, pos)
            if length < HEADER_SIZE or length > MAX_PDU_SIZE:
                log.error("bind %d: command_length %d out of range, dropping the connection", self.index, length)
                self.abort()
                return
            if available - pos < length:
                break
            if command_id == SUBMIT_SM_RESP:
                entry = inflight.pop(seq, None)
                if entry is not None:
                    answered = True
                    message_id = ""
                    if status == 0 and length > HEADER_SIZE:
                        end = buffer.find(0, pos + HEADER_SIZE, pos + length)
                        message_id = (
                            buffer[pos + HEADER_SIZE : end if end >= 0 else pos + length].decode("latin-1").strip()
                        )
                    if not entry[0].done():
                        entry[0].set_result((status, message_id))
            else:
                body = bytes(buffer[pos + HEADER_SIZE : pos + length])
                answered |= self._other(command_id, status, seq, body)
            pos += length
        del buffer[:pos]
        if answered:
            self.client._wake()

    def _other(self, command_id, status, seq, body) -> bool:
        if command_id == DELIVER_SM:
            self.client._deliver(self, seq, body)
        elif command_id == ENQUIRE_LINK:
            self.write(HEADER.pack(HEADER_SIZE, ENQUIRE_LINK_RESP, 0, seq))
        elif command_id == UNBIND:
            log.info("bind %d: the SMSC unbinds", self.index)
            self.bound = False
            self.write(HEADER.pack(HEADER_SIZE, UNBIND_RESP, 0, seq))
            self._flush()
            self.closing = True
            self.transport.close()
        elif command_id == GENERIC_NACK and seq in self.inflight:
            future = self.inflight.pop(seq)[0]
            if not future.done():
                future.set_result((status or ESME_RSYSERR, ""))
            return True
        elif command_id & RESPONSE_BIT:
            future = self.requests.pop(seq, None)
            if future is not None and not future.done():
                future.set_result((command_id, status, body))
        else:
            log.warning("bind %d: unsupported command 0x%08X, answering generic_nack", self.index, command_id)
            self.write(HEADER.pack(HEADER_SIZE, GENERIC_NACK, ESME_RINVCMDID, seq))
        return False

    # --- throttling -------------------------------------------------------------------------

    def throttled(self):
        now = self.loop.time()
        if now < self.paused_until:
            return  # the whole window's refusals answer the same overload: one pause, not 64
        low, high = self.client.throttle_backoff
        self.paused_until = now + self.throttle_delay
        self.loop.call_later(self.throttle_delay, self.client._wake)
        self.throttle_delay = min(self.throttle_delay * 2, high)

    def accepted(self):
        # Under a TPS cap successes and refusals interleave; resetting at every success would keep
        # the pause at its minimum and spend each segment's retries within milliseconds. The pause
        # shrinks only after a quiet spell as long as itself.
        low = self.client.throttle_backoff[0]
        if self.throttle_delay > low and self.loop.time() - self.paused_until >= self.throttle_delay:
            self.throttle_delay = max(low, self.throttle_delay / 2)

    # --- housekeeping -----------------------------------------------------------------------

    async def keep_alive(self):
        """Expires unanswered submits and sends enquire_link when the link has been idle."""
        client = self.client
        tick = max(0.01, min(0.5, client.enquire_link_interval / 4, client.response_timeout / 4))
        probe = None
        probe_sent = 0.0
        while not self.closing:
            await asyncio.sleep(tick)
            now = self.loop.time()
            expired = []
            for seq, (future, deadline) in self.inflight.items():
                if deadline > now:
                    break  # insertion order is deadline order
                expired.append((seq, future))
            for seq, future in expired:
                del self.inflight[seq]
                if not future.done():
                    future.set_result((_TIMED_OUT, ""))
            if expired:
                log.warning(
                    "bind %d: %d submit_sm without a response in %.0fs",
                    self.index,
                    len(expired),
                    client.response_timeout,
                )
                client.stats["timeouts"] += len(expired)
                client._wake()
            if probe is not None:
                if probe.done():
                    probe = None
                elif now - probe_sent > client.response_timeout:
                    log.warning(
                        "bind %d: no enquire_link_resp in %.0fs, reconnecting", self.index, client.response_timeout
                    )
                    self.abort()
                    return
            elif now - self.last_received >= client.enquire_link_interval:
                probe, probe_sent = self.request(ENQUIRE_LINK), now
                client.stats["enquire_links"] += 1


class SmppClient:
    """`binds` transceiver sessions to one SMSC, each with up to `window` submit_sm in flight.

    on_receipts / on_inbound receive lists of Receipt / Inbound (sync or async), in rounds as the
    module docstring says; the deliver_sm_resp of each item follows its callback's return. A refused
    callback is retried with back-off and nothing of its round is acknowledged meanwhile; callbacks
    may run concurrently (up to receipt_rounds of each kind). throttle_backoff is the
    (min, max) pause of a session after ESME_RTHROTTLED / ESME_RMSGQFUL: it doubles at each new
    refusal and halves after a quiet spell as long as itself.
    """

    def __init__(self, host, port, system_id, password, *, system_type="", binds=1, window=64,
                 enquire_link_interval=30.0, response_timeout=30.0, reconnect_min=0.5, reconnect_max=30.0,
                 on_receipts=None, on_inbound=None, throttle_backoff=(0.05, 2.0),
                 bind_timeout=10.0, max_throttle_retries=MAX_THROTTLE_RETRIES, receipt_rounds=RECEIPT_ROUNDS,
                 receipt_batch=RECEIPT_BATCH, receipt_linger=0.0):  # fmt: skip
        self.host = host
        self.port = port
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.binds = binds
        self.window = window
        self.enquire_link_interval = enquire_link_interval
        self.response_timeout = response_timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.on_receipts = on_receipts
        self.on_inbound = on_inbound
        self.throttle_backoff = throttle_backoff
        self.bind_timeout = bind_timeout
        self.max_throttle_retries = max_throttle_retries
        self.stats = dict.fromkeys((
            "submitted", "segments_sent", "rejected", "throttled", "ambiguous", "timeouts",
            "reconnects", "binds", "bind_failures", "receipts", "inbound", "enquire_links", "peak_in_flight",
            "handovers", "peak_rounds", "handover_seconds",
        ), 0)  # fmt: skip
        self.last_bind_error = ""
        self._loop = None
        self._connected = None
        self._bound: list[_Connection] = []
        self._waiters: deque[asyncio.Future] = deque()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._references = ConcatReferences()
        self._receipts = _Handover(self, on_receipts, max(1, receipt_rounds), max(1, receipt_batch), receipt_linger)
        self._inbound = _Handover(self, on_inbound, max(1, receipt_rounds), max(1, receipt_batch), receipt_linger)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Launches the bind sessions; they keep reconnecting until stop()."""
        self._loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        self._stopping = False
        self._tasks = [self._loop.create_task(self._run_bind(i), name=f"smpp-bind-{i}") for i in range(self.binds)]

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Returns once at least one bind is up; raises TimeoutError otherwise."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    @property
    def bound_sessions(self) -> int:
        return len(self._bound)

    async def stop(self) -> None:
        """Acknowledges what the callbacks accept, unbinds each session and closes."""
        if self._loop is None:
            return
        self._stopping = True
        self._wake_all()
        for handover in (self._receipts, self._inbound):
            try:
                await asyncio.wait_for(handover.drained(), 5)
            except TimeoutError:
                log.warning("stopping with %d deliver_sm not acknowledged", handover.waiting)
        for conn in list(self._bound):
            conn.bound = False
            answer = conn.request(UNBIND)
            try:
                await asyncio.wait_for(answer, 2)
            except TimeoutError:
                pass
            if conn.transport is not None:
                conn._flush()
                conn.closing = True
                conn.transport.close()
        tasks = [*self._tasks, *self._receipts.cancel(), *self._inbound.cancel()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        self._bound.clear()
        self._connected.clear()

    async def _run_bind(self, index: int):
        delay = self.reconnect_min
        loop = self._loop
        while not self._stopping:
            conn = None
            try:
                _, conn = await asyncio.wait_for(
                    loop.create_connection(lambda: _Connection(self, index), self.host, self.port), self.bind_timeout
                )
                if await self._bind(conn):
                    delay = self.reconnect_min
                    conn.bound = True
                    self._bound.append(conn)
                    self.stats["binds"] += 1
                    self._connected.set()
                    self._wake_all()
                    keep_alive = loop.create_task(conn.keep_alive())
                    try:
                        await conn.closed
                    finally:
                        keep_alive.cancel()
                    if not self._stopping:
                        self.last_bind_error = "connection lost"
                        log.warning("bind %d: connection lost", index)
            except (OSError, TimeoutError) as exc:
                self.last_bind_error = f"cannot connect to {self.host}:{self.port}: {exc or type(exc).__name__}"
                log.warning("bind %d: %s", index, self.last_bind_error)
            except Exception:
                # A bug must not end the session for good: log it and reconnect like any failure.
                log.exception("bind %d: unexpected error", index)
            finally:
                if conn is not None:
                    if conn in self._bound:
                        self._bound.remove(conn)
                    conn.abort()
                    if not conn.closed.done():
                        conn.connection_lost(None)
                if not self._bound:
                    self._connected.clear()
            if self._stopping:
                break
            self.stats["reconnects"] += 1
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.reconnect_max)

    async def _bind(self, conn: _Connection) -> bool:
        body = Bind(self.system_id, self.password, self.system_type).encode()
        answer = conn.request(BIND_TRANSCEIVER, body)
        try:
            result = await asyncio.wait_for(answer, self.bind_timeout)
        except TimeoutError:
            self.last_bind_error = "no bind_transceiver_resp"
            log.error("bind %d: no answer to bind_transceiver in %.0fs", conn.index, self.bind_timeout)
            self.stats["bind_failures"] += 1
            return False
        if result is None:
            self.last_bind_error = "connection closed during bind"
            log.error("bind %d: connection closed during bind", conn.index)
            self.stats["bind_failures"] += 1
            return False
        command_id, status, body = result
        if command_id not in (BIND_TRANSCEIVER_RESP, BIND_TRANSMITTER_RESP, BIND_RECEIVER_RESP) or status:
            if command_id == GENERIC_NACK and not status:
                status = ESME_RINVCMDID
            self.last_bind_error = status_name(status)
            log.error("bind %d: %s:%s refused bind_transceiver for system_id %r: %s (0x%02X)",
                      conn.index, self.host, self.port, self.system_id, status_name(status), status)  # fmt: skip
            self.stats["bind_failures"] += 1
            return False
        try:
            smsc = BindResp.decode(body).system_id
        except PduError:
            smsc = "?"
        self.last_bind_error = ""
        log.info("bind %d: bound as transceiver to %s (%s:%s)", conn.index, smsc, self.host, self.port)
        return True

    # --- window -----------------------------------------------------------------------------

    def _pick(self):
        best, best_free = None, 0
        now = self._loop.time()
        window = self.window
        for conn in self._bound:
            if conn.paused_until > now or conn.closing:
                continue
            free = window - len(conn.inflight)
            if free > best_free:
                best, best_free = conn, free
        return best

    async def _acquire(self, priority=False) -> _Connection:
        first = True
        while True:
            if self._stopping:
                raise ClientStopped("client stopped")
            conn = self._pick()
            if conn is not None:
                return conn
            waiter = self._loop.create_future()
            # Someone already woken goes back to the front, so late arrivals cannot starve it; a
            # priority submit goes to the front at once.
            (self._waiters.append if first and not priority else self._waiters.appendleft)(waiter)
            first = False
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass the slot on
                raise

    def _wake(self):
        waiters = self._waiters
        if not waiters:
            return
        now = self._loop.time()
        free = sum(self.window - len(c.inflight) for c in self._bound if c.paused_until <= now and not c.closing)
        while free > 0 and waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def _wake_all(self):
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # --- submitting -------------------------------------------------------------------------

    def _encode(self, request: SubmitRequest):
        """The submit_sm bodies of a request, or its SubmitResult if no send can fix it."""
        try:
            encoded = encode_text(request.text)
            destination = request.destination.lstrip("+")
            total = len(encoded.chunks)
            ton, npi, source = source_ton_npi(request.source)
            registered = 1 if request.registered_delivery else 0
            return [
                submit_sm_body(source, ton, npi, destination, encoded.esm_class, registered, encoded.data_coding, part)
                for part in encoded.parts(self._references.next(destination) if total > 1 else 0)
            ]
        except (MessageTooLong, UnicodeEncodeError) as exc:
            # Addresses are ASCII on the wire and a message has at most 255 parts: no send can fix it.
            return SubmitResult(request.ref, False, (), 0, f"not sendable: {exc}", True, False, 0)

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        if self._loop is None:
            raise RuntimeError("SmppClient.submit() before start()")
        bodies = self._encode(request)
        if isinstance(bodies, SubmitResult):
            return bodies
        abort = _Abort()
        priority = request.priority
        if len(bodies) == 1:
            outcomes = [await self._send_segment(bodies[0], abort, priority)]
        else:
            outcomes = await asyncio.gather(*(self._send_segment(body, abort, priority) for body in bodies))
        return self._result(request.ref, outcomes)

    async def submit_many(self, requests) -> list[SubmitResult]:
        """The results of `requests`, in their order. A single-part request goes out from this one
        coroutine and its submit_sm_resp is read into its result where it arrives (_Batch), with no
        task of its own: a task per message was a sixth of the gateway's interpreter time. Long and
        priority messages, and a resubmit after a throttle, take submit's way."""
        if self._loop is None:
            raise RuntimeError("SmppClient.submit_many() before start()")
        batch = _Batch(self, requests)
        others = []
        for index, request in enumerate(requests):
            bodies = self._encode(request)
            if isinstance(bodies, SubmitResult):
                batch.results[index] = bodies
            elif len(bodies) > 1 or request.priority:
                others.append(index)
            else:
                batch.bodies[index] = bodies[0]
        rest = asyncio.gather(*(self.submit(requests[index]) for index in others)) if others else None
        try:
            await self._send_batch(batch)
            throttled = await batch.answered()
            if throttled:
                # Resubmitted together, each as its own task now: _acquire holds them off while the
                # bind's throttle pause (Connection.throttled) lasts.
                again = await asyncio.gather(
                    *(self._send_segment(slot.body, _Abort(), throttles=1) for slot in throttled)
                )
                for slot, segment in zip(throttled, again, strict=True):
                    batch.results[slot.index] = self._result(requests[slot.index].ref, [segment])
            if rest is not None:
                for index, result in zip(others, await rest, strict=True):
                    batch.results[index] = result
        except asyncio.CancelledError:
            if rest is not None:
                rest.cancel()
            raise
        return batch.results

    async def _send_batch(self, batch: "_Batch"):
        """Writes the batch's single-part submits as window slots free up (_Batch.answer reads the
        answers as they arrive)."""
        for index, body in batch.bodies.items():
            try:
                conn = await self._acquire()
            except ClientStopped:
                batch.results[index] = self._result(batch.requests[index].ref, [_Segment(error="client stopped")])
                continue
            batch.pending += 1
            self._write_submit(conn, body, _Slot(batch, index, conn, body))

    async def _send_segment(self, body: bytes, abort: _Abort, priority: bool = False, throttles: int = 0) -> _Segment:
        """One segment sent until it has a final answer; `throttles`: ESME_RTHROTTLED answers it
        already had (submit_many resubmits a throttled one here)."""
        stats = self.stats
        while True:
            try:
                conn = await self._acquire(priority)
            except ClientStopped:
                abort.failed = True
                return _Segment(error="client stopped")
            if abort.failed:
                return _Segment(error="not sent: another part failed")
            future = self._loop.create_future()
            self._write_submit(conn, body, future)
            status, message_id = await future
            if status in THROTTLE_STATUSES:
                stats["throttled"] += 1
                conn.throttled()
                throttles += 1
                if throttles <= self.max_throttle_retries:
                    continue
                abort.failed = True
                return _throttled_out(status, throttles)
            outcome = self._outcome(conn, status, message_id)
            if not outcome.ok:
                abort.failed = True
            return outcome

    def _write_submit(self, conn: _Connection, body: bytes, answer):
        """Writes one submit_sm on `conn`; `answer` (a future, or a _Slot of submit_many's) gets its
        (status, message id) from the connection: the resp, a lost connection or the timeout."""
        seq = conn.next_sequence()
        inflight = conn.inflight
        inflight[seq] = (answer, self._loop.time() + self.response_timeout)
        conn.write(HEADER.pack(HEADER_SIZE + len(body), SUBMIT_SM, 0, seq) + body)
        stats = self.stats
        stats["segments_sent"] += 1
        if len(inflight) > stats["peak_in_flight"]:
            stats["peak_in_flight"] = len(inflight)

    def _outcome(self, conn: _Connection, status: int, message_id: str) -> _Segment:
        """A segment's final answer (anything but a throttle, which the sender retries), counted."""
        stats = self.stats
        if status == 0:
            conn.accepted()
            stats["submitted"] += 1
            return _Segment(ok=True, message_id=message_id)
        if status == _LOST:
            stats["ambiguous"] += 1
            return _Segment(ambiguous=True, error="connection lost before submit_sm_resp")
        if status == _TIMED_OUT:
            stats["ambiguous"] += 1
            return _Segment(ambiguous=True, error="no submit_sm_resp in time")
        stats["rejected"] += 1
        return _Segment(status=status, error=status_name(status))

    def _result(self, ref, outcomes) -> SubmitResult:
        message_ids = tuple(o.message_id for o in outcomes if o.ok)
        if len(message_ids) == len(outcomes):
            return SubmitResult(ref, True, message_ids, 0, "", False, False, len(outcomes))
        ambiguous = any(o.ambiguous for o in outcomes)
        failed = [o for o in outcomes if not o.ok]
        # The part that caused the failure, not the parts left unsent because of it.
        failure = next((o for o in failed if o.ambiguous or o.status), failed[0])
        permanent = not ambiguous and (failure.status in PERMANENT_STATUSES or bool(message_ids))
        error = failure.error
        if message_ids and not ambiguous:
            error = f"{len(message_ids)} of {len(outcomes)} parts accepted, then {error}"
        return SubmitResult(ref, False, message_ids, failure.status, error, permanent, ambiguous, len(outcomes))

    # --- receipts and replies ---------------------------------------------------------------

    def _deliver(self, conn: _Connection, seq: int, body: bytes):
        try:
            sm = ShortMessage.decode(body)
        except PduError as exc:
            log.warning("bind %d: undecodable deliver_sm (%s)", conn.index, exc)
            conn.write(HEADER.pack(HEADER_SIZE + 1, DELIVER_SM_RESP, exc.status, seq) + b"\0")
            return
        if is_receipt(sm):
            self.stats["receipts"] += 1
            self._receipts.add(conn, seq, sm, parse_receipt)
        else:
            self.stats["inbound"] += 1
            self._inbound.add(conn, seq, sm, parse_inbound)


def _acknowledge(entries):
    for conn, seq, _ in entries:
        # A connection that dropped meanwhile cannot carry the resp; the SMSC resends on the next.
        conn.write(HEADER.pack(HEADER_SIZE + 1, DELIVER_SM_RESP, 0, seq) + b"\0")


class _Handover:
    """Deliver_sm of one kind (receipts or replies) on their way to the callback, in rounds.

    A round takes what has arrived (up to `batch`), awaits the callback and then writes the
    round's deliver_sm_resp; up to `rounds` run at once. A round starts at the end of the loop
    iteration that read its first item (all binds' read bursts are in by then), or `linger`
    seconds after the last item arrived, and at once when a batch is full or a round finishes
    with items waiting.
    """

    def __init__(self, client, callback, rounds, batch, linger):
        self.client = client
        self.callback = callback
        self.rounds = rounds
        self.batch = batch
        self.linger = linger
        self.pending: list[tuple[_Connection, int, object]] = []
        self.running: set[asyncio.Task] = set()
        self.timer = None
        self.last_arrival = 0.0

    @property
    def waiting(self) -> int:
        return len(self.pending)

    def add(self, conn, seq, sm, parse):
        if self.callback is None:
            conn.write(HEADER.pack(HEADER_SIZE + 1, DELIVER_SM_RESP, 0, seq) + b"\0")
            return
        self.pending.append((conn, seq, parse(sm)))
        loop = self.client._loop
        self.last_arrival = loop.time()
        if len(self.pending) >= self.batch:
            self._start()
        elif self.timer is None:
            self.timer = loop.call_later(self.linger, self._due) if self.linger else loop.call_soon(self._due)

    def _due(self):
        self.timer = None
        if self.linger:
            quiet_for = self.client._loop.time() - self.last_arrival
            if quiet_for < self.linger and len(self.pending) < self.batch:
                self.timer = self.client._loop.call_later(self.linger - quiet_for, self._due)
                return
        self._start()

    def _start(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        loop = self.client._loop
        stats = self.client.stats
        while self.pending and len(self.running) < self.rounds:
            entries, self.pending = self.pending[: self.batch], self.pending[self.batch :]
            task = loop.create_task(self._round(entries))
            self.running.add(task)
            stats["handovers"] += 1
            if len(self.running) > stats["peak_rounds"]:
                stats["peak_rounds"] = len(self.running)

    async def _round(self, entries):
        try:
            await self._hand_over(entries)
        finally:
            self.running.discard(asyncio.current_task())
            if self.pending:
                # They waited for this round already: no linger for them.
                self._start()

    async def _hand_over(self, entries):
        items = [item for _, _, item in entries]
        delay = 0.2
        started = self.client._loop.time()
        while True:
            try:
                result = self.callback(items)
                if inspect.isawaitable(result):
                    await result
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                # Unacknowledged, the SMSC would redeliver them only after its own timeout; keep
                # them and try again, so a database hiccup costs a pause, not a redelivery storm.
                log.exception("delivery callback failed for %d items; retrying in %.1fs", len(items), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        _acknowledge(entries)
        # Summed over rounds: divided by handovers, the round trip that caps receipts per second.
        self.client.stats["handover_seconds"] += self.client._loop.time() - started

    async def drained(self):
        """Returns once nothing is waiting or being handed over."""
        while self.pending or self.running:
            if self.pending and not self.running:
                self._start()
            await asyncio.sleep(0.005)

    def cancel(self) -> list[asyncio.Task]:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return list(self.running)
