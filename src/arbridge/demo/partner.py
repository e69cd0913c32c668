"""The demo partner: Northwind MSP, its connections and what they bill.

Only the partner, its owner and its connections are rows seeded here. What
its systems hold arrives through their connectors from the sandboxes the web
server mounts (each declares its demo account: sandbox/common/demo.py),
their payments and conflicts included, so the demo obeys the same invariants
as a real partner's synced data. The sandboxes' generators are seeded: a
fresh demo always bills the same customers.
"""

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse

from arbridge import settings as arbridge_settings
from arbridge.autopay import demo as autopay_demo
from arbridge.collections import demo as collections_demo
from arbridge.core import clock
from arbridge.core.models import ApiKey, Connection, Membership, Partner
from arbridge.demo.connections import connect_all, demo_modules, role
from arbridge.integrations import registry
from arbridge.integrations.models import IntegrationPreferences, SyncRun
from arbridge.ledger.models import Customer, Invoice
from arbridge.metrics import demo as metrics_demo
from arbridge.payments.base import ProcessorError
from arbridge.payments.models import PaymentSettings
from arbridge.payments.processors.sandbox import provision
from arbridge.portal.models import PortalLink

PARTNER_SLUG = "northwind-msp"
USERNAME = "demo"
API_KEY_NAME = "Demo key"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    api_key: str
    # (label, value) lines the sandboxes give a person: accounts, tokens to call them with.
    printed: list[tuple[str, str]]


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
    _, raw = ApiKey.issue(partner, API_KEY_NAME, created_by=user, scope=ApiKey.Scope.WRITE)
    # The sandboxes live in this process's memory: seeded and connected at every start.
    connections = list(Connection.objects.for_partner(partner))
    printed = connect_all(connections)
    use_sync_tool(partner, connections)
    return DemoLogin(username=USERNAME, password=password, api_key=raw, printed=printed)


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
        # Not connected until start() gives them the sandboxes' keys. The typical MSP:
        # its PSA primary, its books secondary holding the same invoices (several
        # numbers overlap), a second PSA tertiary; each other kind without a role.
        for kind in demo_modules():
            Connection.objects.create(partner=partner, kind=kind, role=role(kind))
        return partner


def use_sync_tool(partner: Partner, connections: list[Connection]) -> None:
    """Put the Sync Tool in use where a connection has invoices waiting for it, once.

    The partner's preferences are set the first time only, so a visitor's own
    choices survive a restart.
    """
    if not any(registry.capabilities(c.kind).invoices_out for c in connections):
        return
    preferences, created = IntegrationPreferences.objects.get_or_create(partner=partner)
    if created:
        now = clock.now()
        preferences.sync_tool_in_use = True
        preferences.external_payments, preferences.external_payments_since = True, now
        preferences.updated_at = now
        preferences.save()


# -- payments: the sandbox processor and a portal link, once the server answers -------------

# The first sync brings the customers a portal link is for; it runs on the worker.
PORTAL_WAIT_S = 120


def open_payments() -> str | None:
    """Collect the demo's payments through the sandbox processor; return a portal link to pay.

    Call once the web server is serving: the account is opened over HTTP at this
    server's own /sandbox/processor mount, as the dashboard's "Use the sandbox
    processor" does. The link is None if no customer with an invoice to pay
    arrived within PORTAL_WAIT_S.
    """
    partner = Partner.objects.get(slug=PARTNER_SLUG)
    use_sandbox_processor(partner)
    deadline = time.monotonic() + PORTAL_WAIT_S
    while (link := portal_link(partner)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    while syncing(partner) and time.monotonic() < deadline:
        time.sleep(0.5)
    seed_histories(partner)
    return link


def syncing(partner: Partner) -> bool:
    """Return True while one of the partner's syncs is queued or running."""
    return (
        SyncRun.objects.for_partner(partner)
        .filter(status__in=(SyncRun.Status.QUEUED, SyncRun.Status.RUNNING))
        .exists()
    )


def seed_histories(partner: Partner) -> None:
    """Give the demo the past the apps above the ledger show, once its invoices have synced.

    Twelve months of figures (DSO falling after auto pay was turned on),
    customers enrolled in auto pay with past and upcoming charges and a soft
    decline retried, and the reminders and statements the open invoices would
    have had. Each app's seeding adds nothing a second time.
    """
    # First: the figures' history enrolls customers of its own (suspended, made-up cards).
    # Each start: the sandbox processor's account is new, so the cards are saved again.
    autopay_demo.seed_demo(partner)
    metrics_demo.seed_demo(partner)
    collections_demo.seed_demo(partner)


def use_sandbox_processor(partner: Partner, attempts: int = 5) -> None:
    """Open a sandbox processor account for the partner; surcharging stays as the partner set it.

    The sandbox keeps its accounts in the server's memory, so each start opens a new one.
    """
    for attempt in range(attempts):
        try:
            credentials = provision(
                f"{settings.BASE_URL}/sandbox/processor",
                partner.display_name,
                webhook_url=settings.BASE_URL
                + reverse("sandbox_processor_webhook", args=[partner.slug]),
            )
            break
        except ProcessorError:
            # The server may be a moment from accepting connections.
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    payment_settings = PaymentSettings.of(partner)
    payment_settings.processor = PaymentSettings.Processor.SANDBOX
    payment_settings.credentials = credentials
    payment_settings.events_cursor = ""
    payment_settings.save(update_fields=["processor", "credentials", "events_cursor"])


def portal_link(partner: Partner) -> str | None:
    """Return a portal link for the first customer with an invoice to pay, reusing the demo's."""
    unpaid = Invoice.objects.for_partner(partner).filter(
        archived=False,
        status__in=(Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID),
        balance__gt=0,
    )
    customer = (
        Customer.objects.for_partner(partner)
        .filter(archived=False, pk__in=unpaid.values("customer_id"))
        .order_by("name", "pk")
        .first()
    )
    if customer is None:
        return None
    owner = User.objects.get(username=USERNAME)
    link = next(
        (
            link
            for link in PortalLink.objects.for_partner(partner).filter(
                customer=customer, created_by=owner, revoked_at__isnull=True
            )
            if link.is_usable
        ),
        None,
    ) or PortalLink.issue(customer, created_by=owner)
    return f"{settings.BASE_URL}{link.get_absolute_url()}"
