"""The vendor apps this server runs as, read by one pattern of settings.

`ARBRIDGE_<KIND>_<NAME>` for NAME in settings.VENDOR_SETTING_NAMES (CLIENT_ID,
CLIENT_SECRET, API_BASE, AUTH_URL, TOKEN_URL, REVOKE_URL, WEBHOOK_KEY) is
read into settings as `<KIND>_<NAME>`; a kind with nothing configured runs,
outside production, as the built-in sandbox's app (its sandbox package's
`demo.app_settings`), so the demo and the tests need no setting at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from django.conf import settings
from django.urls import reverse

from arbridge.connectors.base import OAuth2
from arbridge.connectors.oauth import OAuthApp
from arbridge.integrations import registry


def setting(kind: str, name: str) -> str:
    """Return `ARBRIDGE_<KIND>_<NAME>` as settings read it, or ""."""
    return str(getattr(settings, f"{kind.upper()}_{name}", "") or "")


@dataclass(frozen=True)
class VendorApp:
    """A kind as this server reaches it: its API root, OAuth2 app and webhook key."""

    kind: str
    api_base: str
    oauth: OAuthApp | None  # None for credentials kinds
    revoke_url: str
    revoke_as_json: bool
    webhook_key: str
    is_sandbox: bool


def vendor_app(kind: str) -> VendorApp:
    """Return the kind's app: the one configured, or the built-in sandbox's outside production."""
    connector = registry.load(kind)
    auth = connector.auth
    defaults: dict[str, str] = {}
    demo = sandbox_demo(kind)
    unconfigured = isinstance(auth, OAuth2) and not setting(kind, "CLIENT_ID")
    if unconfigured and not settings.IS_PRODUCTION and hasattr(demo, "app_settings"):
        defaults = demo.app_settings(f"{settings.BASE_URL}{demo.MOUNT}")

    def pick(name: str, fallback: str = "") -> str:
        return setting(kind, name) or defaults.get(name.lower(), "") or fallback

    oauth = None
    if isinstance(auth, OAuth2):
        oauth = OAuthApp(
            client_id=pick("CLIENT_ID"),
            client_secret=pick("CLIENT_SECRET"),
            authorize_url=pick("AUTH_URL", auth.authorize_url),
            token_url=pick("TOKEN_URL", auth.token_url),
            redirect_uri=settings.BASE_URL + reverse("dashboard:oauth_callback", args=[kind]),
            scope=auth.scope,
            auth_method=auth.client_auth,
        )
    return VendorApp(
        kind=kind,
        api_base=pick("API_BASE", connector.api_base).rstrip("/"),
        oauth=oauth,
        revoke_url=pick("REVOKE_URL", getattr(auth, "revoke_url", "")),
        revoke_as_json=getattr(auth, "revoke_as_json", False),
        webhook_key=pick("WEBHOOK_KEY"),
        is_sandbox=bool(defaults),
    )


def sandbox_demo(kind: str) -> ModuleType | None:
    """Return the kind's sandbox's demo module (its mount point and app), if it has one."""
    return registry.sandbox_demo(kind)
