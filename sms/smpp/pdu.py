"""SMPP 3.4 PDUs: header framing, the bodies this project sends and receives, command statuses.

Hot paths (submit_sm out, submit_sm_resp and deliver_sm in) work on bytes with struct and
bytes.index; the dataclasses exist for the less frequent PDUs and for tests.
"""

import struct
from dataclasses import dataclass, field

HEADER = struct.Struct("!IIII")
HEADER_SIZE = 16
MAX_PDU_SIZE = 64 * 1024  # far above any legal PDU; a larger length means a broken stream

# --- Command ids -------------------------------------------------------------------------------

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
QUERY_SM = 0x00000003
QUERY_SM_RESP = 0x80000003
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
REPLACE_SM = 0x00000007
CANCEL_SM = 0x00000008
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
SUBMIT_MULTI = 0x00000021
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
DATA_SM_RESP = 0x80000103

RESPONSE_BIT = 0x80000000
BIND_COMMANDS = {BIND_RECEIVER: "RX", BIND_TRANSMITTER: "TX", BIND_TRANSCEIVER: "TRX"}

COMMAND_NAMES = {value: name.lower() for name, value in list(globals().items()) if name.isupper()
                 and isinstance(value, int) and (name.startswith(("BIND", "SUBMIT", "DELIVER", "UNBIND",
                 "ENQUIRE", "GENERIC", "QUERY", "REPLACE", "CANCEL", "OUTBIND", "ALERT", "DATA_SM")))}  # fmt: skip

# --- Command statuses --------------------------------------------------------------------------

ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RINVPRTFLG = 0x06
ESME_RINVREGDLVFLG = 0x07
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RINVMSGID = 0x0C
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RCANCELFAIL = 0x11
ESME_RREPLACEFAIL = 0x13
ESME_RMSGQFUL = 0x14
ESME_RINVSERTYP = 0x15
ESME_RINVNUMDESTS = 0x33
ESME_RINVDLNAME = 0x34
ESME_RINVDESTFLAG = 0x40
ESME_RINVSUBREP = 0x42
ESME_RINVESMCLASS = 0x43
ESME_RCNTSUBDL = 0x44
ESME_RSUBMITFAIL = 0x45
ESME_RINVSRCTON = 0x48
ESME_RINVSRCNPI = 0x49
ESME_RINVDSTTON = 0x50
ESME_RINVDSTNPI = 0x51
ESME_RINVSYSTYP = 0x53
ESME_RINVREPFLAG = 0x54
ESME_RINVNUMMSGS = 0x55
ESME_RTHROTTLED = 0x58
ESME_RINVSCHED = 0x61
ESME_RINVEXPIRY = 0x62
ESME_RINVDFTMSGID = 0x63
ESME_RX_T_APPN = 0x64
ESME_RX_P_APPN = 0x65
ESME_RX_R_APPN = 0x66
ESME_RQUERYFAIL = 0x67
ESME_RINVOPTPARSTREAM = 0xC0
ESME_ROPTPARNOTALLWD = 0xC1
ESME_RINVPARLEN = 0xC2
ESME_RMISSINGOPTPARAM = 0xC3
ESME_RINVOPTPARAMVAL = 0xC4
ESME_RDELIVERYFAILURE = 0xFE
ESME_RUNKNOWNERR = 0xFF

STATUS_NAMES = {value: name for name, value in list(globals().items()) if name.startswith("ESME_R")}

# Statuses that say the message itself is unacceptable: sending it again cannot succeed.
PERMANENT_STATUSES = frozenset({
    ESME_RINVMSGLEN, ESME_RINVREGDLVFLG, ESME_RINVSRCADR, ESME_RINVDSTADR, ESME_RINVSERTYP,
    ESME_RINVESMCLASS, ESME_RINVSRCTON, ESME_RINVSRCNPI, ESME_RINVDSTTON, ESME_RINVDSTNPI,
    ESME_RINVSCHED, ESME_RINVEXPIRY, ESME_RINVDFTMSGID, ESME_RX_P_APPN, ESME_RX_R_APPN,
    ESME_RINVOPTPARSTREAM, ESME_ROPTPARNOTALLWD, ESME_RINVPARLEN, ESME_RMISSINGOPTPARAM,
    ESME_RINVOPTPARAMVAL, ESME_RINVPRTFLG,
})  # fmt: skip
# The SMSC refused for now; the same PDU may be sent again after a pause.
THROTTLE_STATUSES = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


# --- Optional parameters (TLVs) ----------------------------------------------------------------

TLV_SC_INTERFACE_VERSION = 0x0210
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F

_TLV_HEADER = struct.Struct("!HH")


class PduError(ValueError):
    """A PDU that cannot be framed or decoded; `status` is the command_status to answer with."""

    def __init__(self, message, status=ESME_RINVCMDLEN):
        super().__init__(message)
        self.status = status


def encode_tlvs(tlvs) -> bytes:
    return b"".join(_TLV_HEADER.pack(tag, len(value)) + value for tag, value in tlvs)


def decode_tlvs(data: bytes, pos: int = 0) -> tuple[tuple[int, bytes], ...]:
    out = []
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise PduError("truncated TLV header", ESME_RINVOPTPARSTREAM)
        tag, length = _TLV_HEADER.unpack_from(data, pos)
        pos += 4
        if end - pos < length:
            raise PduError(f"TLV 0x{tag:04X} longer than the PDU", ESME_RINVOPTPARSTREAM)
        out.append((tag, data[pos : pos + length]))
        pos += length
    return tuple(out)


def tlv_value(tlvs, tag: int) -> bytes | None:
    for t, value in tlvs:
        if t == tag:
            return value
    return None


# --- Framing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    sequence: int
    command_status: int = 0
    body: bytes = b""

    def encode(self) -> bytes:
        return encode_pdu(self.command_id, self.sequence, self.body, self.command_status)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


def encode_pdu(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(HEADER_SIZE + len(body), command_id, status, sequence) + body


def read_pdus(buffer: bytearray) -> list[Pdu]:
    """Takes every complete PDU off the front of `buffer`, leaving a partial one in place."""
    pdus = []
    pos = 0
    available = len(buffer)
    while available - pos >= HEADER_SIZE:
        length, command_id, status, sequence = HEADER.unpack_from(buffer, pos)
        if length < HEADER_SIZE or length > MAX_PDU_SIZE:
            raise PduError(f"command_length {length} out of range")
        if available - pos < length:
            break
        pdus.append(Pdu(command_id, sequence, status, bytes(buffer[pos + HEADER_SIZE : pos + length])))
        pos += length
    del buffer[:pos]
    return pdus


def next_sequence(sequence: int) -> int:
    """Sequence numbers run 1..0x7FFFFFFF and wrap back to 1 (SMPP 3.4 section 3.2)."""
    return 1 if sequence >= 0x7FFFFFFF else sequence + 1


# --- Field helpers -----------------------------------------------------------------------------


def cstring(value: str | bytes) -> bytes:
    if isinstance(value, str):
        value = value.encode("latin-1")
    return value + b"\0"


def read_cstring(body: bytes, pos: int) -> tuple[str, int]:
    try:
        end = body.index(0, pos)
    except ValueError:
        raise PduError("C-Octet String without its NUL", ESME_RINVMSGLEN) from None
    return body[pos:end].decode("latin-1"), end + 1


# --- Bodies ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bind:
    """bind_transmitter / bind_receiver / bind_transceiver body."""

    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def encode(self) -> bytes:
        return (cstring(self.system_id) + cstring(self.password) + cstring(self.system_type)
                + bytes((self.interface_version, self.addr_ton, self.addr_npi))
                + cstring(self.address_range))  # fmt: skip

    @classmethod
    def decode(cls, body: bytes) -> "Bind":
        system_id, pos = read_cstring(body, 0)
        password, pos = read_cstring(body, pos)
        system_type, pos = read_cstring(body, pos)
        if len(body) < pos + 3:
            raise PduError("bind body truncated", ESME_RINVMSGLEN)
        version, ton, npi = body[pos : pos + 3]
        address_range, _ = read_cstring(body, pos + 3)
        return cls(system_id, password, system_type, version, ton, npi, address_range)


@dataclass(frozen=True, slots=True)
class BindResp:
    system_id: str
    interface_version: int | None = 0x34  # sent as the sc_interface_version TLV

    def encode(self) -> bytes:
        tlvs = () if self.interface_version is None else ((TLV_SC_INTERFACE_VERSION, bytes((self.interface_version,))),)
        return cstring(self.system_id) + encode_tlvs(tlvs)

    @classmethod
    def decode(cls, body: bytes) -> "BindResp":
        if not body:  # an error response may omit the body
            return cls("", None)
        system_id, pos = read_cstring(body, 0)
        version = tlv_value(decode_tlvs(body, pos), TLV_SC_INTERFACE_VERSION)
        return cls(system_id, version[0] if version else None)


@dataclass(frozen=True, slots=True)
class MessageIdResp:
    """submit_sm_resp / deliver_sm_resp body (deliver_sm_resp's message_id is always empty)."""

    message_id: str = ""

    def encode(self) -> bytes:
        return cstring(self.message_id)

    @classmethod
    def decode(cls, body: bytes) -> "MessageIdResp":
        if not body:
            return cls("")
        return cls(read_cstring(body, 0)[0])


# Not frozen, like the other per-message classes (SubmitRequest, SubmitResult, EncodedText, Receipt):
# a frozen dataclass sets each field through object.__setattr__, 2.1 us of this one's 6.7 us decode
# (0.35 us unfrozen), and the gateway builds one per receipt.
@dataclass(slots=True)
class ShortMessage:
    """submit_sm and deliver_sm share this body layout."""

    source_addr: str = ""
    destination_addr: str = ""
    short_message: bytes = b""
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: tuple[tuple[int, bytes], ...] = field(default=())

    def encode(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message longer than 254 octets; use message_payload", ESME_RINVMSGLEN)
        return b"".join((
            cstring(self.service_type),
            bytes((self.source_addr_ton, self.source_addr_npi)), cstring(self.source_addr),
            bytes((self.dest_addr_ton, self.dest_addr_npi)), cstring(self.destination_addr),
            bytes((self.esm_class, self.protocol_id, self.priority_flag)),
            cstring(self.schedule_delivery_time), cstring(self.validity_period),
            bytes((self.registered_delivery, self.replace_if_present_flag, self.data_coding,
                   self.sm_default_msg_id, len(self.short_message))),
            self.short_message,
            encode_tlvs(self.tlvs),
        ))  # fmt: skip

    @classmethod
    def decode(cls, body: bytes) -> "ShortMessage":
        service_type, pos = read_cstring(body, 0)
        if len(body) < pos + 2:
            raise PduError("short message body truncated", ESME_RINVMSGLEN)
        src_ton, src_npi = body[pos], body[pos + 1]
        source, pos = read_cstring(body, pos + 2)
        if len(body) < pos + 2:
            raise PduError("short message body truncated", ESME_RINVMSGLEN)
        dst_ton, dst_npi = body[pos], body[pos + 1]
        destination, pos = read_cstring(body, pos + 2)
        if len(body) < pos + 3:
            raise PduError("short message body truncated", ESME_RINVMSGLEN)
        esm_class, protocol_id, priority = body[pos : pos + 3]
        schedule, pos = read_cstring(body, pos + 3)
        validity, pos = read_cstring(body, pos)
        if len(body) < pos + 5:
            raise PduError("short message body truncated", ESME_RINVMSGLEN)
        registered, replace, coding, default_id, sm_length = body[pos : pos + 5]
        pos += 5
        if len(body) < pos + sm_length:
            raise PduError("sm_length beyond the PDU", ESME_RINVMSGLEN)
        message = body[pos : pos + sm_length]
        tlvs = decode_tlvs(body, pos + sm_length)
        return cls(source, destination, message, service_type, src_ton, src_npi, dst_ton, dst_npi,
                   esm_class, protocol_id, priority, schedule, validity, registered, replace, coding,
                   default_id, tlvs)  # fmt: skip

    @property
    def payload(self) -> bytes:
        """The message octets: short_message, or the message_payload TLV when that is used instead."""
        if self.short_message:
            return self.short_message
        return tlv_value(self.tlvs, TLV_MESSAGE_PAYLOAD) or b""


def submit_sm_body(
    source: str,
    source_ton: int,
    source_npi: int,
    destination: str,
    esm_class: int,
    registered_delivery: int,
    data_coding: int,
    short_message: bytes,
) -> bytes:
    """The submit_sm body this client sends, built without the dataclass (hot path)."""
    return b"".join((
        b"\0", bytes((source_ton, source_npi)), source.encode("latin-1"), b"\0\1\1",
        destination.encode("latin-1"), b"\0", bytes((esm_class, 0, 0)), b"\0\0",
        bytes((registered_delivery, 0, data_coding, 0, len(short_message))), short_message,
    ))  # fmt: skip
