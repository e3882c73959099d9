"""Shared pieces of the SMPP tests: a bounded asyncio.run, polling, and a scriptable raw SMSC."""

import asyncio
import struct

from sms.smpp.pdu import BIND_TRANSCEIVER, BIND_TRANSCEIVER_RESP, HEADER, UNBIND, UNBIND_RESP, BindResp

TIMEOUT = 15


def run(coro, timeout=TIMEOUT):
    """Runs a test coroutine with a hard bound, so a protocol bug fails the test instead of hanging it."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def until(predicate, timeout=5.0):
    """Waits for a condition the event loop will make true (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


class RawSmsc(asyncio.Protocol):
    """Binds everyone, answers unbind, and records every other PDU without answering it."""

    def __init__(self, received):
        self.received = received
        self.buffer = bytearray()

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while len(self.buffer) >= 16:
            length, command_id, status, seq = HEADER.unpack_from(self.buffer)
            if len(self.buffer) < length:
                break
            body = bytes(self.buffer[16:length])
            del self.buffer[:length]
            if command_id == BIND_TRANSCEIVER:
                resp = BindResp("RAW").encode()
                self.transport.write(HEADER.pack(16 + len(resp), BIND_TRANSCEIVER_RESP, 0, seq) + resp)
            else:
                self.received.append((command_id, status, seq, body))
                if command_id == UNBIND:
                    self.transport.write(HEADER.pack(16, UNBIND_RESP, 0, seq))

    def send(self, command_id, seq, body=b"", status=0):
        self.transport.write(struct.pack("!IIII", 16 + len(body), command_id, status, seq) + body)


async def raw_smsc():
    """(server, port, received PDUs, protocol instances)."""
    received, protocols = [], []

    def factory():
        protocol = RawSmsc(received)
        protocols.append(protocol)
        return protocol

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received, protocols
