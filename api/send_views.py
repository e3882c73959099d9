"""The send calls of the reference (cloud-sms-spec.md 1.2-1.5), mounted by api.wire under /sms/:
batchSendSms (form-encoded) and batchSendDiffSms (JSON), signed with an application's app key and
secret (api.auth), checked by api.send_requests and accepted by api.sending.

The bodies are read by api.send_requests, not by django-ninja's validation: a field missing or
malformed is the reference's E000503 (HTTP 400), never a framework's 422. Their shapes are given to
the OpenAPI description as written here.
"""

from django.http import JsonResponse
from ninja import Field, Router, Schema

from api import send_requests, sending
from api.auth import ApplicationSignature

router = Router(tags=["send"], auth=ApplicationSignature())


class SmsId(Schema):
    smsMsgId: str = Field(description="The message's id, as its status report names it; empty when not sent.")
    from_: str = Field(alias="from", description="The channel number it is sent from.")
    originTo: str = Field(description="The number as the request gave it.")
    status: str = Field(
        description="000000, or why this number is not sent (E200027, E200028, E200029, E200030, E200031, E200041)."
    )
    createTime: str = Field(description="When it was received, UTC yyyy-MM-dd'T'HH:mm:ss'Z'.")
    countryId: str = Field(description="The recipient's country calling code.")
    total: int = Field(description="Billing segments of the text.")


class SendOut(Schema):
    code: str
    description: str
    result: list[SmsId]


class SendErrorOut(Schema):
    code: str = Field(description="The reference's request-level code (E000xxx).")
    description: str


ERRORS = {400: SendErrorOut, 401: SendErrorOut, 403: SendErrorOut, 429: SendErrorOut}

_COMMON = {
    "from": {"type": "string", "maxLength": 21, "description": "The signature's channel number."},
    "statusCallback": {"type": "string", "description": "Where each message's status report is pushed."},
    "extend": {"type": "string", "maxLength": 128, "description": "Echoed in the status reports; no { or }."},
}
BATCH_SEND_SMS_BODY = {
    "type": "object",
    "required": ["from", "to", "templateId"],
    "properties": {
        **_COMMON,
        "to": {"type": "string", "description": "Up to 500 numbers, comma-separated (digits and + only)."},
        "templateId": {"type": "string", "maxLength": 32},
        "templateParas": {"type": "string", "description": 'The values as a JSON array, e.g. ["369751"].'},
        "signature": {"type": "string", "description": "The signature's name, for a universal template."},
    },
}
BATCH_SEND_DIFF_SMS_BODY = {
    "type": "object",
    "required": ["from", "smsContent"],
    "properties": {
        **_COMMON,
        "smsContent": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["to", "templateId"],
                "properties": {
                    "to": {"type": "array", "maxItems": 500, "items": {"type": "string", "maxLength": 21}},
                    "templateId": {"type": "string", "maxLength": 32},
                    "templateParas": {"type": "array", "items": {"type": "string"}},
                    "signature": {"type": "string"},
                },
            },
        },
    },
}
AUTH = (
    'Signed with the application\'s app key and secret: `Authorization: WSSE realm="SDP",profile="UsernameToken",'
    'type="Appkey"` with an `X-WSSE` header, or `SDK-HMAC-SHA256` with `X-Sdk-Date`.'
)


def _body(content_type, schema):
    return {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}


def _send(request, parse):
    return JsonResponse(sending.accept(parse(request.auth)))


@router.post(
    "/batchSendSms/v1",
    response={200: SendOut, **ERRORS},
    summary="Send one template to up to 500 numbers",
    description=AUTH,
    openapi_extra=_body("application/x-www-form-urlencoded", BATCH_SEND_SMS_BODY),
    operation_id="batch_send_sms",
    by_alias=True,
)
def batch_send_sms(request):
    return _send(request, lambda application: send_requests.parse_batch_send_sms(application, request.POST))


@router.post(
    "/batchSendDiffSms/v1",
    response={200: SendOut, **ERRORS},
    summary="Send several templates, each to its numbers with its values",
    description=AUTH,
    openapi_extra=_body("application/json", BATCH_SEND_DIFF_SMS_BODY),
    operation_id="batch_send_diff_sms",
    by_alias=True,
)
def batch_send_diff_sms(request):
    return _send(request, lambda application: send_requests.parse_batch_send_diff_sms(application, request.body))
