"""Who calls the API: an application, by X-WSSE or AK/SK (sms.signing), checked against its
encrypted secret, its status, its IP allow-list and its request rate; and a nonce or signature
is accepted once.

The verification itself is sms.signing's; this module adds what needs the database and Redis.
"""

import hashlib

from django.conf import settings
from django.utils import timezone
from ninja.security import APIKeyHeader

from accounts.models import is_activated
from api.errors import REPLAYED, ApiError
from campaigns.redis_client import get_redis, key
from sms import signing
from smsconsole.models import Application
from smsconsole.net import address_allowed, request_ip


def received_headers(request):
    return {name.lower(): value for name, value in request.headers.items()}


def query_pairs(request):
    return [(name, value) for name in request.GET for value in request.GET.getlist(name)]


def remember_once(kind, app_key, value, seconds):
    """True the first time (app_key, value) is seen within `seconds`; False for a replay."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return bool(get_redis().set(key("api", kind, app_key, digest), 1, nx=True, ex=seconds))


def _within_rate(application):
    """A fixed one-second window per application, shared by every web process through Redis."""
    limit = settings.SMS_API_REQUESTS_PER_SECOND
    if not limit:
        return True
    window = key("api", "rate", application.pk, int(timezone.now().timestamp()))
    pipe = get_redis().pipeline()
    pipe.incr(window)
    pipe.expire(window, 2)
    count, _ = pipe.execute()
    return count <= limit


def _application(app_key):
    application = Application.objects.select_related("account__service_application").filter(app_key=app_key).first()
    if application is None:
        raise ApiError("E000102")
    return application


def authenticate_application(request):
    """The calling application, or ApiError with the reference's code."""
    authorization = request.headers.get("Authorization", "")
    now = timezone.now()
    skew = signing.max_skew(settings.SMS_API_CLOCK_SKEW_SECONDS)
    try:
        if authorization.strip().startswith(signing.AKSK_ALGORITHM):
            credentials = signing.parse_aksk(authorization)
            application = _application(credentials.app_key)
            credentials.verify(
                application.app_secret,
                request.method,
                request.path,
                query_pairs(request),
                received_headers(request),
                request.body,
                now,
                skew,
            )
            kind, value = "signature", credentials.signature
        else:
            token = signing.parse_wsse(authorization, request.headers.get("X-WSSE", ""))
            application = _application(token.app_key)
            token.verify(application.app_secret, now, skew)
            kind, value = "nonce", token.nonce
    except signing.SigningError as error:
        raise ApiError(error.code) from None
    if application.status != Application.Status.LAUNCHED:
        raise ApiError("E000103")
    if not is_activated(application.account):
        raise ApiError("E000109")
    if application.account.is_frozen:
        # In arrears past the grace period: the reference's "user frozen".
        raise ApiError("E000112")
    if not address_allowed(request_ip(request), application.ip_allowlist):
        raise ApiError("E000106")
    # A valid request seen before is a replay: its nonce (or AK/SK signature) is remembered for as
    # long as its time could still be accepted.
    if not remember_once(kind, application.app_key, value, 2 * settings.SMS_API_CLOCK_SKEW_SECONDS):
        # The reference has no code of its own for a replay: it is a failed authentication.
        raise ApiError("E000101", REPLAYED)
    if not _within_rate(application):
        raise ApiError("E000429")
    return application


class ApplicationSignature(APIKeyHeader):
    """The send operations' authentication, as django-ninja runs it (before the body is read), and
    their security scheme in the OpenAPI description. The handlers read request.auth."""

    param_name = "Authorization"
    openapi_description = (
        "Signed with an application's app key and secret, either way the reference describes: X-WSSE "
        '(`Authorization: WSSE realm="SDP",profile="UsernameToken",type="Appkey"` and an `X-WSSE: UsernameToken '
        'Username="<app key>",PasswordDigest="...",Nonce="...",Created="..."` header), or SDK-HMAC-SHA256 as the '
        "official send SDK (huaweicloudsdksmsapi) signs (`Authorization: SDK-HMAC-SHA256 Access=<app key>, "
        "SignedHeaders=..., Signature=...` and a signed `X-Sdk-Date`)."
    )

    def authenticate(self, request, key):
        return authenticate_application(request)
