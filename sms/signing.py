"""Request signatures of the cloud SMS API, both ways round. No Django import.

Two schemes, as the reference (cloud-sms-spec.md 1.2, 1.6) and the official SDKs use them:

- X-WSSE: ``Authorization: WSSE realm="SDP",profile="UsernameToken",type="Appkey"`` and
  ``X-WSSE: UsernameToken Username="<app_key>",PasswordDigest="…",Nonce="…",Created="…"``, where the
  digest is the Base64 of the *lower-case hex* SHA-256 of nonce + created + app_secret.
- AK/SK ``SDK-HMAC-SHA256``: ``Authorization: SDK-HMAC-SHA256 Access=<app_key>, SignedHeaders=…,
  Signature=…`` over a canonical request, with ``X-Sdk-Date`` (``yyyyMMddTHHmmssZ``). As the SDK
  signs it: the canonical URI ends with "/", headers are lower-cased and trimmed, and a body that is
  not JSON is sent as ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD``.

Parsing raises SigningError with the reference's request-level code, so the web layer only maps
codes to responses; verifying compares in constant time. Replay protection (single-use nonces)
needs shared state and lives with the caller.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
WSSE_CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
AKSK_ALGORITHM = "SDK-HMAC-SHA256"
AKSK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_PAIR = re.compile(r'\s*(\w+)\s*=\s*"([^"]*)"\s*')
_NONCE = re.compile(r"[0-9A-Za-z]{1,128}")


class SigningError(Exception):
    """A request whose authentication cannot be accepted; `code` is the reference's code."""

    def __init__(self, code, detail=""):
        super().__init__(f"{code} {detail}".strip())
        self.code = code
        self.detail = detail


def _quoted_pairs(text):
    """`a="1",b="2"` as a dict; keys lower-cased (the headers' spelling varies between clients)."""
    pairs = {}
    for part in text.split(","):
        match = _PAIR.fullmatch(part)
        if match:
            pairs[match.group(1).lower()] = match.group(2)
    return pairs


def _utc(moment):
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- X-WSSE ---------------------------------------------------------------------------------------


def wsse_digest(nonce, created, app_secret):
    hex_digest = hashlib.sha256((nonce + created + app_secret).encode()).hexdigest()
    return base64.b64encode(hex_digest.encode()).decode()


def wsse_headers(app_key, app_secret, now=None, nonce=None):
    """The two headers a client sends (the HTTP provider, tests, examples)."""
    created = _utc(now or datetime.now(UTC)).strftime(WSSE_CREATED_FORMAT)
    nonce = nonce or secrets.token_hex(16)
    digest = wsse_digest(nonce, created, app_secret)
    return {
        "Authorization": WSSE_AUTHORIZATION,
        "X-WSSE": f'UsernameToken Username="{app_key}",PasswordDigest="{digest}",Nonce="{nonce}",Created="{created}"',
    }


@dataclass(frozen=True)
class WsseToken:
    app_key: str
    digest: str
    nonce: str
    created: datetime
    created_text: str

    def verify(self, app_secret, now, max_skew):
        """Raises SigningError unless the digest is right and Created is within `max_skew` of now."""
        if abs(_utc(now) - self.created) > max_skew:
            raise SigningError("E000110", "Created is outside the allowed clock skew")
        expected = wsse_digest(self.nonce, self.created_text, app_secret)
        if not hmac.compare_digest(expected.encode(), self.digest.encode()):
            raise SigningError("E000101", "PasswordDigest does not match")


def parse_wsse(authorization, x_wsse):
    """The token of a WSSE request; raises SigningError naming the first thing missing or wrong."""
    if not authorization:
        raise SigningError("E000001", "no Authorization header")
    scheme, _sep, rest = authorization.strip().partition(" ")
    if scheme.upper() != "WSSE":
        raise SigningError("E000008", "Authorization is not WSSE")
    params = _quoted_pairs(rest)
    if "realm" not in params:
        raise SigningError("E000002", "no realm")
    if "profile" not in params:
        raise SigningError("E000003", "no profile")
    if params["realm"] != "SDP":
        raise SigningError("E000004", "realm is not SDP")
    if params["profile"] != "UsernameToken":
        raise SigningError("E000005", "profile is not UsernameToken")
    if "type" not in params:
        raise SigningError("E000007", "no type")
    if params["type"] != "Appkey":
        raise SigningError("E000006", "type is not Appkey")
    if not x_wsse:
        raise SigningError("E000020", "no X-WSSE header")
    scheme, _sep, rest = x_wsse.strip().partition(" ")
    token = _quoted_pairs(rest) if scheme == "UsernameToken" else {}
    if not token.get("username"):
        raise SigningError("E000021", "no Username")
    if not token.get("nonce"):
        raise SigningError("E000022", "no Nonce")
    if not token.get("created"):
        raise SigningError("E000023", "no Created")
    if not token.get("passworddigest"):
        raise SigningError("E000101", "no PasswordDigest")
    if not _NONCE.fullmatch(token["nonce"]):
        raise SigningError("E000101", "Nonce must be 1 to 128 letters and digits")
    try:
        created = datetime.strptime(token["created"], WSSE_CREATED_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SigningError("E000110", "Created is not yyyy-MM-ddTHH:mm:ssZ") from None
    return WsseToken(token["username"], token["passworddigest"], token["nonce"], created, token["created"])


# --- AK/SK (SDK-HMAC-SHA256) ------------------------------------------------------------------------


def _url_encode(text):
    return quote(text, safe="~")


def canonical_uri(path, decoded=False):
    """As the SDK makes it: the wire path (percent-encoded) decoded once, each segment quoted.
    `decoded` for a path the web server already decoded once (Django's request.path): decoding it
    again would make a path id's own "%41" (sent as %2541) an "A" and break the signature."""
    if not decoded:
        path = unquote(path)
    uri = "/".join(_url_encode(part) for part in path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs):
    """`pairs` as (name, value) in any order, repeated names allowed."""
    return "&".join(f"{_url_encode(k)}={_url_encode(v)}" for k, v in sorted((str(k), str(v)) for k, v in pairs))


def payload_hash(body, content_type, declared=None):
    """What the canonical request says of the body: the SDK leaves non-JSON bodies unsigned."""
    if declared:
        return declared
    if not body:
        return EMPTY_SHA256
    return hashlib.sha256(body).hexdigest()


def canonical_request(method, path, query_pairs, headers, signed_headers, body_hash, path_decoded=False):
    """`headers` maps lower-case names to values; `signed_headers` is the sorted list signed;
    `path` is the wire path, or (path_decoded) the path as the web server decoded it."""
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    uri = canonical_uri(path, decoded=path_decoded)
    return "\n".join([method.upper(), uri, canonical_query(query_pairs), lines, ";".join(signed_headers), body_hash])


def aksk_signature(app_secret, date_text, canonical):
    string_to_sign = "\n".join([AKSK_ALGORITHM, date_text, hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(app_secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def aksk_headers(
    app_key, app_secret, method, path, host, body=b"", content_type="application/json", query_pairs=(), now=None
):
    """The headers a client adds, signed as the SDK signs them (the HTTP provider, tests)."""
    date_text = _utc(now or datetime.now(UTC)).strftime(AKSK_DATE_FORMAT)
    headers = {"content-type": content_type, "host": host, "x-sdk-date": date_text}
    declared = None
    if not content_type.startswith(("application/json", "application/bson")):
        declared = headers["x-sdk-content-sha256"] = UNSIGNED_PAYLOAD
    signed = sorted(headers)
    canonical = canonical_request(
        method, path, query_pairs, headers, signed, payload_hash(body, content_type, declared)
    )
    signature = aksk_signature(app_secret, date_text, canonical)
    out = {name.title(): value for name, value in headers.items()}
    out["Authorization"] = f"{AKSK_ALGORITHM} Access={app_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    return out


@dataclass(frozen=True)
class AkskAuthorization:
    app_key: str
    signed_headers: tuple
    signature: str

    def verify(self, app_secret, method, path, query_pairs, headers, body, now, max_skew):
        """`path` as the web server decoded it (request.path), `headers` maps lower-case names to
        values as received. Raises SigningError."""
        date_text = headers.get("x-sdk-date", "")
        try:
            signed_at = datetime.strptime(date_text, AKSK_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise SigningError("E000045", "X-Sdk-Date is missing or not yyyyMMddTHHmmssZ") from None
        if abs(_utc(now) - signed_at) > max_skew:
            raise SigningError("E000110", "X-Sdk-Date is outside the allowed clock skew")
        if "x-sdk-date" not in self.signed_headers or "host" not in self.signed_headers:
            raise SigningError("E000045", "X-Sdk-Date and Host must be signed")
        missing = [name for name in self.signed_headers if name not in headers]
        if missing:
            raise SigningError("E000045", f"signed header {missing[0]} is not in the request")
        declared = headers.get("x-sdk-content-sha256")
        if declared and declared != UNSIGNED_PAYLOAD:
            declared = None  # a client-computed hash is recomputed, never trusted
        if declared and "x-sdk-content-sha256" not in self.signed_headers:
            raise SigningError("E000045", "an unsigned payload must say so in a signed header")
        body_hash = payload_hash(body, headers.get("content-type", ""), declared)
        canonical = canonical_request(
            method, path, query_pairs, headers, list(self.signed_headers), body_hash, path_decoded=True
        )
        expected = aksk_signature(app_secret, date_text, canonical)
        if not hmac.compare_digest(expected.encode(), self.signature.lower().encode()):
            raise SigningError("E000045", "signature does not match")


def parse_aksk(authorization):
    scheme, _sep, rest = (authorization or "").strip().partition(" ")
    if scheme != AKSK_ALGORITHM:
        raise SigningError("E000045", "Authorization is not SDK-HMAC-SHA256")
    params = {}
    for part in rest.split(","):
        name, _eq, value = part.strip().partition("=")
        params[name.strip().lower()] = value.strip()
    app_key, signed, signature = params.get("access"), params.get("signedheaders"), params.get("signature")
    if not app_key or not signed or not signature or not re.fullmatch(r"[0-9a-fA-F]{64}", signature):
        raise SigningError("E000045", "Access, SignedHeaders and Signature are required")
    names = tuple(name.strip().lower() for name in signed.split(";") if name.strip())
    return AkskAuthorization(app_key, names, signature)


def max_skew(seconds):
    return timedelta(seconds=seconds)
