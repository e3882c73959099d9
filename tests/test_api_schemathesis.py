"""schemathesis against the API as it is served (management and send calls): every operation of the
OpenAPI description the app serves is called on a live server with generated parameters and bodies, once signed
properly (so the request gets past authentication into the handler) and once as generated (no
signature, or whatever Authorization header the generator made up). No answer may be a server
error; an unsigned call must be refused as unauthenticated."""

import json
import os
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.models import create_access_key
from api.wire import api
from sms import signing
from tests.sending_helpers import create_connection, fund, sending_redis  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


class AccessKeySigner(requests.auth.AuthBase):
    """Signs the request as it will be sent (final URL, query and body bytes), as the management
    SDK does; requests calls it after the body is encoded."""

    def __init__(self, access_key, secret):
        self.access_key, self.secret = access_key, secret

    def __call__(self, prepared):
        url = urlsplit(prepared.url)
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        content_type = prepared.headers.get("Content-Type", "application/json")
        headers = signing.aksk_headers(
            self.access_key,
            self.secret,
            prepared.method,
            url.path,
            url.netloc,
            body=body,
            content_type=content_type,
            query_pairs=parse_qsl(url.query, keep_blank_values=True),
        )
        prepared.headers.update(headers)
        return prepared


# The description the app serves at /api/openapi.json (test_the_served_description_is_this_one). It is
# loaded when the module is collected: schemathesis's lazy fixture loader does not run under pytest 9.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
# Per operation and generation mode (valid data, then invalid data): bounded so that the module
# stays within a minute; SCHEMATHESIS_MAX_EXAMPLES=200 for a deeper search by hand.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))


def test_the_served_description_is_this_one(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(api.get_openapi_schema()))


@pytest.fixture
def world(live_server, factories, acme, alice, shop, sending_redis, settings):  # noqa: F811
    settings.SMS_DEFAULT_CONNECTION = "simulator"
    create_connection("simulator")
    shop.launch()
    fund(acme)
    signature = factories.create_signature(shop, name="Acme", type="notification")
    template = factories.create_template(
        shop, signature=signature, name="shipped", content="您的订单${1}已发货。", variables=[("CHARDIGIT", 20)]
    )
    key, secret = create_access_key(acme, "schemathesis", alice)
    return {
        "url": live_server.url,
        "project_id": str(acme.pk),
        "signer": AccessKeySigner(key.access_key, secret),
        # The send calls are signed with the application's key and secret, as the send SDK signs.
        "send_signer": AccessKeySigner(shop.app_key, shop.app_secret),
        "app_id": str(shop.pk),
        "sign_id": str(signature.pk),
        "qualification_id": str(signature.qualification_id),
        "template": str(template.pk),
        "signature": str(signature.pk),
        "from": signature.channel_number,
    }


def steer(case, world, existing):
    """With `existing`, the call names an object that exists and the account's own application,
    signature and qualification, so the handler gets past its lookups into validation and writes."""
    if not existing:
        return
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = world["template" if "/templates/" in case.operation.path else "signature"]
    if isinstance(case.body, dict):
        for name in ("app_id", "sign_id", "qualification_id"):
            if name in case.body:
                case.body[name] = world[name]
        # The send calls: this application's channel and template, to a number that can be sent to.
        if "from" in case.body:
            case.body["from"] = world["from"]
        if isinstance(case.body.get("to"), str):
            case.body.update(to="+8613800138000", templateId=world["template"])
        for content in case.body.get("smsContent") or []:
            if isinstance(content, dict):
                content.update(to=["+8613900139000"], templateId=world["template"])


def exercise(operation, mode, world):
    """Returns the statuses of the signed calls."""
    from schemathesis.checks import not_a_server_error

    signed_statuses = []
    signed = requests.Session()
    signed.auth = world["send_signer" if operation.path.startswith("/sms/") else "signer"]
    # Every call is for this project (another project's is only ever refused with 403).
    strategy = operation.as_strategy(generation_mode=mode, path_parameters={"project_id": world["project_id"]})

    @given(case=strategy, existing=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case, existing):
        steer(case, world, existing)
        response = case.call(base_url=world["url"], session=signed, timeout=60)
        case.validate_response(response, checks=[not_a_server_error])
        signed_statuses.append(response.status_code)
        unsigned = case.call(base_url=world["url"], timeout=60)
        case.validate_response(unsigned, checks=[not_a_server_error])
        assert unsigned.status_code == 401, (unsigned.status_code, unsigned.text[:300])

    run()
    return signed_statuses


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_operation_answers_with_a_server_error(world, mode):
    """Every operation, in one test (one database to flush at the end, which costs seconds here)."""
    from schemathesis.generation import GenerationMode

    assert {"POST /sms/batchSendSms/v1", "POST /sms/batchSendDiffSms/v1"} < {op.label for op in OPERATIONS}
    assert len(OPERATIONS) >= 15
    past_authentication = {}
    for operation in OPERATIONS:
        statuses = exercise(operation, GenerationMode(mode), world)
        past_authentication[operation.label] = sum(status != 401 for status in statuses)
    # The signer is right: signed calls reach every handler (a wrong signer would get 401s only).
    assert all(past_authentication.values()), past_authentication


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("templates", {"template_name": "a\x00b"}),
        ("templates", {"offset": str(10**20)}),
        ("signatures", {"signature_name": "\x00"}),
        ("signatures", {"offset": str(2**63)}),
    ],
)
def test_server_errors_found_by_the_search_are_answers_now(world, path, query):
    """What the search found: a NUL character in a filter (PostgreSQL text holds none) and an offset
    past PostgreSQL's bigint were server errors."""
    session = requests.Session()
    session.auth = world["signer"]
    response = session.get(f"{world['url']}/v2/{world['project_id']}/msgsms/{path}", params=query, timeout=30)
    if "offset" in query:
        assert response.status_code == 200 and response.json()["results"] == []
    else:
        assert response.status_code == 400 and response.json()["error_code"] == "MSGSMS.0001"
