"""The connector registry: kind -> dotted path, imported only when first used.

The kind is the registry key and URL slug. A connector class declares its
preferences as a pydantic model in `Preferences`; connections of that kind are
validated against it. ARBRIDGE_EXTRA_CONNECTORS adds kinds (tests, plugins).
"""

import importlib
from functools import cache
from types import ModuleType

from django.conf import settings
from django.utils.module_loading import import_string
from pydantic import BaseModel, ValidationError

CONNECTORS: dict[str, str] = {
    "qbo": "arbridge.connectors.qbo.QuickBooksOnline",
    "qbd": "arbridge.connectors.qbd.QuickBooksDesktop",
    "xero": "arbridge.connectors.xero.XeroConnector",
    "netsuite": "arbridge.connectors.netsuite.NetSuite",
    "business_central": "arbridge.connectors.business_central.BusinessCentral",
    "zoho_books": "arbridge.connectors.zoho_books.ZohoBooks",
    "freshbooks": "arbridge.connectors.freshbooks.FreshBooks",
    "sage_intacct": "arbridge.connectors.sage_intacct.SageIntacct",
    "halopsa": "arbridge.connectors.halopsa.HaloPSA",
    "connectwise": "arbridge.connectors.connectwise.ConnectWise",
    "autotask": "arbridge.connectors.autotask.Autotask",
    "superops": "arbridge.connectors.superops.SuperOps",
    "datagate": "arbridge.connectors.datagate.DataGate",
}

DISPLAY_NAMES: dict[str, str] = {
    "qbo": "QuickBooks Online",
    "qbd": "QuickBooks Desktop",
    "xero": "Xero",
    "netsuite": "NetSuite",
    "business_central": "Business Central",
    "zoho_books": "Zoho Books",
    "freshbooks": "FreshBooks",
    "sage_intacct": "Sage Intacct",
    "halopsa": "HaloPSA",
    "connectwise": "ConnectWise PSA",
    "autotask": "Autotask",
    "superops": "SuperOps",
    "datagate": "DataGate",
}


def all_kinds() -> dict[str, str]:
    return {**CONNECTORS, **settings.EXTRA_CONNECTORS}


def display_name(kind: str) -> str:
    try:
        return load(kind).display_name
    except (ImportError, LookupError, AttributeError):
        return DISPLAY_NAMES.get(kind, kind)


def sandbox_demo(kind: str) -> ModuleType | None:
    """Return `arbridge.sandbox.<kind>.demo`, where a sandbox declares its mount and demo app."""
    try:
        return importlib.import_module(f"arbridge.sandbox.{kind}.demo")
    except ModuleNotFoundError:
        return None


def capabilities(kind: str):
    """Return the kind's Capabilities, or None if its connector is not built here."""
    try:
        return load(kind).capabilities
    except (ImportError, LookupError):
        return None


def is_polled(kind: str) -> bool:
    """Return True if the kind's vendor polls arbridge for its work (Capabilities.polled)."""
    found = capabilities(kind)
    return bool(found and found.polled)


def built() -> list[str]:
    """Return the kinds whose connector is built here, in the registry's order."""
    return [kind for kind in all_kinds() if is_available(kind)]


@cache
def load(kind: str) -> type:
    """Return the connector class for a kind; ImportError if it is not built."""
    try:
        path = all_kinds()[kind]
    except KeyError:
        raise LookupError(f"unknown connector kind {kind!r}") from None
    return import_string(path)


def is_available(kind: str) -> bool:
    """Return True if the kind's connector can be imported here."""
    try:
        load(kind)
    except (ImportError, LookupError):
        return False
    return True


def validate_preferences(kind: str, values: dict) -> dict:
    """Return the kind's preferences validated and completed with defaults.

    Raises ValueError with a readable message for bad values.
    """
    if kind not in all_kinds():
        raise ValueError(f"unknown connector kind {kind!r}")
    try:
        schema: type[BaseModel] | None = getattr(load(kind), "Preferences", None)
    except ImportError:
        schema = None
    if schema is None:
        if values:
            raise ValueError(f"{display_name(kind)} takes no preferences")
        return {}
    try:
        return schema.model_validate(values).model_dump(mode="json")
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in e.errors()
        )
        raise ValueError(problems) from e
