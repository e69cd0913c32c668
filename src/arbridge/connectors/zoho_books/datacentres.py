"""Zoho's data centres: where an account's token is issued and where its API answers.

# Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc.html
# Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html
# Reference: https://www.zoho.com/books/api/v3/introduction/#multidc

Consent always starts at accounts.zoho.com, which sends the person on to
their own data centre; its callback names it (`location=eu`,
`accounts-server=https://accounts.zoho.eu`). The code must be exchanged,
and the refresh token later refreshed, at that accounts server, and the
token's `api_domain` is where the account's API calls go. A token from one
data centre is refused by every other.

An accounts server is taken only from this list (or the list a caller
passes, the sandbox's), never as the callback says: the callback's query is
the person's browser's to change, and a token request carries our client
secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from arbridge.connectors.base import AuthError


@dataclass(frozen=True)
class DataCentre:
    location: str
    accounts_server: str
    api_domain: str

    @property
    def token_url(self) -> str:
        return f"{self.accounts_server}/oauth/v2/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.accounts_server}/oauth/v2/token/revoke"


DATA_CENTRES: Mapping[str, DataCentre] = {
    dc.location: dc
    for dc in (
        DataCentre("us", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        DataCentre("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        DataCentre("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        DataCentre("au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        DataCentre("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        DataCentre("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        DataCentre("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
        DataCentre("uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk"),
        DataCentre("cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    )
}
US = DATA_CENTRES["us"]


def from_callback(
    params: Mapping[str, str], known: Mapping[str, DataCentre] = DATA_CENTRES
) -> DataCentre:
    """Return the data centre a consent's callback names; AuthError if it is not a known one.

    A callback naming none (an app without multi-DC) is the US data centre.
    """
    server = str(params.get("accounts-server") or "").rstrip("/")
    location = str(params.get("location") or "").lower()
    if not server and not location:
        return known.get("us", US)
    for dc in known.values():
        if (server and server == dc.accounts_server) or (not server and location == dc.location):
            return dc
    raise AuthError(f"the consent names an accounts server Zoho does not run: {server!r}")


def of_api_domain(
    api_domain: str, known: Mapping[str, DataCentre] = DATA_CENTRES
) -> DataCentre | None:
    """Return the data centre whose API answers at a token's `api_domain`, if known."""
    api_domain = api_domain.rstrip("/")
    return next((dc for dc in known.values() if dc.api_domain == api_domain), None)
