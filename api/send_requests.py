"""The send calls' requests, parsed and checked as the reference describes (cloud-sms-spec.md 1.2-1.5):
what fails the whole request (ApiError E000503), and what fails one number only (its status).

batchSendSms is one template to up to 500 numbers (a form body); batchSendDiffSms is several
(template, numbers, values) items in one JSON body. Both become SendItems of one application,
sent from the channel number in `from`; accepting them is the sender's business (api.sending).
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from api import route_cache
from api.errors import ApiError
from campaigns.numbers import normalise_number
from sms import text
from smsconsole.tenancy import parse_id
from templates_app import rules
from templates_app.models import Signature, Template

MAX_NUMBERS = 500
MAX_NUMBER_LENGTH = 21
MAX_DIFF_BODY = 64 * 1024
OK = "000000"
# Per-number statuses (result[].status).
TEMPLATE_VARIABLES_WRONG = "E200028"
TEMPLATE_TYPE_WRONG = "E200029"
TEMPLATE_NOT_ACTIVE = "E200030"
NUMBER_INVALID = "E200031"  # the reference's "protocol check failed": the number cannot be addressed
DUPLICATE = "E200041"
# The reference's "gateway match failed": the provider connection cannot carry the template (api.sending).
GATEWAY_MATCH_FAILED = "E200027"

_TO = re.compile(r"[0-9+,]*")


@dataclass
class Recipient:
    origin: str  # as submitted
    phone: str | None  # E.164 when valid
    status: str = OK


@dataclass
class SendItem:
    template: Template | None
    signature: Signature | None
    values: list
    recipients: list = field(default_factory=list)
    text: str = ""  # the signed, rendered message, when the item can be sent
    segments: int = 0


@dataclass
class SendRequest:
    application: object
    channel: str
    items: list
    status_callback: str = ""
    extend: str = ""

    def recipients(self):
        return [recipient for item in self.items for recipient in item.recipients]


def _fail(detail):
    raise ApiError("E000503", f"Parameter format error: {detail}")


def _channel_signatures(application, channel):
    signatures = (
        route_cache.get(
            ("signatures", application.pk, channel),
            lambda: list(Signature.objects.sendable().filter(application=application, channel_number=channel)),
        )
        if channel
        else []
    )
    if not signatures:
        _fail("`from` is not the channel number of a signature of this application that may send.")
    return signatures


def _callback_and_extend(status_callback, extend):
    if status_callback:
        parsed = urlparse(status_callback)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(status_callback) > 2000:
            _fail("`statusCallback` must be an http(s) URL.")
    if extend is not None and extend != "":
        if len(extend) > 128 or "{" in extend or "}" in extend:
            _fail("`extend` is 1 to 128 characters without { or }.")
    return status_callback or "", extend or ""


def _numbers(raw_numbers, region):
    """Recipients of one item; the caller has checked the characters and the count."""
    recipients = []
    for origin in raw_numbers:
        if not origin or len(origin) > MAX_NUMBER_LENGTH:
            recipients.append(Recipient(origin, None, NUMBER_INVALID))
            continue
        phone, error = normalise_number(origin, region)
        recipients.append(Recipient(origin, phone, NUMBER_INVALID if error else OK))
    return recipients


def _item(application, signatures, template_id, values, raw_numbers, signature_name=None):
    if not template_id or len(str(template_id)) > 32:
        _fail("`templateId` is required (1 to 32 characters).")
    pk = parse_id(str(template_id))
    template = (
        route_cache.get(("template", application.pk, pk), lambda: _template(application, pk))
        if pk is not None
        else None
    )
    if template is None:
        _fail("`templateId` names no template of this application.")
    if not isinstance(values, list) or not all(isinstance(v, (str, int, float)) for v in values):
        _fail("`templateParas` must be a JSON array of strings.")
    values = [str(v) for v in values]
    item = SendItem(template, None, values, _numbers(raw_numbers, application.default_region))
    status = _item_status(item, signatures, signature_name)
    for recipient in item.recipients:
        if recipient.status == OK and status != OK:
            recipient.status = status
    if status == OK:
        pieces = text.split(template.content, item.signature.name)
        item.text = text.render(pieces, values)
        item.segments = text.count_segments(item.text).segments
    return item


def _template(application, pk):
    """The template with its variables in position order (shared by requests: never changed here)."""
    template = Template.objects.filter(application=application, pk=pk).select_related("signature").first()
    if template is not None:
        template.sorted_variables = sorted(template.variables.all(), key=lambda v: v.position)
        template.found_variables = text.find_variables(template.content)
    return template


def _item_status(item, signatures, signature_name):
    """OK, or the status every number of the item gets (the template cannot be sent as asked)."""
    template = item.template
    if template.status != Template.Status.ACTIVE:
        return TEMPLATE_NOT_ACTIVE
    if template.universal:
        # A universal template takes the named signature, which must send from this channel.
        item.signature = next((s for s in signatures if s.name == signature_name and s.type == template.type), None)
        if item.signature is None:
            return TEMPLATE_TYPE_WRONG
    else:
        item.signature = next((s for s in signatures if s.pk == template.signature_id), None)
        if item.signature is None:
            return TEMPLATE_TYPE_WRONG
    if item.signature.type != template.type:
        return TEMPLATE_TYPE_WRONG
    if len(item.values) != len(template.found_variables) or rules.unknown_attributes(
        v.attribute for v in template.sorted_variables
    ):
        return TEMPLATE_VARIABLES_WRONG
    for variable, value in zip(template.sorted_variables, item.values):
        if rules.validate_variable_value(variable.attribute, value, variable.max_length):
            return TEMPLATE_VARIABLES_WRONG
    return OK


def _mark_duplicates(items):
    """The same content to the same number twice in one request: the first is sent (E200041)."""
    seen = set()
    for item in items:
        for recipient in item.recipients:
            if recipient.status != OK:
                continue
            key = (recipient.phone, item.text)
            if key in seen:
                recipient.status = DUPLICATE
            seen.add(key)


def parse_batch_send_sms(application, post):
    """A batchSendSms form body (QueryDict) as a SendRequest, or ApiError E000503."""
    raw_to = post.get("to", "")
    if not raw_to:
        _fail("`to` is required.")
    if not _TO.fullmatch(raw_to):
        _fail("`to` may hold only digits, + and commas.")
    numbers = raw_to.split(",")
    if len(numbers) > MAX_NUMBERS:
        _fail(f"at most {MAX_NUMBERS} numbers a request.")
    raw_values = post.get("templateParas", "")
    try:
        values = json.loads(raw_values) if raw_values else []
    except ValueError:
        raise ApiError("E000000", "System error: `templateParas` is not a JSON array.") from None
    status_callback, extend = _callback_and_extend(post.get("statusCallback", ""), post.get("extend", ""))
    channel = post.get("from", "")
    signatures = _channel_signatures(application, channel)
    item = _item(application, signatures, post.get("templateId", ""), values, numbers, post.get("signature"))
    _mark_duplicates([item])
    return SendRequest(application, channel, [item], status_callback, extend)


def parse_batch_send_diff_sms(application, body):
    """A batchSendDiffSms JSON body (bytes) as a SendRequest, or ApiError."""
    if len(body) > MAX_DIFF_BODY:
        _fail("the body is larger than 64 KB.")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ApiError("E000000", "System error: the body is not JSON.") from None
    if not isinstance(data, dict):
        _fail("the body must be a JSON object.")
    contents = data.get("smsContent")
    if not isinstance(contents, list) or not contents:
        _fail("`smsContent` must be a non-empty array.")
    status_callback, extend = _callback_and_extend(data.get("statusCallback", ""), data.get("extend", ""))
    channel = data.get("from", "")
    signatures = _channel_signatures(application, channel if isinstance(channel, str) else "")
    items = []
    for content in contents:
        if not isinstance(content, dict):
            _fail("each `smsContent` entry must be an object.")
        to = content.get("to")
        if (
            not isinstance(to, list)
            or not to
            or not all(isinstance(n, str) and _TO.fullmatch(n) and "," not in n for n in to)
        ):
            _fail("`to` must be an array of numbers of digits and +.")
        if len(to) > MAX_NUMBERS:
            _fail(f"at most {MAX_NUMBERS} numbers an entry.")
        items.append(
            _item(
                application,
                signatures,
                content.get("templateId", ""),
                content.get("templateParas", []),
                to,
                content.get("signature"),
            )
        )
    _mark_duplicates(items)
    return SendRequest(application, channel, items, status_callback, extend)
