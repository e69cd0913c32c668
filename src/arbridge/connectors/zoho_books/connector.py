"""The Zoho Books connector: pull by pages and last-modified time, push customer payments.

# Reference: https://www.zoho.com/books/api/v3/introduction/
# Reference: https://www.zoho.com/books/api/v3/contacts/#list-contacts
# Reference: https://www.zoho.com/books/api/v3/invoices/#list-invoices
# Reference: https://www.zoho.com/books/api/v3/customer-payments/
# Reference: https://www.zoho.com/accounts/protocol/oauth/web-server-applications.html

One cursor stream, "zoho_books", holds where reading stopped:

    {"since": S}                                   read what changed since S
    {"since": S | None, "started": T,              a pass under way: resume at
     "entity": "invoices", "page": 7, "offset": 50} the 51st invoice of page 7

A pass reads contacts, then invoices, 200 a page, in the order they were
created. Invoices are asked for with `last_modified_time` S (none on the
first pass): one changed during the pass keeps its place and one that newly
matches moves later ones on, so a page resumed may re-read one but never
skips one. Zoho's contact list takes no such filter, and an MSP's customers
are few: every pass lists them all (a page per 200) and keeps those changed
since S; a pass that listed them all from the first page also deletes the
customers arbridge holds that Zoho no longer lists. An invoice deleted
outright (not voided) changes nothing a filter finds, so once a day (and
on the first pass) the invoices are listed whole too: only those changed
since S are read again, and those arbridge holds that the list no longer
has are deletes ({"swept": W} in the cursor says when that last happened). Zoho's invoice list
carries no lines, payments or credits, so each billed invoice is read
whole (GET /invoices/{id}, and its payments and credits applied when it
says it has some); a checkpoint follows every CHECKPOINT_EVERY of
them and every page. When the pass ends, the next reads from T, the
server's clock at the pass's first page less a minute. Applying a change
twice changes nothing.

Writes (payments, payouts) are writer.py's: Zoho keeps no idempotency key,
so each is looked up by the reference number arbridge wrote before it is
created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Account,
    Capabilities,
    Change,
    Command,
    Config,
    ContactScope,
    Cursor,
    Frequency,
    Item,
    OAuth2,
    Op,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
    Tenant,
)
from arbridge.connectors.ratelimit import Limits, limited_client
from arbridge.connectors.zoho_books import mapping
from arbridge.connectors.zoho_books.client import ZohoClient, parse_time, since_param
from arbridge.connectors.zoho_books.datacentres import DATA_CENTRES, US, DataCentre, from_callback
from arbridge.connectors.zoho_books.preferences import ZohoBooksPreferences
from arbridge.connectors.zoho_books.writer import Writer

STREAM = "zoho_books"
ENTITIES = ("contacts", "invoices")
FILTERS: dict[str, dict[str, str]] = {
    "contacts": {
        "contact_type": "customer",
        "filter_by": "Status.All",
        "sort_column": "created_time",
    },
    "invoices": {"sort_column": "created_time"},
}
OVERLAP = dt.timedelta(minutes=1)
CHECKPOINT_EVERY = 50  # invoices read whole between checkpoints
# How often a pass lists every invoice, to find those deleted outright.
SWEEP_EVERY = dt.timedelta(days=1)

# Per organization: 100 requests a minute, and a daily allowance by plan; at
# most 5 at once on Free, 10 on paid plans. A second's margin on the minute.
# Reference: https://www.zoho.com/books/api/v3/introduction/#api-call-limit
LIMITS = Limits(per_window=100, window_s=61.0, concurrency=5)
DAILY_REQUESTS = {
    "free": 1_000,
    "standard": 2_000,
    "professional": 5_000,
    "premium": 10_000,
    "elite": 10_000,
    "ultimate": 10_000,
}


def daily_limits(plan: str) -> Limits:
    """Return the plan's daily allowance, with a minute's margin on the day as on the minute.

    Zoho counts a call when it arrives, a moment after arbridge counts it
    sent: without the margin the day's first calls leave Zoho's window just
    after they leave ours, and the next day's first calls meet a 429.
    """
    return Limits(per_window=DAILY_REQUESTS[plan], window_s=24 * 3600.0 + 60)


# Consent starts at the US accounts server, which sends the person on to
# their data centre (datacentres.py); access_type=offline asks for a refresh
# token, prompt=consent for a new one on every connect. Access tokens live an
# hour; refresh tokens do not rotate.
# Reference: https://www.zoho.com/books/api/v3/oauth/
SCOPES = (
    "ZohoBooks.contacts.READ",
    "ZohoBooks.invoices.READ",
    "ZohoBooks.customerpayments.ALL",
    "ZohoBooks.settings.READ",
    "ZohoBooks.accountants.READ",
)


def token_url_for(params: Mapping[str, str], app_token_url: str) -> str:
    """Return where an account's code is exchanged and refreshed: its data centre's.

    Against Zoho itself the data centre is one of DATA_CENTRES, whatever else
    the callback says; an app whose token URL is another (a sandbox) serves
    every data centre under /<location> of its own root.
    """
    if app_token_url == US.token_url:
        return from_callback(params).token_url
    root = app_token_url.removesuffix("/oauth/v2/token")
    known = {
        location: DataCentre(location, root if location == "us" else f"{root}/{location}", "")
        for location in DATA_CENTRES
    }
    return from_callback(params, known).token_url


OAUTH = OAuth2(
    authorize_url=f"{US.accounts_server}/oauth/v2/auth?access_type=offline&prompt=consent",
    token_url=US.token_url,
    revoke_url=US.revoke_url,
    api_base=US.api_domain,
    scope=",".join(SCOPES),
    # Reference: https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token.html
    client_auth="client_secret_post",
    # Reference: https://www.zoho.com/books/api/v3/oauth/#overview ("Zoho-oauthtoken")
    authorization_scheme="Zoho-oauthtoken",
    token_url_for=token_url_for,
    # Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html
    kept_token_fields=("api_domain",),
)


class ZohoBooks:
    kind: ClassVar[str] = "zoho_books"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={
            # Zoho Books' webhooks are workflow rules each organization sets up by
            # hand, unsigned: everything is read on a schedule instead.
            Item.INVOICE_DETAILS: Frequency.HOURLY,
            Item.INVOICE_LINES: Frequency.HOURLY,
            Item.CUSTOMERS: Frequency.HOURLY,
            Item.PAYMENTS: Frequency.HOURLY,
            Item.DEPOSITS: Frequency.REAL_TIME,
            Item.ARCHIVE_INVOICES: Frequency.HOURLY,
            Item.ARCHIVE_CUSTOMERS: Frequency.HOURLY,
            Item.DELETE_PAYMENTS: Frequency.REAL_TIME,
            Item.PDF_INVOICES: Frequency.NONE,
        },
        native_pdf=False,
        deposits=True,
        archive_on_source_delete=True,
        contact_scope=ContactScope.BILLING,
        accounts=True,
        tenants=True,
    )
    Preferences: ClassVar[type[ZohoBooksPreferences]] = ZohoBooksPreferences
    display_name: ClassVar[str] = "Zoho Books"
    auth: ClassVar[OAuth2] = OAUTH
    api_base: ClassVar[str] = US.api_domain
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config (remote_account: the organization_id picked after
        consent; base_url, or credentials' `api_domain`, the data centre's API domain),
        a client carrying its token, and the host's runtime, whose limiters count the
        organization's minute and day for every worker.
        """
        self.preferences = ZohoBooksPreferences.model_validate(config.preferences)
        self.organization_id = config.remote_account
        self.api_domain = str(config.credentials.get("api_domain") or config.base_url)
        self.runtime = runtime
        key = f"zoho_books:{self.organization_id}"
        http = limited_client(
            http, runtime.limiter(daily_limits(self.preferences.plan)), f"{key}:day"
        )
        http = limited_client(http, runtime.limiter(LIMITS), key)
        self.client = ZohoClient(http, self.api_domain, self.organization_id, sleep=runtime.sleep)
        self.writer = Writer(self.client, self.preferences)

    def _organization(self) -> None:
        if not self.organization_id:
            raise PermanentError("the connection names no Zoho Books organization")

    def tenants(self) -> list[Tenant]:
        """Return the organizations the consent reaches (GET /organizations), to pick one."""
        # Reference: https://www.zoho.com/books/api/v3/organizations/#list-organizations
        body = ZohoClient(self.client.http, self.api_domain, "").get("organizations")
        return [
            Tenant(id=str(o["organization_id"]), name=str(o.get("name") or ""))
            for o in body.get("organizations") or []
        ]

    def accounts(self) -> list[Account]:
        """Return the active accounts of the chart of accounts, for the preferences."""
        # Reference: https://www.zoho.com/books/api/v3/chart-of-accounts/#list-chart-of-accounts
        self._organization()
        body = self.client.get("chartofaccounts", filter_by="AccountType.Active")
        return [
            Account(
                id=str(a["account_id"]),
                name=str(a.get("account_name") or ""),
                type=str(a.get("account_type") or ""),
                code=str(a.get("account_code") or ""),
            )
            for a in body.get("chartofaccounts") or []
        ]

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        self._organization()
        state = dict(cursor.value) if cursor is not None else {}
        since = parse_time(state.get("since"))
        started = parse_time(state.get("started"))
        swept = parse_time(state.get("swept"))
        if "sweeping" in state:
            sweeping = bool(state["sweeping"])
        else:
            now = self.runtime.clock()
            sweeping = since is None or swept is None or now - swept >= SWEEP_EVERY
        first = ENTITIES.index(state["entity"]) if state.get("entity") in ENTITIES else 0
        number, offset = int(state.get("page", 1)), int(state.get("offset", 0))
        held: dict[str, dict[str, set[str]]] | None = None

        def place(entity: str, page: int, at: int = 0) -> Cursor:
            return Cursor(
                STREAM,
                {
                    "since": since.isoformat() if since else None,
                    "started": started.isoformat() if started else None,
                    "swept": swept.isoformat() if swept else None,
                    "sweeping": sweeping,
                    "entity": entity,
                    "page": page,
                    "offset": at,
                },
            )

        for entity in ENTITIES[first:]:
            params = dict(FILTERS[entity])
            if since is not None and entity == "invoices" and not sweeping:
                params["last_modified_time"] = since_param(since)
            # The ids the list gave this pull, when it reads the list from its first page.
            listed: set[str] | None = set() if number == 1 and offset == 0 else None
            id_field = "contact_id" if entity == "contacts" else "invoice_id"
            while True:
                page = self.client.page(entity, number, params)
                if started is None:
                    started = (page.time or self.runtime.clock()) - OVERLAP
                if listed is not None:
                    listed.update(str(raw.get(id_field) or "") for raw in page.records)
                if entity == "contacts":
                    for raw in page.records:
                        if is_changed(raw, since):
                            yield from mapping.contact_changes(raw)
                else:
                    if held is None:
                        held = {
                            e: mapping.by_invoice(self.runtime.known(e))
                            for e in ("payment", "credit")
                        }
                    for n, summary in enumerate(page.records[offset:], start=offset):
                        if n > offset and n % CHECKPOINT_EVERY == 0:
                            yield place(entity, number, n)
                        if is_changed(summary, since):
                            yield from self._invoice(summary, held, full=since is None)
                offset = 0
                if page.last:
                    break
                number += 1
                yield place(entity, number)
            number = 1
            if listed is not None and (entity == "contacts" or (sweeping and since is not None)):
                yield from self._gone(entity, listed)
            following = ENTITIES.index(entity) + 1
            if following < len(ENTITIES):
                yield place(ENTITIES[following], 1)
        finished = started or self.runtime.clock()
        last_swept = finished if sweeping else (swept or finished)
        yield Cursor(STREAM, {"since": finished.isoformat(), "swept": last_swept.isoformat()})

    def _gone(self, entity: str, listed: set[str]) -> Iterator[Change]:
        """Delete what arbridge holds of a list that Zoho, read whole, no longer has."""
        if entity == "contacts":
            for remote_id in sorted(set(self.runtime.known("customer")) - listed):
                yield Change("customer", remote_id, Op.DELETE)
                yield Change("contact", f"{remote_id}:primary", Op.DELETE)
            return
        for remote_id in sorted(set(self.runtime.known("invoice")) - listed):
            yield Change("invoice", remote_id, Op.DELETE)

    def _invoice(
        self, summary: dict[str, Any], held: dict[str, dict[str, set[str]]], *, full: bool
    ) -> Iterator[Change | Rejected]:
        """Read a billed invoice whole; one voided or back in draft is a delete."""
        if not mapping.is_billed(summary):
            yield from mapping.gone_changes(summary, full=full)
            return
        invoice_id = str(summary.get("invoice_id") or "")
        # Reference: https://www.zoho.com/books/api/v3/invoices/#get-an-invoice
        try:
            raw = self.client.get(f"invoices/{invoice_id}").get("invoice") or {}
        except PermanentError as e:
            if e.status in (400, 404):  # deleted since the page was read
                if not full:
                    yield mapping.changed("invoice", summary, invoice_id, Op.DELETE)
                return
            raise
        mine = {entity: ids.get(invoice_id, set()) for entity, ids in held.items()}
        payments = credits = []
        # Reference: https://www.zoho.com/books/api/v3/invoices/#list-invoice-payments
        if has_amount(raw.get("payment_made")):
            payments = self.client.get(f"invoices/{invoice_id}/payments").get("payments") or []
        # Reference: https://www.zoho.com/books/api/v3/invoices/#list-credits-applied
        if has_amount(raw.get("credits_applied")):
            credits = self.client.get(f"invoices/{invoice_id}/creditsapplied").get("credits") or []
        yield from mapping.invoice_changes(raw, payments, credits, mine)

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        self._organization()
        payload = dict(command.payload)
        try:
            if command.action == "create_payment":
                return self.writer.create_payment(payload, command.idempotency_key)
            if command.action == "delete_payment":
                return self.writer.delete_payment(str(payload["remote_id"]))
            if command.action == "create_deposit":
                return self.writer.create_deposit(payload, command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e
        raise PermanentError(f"Zoho Books cannot {command.action!r}")


def has_amount(value: Any) -> bool:
    try:
        return Decimal(str(value or 0)) != 0
    except ArithmeticError:
        return True  # read what it holds rather than guess


def is_changed(raw: dict[str, Any], since: dt.datetime | None) -> bool:
    modified = parse_time(raw.get("last_modified_time"))
    return since is None or modified is None or modified >= since
