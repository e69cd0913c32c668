"""Settings, read from the environment only.

The embedded default (no DATABASE_URL, no REDIS_URL) keeps everything under
ARBRIDGE_DATA_DIR: the SQLite database in WAL mode, the Huey queue, and the
secret and encryption keys, generated there on first run. Production
(ARBRIDGE_ENV=production) must be given its keys explicitly.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def envbool(name: str, default: str = "False") -> bool:
    return os.getenv(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envsecret(name: str, default: str | None = None) -> str | None:
    """Return the variable's value, or the contents of the file named by NAME_FILE."""
    if path := os.getenv(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.getenv(name, default)


BASE_DIR = Path(__file__).resolve().parent
ENV = os.getenv("ARBRIDGE_ENV", "development")
IS_PRODUCTION = ENV == "production"
DATA_DIR = Path(os.getenv("ARBRIDGE_DATA_DIR", "var")).resolve()


def generated_secret(name: str, filename: str, make) -> str:
    """Return the secret from the environment, or one generated into the data dir."""
    if value := envsecret(name):
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured(f"{name} is required when ARBRIDGE_ENV=production")
    path = DATA_DIR / filename
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(make())
    return path.read_text().strip()


SECRET_KEY = generated_secret(
    "ARBRIDGE_SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50)
)
ENCRYPTION_KEY = generated_secret(
    "ARBRIDGE_ENCRYPTION_KEY", "encryption_key", lambda: Fernet.generate_key().decode()
)

DEBUG = envbool("ARBRIDGE_DEBUG", "False")
BASE_URL = os.getenv("ARBRIDGE_BASE_URL", "http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = os.getenv("ARBRIDGE_ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [BASE_URL]
USE_X_FORWARDED_HOST = envbool("ARBRIDGE_USE_X_FORWARDED_HOST")
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BASE_URL.startswith("https://")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Outbound webhooks to loopback, private or link-local addresses: never in production.
HOOKS_ALLOW_PRIVATE = not IS_PRODUCTION and envbool("ARBRIDGE_WEBHOOKS_ALLOW_PRIVATE", "True")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # its bundled Swagger UI assets, so /api/v1/docs needs no CDN
    "huey.contrib.djhuey",
    "arbridge.core",
    "arbridge.ledger",
    "arbridge.integrations",
    "arbridge.integrations.files",
    "arbridge.payments",
    "arbridge.portal",
    "arbridge.autopay",
    "arbridge.collections",
    "arbridge.polling",
    "arbridge.hooks",
    "arbridge.metrics",
    "arbridge.dashboard",
    "arbridge.api",
    "arbridge.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (`arbridge manage collectstatic`), DEBUG or not.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "arbridge.urls"
WSGI_APPLICATION = "arbridge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database: SQLite in WAL mode under the data dir unless DATABASE_URL says otherwise.
if database_url := os.getenv("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "arbridge.core.sqlite",
            "NAME": DATA_DIR / "arbridge.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE
                # takes the write lock at BEGIN, so no transaction dies upgrading it.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
                ),
            },
            # A file, so a consumer process started by a test can share it; one per
            # test run, so test runs side by side do not delete each other's.
            "TEST": {"NAME": DATA_DIR / f"test-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Jobs: SqliteHuey in the data dir by default, RedisHuey when REDIS_URL is set.
REDIS_URL = os.getenv("REDIS_URL", "")
HUEY_IMMEDIATE = envbool("ARBRIDGE_HUEY_IMMEDIATE", "False")
# Threads an auto pay run charges in (autopay/runner.py charge_all): 1 charges one at a time.
AUTOPAY_CHARGE_THREADS = int(os.getenv("ARBRIDGE_AUTOPAY_CHARGE_THREADS", "1"))
# How long a worker may hold an outbound command before the sweeper hands it to another.
OUTBOX_LEASE_SECONDS = envint("ARBRIDGE_OUTBOX_LEASE_SECONDS", "300")
# The bearer token Prometheus sends to /metrics; unset, /metrics answers 404.
METRICS_TOKEN = envsecret("ARBRIDGE_METRICS_TOKEN", "") or ""
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.getenv("ARBRIDGE_HUEY_NAME", "arbridge"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        "consumer": {"workers": envint("ARBRIDGE_WORKERS", "4"), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "arbridge",
        "filename": os.getenv("ARBRIDGE_HUEY_FILE", str(DATA_DIR / "huey.sqlite3")),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        # SQLite is polled: an idle worker looks again after at most a second (Huey's
        # default backs off to 10 s), so a lone payment is written back promptly.
        "consumer": {
            "workers": envint("ARBRIDGE_WORKERS", "4"),
            "worker_type": "thread",
            "max_delay": 1.0,
        },
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Email: console unless an SMTP host is given.
EMAIL_HOST = os.getenv("ARBRIDGE_EMAIL_HOST", "")
EMAIL_PORT = envint("ARBRIDGE_EMAIL_PORT", "587")
EMAIL_HOST_USER = os.getenv("ARBRIDGE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envsecret("ARBRIDGE_EMAIL_PASSWORD", "") or ""
EMAIL_USE_TLS = envbool("ARBRIDGE_EMAIL_USE_TLS", "False")
DEFAULT_FROM_EMAIL = os.getenv("ARBRIDGE_DEFAULT_FROM_EMAIL", "arbridge@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("ARBRIDGE_LOG_LEVEL", "INFO")},
    "loggers": {
        "huey": {"level": "INFO"},
        # One line per vendor request drowns everything else; failures are logged by us.
        "httpx": {"level": os.getenv("ARBRIDGE_HTTP_LOG_LEVEL", "WARNING")},
    },
}

# Every vendor app by one pattern: ARBRIDGE_<KIND>_<NAME> becomes the setting
# <KIND>_<NAME> (QBO_CLIENT_ID, XERO_WEBHOOK_KEY, AUTOTASK_API_BASE...); secrets may
# come from the file a <...>_FILE variable names. Without a client id, outside
# production, an OAuth2 kind talks to its own sandbox at BASE_URL/sandbox/<kind>;
# with one, the URLs default to the vendor's (arbridge.integrations.vendors).
VENDOR_SETTING_NAMES = (
    "CLIENT_ID",
    "CLIENT_SECRET",
    "API_BASE",
    "AUTH_URL",
    "TOKEN_URL",
    "REVOKE_URL",
    "WEBHOOK_KEY",
)
SECRET_VENDOR_SETTINGS = ("CLIENT_SECRET", "WEBHOOK_KEY")


def vendor_settings(environ) -> dict[str, str]:
    """Return the <KIND>_<NAME> settings the ARBRIDGE_<KIND>_<NAME> variables give."""
    found = {}
    for variable in environ:
        name = variable.removesuffix("_FILE")
        for suffix in VENDOR_SETTING_NAMES:
            kind = name.removeprefix("ARBRIDGE_").removesuffix(f"_{suffix}")
            if name.startswith("ARBRIDGE_") and name.endswith(f"_{suffix}") and kind:
                read = envsecret if suffix in SECRET_VENDOR_SETTINGS else os.getenv
                found[f"{kind}_{suffix}"] = read(name, "") or ""
    return found


globals().update(vendor_settings(os.environ))
# Intuit calls the webhook key a verifier token; the older variable still works.
QBO_WEBHOOK_KEY = (
    globals().get("QBO_WEBHOOK_KEY") or envsecret("ARBRIDGE_QBO_WEBHOOK_VERIFIER_TOKEN", "") or ""
)

# Connector registry additions, "kind=dotted.path" separated by commas.
EXTRA_CONNECTORS = dict(
    item.split("=", 1) for item in os.getenv("ARBRIDGE_EXTRA_CONNECTORS", "").split(",") if item
)
