"""The web process's WSGI handler: the console's full middleware stack, and a short one for the
send API under /sms/.

The send calls authenticate by X-WSSE or AK/SK (api.auth), never by a session or a cookie, and answer
JSON: sessions, CSRF, the login throttle, messages, the member's time zone, the content security
policy and frame options did nothing for them but cost a tenth of a one-number request's CPU
(docs/benchmarks.md, bench_api). Every other path, the console and the management API under /v2/
(whose messages follow Accept-Language) included, goes through settings.MIDDLEWARE unchanged.
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone, translation

SEND_API_PREFIX = "/sms/"
SEND_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smsconsole.handlers.DefaultsMiddleware",
]


class DefaultsMiddleware:
    """What the skipped middleware would have set: the default language and time zone (a console
    request served before by the same thread may have activated others)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        translation.activate(settings.LANGUAGE_CODE)
        timezone.deactivate()
        return self.get_response(request)


class _SendApiHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        # BaseHandler builds its chain from settings.MIDDLEWARE: swapped for the time it takes,
        # once, when the process starts (before it serves anything).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = SEND_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class ConsoleHandler(WSGIHandler):
    def __init__(self):
        super().__init__()
        self.send_api = _SendApiHandler()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(SEND_API_PREFIX):
            return self.send_api(environ, start_response)
        return super().__call__(environ, start_response)
