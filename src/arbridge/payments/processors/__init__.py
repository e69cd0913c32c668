"""The processors arbridge can collect through: a kind, and the dotted path of its class.

Imported lazily, as django-payments' PAYMENT_VARIANTS are, so the Stripe SDK
is loaded only by a partner who collects through Stripe.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.utils.module_loading import import_string

from arbridge.payments.base import Processor

PROCESSORS = {
    "sandbox": "arbridge.payments.processors.sandbox.SandboxProcessor",
    "stripe": "arbridge.payments.processors.stripe.StripeProcessor",
}


def build(kind: str, credentials: dict[str, Any], http: httpx.Client | None = None) -> Processor:
    """Return the processor of a kind, holding a partner's credentials; KeyError if unknown."""
    return import_string(PROCESSORS[kind])(credentials, http=http)
