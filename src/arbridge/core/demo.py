"""The demo partner: Northwind MSP, its three connections and what they bill.

Only the partner, its owner and its connections are rows seeded here. What
QuickBooks Online, HaloPSA and ConnectWise hold arrives through their
connectors from the sandboxes the web server mounts (integrations/qbo_demo.py,
integrations/psa_demo.py), their payments and conflicts included, so the demo
obeys the same invariants as a real partner's synced data. The sandboxes'
generators are seeded: a fresh demo always bills the same customers.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from arbridge import settings as arbridge_settings
from arbridge.core.models import ApiKey, Membership, Partner
from arbridge.integrations import psa_demo, qbo_demo
from arbridge.integrations.models import Connection

PARTNER_SLUG = "northwind-msp"
USERNAME = "demo"
API_KEY_NAME = "Demo key"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    api_key: str
    quickbooks: qbo_demo.DemoCompany


def start() -> DemoLogin:
    """Seed the demo if needed, connect it to the sandboxes, and return a working login.

    The sandboxes are reached at settings.BASE_URL: call this once it is the
    address the web server listens on.
    """
    partner = seed()
    password = arbridge_settings.generated_secret(
        "ARBRIDGE_DEMO_PASSWORD", "demo_password", lambda: secrets.token_urlsafe(12)
    )
    user = User.objects.get(username=USERNAME)
    # Set at every start, so a database rebuilt beside an old password file still matches it.
    user.set_password(password)
    user.save(update_fields=["password"])
    # The raw key is never stored, so each start issues a new one and retires the last.
    for old in ApiKey.objects.for_partner(partner).filter(name=API_KEY_NAME, revoked_at=None):
        old.revoke()
    _, raw = ApiKey.issue(partner, API_KEY_NAME, created_by=user)
    # The sandboxes live in this process's memory: seeded and connected at every start.
    connections = {c.kind: c for c in Connection.objects.for_partner(partner)}
    quickbooks = qbo_demo.connect(connections["qbo"])
    # After QuickBooks: the PSAs bill some of its invoices too.
    psa_demo.connect(connections["halopsa"], connections["connectwise"])
    return DemoLogin(username=USERNAME, password=password, api_key=raw, quickbooks=quickbooks)


def seed() -> Partner:
    """Create the demo partner, its owner and its connections unless it exists; return it."""
    if partner := Partner.objects.filter(slug=PARTNER_SLUG).first():
        return partner
    with transaction.atomic():
        partner = Partner.objects.create(
            name="Northwind MSP",
            slug=PARTNER_SLUG,
            display_name="Northwind Managed Services",
            primary_colour="#0b5394",
            accent_colour="#e69138",
            support_email="billing@northwind.example",
        )
        user = User.objects.create_user(USERNAME, "demo@northwind.example")
        Membership.objects.create(user=user, partner=partner, role=Membership.Role.OWNER)
        # Not connected until start() gives them the sandboxes' keys.
        for kind, role in (
            ("qbo", Connection.Role.PRIMARY),
            ("halopsa", Connection.Role.SECONDARY),
            ("connectwise", Connection.Role.TERTIARY),
        ):
            Connection.objects.create(partner=partner, kind=kind, role=role)
        return partner
