"""X-WSSE and AK/SK signatures (sms.signing): the reference's own example, every missing part with
its code, and signatures made by the official Huawei Cloud SDK's signer verified here."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from sms import signing
from sms.signing import SigningError

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
SKEW = timedelta(minutes=15)
KEY, SECRET = "c8RWg3ggEcyd4D3p94bf3Y7x1Ile", "q4Ii87BhST9vcs8wvrzN80SfD7Al"


def test_the_digest_is_the_base64_of_the_lower_case_hex_sha256():
    digest = signing.wsse_digest("ac1c911c", "2018-05-26T00:35:30Z", "secret")
    hex_digest = base64.b64decode(digest).decode()
    assert len(digest) == 88 and len(hex_digest) == 64 and hex_digest == hex_digest.lower()


def test_headers_made_here_verify_here():
    headers = signing.wsse_headers(KEY, SECRET, now=NOW)
    token = signing.parse_wsse(headers["Authorization"], headers["X-WSSE"])
    assert token.app_key == KEY
    token.verify(SECRET, NOW + timedelta(minutes=14), SKEW)


def test_a_wrong_secret_is_refused():
    headers = signing.wsse_headers(KEY, SECRET, now=NOW)
    token = signing.parse_wsse(headers["Authorization"], headers["X-WSSE"])
    with pytest.raises(SigningError) as error:
        token.verify("another-secret", NOW, SKEW)
    assert error.value.code == "E000101"


@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_a_created_time_outside_the_skew_is_refused(offset):
    headers = signing.wsse_headers(KEY, SECRET, now=NOW)
    token = signing.parse_wsse(headers["Authorization"], headers["X-WSSE"])
    with pytest.raises(SigningError) as error:
        token.verify(SECRET, NOW + offset, SKEW)
    assert error.value.code == "E000110"


# Malformed Authorization / X-WSSE headers and the code each must get (tests/test_api_send_auth.py
# sends them through the endpoint too).
MALFORMED_WSSE = [
    ("", "x", "E000001"),
    ('WSSE profile="UsernameToken",type="Appkey"', "x", "E000002"),
    ('WSSE realm="SDP",type="Appkey"', "x", "E000003"),
    ('WSSE realm="X",profile="UsernameToken",type="Appkey"', "x", "E000004"),
    ('WSSE realm="SDP",profile="Other",type="Appkey"', "x", "E000005"),
    ('WSSE realm="SDP",profile="UsernameToken",type="Other"', "x", "E000006"),
    ('WSSE realm="SDP",profile="UsernameToken"', "x", "E000007"),
    ("Basic abc", "x", "E000008"),
    (signing.WSSE_AUTHORIZATION, "", "E000020"),
    (
        signing.WSSE_AUTHORIZATION,
        'UsernameToken PasswordDigest="d",Nonce="n",Created="2026-12-01T08:00:00Z"',
        "E000021",
    ),
    (
        signing.WSSE_AUTHORIZATION,
        'UsernameToken Username="k",PasswordDigest="d",Created="2026-12-01T08:00:00Z"',
        "E000022",
    ),
    (signing.WSSE_AUTHORIZATION, 'UsernameToken Username="k",PasswordDigest="d",Nonce="n"', "E000023"),
    (
        signing.WSSE_AUTHORIZATION,
        'UsernameToken Username="k",PasswordDigest="d",Nonce="n",Created="yesterday"',
        "E000110",
    ),
    (
        signing.WSSE_AUTHORIZATION,
        'UsernameToken Username="k",PasswordDigest="d",Nonce="n-1",Created="2026-12-01T08:00:00Z"',
        "E000101",
    ),
]


@pytest.mark.parametrize(("authorization", "x_wsse", "code"), MALFORMED_WSSE)
def test_each_missing_or_wrong_part_has_its_code(authorization, x_wsse, code):
    with pytest.raises(SigningError) as error:
        signing.parse_wsse(authorization, x_wsse)
    assert error.value.code == code


def received(headers):
    return {name.lower(): value for name, value in headers.items()}


def test_aksk_headers_made_here_verify_here_for_json_and_form_bodies():
    for content_type, body in (("application/json", b'{"a": 1}'), ("application/x-www-form-urlencoded", b"to=1")):
        headers = signing.aksk_headers(
            KEY,
            SECRET,
            "POST",
            "/sms/batchSendSms/v1",
            "sms.example.com",
            body=body,
            content_type=content_type,
            now=NOW,
        )
        auth = signing.parse_aksk(headers["Authorization"])
        auth.verify(SECRET, "POST", "/sms/batchSendSms/v1", [], received(headers), body, NOW, SKEW)


def test_a_changed_json_body_breaks_the_signature():
    headers = signing.aksk_headers(KEY, SECRET, "POST", "/sms/batchSendDiffSms/v1", "h", body=b'{"to": ["1"]}', now=NOW)
    auth = signing.parse_aksk(headers["Authorization"])
    with pytest.raises(SigningError) as error:
        auth.verify(SECRET, "POST", "/sms/batchSendDiffSms/v1", [], received(headers), b'{"to": ["2"]}', NOW, SKEW)
    assert error.value.code == "E000045"


def test_an_old_sdk_date_is_refused_with_the_clock_code():
    headers = signing.aksk_headers(KEY, SECRET, "POST", "/p", "h", body=b"{}", now=NOW - timedelta(minutes=20))
    auth = signing.parse_aksk(headers["Authorization"])
    with pytest.raises(SigningError) as error:
        auth.verify(SECRET, "POST", "/p", [], received(headers), b"{}", NOW, SKEW)
    assert error.value.code == "E000110"


@pytest.mark.parametrize(
    "authorization",
    ["", "SDK-HMAC-SHA256 Access=k", "WSSE realm=x", "SDK-HMAC-SHA256 Access=k, SignedHeaders=host, Signature=zz"],
)
def test_a_malformed_aksk_authorization_is_refused(authorization):
    with pytest.raises(SigningError) as error:
        signing.parse_aksk(authorization)
    assert error.value.code == "E000045"


def sdk_signed(method, path, body, content_type, host="sms.example.com"):
    """Headers as huaweicloudsdkcore's own Signer produces them for this request."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        uri=path,
        query_params=[],
        header_params={"Content-Type": content_type, "User-Agent": "huaweicloud-usdk-python/3.0"},
        body=body,
    )
    Signer(BasicCredentials(KEY, SECRET)).sign(request)
    return {name.lower(): value for name, value in request.header_params.items()}


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json;charset=UTF-8", b'{"from": "csms1", "smsContent": []}'),
        ("application/x-www-form-urlencoded", b"from=csms1&to=%2B8613800138000&templateId=1"),
    ],
)
def test_the_official_sdk_signer_is_accepted(content_type, body):
    headers = sdk_signed("POST", "/sms/batchSendSms/v1", body, content_type)
    auth = signing.parse_aksk(headers["authorization"])
    assert auth.app_key == KEY
    signed_at = datetime.strptime(headers["x-sdk-date"], signing.AKSK_DATE_FORMAT).replace(tzinfo=UTC)
    auth.verify(SECRET, "POST", "/sms/batchSendSms/v1", [], headers, body, signed_at, SKEW)


def test_a_path_id_holding_a_percent_is_decoded_once_as_the_sdk_signs_it():
    # The SDK quotes a path id ("a%41b" goes out as a%2541b) and signs unquote-then-quote of that
    # wire path; the server gets the path decoded once (Django's request.path, "a%41b").
    wire_path = "/v2/7/msgsms/templates/a%2541b"
    headers = sdk_signed("GET", wire_path, b"", "application/json")
    signed_at = datetime.strptime(headers["x-sdk-date"], signing.AKSK_DATE_FORMAT).replace(tzinfo=UTC)
    auth = signing.parse_aksk(headers["authorization"])
    auth.verify(SECRET, "GET", "/v2/7/msgsms/templates/a%41b", [], headers, b"", signed_at, SKEW)
    with pytest.raises(SigningError):  # decoded twice it would be another path ("aAb")
        auth.verify(SECRET, "GET", "/v2/7/msgsms/templates/aAb", [], headers, b"", signed_at, SKEW)
    # Signed here for the wire path (the HTTP provider's side), the canonical URI is the SDK's.
    assert signing.canonical_uri(wire_path) == "/v2/7/msgsms/templates/a%2541b/"
    ours = {k.lower(): v for k, v in signing.aksk_headers(KEY, SECRET, "GET", wire_path, "h", now=NOW).items()}
    signing.parse_aksk(ours["authorization"]).verify(
        SECRET, "GET", "/v2/7/msgsms/templates/a%41b", [], ours, b"", NOW, SKEW
    )
