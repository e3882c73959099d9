"""The API's request-level answers: the reference's codes (cloud-sms-spec.md 1.5) with the HTTP
status each gets here. Descriptions say what is wrong without saying more than the caller knows."""

from django.http import JsonResponse

# code -> (HTTP status, description)
CODES = {
    "E000000": (400, "System error: the request could not be parsed."),
    "E000001": (401, "The Authorization header is missing."),
    "E000002": (401, "The Authorization header has no realm."),
    "E000003": (401, "The Authorization header has no profile."),
    "E000004": (401, "The realm must be SDP."),
    "E000005": (401, "The profile must be UsernameToken."),
    "E000006": (401, "The type must be Appkey."),
    "E000007": (401, "The Authorization header has no type."),
    "E000008": (401, "The Authorization header is neither WSSE nor SDK-HMAC-SHA256."),
    "E000020": (401, "The X-WSSE header is missing."),
    "E000021": (401, "The X-WSSE header has no Username."),
    "E000022": (401, "The X-WSSE header has no Nonce."),
    "E000023": (401, "The X-WSSE header has no Created."),
    "E000045": (401, "The SDK-HMAC-SHA256 signature check failed."),
    "E000101": (401, "Authentication failed: check Authorization and X-WSSE."),
    "E000102": (401, "Invalid app_key."),
    "E000103": (403, "The application of this app_key is not launched."),
    "E000106": (403, "This address may not call the API for this application."),
    "E000109": (403, "The account has not been activated for the SMS service."),
    "E000110": (401, "The request time is outside the allowed clock skew."),
    "E000111": (401, "Unknown user."),
    "E000112": (403, "The account is frozen."),
    # Our own addition: the reference names no code for too many requests of one application.
    "E000429": (429, "Too many requests for this application; slow down."),
    "E000503": (400, "Parameter format error."),
}
REPLAYED = "This request was already received: a nonce (or an AK/SK signature) is accepted once."


class ApiError(Exception):
    def __init__(self, code, description=None):
        status, default = CODES.get(code, (400, "Request refused."))
        super().__init__(f"{code} {description or default}")
        self.code = code
        self.status = status
        self.description = description or default

    def response(self):
        return JsonResponse({"code": self.code, "description": self.description}, status=self.status)
