"""A Sage Intacct sandbox company from outside: its bookkeeper, and arbridge connected to it.

# Reference: https://developer.intacct.com/web-services/sessions/

`connect()` returns the connector as the Django side builds it from a
partner's credentials: the sandbox's sender, the company's Web Services user
and, for a multi-entity company, the entity chosen.
"""

from __future__ import annotations

from typing import Any

import httpx

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.sage_intacct import SageIntacct
from arbridge.sandbox.sage_intacct import SageIntacctSandbox
from arbridge.sandbox.sage_intacct.app import SENDER_ID, SENDER_PASSWORD

ROOT = "http://intacct.sandbox.test"
USER, PASSWORD = "xml_gateway", "gateway-password"
NO_WAIT = Runtime(sleep=lambda seconds: None)  # a test does not wait out Retry-After


def credentials(company_id: str, entity_id: str = "", **changes: str) -> dict[str, Any]:
    return {
        "sender_id": SENDER_ID,
        "sender_password": SENDER_PASSWORD,
        "company_id": company_id,
        "user_id": USER,
        "user_password": PASSWORD,
        "entity_id": entity_id,
        **changes,
    }


def connect(
    app: SageIntacctSandbox,
    company_id: str,
    *,
    entity_id: str = "",
    runtime: Runtime = NO_WAIT,
    transport: httpx.BaseTransport | None = None,
    creds: dict[str, Any] | None = None,
    **preferences: Any,
) -> SageIntacct:
    http = httpx.Client(transport=transport or httpx.WSGITransport(app=app))
    config = Config(
        base_url=ROOT,
        remote_account=company_id,
        credentials=creds or credentials(company_id, entity_id),
        preferences=preferences,
    )
    return SageIntacct(config, http, runtime)
