"""Who calls the management API: an account, by one of its access keys, signed SDK-HMAC-SHA256
the way the official management SDK signs (sms.signing), for the project (= account) in the path."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.security import APIKeyHeader

from api.auth import query_pairs, received_headers, remember_once
from api.models import AccessKey
from sms import signing

# How stale last_used_at may get: writing it on every call would make every read a write.
LAST_USED_PRECISION = timedelta(minutes=1)


class ManagementError(Exception):
    """An answer in the management API's shape: {"error_code": ..., "error_msg": ...}."""

    def __init__(self, status, code, message):
        super().__init__(f"{code} {message}")
        self.status, self.code, self.message = status, code, message


def authenticate_account(request, project_id):
    """The active access key (with its account) that signed the request for this project, or ManagementError."""
    try:
        credentials = signing.parse_aksk(request.headers.get("Authorization", ""))
    except signing.SigningError as error:
        raise ManagementError(401, "APIGW.0301", f"Incorrect IAM authentication information: {error.detail}") from None
    key = (
        AccessKey.objects.select_related("account")
        .filter(access_key=credentials.app_key, revoked_at__isnull=True)
        .first()
    )
    if key is None:
        raise ManagementError(401, "APIGW.0301", "Incorrect IAM authentication information: unknown access key.")
    try:
        credentials.verify(
            key.secret,
            request.method,
            request.path,
            query_pairs(request),
            received_headers(request),
            request.body,
            timezone.now(),
            signing.max_skew(settings.SMS_API_CLOCK_SKEW_SECONDS),
        )
    except signing.SigningError as error:
        raise ManagementError(401, "APIGW.0301", f"Incorrect IAM authentication information: {error.detail}") from None
    if str(project_id) != str(key.account_id):
        raise ManagementError(403, "APIGW.0302", "The access key does not belong to this project.")
    # A change is accepted once; reading the same thing twice in one second is no replay worth refusing.
    changes = request.method not in ("GET", "HEAD")
    if changes and not remember_once(
        "management", key.access_key, credentials.signature, 2 * settings.SMS_API_CLOCK_SKEW_SECONDS
    ):
        raise ManagementError(401, "APIGW.0301", "Incorrect IAM authentication information: replayed request.")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


class AccessKeySignature(APIKeyHeader):
    """The management operations' authentication, as django-ninja runs it: before the parameters and
    the body are read (an unsigned request is refused with 401 whatever it carries), and named in the
    OpenAPI description as the scheme of every management operation. The handlers read request.auth."""

    param_name = "Authorization"
    openapi_description = (
        "SDK-HMAC-SHA256 with an account access key, as the official management SDK (huaweicloudsdkmsgsms) "
        "signs: `Authorization: SDK-HMAC-SHA256 Access=<access key>, SignedHeaders=..., Signature=...` and a "
        "signed `X-Sdk-Date`. The project id in the path is the account's id."
    )

    def authenticate(self, request, key):
        return authenticate_account(request, request.resolver_match.kwargs.get("project_id", ""))
