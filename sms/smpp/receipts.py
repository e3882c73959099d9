"""Delivery receipts and replies out of deliver_sm bodies."""

import re
from dataclasses import dataclass

from .encoding import DATA_CODING_UCS2, ESM_CLASS_UDHI, decode_short_message, strip_udh
from .pdu import (
    TLV_MESSAGE_STATE,
    TLV_NETWORK_ERROR_CODE,
    TLV_RECEIPTED_MESSAGE_ID,
    ShortMessage,
    tlv_value,
)

RECEIPT_ESM_MASK = 0x04  # esm_class bit 2: SMSC delivery receipt

# message_state TLV values (SMPP 3.4 section 5.2.28) as the receipt text spells them.
MESSAGE_STATES = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
    5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}  # fmt: skip
# Long forms some SMSCs write in the text.
_STAT_ALIASES = {
    "DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD", "EXPIRD": "EXPIRED",
}  # fmt: skip
# The stats that end a message. UNKNOWN is final too (SMPP 3.4 5.2.28; the cloud's pushed report is
# the carrier's last word): the outcome is not known, and the lifecycle marks the message unknown.
FINAL_STATS = frozenset({"DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN"})

_FIELD = {
    "id": re.compile(r"(?:^|\s)id:\s*(\S*)", re.I),
    "stat": re.compile(r"\bstat:\s*(\w*)", re.I),
    "err": re.compile(r"\berr:\s*(\w*)", re.I),
    "done_date": re.compile(r"\bdone\s+date:\s*(\d*)", re.I),
}


@dataclass(slots=True)  # one per receipt: not frozen (pdu.ShortMessage)
class Receipt:
    message_id: str
    stat: str
    err: str
    source: str
    destination: str
    raw: str

    @property
    def done_date(self) -> str:
        # Read from the text when asked: nothing on the receipt path needs it, and a search of every
        # receipt's text was a fifth of parse_receipt (py-spy, bench_send).
        return _text_field("done_date", self.raw)


@dataclass(frozen=True)
class Inbound:
    source: str
    destination: str
    text: str


def is_receipt(sm: ShortMessage) -> bool:
    return bool(sm.esm_class & RECEIPT_ESM_MASK)


def normalise_message_id(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip().strip("\0").strip()


def parse_receipt(sm: ShortMessage) -> Receipt:
    """TLVs first (receipted_message_id, message_state, network_error_code), then the text."""
    # Receipt text is ASCII in practice whatever data_coding says (GSM-7 decoding would turn an
    # id's "_" into "§"); only UCS-2 needs decoding.
    payload = sm.payload
    raw = (
        payload.decode("utf-16-be", errors="replace")
        if sm.data_coding == DATA_CODING_UCS2
        else payload.decode("latin-1")
    )
    # A field of the text is searched for only when the TLVs leave it open: four searches of every
    # receipt were 6 % of the gateway's CPU (py-spy, bench_send), and most SMSCs send both TLVs.
    tlv_id = tlv_value(sm.tlvs, TLV_RECEIPTED_MESSAGE_ID)
    message_id = normalise_message_id(tlv_id) if tlv_id else ""
    if not message_id:
        message_id = normalise_message_id(_text_field("id", raw))

    state = tlv_value(sm.tlvs, TLV_MESSAGE_STATE)
    if state and state[0] in MESSAGE_STATES:
        stat = MESSAGE_STATES[state[0]]
    else:
        stat = _text_field("stat", raw).upper()
        stat = _STAT_ALIASES.get(stat, stat) or "UNKNOWN"

    err = _text_field("err", raw)
    if not err:
        network_error = tlv_value(sm.tlvs, TLV_NETWORK_ERROR_CODE)
        if network_error and len(network_error) == 3:
            err = str(int.from_bytes(network_error[1:], "big"))

    return Receipt(message_id, stat, err, sm.source_addr, sm.destination_addr, raw)


def _text_field(name, raw):
    match = _FIELD[name].search(raw)
    return match.group(1) if match else ""


def parse_inbound(sm: ShortMessage) -> Inbound:
    payload = sm.payload
    if sm.esm_class & ESM_CLASS_UDHI:
        payload, _ = strip_udh(payload)
    return Inbound(sm.source_addr, sm.destination_addr, decode_short_message(payload, sm.data_coding))
