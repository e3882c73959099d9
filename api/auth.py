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
from api import route_cache
from api.errors import REPLAYED, ApiError
from campaigns.redis_client import get_redis, key
from sms import signing
from smsconsole.models import Application
from smsconsole.net import address_allowed, request_ip


def received_headers(request):
    return {name.lower(): value for name, value in request.headers.items()}


def query_pairs(request):
    return [(name, value) for name in request.GET for value in request.GET.getlist(name)]


def _nonce_key(kind, app_key, value):
    return key("api", kind, app_key, hashlib.sha256(value.encode()).hexdigest()[:32])


def remember_once(kind, app_key, value, seconds):
    """True the first time (app_key, value) is seen within `seconds`; False for a replay."""
    return bool(get_redis().set(_nonce_key(kind, app_key, value), 1, nx=True, ex=seconds))


def _round_trip(kind, app_key, value, application):
    """One Redis round trip for what every accepted request asks Redis: the route cache's
    generation (api.route_cache), whether its nonce (or AK/SK signature) is new, and its count in
    the application's request-rate window (a fixed second, shared by every web process).
    Returns (generation, first time seen, count in the window or 0 without a limit)."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.get(route_cache.generation_key())
    # A valid request seen before is a replay: its nonce (or signature) is remembered for as
    # long as its time could still be accepted.
    pipe.set(_nonce_key(kind, app_key, value), 1, nx=True, ex=2 * settings.SMS_API_CLOCK_SKEW_SECONDS)
    limit = settings.SMS_API_REQUESTS_PER_SECOND
    if limit:
        window = key("api", "rate", application.pk, int(timezone.now().timestamp()))
        pipe.incr(window)
        pipe.expire(window, 2)
    generation, first_time, *counted = pipe.execute()
    return generation, bool(first_time), counted[0] if counted else 0


def _load_application(app_key):
    return Application.objects.select_related("account__service_application").filter(app_key=app_key).first()


def _checked_application(request, app_key, verify):
    """The application of `app_key` (through the route cache) if the request is its and it may
    send from here now; else ApiError with the reference's code."""
    application = route_cache.get(("application", app_key), lambda: _load_application(app_key))
    if application is None:
        raise ApiError("E000102")
    # Decrypting the secret was a tenth of a one-number request's CPU: kept by its ciphertext.
    secret = route_cache.get(("secret", application.app_secret_encrypted), lambda: application.app_secret)
    try:
        verify(secret)
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
    return application


def authenticate_application(request):
    """The calling application, or ApiError with the reference's code."""
    authorization = request.headers.get("Authorization", "")
    now = timezone.now()
    skew = signing.max_skew(settings.SMS_API_CLOCK_SKEW_SECONDS)
    try:
        if authorization.strip().startswith(signing.AKSK_ALGORITHM):
            credentials = signing.parse_aksk(authorization)
            app_key, kind, value = credentials.app_key, "signature", credentials.signature

            def verify(secret):
                credentials.verify(
                    secret,
                    request.method,
                    request.path,
                    query_pairs(request),
                    received_headers(request),
                    request.body,
                    now,
                    skew,
                )
        else:
            token = signing.parse_wsse(authorization, request.headers.get("X-WSSE", ""))
            app_key, kind, value = token.app_key, "nonce", token.nonce

            def verify(secret):
                token.verify(secret, now, skew)
    except signing.SigningError as error:
        raise ApiError(error.code) from None
    cache_key = ("application", app_key)
    cached = route_cache.is_cached(cache_key)
    try:
        application = _checked_application(request, app_key, verify)
    except ApiError:
        if not cached:
            raise
        # Refused on cached rows: refused only if the fresh rows refuse it too.
        route_cache.forget(cache_key)
        application, cached = _checked_application(request, app_key, verify), False
    generation, first_time, count = _round_trip(kind, app_key, value, application)
    if route_cache.observe(generation) and cached:
        # The rows changed since they were cached (observe has dropped them): check again.
        application = _checked_application(request, app_key, verify)
    if not first_time:
        # The reference has no code of its own for a replay: it is a failed authentication.
        raise ApiError("E000101", REPLAYED)
    if settings.SMS_API_REQUESTS_PER_SECOND and count > settings.SMS_API_REQUESTS_PER_SECOND:
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
