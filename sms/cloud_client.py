"""A client of the cloud SMS API's send call: batchSendSms over HTTP with X-WSSE. No Django import.

What the gateway's HTTP provider connections speak (cloud-sms-spec.md 1.2-1.7), to a cloud SMS
account or to another instance of this console. It stands where the SMPP client stands for an
SMPP connection: the gateway hands it a chunk of submits and gets one result per submit back.

- Submits that share (from, templateId, templateParas) go in one form-encoded request of at most
  MAX_NUMBERS numbers, each number once (the service sends a repeated number once and answers the
  repeat with E200041, which would leave a message without its answer).
- Results: `000000` in result[] is submitted, its smsMsgId the provider id; another per-number
  status fails that message with the code (E200015, "too many pending", only waits: it was not
  sent); a request the service refused (a `code` other than 000000: authentication, format) fails
  its messages with that code. Nothing written is ever resent: a timeout, a lost connection, a 5xx
  or an answer that cannot be read makes the result `ambiguous` (the caller marks it unknown), and
  a number missing from an accepted request's result[] too. Only a request that never left (the
  connection could not be opened) or was refused as throttled (429) is retried.
- After a connection cannot be opened the client counts as unbound (`bound_sessions` 0, why in
  `last_bind_error`) until `wait_connected` reaches the host again, so the gateway holds its
  batches instead of claiming messages it cannot send.

Status reports come back as POSTs to the statusCallback URL (one form-encoded report, 1.7) or, from
an application's batch report URL, JSON `{"statusReportList": [...]}` (1.8): `parse_status_reports`
reads both, and `report_receipts` turns them into receipts in the SMPP receipt vocabulary that the
receipt ingestion matches by provider id.
"""

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httpx

from sms.signing import wsse_headers

log = logging.getLogger(__name__)

SEND_PATH = "/sms/batchSendSms/v1"
MAX_NUMBERS = 500
OK = "000000"
# Per-number statuses that say the number was not sent and may be tried again.
NOT_SENT_STATUSES = frozenset({"E200015"})
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
NO_TEMPLATE_ERROR = "the connection has no remote templateId for the campaign's template"


@dataclass(frozen=True)
class CloudSubmit:
    """One message to one number. `template_id` is the remote service's; None when there is none."""

    ref: object
    source: str
    destination: str
    template_id: str | None
    variables: tuple = ()


@dataclass(frozen=True)
class CloudResult:
    """Shaped like the SMPP client's SubmitResult (the gateway records both alike); `command_status`
    holds the service's code ("E200028"), or "" when there is none."""

    ref: object
    ok: bool
    message_ids: tuple
    command_status: str
    error: str
    permanent: bool
    ambiguous: bool
    segments: int = 1


def submitted(ref, sms_msg_id, segments=1):
    return CloudResult(ref, True, (sms_msg_id,), "", "", False, False, segments)


def failed(ref, code, error):
    return CloudResult(ref, False, (), code, error, True, False)


def unknown(ref, error):
    return CloudResult(ref, False, (), "", error, False, True)


def retry(ref, error):
    return CloudResult(ref, False, (), "", error, False, False)


# --- requests -------------------------------------------------------------------------------------


@dataclass
class SendCall:
    """One batchSendSms request: its form fields and the submits it carries, by number."""

    fields: dict
    submits: dict  # destination → CloudSubmit


def group(submits, status_callback="", max_numbers=MAX_NUMBERS):
    """The requests for `submits` (those with a template id): one per (from, templateId,
    templateParas), split at `max_numbers` and so that no number repeats in one request."""
    groups = {}
    for submit in submits:
        key = (submit.source, submit.template_id, tuple(str(value) for value in submit.variables))
        calls = groups.setdefault(key, [])
        if not calls or len(calls[-1].submits) >= max_numbers or submit.destination in calls[-1].submits:
            calls.append(SendCall(form_fields(*key, status_callback), {}))
        calls[-1].submits[submit.destination] = submit
    out = []
    for calls in groups.values():
        for call in calls:
            call.fields["to"] = ",".join(call.submits)
            out.append(call)
    return out


def form_fields(source, template_id, variables, status_callback=""):
    fields = {"from": source, "to": "", "templateId": template_id}
    if variables:
        # A JSON array of strings; non-ASCII as is (the body is urlencoded UTF-8).
        fields["templateParas"] = json.dumps(list(variables), ensure_ascii=False)
    if status_callback:
        fields["statusCallback"] = status_callback
    return fields


# --- responses ------------------------------------------------------------------------------------


def _digits(number):
    return "".join(ch for ch in str(number) if ch.isdigit())


def map_response(call, status_code, body):
    """The results of one request answered with `status_code` and `body` (bytes or text)."""
    refs = list(call.submits.values())
    if status_code >= 500:
        return [unknown(s.ref, f"HTTP {status_code} from the provider: the request may have been taken") for s in refs]
    if status_code == 429:
        return [retry(s.ref, "HTTP 429 from the provider (throttled)") for s in refs]
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        if 200 <= status_code < 300:
            return [unknown(s.ref, f"HTTP {status_code} with an answer that cannot be read") for s in refs]
        return [failed(s.ref, f"HTTP{status_code}", f"HTTP {status_code} from the provider") for s in refs]
    code, description = data["code"], str(data.get("description") or "")[:200]
    if code != OK:
        # Refused as a whole (authentication, format, frozen account): nothing was sent.
        return [failed(s.ref, code[:32], description or code) for s in refs]
    entries = data.get("result")
    by_number, by_digits = {}, {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("originTo") is not None:
            by_number.setdefault(str(entry["originTo"]), entry)
            by_digits.setdefault(_digits(entry["originTo"]), entry)
    results = []
    for number, submit in call.submits.items():
        entry = by_number.get(number) or by_digits.get(_digits(number))
        results.append(_entry_result(submit.ref, entry))
    return results


def _entry_result(ref, entry):
    if entry is None:
        return unknown(ref, "accepted, but the answer names no result for this number")
    status = str(entry.get("status") or "")
    if status == OK:
        sms_msg_id = str(entry.get("smsMsgId") or "")
        if not sms_msg_id:
            return unknown(ref, "accepted without an smsMsgId")
        try:
            segments = max(1, int(entry.get("total") or 1))
        except (TypeError, ValueError):
            segments = 1
        return submitted(ref, sms_msg_id, segments)
    if status in NOT_SENT_STATUSES:
        return retry(ref, f"{status} from the provider (too many pending)")
    return failed(ref, status[:32] or "E000000", f"refused by the provider ({status or 'no status'})")


# --- the client -----------------------------------------------------------------------------------


class CloudClient:
    """Sends submits to one cloud account (base URL, app key, app secret), up to `window` requests
    at once. `transport` stands in for the network in unit tests (httpx.MockTransport)."""

    def __init__(self, base_url, app_key, app_secret, *, status_callback="", window=8, timeout=TIMEOUT,
                 max_numbers=MAX_NUMBERS, transport=None):  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + SEND_PATH
        self.app_key, self.app_secret = app_key, app_secret
        self.status_callback = status_callback
        self.window = max(1, window)
        self.timeout = timeout
        self.max_numbers = max(1, min(max_numbers, MAX_NUMBERS))
        self.transport = transport
        self.http = None
        self.bound_sessions = 1
        self.last_bind_error = ""
        self.stats = {"requests": 0, "request_seconds": 0.0}
        self._gate = asyncio.Semaphore(self.window)
        self._connected = asyncio.Event()
        self._connected.set()

    async def start(self):
        self.http = httpx.AsyncClient(
            timeout=self.timeout,
            transport=self.transport,
            limits=httpx.Limits(max_connections=self.window, max_keepalive_connections=self.window),
        )

    async def stop(self):
        if self.http is not None:
            await self.http.aclose()

    def _unreachable(self, error):
        self.bound_sessions = 0
        self.last_bind_error = f"cannot reach {self.base_url}: {error or type(error).__name__}"
        self._connected.clear()

    def _reached(self):
        self.bound_sessions = 1
        self.last_bind_error = ""
        self._connected.set()

    async def wait_connected(self, timeout=None):
        """Returns once the host takes a TCP connection again; TimeoutError if not within `timeout`."""
        if self._connected.is_set():
            return
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await asyncio.open_connection(parts.hostname, port)
                writer.close()
                await writer.wait_closed()
        except OSError as error:
            self.last_bind_error = f"cannot reach {self.base_url}: {error}"
            if timeout:
                await asyncio.sleep(timeout)  # the caller loops; do not spin on a refused port
            raise TimeoutError(self.last_bind_error) from None
        self._reached()

    async def submit_many(self, submits):
        """One result per submit, in their order."""
        results = {}
        routable = []
        for submit in submits:
            if submit.template_id:
                routable.append(submit)
            else:
                results[id(submit)] = failed(submit.ref, "", NO_TEMPLATE_ERROR)
        calls = group(routable, self.status_callback, self.max_numbers)
        answers = await asyncio.gather(*(self._send(call) for call in calls))
        for call, call_results in zip(calls, answers, strict=True):
            for submit, result in zip(call.submits.values(), call_results, strict=True):
                results[id(submit)] = result
        return [results[id(submit)] for submit in submits]

    async def _send(self, call):
        async with self._gate:
            started = time.monotonic()
            try:
                response = await self.http.post(
                    self.url, data=call.fields, headers=wsse_headers(self.app_key, self.app_secret)
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # The request never left: safe to send again later.
                self._unreachable(error)
                return [retry(s.ref, f"cannot reach the provider: {error}") for s in call.submits.values()]
            except httpx.HTTPError as error:
                # Written, perhaps taken, never answered: never resent.
                log.warning("%s: no answer (%r); %s messages unknown", self.url, error, len(call.submits))
                return [unknown(s.ref, f"no answer from the provider: {error!r}"[:200]) for s in call.submits.values()]
            finally:
                self.stats["requests"] += 1
                self.stats["request_seconds"] += time.monotonic() - started
            self._reached()
            return map_response(call, response.status_code, response.content)


# --- status reports -------------------------------------------------------------------------------


class ReportError(ValueError):
    """A status-report POST this console cannot read; the message says why."""


@dataclass(frozen=True)
class StatusReport:
    sms_msg_id: str
    status: str
    total: int = 1
    sequence: int = 1
    org_code: str = ""


def report_from_fields(fields):
    """One report out of its fields (a dict of strings); ReportError if it lacks what it must say."""
    if not isinstance(fields, dict):
        raise ReportError("a status report must be an object of fields")
    sms_msg_id, status = str(fields.get("smsMsgId") or "").strip(), str(fields.get("status") or "").strip()
    if not sms_msg_id or not status:
        raise ReportError("a status report needs smsMsgId and status")
    if len(sms_msg_id) > 64 or len(status) > 32:
        raise ReportError("smsMsgId or status is too long")
    try:
        total = max(1, int(fields.get("total") or 1))
        sequence = max(1, int(fields.get("sequence") or total))
    except (TypeError, ValueError):
        raise ReportError("total and sequence must be numbers") from None
    return StatusReport(sms_msg_id, status.upper(), total, sequence, str(fields.get("orgCode") or "")[:16])


def parse_status_reports(content_type, body):
    """The reports of one POST: form-encoded (one report) or JSON {"statusReportList": [...]}."""
    if (content_type or "").split(";")[0].strip().lower() == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, TypeError):
            raise ReportError("the body is not JSON") from None
        items = data.get("statusReportList") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ReportError("a JSON body needs statusReportList, a list of reports")
        return [report_from_fields(item) for item in items]
    try:
        text = body.decode() if isinstance(body, bytes) else body
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except (UnicodeDecodeError, ValueError):
        raise ReportError("the body is not a form") from None
    return [report_from_fields(fields)]


@dataclass(frozen=True)
class ReportReceipt:
    """What campaigns.receipts.ingest reads of a receipt."""

    message_id: str
    stat: str
    err: str


# The reference's carrier statuses that end a message, as SMPP receipts spell them. The platform
# pushes a report once the carrier's arrives (or fabricates EXPIRED after 72 h), so UNKNOWN is the
# carrier's last word too: the lifecycle marks the message unknown, never resent.
FINAL_CARRIER_STATUSES = frozenset({"DELIVRD", "EXPIRED", "UNDELIV", "REJECTD", "DELETED", "UNKNOWN"})
# Say nothing about how the message ended: the message waits for a later report or the expiry.
NOT_FINAL_STATUSES = frozenset({"ACCEPTD", "ENROUTE"})


def report_receipts(reports):
    """Receipts for the reports that end a message. A long message's report per segment: a
    delivered segment before the last says nothing yet, a failed one fails the message. Any other
    status (the platform's E2000xx, MILIMIT, BLACK, KEYWORD, SC:…) is a refusal: REJECTD with the
    status as its error code."""
    receipts = []
    for report in reports:
        status = report.status
        if status in NOT_FINAL_STATUSES:
            continue
        if status == "DELIVRD":
            if report.sequence < report.total:
                continue
            receipts.append(ReportReceipt(report.sms_msg_id, status, ""))
        elif status in FINAL_CARRIER_STATUSES:
            receipts.append(ReportReceipt(report.sms_msg_id, status, report.org_code))
        else:
            receipts.append(ReportReceipt(report.sms_msg_id, "REJECTD", status[:16]))
    return receipts
