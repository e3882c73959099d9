"""Settings for smsconsole.

Everything that differs between a laptop and production comes from the environment, read through
the helpers in smsconsole.env. The defaults give the zero-setup mode of `make run`: SQLite in
var/ and an embedded Redis started by `manage.py run_all`.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from smsconsole.env import env_bool, env_dates, env_float, env_int, env_list, env_str, env_tiers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SMSCONSOLE_VAR_DIR", str(BASE_DIR / "var")))
# The SQLite file, media and the embedded Redis socket live here; a fresh clone has no var/ yet.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

# Key for encrypting application secrets at rest (Fernet, derived with HKDF in smsconsole.crypto).
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG is off")
    FIELD_ENCRYPTION_KEY = "insecure-development-encryption-key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CONSOLE_URL = env_str("CONSOLE_URL", "http://127.0.0.1:8000/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "axes",
    "smsconsole",
    "templates_app",
    "campaigns",
    "reports",
    "api",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "smsconsole.tenancy.AccountTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smsconsole.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smsconsole.tenancy.membership_context",
            ],
        },
    },
]

WSGI_APPLICATION = "smsconsole.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'smsconsole.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding with prepared statements: a statement the gateway runs for every chunk or
    # receipt round is parsed and planned once per connection instead of each time, and its values
    # travel as parameters rather than as quoted text (the receipts round: 1.6 ms -> 0.7 ms).
    # DATABASE_PREPARE_THRESHOLD=0 turns preparing off (a pooler in transaction mode cannot keep
    # prepared statements across transactions).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0) or None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-import-export admits any staff user unless these are set; the admins that import and
# export also check the model permissions themselves (campaigns.admin.PermissionCheckedImportExport).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes counts failed logins per user name and, separately, per client address; either
# reaching the limit locks that name or address out for the cool-off time. A success resets.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "smsconsole.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "smsconsole.net.request_ip"
AXES_VERBOSE = False
# Reverse proxies in front of the web process that append to X-Forwarded-For (smsconsole.net).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Joining (accounts): sign-up is off unless a deployment offers it to the public; staff then create
# accounts in the admin and operators invite their colleagues. A sign-up or password-reset link
# works for PASSWORD_RESET_TIMEOUT (Django's, 3 days), an invitation for SMS_INVITATION_DAYS.
SMS_SIGNUP_ENABLED = env_bool("SMS_SIGNUP_ENABLED", False)
SMS_INVITATION_DAYS = env_int("SMS_INVITATION_DAYS", 7, minimum=1)
# Service activation is reviewed on workdays 09:00-18:00 GMT+8; these dates (public holidays) are
# no workdays (accounts.review_hours).
SMS_REVIEW_HOLIDAYS = env_dates("SMS_REVIEW_HOLIDAYS")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "smsconsole" / "locale"]
FORMAT_MODULE_PATH = ["smsconsole.formats"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Form fields other than files: qualification forms are the largest, far below this.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_HANDLERS = [
    # First: discards a file once it passes SMS_UPLOAD_MAX_BYTES instead of storing it.
    "smsconsole.upload_limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "smsconsole <noreply@localhost>")

# Celery. CELERY_BROKER_URL is set by `manage.py run_all` to its embedded Redis when unset; a
# command typed in another shell of the same checkout finds that Redis through VAR_DIR.
_EMBEDDED_SOCKET = None
if env_str("CELERY_BROKER_URL") is None and env_str("REDIS_URL") is None:
    from smsconsole.embedded_redis import running_socket

    _EMBEDDED_SOCKET = running_socket(VAR_DIR)
if _EMBEDDED_SOCKET:
    CELERY_BROKER_URL = f"redis+socket://{_EMBEDDED_SOCKET}"
    REDIS_URL = f"unix://{_EMBEDDED_SOCKET}"
else:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    REDIS_URL = env_str("REDIS_URL", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")

# Limits from the reference (cloud-sms-spec.md, section 2). Where the reference gives an old and a
# new rule, the newer one is the default.
SMS_MAX_APPLICATIONS_PER_ACCOUNT = env_int("SMS_MAX_APPLICATIONS_PER_ACCOUNT", 2, minimum=1)
SMS_MAX_SIGNATURES_PER_APPLICATION = env_int("SMS_MAX_SIGNATURES_PER_APPLICATION", 200, minimum=1)
SMS_MAX_TEMPLATES_PER_APPLICATION = env_int("SMS_MAX_TEMPLATES_PER_APPLICATION", 2000, minimum=1)
SMS_SIGNATURE_NAME_MAX_LENGTH = env_int("SMS_SIGNATURE_NAME_MAX_LENGTH", 32, minimum=2)  # old rule: 16
SMS_PHONE_VARIABLE_MIN_LENGTH = env_int("SMS_PHONE_VARIABLE_MIN_LENGTH", 1, minimum=1)  # old rule: 4
SMS_TEMPLATE_BATCH_DELETE_MAX = env_int("SMS_TEMPLATE_BATCH_DELETE_MAX", 50, minimum=1)
SMS_QUALIFICATION_BATCH_DELETE_MAX = env_int("SMS_QUALIFICATION_BATCH_DELETE_MAX", 100, minimum=1)
SMS_MAX_NOTIFICATION_CONTACTS = env_int("SMS_MAX_NOTIFICATION_CONTACTS", 10, minimum=1)
SMS_DOCUMENT_MAX_BYTES = env_int("SMS_DOCUMENT_MAX_BYTES", 2 * 1024 * 1024, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"quiet_refusals": {"()": "smsconsole.log_filters.QuietRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["quiet_refusals"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO: the gateway's HTTP connections send thousands a minute.
    "loggers": {"httpx": {"level": "WARNING"}},
}

# Recipient file imports (campaigns.importer).
SMS_IMPORT_MAX_ROWS = env_int("SMS_IMPORT_MAX_ROWS", 1_000_000, minimum=1)
SMS_IMPORT_MAX_BYTES = env_int("SMS_IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# The largest file any form accepts (recipient files are the largest); bigger ones are not stored.
SMS_UPLOAD_MAX_BYTES = max(SMS_IMPORT_MAX_BYTES, SMS_DOCUMENT_MAX_BYTES, 20 * 1024 * 1024)
# Rows repeating a number with different variables: keep_first keeps the first row and reports the
# rest; reject_number rejects every row of that number, since it cannot be told which is right.
SMS_IMPORT_DUPLICATE_POLICY = env_str("SMS_IMPORT_DUPLICATE_POLICY", "keep_first")
if SMS_IMPORT_DUPLICATE_POLICY not in {"keep_first", "reject_number"}:
    raise ImproperlyConfigured("SMS_IMPORT_DUPLICATE_POLICY must be keep_first or reject_number")

# Periodic work run by `celery -A smsconsole beat`; each task guards itself against overlap.
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-imports": {"task": "campaigns.tasks.sweep_stale_imports", "schedule": 300.0},
    "start-due-campaigns": {"task": "campaigns.tasks.start_due_campaigns", "schedule": 15.0},
    "sweep-stuck-batches": {"task": "campaigns.tasks.sweep_stuck_batches", "schedule": 60.0},
    "sweep-stuck-sending": {"task": "campaigns.tasks.sweep_stuck_sending", "schedule": 60.0},
    "purge-stale-receipts": {"task": "campaigns.tasks.purge_stale_receipts", "schedule": 3600.0},
    "expire-unreported-messages": {"task": "campaigns.tasks.expire_unreported_messages", "schedule": 600.0},
    "squash-hourly-stats": {"task": "campaigns.tasks.squash_hourly_stats", "schedule": 300.0},
    # Often: readers of the counters sum the deltas not yet squashed (Campaign.objects.with_counters).
    "squash-campaign-counters": {"task": "campaigns.tasks.squash_campaign_counters", "schedule": 10.0},
    "enforce-arrears": {"task": "campaigns.tasks.enforce_arrears", "schedule": 60.0},
    "resume-held-campaigns": {"task": "campaigns.tasks.resume_held_campaigns", "schedule": 30.0},
    "purge-personal-data": {"task": "campaigns.tasks.purge_personal_data", "schedule": 3600.0},
    "deliver-pushes": {"task": "reports.tasks.deliver_pushes", "schedule": 15.0},
    "push-status-reports": {"task": "reports.tasks.push_status_reports", "schedule": 5.0},
}

# Campaigns (campaigns.models.sending). The reference: scheduled at most one month ahead (MSGSMS.0087).
SMS_MAX_SCHEDULE_DAYS = env_int("SMS_MAX_SCHEDULE_DAYS", 31, minimum=1)
SMS_BATCH_SIZE = env_int("SMS_BATCH_SIZE", 2000, minimum=1)
# Planning commits and dispatches this many recipients at a time, so sending starts after the first.
SMS_PLAN_SLICE = env_int("SMS_PLAN_SLICE", 50_000, minimum=1)
# The connection new campaigns use unless one is chosen; `make run` points it at the simulator.
SMS_DEFAULT_CONNECTION = env_str("SMS_DEFAULT_CONNECTION", "simulator")

# The compatible API (api): how far a request's time may be from the server's (the reference allows
# 24 h for X-WSSE and 15 min for AK/SK; one window for both keeps replay protection bounded), and
# requests per second per application (0 = no limit).
SMS_API_CLOCK_SKEW_SECONDS = env_int("SMS_API_CLOCK_SKEW_SECONDS", 900, minimum=1)
SMS_API_REQUESTS_PER_SECOND = env_int("SMS_API_REQUESTS_PER_SECOND", 1000, minimum=0)
# How long a web process keeps the rows a send request looks up (api.route_cache; changes through
# the ORM reach every process at once, this bounds any other).
SMS_API_CACHE_SECONDS = env_int("SMS_API_CACHE_SECONDS", 5, minimum=0)
# A send request to at most this many numbers goes to the gateway's priority list (verification
# codes do not wait behind bulk sends); a larger one to the bulk list with the campaigns.
SMS_API_PRIORITY_NUMBERS = env_int("SMS_API_PRIORITY_NUMBERS", 10, minimum=0)

# Sending engine (campaigns.dispatch, campaigns.gateway): Redis key prefix, how long a batch or a
# message may sit before the sweepers act, and how many batches a campaign keeps on the gateway's list.
SMS_REDIS_PREFIX = env_str("SMS_REDIS_PREFIX", "smsconsole")
# Whether the gateway's store-and-acknowledge round of delivery receipts (campaigns.receipts.ingest)
# waits for its commit to reach the disk before the SMSC gets its deliver_sm_resp. The carrier lets
# only a few receipts per bind wait for their resp, so that flush (2.2 ms per fdatasync on this
# machine, docs/benchmarks.md) bounds receipts per second. Off (SET LOCAL synchronous_commit = off
# for that transaction only) is faster, but a PostgreSQL or machine crash then loses the receipts
# acknowledged in the last moments (up to 3 × wal_writer_delay, 0.6 s by default): the SMSC never
# sends them again, so those messages stay submitted and expire after 72 hours although delivered.
# The database stays consistent (counters equal rows); the default keeps every acknowledged receipt.
SMS_RECEIPTS_SYNCHRONOUS_COMMIT = env_bool("SMS_RECEIPTS_SYNCHRONOUS_COMMIT", True)
# The gateway's receipt journal (campaigns.receipt_journal): receipts are synced to a file here before
# the SMSC gets its resp, and applied to the database in batches. Empty: no journal, each round of
# receipts is committed to the database before it is acknowledged (slower against a small window).
SMS_RECEIPT_JOURNAL_DIR = env_str("SMS_RECEIPT_JOURNAL_DIR", str(VAR_DIR / "receipts"))
# When the journal reaches the disk: "interval" (every 50 ms; a power loss may lose the receipts of the
# last 50 ms, a killed gateway loses none) or "each" (before every acknowledgement; slower while the
# database writes to the same disk). campaigns.receipt_journal says what each costs.
SMS_RECEIPT_JOURNAL_SYNC = env_str("SMS_RECEIPT_JOURNAL_SYNC", "interval")
if SMS_RECEIPT_JOURNAL_SYNC not in ("interval", "each"):
    raise ImproperlyConfigured(f"SMS_RECEIPT_JOURNAL_SYNC={SMS_RECEIPT_JOURNAL_SYNC!r}: use interval or each")
SMS_STUCK_BATCH_SECONDS = env_int("SMS_STUCK_BATCH_SECONDS", 120, minimum=1)
SMS_STUCK_SENDING_SECONDS = env_int("SMS_STUCK_SENDING_SECONDS", 600, minimum=1)
SMS_MAX_PUSHED_BATCHES = env_int("SMS_MAX_PUSHED_BATCHES", 8, minimum=1)
# Pushes to customers' URLs (campaigns.push): seconds a receiver has to answer one POST.
SMS_PUSH_TIMEOUT = env_int("SMS_PUSH_TIMEOUT", 5, minimum=1, maximum=60)
# The simulator `make run` starts: the fraction of messages it fails (receipt UNDELIV), so a new
# user sees failures on day one.
SMSC_FAILURE_RATIO = env_float("SMSC_FAILURE_RATIO", 0.03, minimum=0.0, maximum=1.0)

# --- Production hardening --------------------------------------------------------------------
# Defaults are safe for production (DEBUG=0) and relaxed for the plain-HTTP development server.
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER to the header it sets (usually
# X-Forwarded-Proto); never set it without such a proxy, since a client could send the header.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a promise browsers remember for months; an operator opts in deliberately.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content security policy (django-csp): scripts only from the console's own static files, no
# inline script. Inline styles stay allowed: templates and htmx's indicator use them, and they
# cannot run code. The one inline handler of django-import-export's export page is allowed by hash.
_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-hashes'", "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}

# Money (campaigns.money): CNY per segment in monthly tiers, as the reference's on-demand prices
# (cloud-sms-spec.md 4.3); verification and notification share the industry tiers.
SMS_PRICES = {
    "industry": env_tiers("SMS_PRICE_INDUSTRY", [(1_000_000, "0.065"), (3_000_000, "0.060"), (None, "0.055")]),
    "promotion": env_tiers("SMS_PRICE_PROMOTION", [(1_000_000, "0.080"), (3_000_000, "0.075"), (None, "0.070")]),
}
# Which failed messages are refunded: "platform" refunds only failures of our own side (refused
# before or by the hand-over: the reference's "charged unless the platform failed"); "success_only"
# also refunds what the carrier reports failed or expired ("charged on success only").
SMS_REFUND_POLICY = env_str("SMS_REFUND_POLICY", "platform")
if SMS_REFUND_POLICY not in {"platform", "success_only"}:
    raise ImproperlyConfigured("SMS_REFUND_POLICY must be platform or success_only")
# Notices by SMS to notification contacts (campaigns.notices): sent by the platform's own account
# (created on first use) from this signature and its channel number, in this language, through
# this connection (empty: SMS_DEFAULT_CONNECTION). A balance below SMS_BALANCE_ALERT (CNY; 0 = no
# such alert) tells the traffic contacts once a day, by email and, where they asked for it, by SMS.
SMS_SYSTEM_SIGNATURE = env_str("SMS_SYSTEM_SIGNATURE", "smsconsole")
SMS_SYSTEM_CHANNEL_NUMBER = env_str("SMS_SYSTEM_CHANNEL_NUMBER", "10690")
SMS_NOTICE_LANGUAGE = env_str("SMS_NOTICE_LANGUAGE", LANGUAGE_CODE)
if SMS_NOTICE_LANGUAGE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured("SMS_NOTICE_LANGUAGE must be en or zh-hans")
SMS_NOTICE_CONNECTION = env_str("SMS_NOTICE_CONNECTION", "")
SMS_BALANCE_ALERT = env_str("SMS_BALANCE_ALERT", "0")
try:
    if Decimal(SMS_BALANCE_ALERT) < 0:
        raise ValueError
except (ArithmeticError, ValueError):
    raise ImproperlyConfigured("SMS_BALANCE_ALERT must be an amount of 0 or more") from None
# Arrears (smsconsole.models.Account, cloud-sms-spec.md 4.4): how long the balance may stay negative
# before sending stops (the reference settles bills hourly and, since 2024, stops sending in its
# grace period; 0 stops at once), then how long the account may stay frozen before its signatures
# wait for an activation (待激活) that staff review. Nothing is deleted at either point.
SMS_ARREARS_GRACE_HOURS = env_int("SMS_ARREARS_GRACE_HOURS", 1, minimum=0)
SMS_ARREARS_RETENTION_DAYS = env_int("SMS_ARREARS_RETENTION_DAYS", 15, minimum=0)

# Personal data (campaigns.privacy). Message text is kept per account (Account.message_text_days);
# numbers stay with their messages this many days after the campaign finished, then the messages
# of finished campaigns are deleted (the campaign's counters and the hourly statistics keep the counts).
SMS_STATISTICS_RETENTION_DAYS = env_int("SMS_STATISTICS_RETENTION_DAYS", 180, minimum=1)
SMS_PURGE_CHUNK = env_int("SMS_PURGE_CHUNK", 50000, minimum=1)
