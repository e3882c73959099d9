"""SMPP 3.4 PDU codec: framing, every body this project sends or receives, receipts."""

import struct

import pytest

from sms.smpp import pdu
from sms.smpp.pdu import (
    Bind,
    BindResp,
    MessageIdResp,
    Pdu,
    PduError,
    ShortMessage,
    decode_tlvs,
    encode_pdu,
    encode_tlvs,
    next_sequence,
    read_pdus,
    status_name,
    submit_sm_body,
)
from sms.smpp.receipts import is_receipt, parse_inbound, parse_receipt


def roundtrip(command_id, body, sequence=7, status=0):
    buffer = bytearray(encode_pdu(command_id, sequence, body, status))
    (decoded,) = read_pdus(buffer)
    assert buffer == b""
    assert (decoded.command_id, decoded.sequence, decoded.command_status) == (command_id, sequence, status)
    return decoded.body


@pytest.mark.parametrize("command_id", [pdu.BIND_TRANSMITTER, pdu.BIND_RECEIVER, pdu.BIND_TRANSCEIVER])
def test_bind_requests_round_trip(command_id):
    bind = Bind("smsconsole", "s3cret", "CMT", 0x34, 1, 1, "^86")
    assert Bind.decode(roundtrip(command_id, bind.encode())) == bind


def test_bind_body_is_laid_out_as_the_specification_says():
    assert Bind("ab", "pw").encode() == b"ab\0pw\0\0\x34\0\0\0"


@pytest.mark.parametrize("command_id", [pdu.BIND_TRANSMITTER_RESP, pdu.BIND_RECEIVER_RESP, pdu.BIND_TRANSCEIVER_RESP])
def test_bind_responses_round_trip_with_the_interface_version_tlv(command_id):
    resp = BindResp("SMSC", 0x34)
    body = roundtrip(command_id, resp.encode())
    assert body == b"SMSC\0\x02\x10\x00\x01\x34"
    assert BindResp.decode(body) == resp


def test_an_error_bind_response_may_have_no_body():
    assert BindResp.decode(roundtrip(pdu.BIND_TRANSCEIVER_RESP, b"", status=pdu.ESME_RINVPASWD)) == BindResp("", None)


@pytest.mark.parametrize("command_id", [pdu.SUBMIT_SM_RESP, pdu.DELIVER_SM_RESP])
def test_message_id_responses_round_trip(command_id):
    assert MessageIdResp.decode(roundtrip(command_id, MessageIdResp("1f3a").encode())).message_id == "1f3a"
    assert MessageIdResp.decode(b"").message_id == ""


@pytest.mark.parametrize("command_id", [pdu.SUBMIT_SM, pdu.DELIVER_SM])
def test_short_message_bodies_round_trip_with_tlvs(command_id):
    sm = ShortMessage(
        source_addr="10690001",
        destination_addr="8613800138000",
        short_message=b"\x05\x00\x03\x01\x02\x01hi",
        service_type="CMT",
        source_addr_ton=0,
        source_addr_npi=1,
        esm_class=0x40,
        protocol_id=0,
        priority_flag=1,
        schedule_delivery_time="",
        validity_period="000001000000000R",
        registered_delivery=1,
        data_coding=8,
        tlvs=((pdu.TLV_RECEIPTED_MESSAGE_ID, b"abc\0"), (pdu.TLV_MESSAGE_STATE, b"\x02")),
    )
    assert ShortMessage.decode(roundtrip(command_id, sm.encode())) == sm


def test_the_fast_submit_body_matches_the_dataclass_encoding():
    body = submit_sm_body("INFO", 5, 0, "8613800138000", 0x40, 1, 8, b"\x00\x41")
    assert (
        body
        == ShortMessage(
            "INFO",
            "8613800138000",
            b"\x00\x41",
            source_addr_ton=5,
            source_addr_npi=0,
            esm_class=0x40,
            registered_delivery=1,
            data_coding=8,
        ).encode()
    )


@pytest.mark.parametrize("command_id", [pdu.ENQUIRE_LINK, pdu.ENQUIRE_LINK_RESP, pdu.UNBIND, pdu.UNBIND_RESP])
def test_header_only_pdus_round_trip(command_id):
    assert roundtrip(command_id, b"") == b""


def test_generic_nack_carries_its_status():
    assert Pdu(pdu.GENERIC_NACK, 9, pdu.ESME_RINVCMDID).encode() == struct.pack("!IIII", 16, 0x80000000, 3, 9)


def test_read_pdus_keeps_a_partial_pdu_for_the_next_read():
    data = encode_pdu(pdu.ENQUIRE_LINK, 1) + encode_pdu(pdu.SUBMIT_SM_RESP, 2, b"ff\0")
    buffer = bytearray(data[:-2])
    assert [p.sequence for p in read_pdus(buffer)] == [1]
    buffer += data[-2:]
    assert [(p.sequence, p.body) for p in read_pdus(buffer)] == [(2, b"ff\0")]


def test_read_pdus_refuses_an_impossible_command_length():
    with pytest.raises(PduError):
        read_pdus(bytearray(struct.pack("!IIII", 8, 4, 0, 1)))


def test_a_string_without_its_terminator_is_an_error_not_a_crash():
    with pytest.raises(PduError):
        ShortMessage.decode(b"\0\1\1123")


def test_a_tlv_longer_than_the_pdu_is_an_error():
    with pytest.raises(PduError):
        decode_tlvs(struct.pack("!HH", 0x1E, 10) + b"abc")


def test_tlvs_round_trip():
    tlvs = ((0x0424, b"x" * 300), (0x0427, b"\x05"))
    assert decode_tlvs(encode_tlvs(tlvs)) == tlvs


def test_sequence_numbers_wrap_to_one_after_the_largest_allowed_value():
    assert next_sequence(1) == 2
    assert next_sequence(0x7FFFFFFE) == 0x7FFFFFFF
    assert next_sequence(0x7FFFFFFF) == 1


def test_statuses_have_their_specification_names():
    assert status_name(0x0B) == "ESME_RINVDSTADR"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x1234) == "0x00001234"


def receipt_sm(text, tlvs=(), data_coding=0):
    return ShortMessage("8613800138000", "10690001", text, esm_class=0x04, data_coding=data_coding, tlvs=tlvs)


def test_a_receipt_is_read_from_its_tlvs_first():
    sm = receipt_sm(
        b"id:999 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:hi",
        tlvs=((pdu.TLV_RECEIPTED_MESSAGE_ID, b" 1F3A\0"), (pdu.TLV_MESSAGE_STATE, b"\x05")),
    )
    receipt = parse_receipt(sm)
    assert is_receipt(sm)
    assert (receipt.message_id, receipt.stat, receipt.err, receipt.done_date) == (
        "1F3A",
        "UNDELIV",
        "000",
        "2601011201",
    )
    assert (receipt.source, receipt.destination) == ("8613800138000", "10690001")


def test_a_receipt_without_tlvs_is_read_from_its_text():
    receipt = parse_receipt(receipt_sm(
        b"id:0123456789 sub:001 dlvrd:000 submit date:2601011200 done date:2601011205 stat:EXPIRED err:021 text:"
    ))  # fmt: skip
    assert (receipt.message_id, receipt.stat, receipt.err, receipt.done_date) == (
        "0123456789",
        "EXPIRED",
        "021",
        "2601011205",
    )


def test_long_status_words_and_lower_case_keys_are_normalised():
    receipt = parse_receipt(receipt_sm(b"ID:ab-12 Stat:DELIVERED Err:0"))
    assert (receipt.message_id, receipt.stat, receipt.err) == ("ab-12", "DELIVRD", "0")


def test_a_receipt_without_a_status_is_unknown():
    assert parse_receipt(receipt_sm(b"id:1")).stat == "UNKNOWN"


def test_a_ucs2_receipt_is_decoded():
    receipt = parse_receipt(receipt_sm("id:42 stat:REJECTD err:5".encode("utf-16-be"), data_coding=8))
    assert (receipt.message_id, receipt.stat) == ("42", "REJECTD")


def test_a_reply_is_decoded_from_ucs2_and_from_the_payload_tlv():
    sm = ShortMessage("8613800138000", "10690001", "退订".encode("utf-16-be"), data_coding=8)
    assert not is_receipt(sm)
    assert parse_inbound(sm).text == "退订"
    long = ShortMessage("8613800138000", "10690001", b"", tlvs=((pdu.TLV_MESSAGE_PAYLOAD, b"STOP" * 80),))
    assert parse_inbound(long).text == "STOP" * 80


def test_a_concatenated_reply_loses_its_udh():
    sm = ShortMessage("8613800138000", "10690001", b"\x05\x00\x03\x09\x02\x01TD", esm_class=0x40)
    assert parse_inbound(sm).text == "TD"
