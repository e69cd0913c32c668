"""The demo's DataGate: a seeded account's invoice exports, served to download and upload.

Framework-free (sandbox/common/demo.py). DataGate is read from files, so
`seed_demo()` makes the demo account's exports (the November bill run, and a
December file in which some of it is paid and one invoice voided) and
returns no credentials: the demo connection is connected with nothing typed,
and the printed lines say where the files are to upload in arbridge.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from arbridge.sandbox.common.demo import DemoAccount, DemoRequest
from arbridge.sandbox.datagate.app import ExportSandbox
from arbridge.sandbox.datagate.exports import seed

MOUNT = "/sandbox/datagate"
ACCOUNT = "northwind-telecom"
CUSTOMERS, INVOICES = 8, 16
RNG_SEED = 20261101
NOVEMBER, DECEMBER = "invoices-2026-11.csv", "invoices-2026-12.csv"


def sandbox(webhook_url: str | None = None, webhook_key: str = "") -> ExportSandbox:
    """Return the sandbox to mount; DataGate sends no webhooks."""
    return _sandbox()


@cache
def _sandbox() -> ExportSandbox:
    return ExportSandbox()


def seed_demo(request: DemoRequest) -> DemoAccount:
    """Make the demo account's exports once per process; say where to download them."""
    _seed()
    return DemoAccount(
        account=ACCOUNT,
        printed=(("DataGate exports to upload", f"{request.base_url}/exports/"),),
    )


@cache
def _seed() -> None:
    files = _sandbox().files
    account = seed(customers=CUSTOMERS, invoices=INVOICES, rng_seed=RNG_SEED)
    files[NOVEMBER] = account.export()
    first, second, third = list(account.invoices)[:3]
    account.pay(first, account.invoices[first].total)
    account.pay(second, Decimal("25.00"))
    account.void(third)
    files[DECEMBER] = account.export()
