"""The demo's NetSuite: the sandbox the web server mounts, and an account in it.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162686838198.html

Framework-free (sandbox/common/demo.py): `seed_demo()` fills the demo
account once per process with customers, billing contacts, invoices with
lines, a few payments and a credit memo, registers the demo's certificate
for arbridge's integration, and returns the credentials a NetSuite
administrator would type: the account id, the integration's client id, the
certificate id and its private key (published, like any sandbox's secret),
and the sandbox's address for the account. The account lives in the web
server's memory, so each start seeds it afresh.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.netsuite.app import NetSuiteSandbox, create_app
from arbridge.sandbox.netsuite.seed import seed
from arbridge.sandbox.netsuite.store import Store

MOUNT = "/sandbox/netsuite"
ACCOUNT = "TSTDRV2026001"
ACCOUNT_NAME = "Harborview MSP (NetSuite sandbox)"
CLIENT_ID = "sandbox-netsuite-arbridge-integration"
CERTIFICATE_ID = "sandbox-netsuite-demo-certificate"
CUSTOMERS, INVOICES = 8, 32
RNG_SEED = 20260301
# The demo certificate's key: published, as a sandbox's secrets are.
PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOdl8rm+mo54TFiDO
MSQ8xn3aiPHmmc6Wv/szRwARzGehRANCAATufX1DLH6HJan5aPmu+TOJuxaPVhBC
Bn6uFZwqSl87IZvgC7aiPn2tX2K1LouXDLJul07WkEneoHeTLQhMNsjk
-----END PRIVATE KEY-----
"""  # noqa: S105 - published, like any sandbox's

STORE = Store()


def public_key() -> str:
    key = load_pem_private_key(PRIVATE_KEY.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@cache
def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> NetSuiteSandbox:
    """Return the sandbox to mount; NetSuite sends arbridge no webhooks."""
    return create_app(STORE)


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Seed the demo account once per process; return the credentials that reach it."""
    app = sandbox()
    if ACCOUNT not in STORE.accounts:
        STORE.add_account(ACCOUNT, ACCOUNT_NAME)
        seed(STORE, ACCOUNT, customers=CUSTOMERS, invoices=INVOICES, rng_seed=RNG_SEED)
        _paid_in_netsuite()
    app.auth.register(ACCOUNT, CLIENT_ID, CERTIFICATE_ID, public_key())
    return DemoAccount(
        account=ACCOUNT,
        credentials={
            "account_id": ACCOUNT,
            "client_id": CLIENT_ID,
            "certificate_id": CERTIFICATE_ID,
            "private_key": PRIVATE_KEY,
            "base_url": f"{request.base_url}/{ACCOUNT}",
        },
    )


def _paid_in_netsuite() -> None:
    """Pay the first few invoices in part by check, and credit one, as a bookkeeper would."""
    invoices = list(STORE.account(ACCOUNT).records["invoice"].values())
    for invoice in invoices[:4]:
        part = (invoice["total"] / 2).quantize(Decimal("0.01"))
        STORE.save(
            ACCOUNT,
            "customerPayment",
            {
                "customer": invoice["entity"],
                "payment": part,
                "tranDate": "2026-03-10",
                "paymentMethod": {"refName": "Check"},
                "apply": {"items": [{"doc": {"id": invoice["id"]}, "apply": True, "amount": part}]},
            },
        )
    credited = invoices[4]
    STORE.save(
        ACCOUNT,
        "creditMemo",
        {
            "entity": credited["entity"],
            "tranDate": "2026-03-11",
            "item": {
                "items": [{"description": "Service credit", "quantity": 1, "rate": Decimal("25")}]
            },
            "apply": {
                "items": [{"doc": {"id": credited["id"]}, "apply": True, "amount": Decimal("25")}]
            },
        },
    )
