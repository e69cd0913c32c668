"""The Business Central connector: pull by lastModifiedDateTime and nextLinks, post journals.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-develop-connect-apps
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/administration-center-api_environments

The remote account is "tenant/environment/company id", picked after consent
from the companies of the tenant's environments (`tenants()`).

One cursor stream, "business_central", holds where reading stopped:

    {"since": S}                                  read what changed since S
    {"since": S | None, "started": T,             a pass under way: resume at
     "entity": "salesInvoices", "next": URL}      the page that nextLink names

A pass reads customers, contacts and sales invoices (lines expanded) in that
order, with `$filter=lastModifiedDateTime gt S` (none on the first pass),
then, if by change, every invoice still open (for its balance); 1,000 a
page, following `@odata.nextLink` (its skip token is the last key read, so
a resumed page neither skips nor repeats). After every page a checkpoint.
The next pass reads from T: the server's Date at the pass's first page
less a minute, so what changed while it ran is read again.

Writes have no idempotency key in Business Central. Each one carries a
Document No. derived from the command's key and is looked up before
anything is added: posted (G/L entries), then waiting in the journal.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterable, Iterator
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
    Delivery,
    Frequency,
    Hint,
    Item,
    MalformedRecord,
    OAuth2,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
    Tenant,
    WebhookRequest,
)
from arbridge.connectors.business_central import mapping, webhooks
from arbridge.connectors.business_central.client import (
    BusinessCentralClient,
    Company,
    environment_root,
    keyed,
    literal,
)
from arbridge.connectors.business_central.journals import BusinessCentralPreferences, Journals
from arbridge.connectors.http import request
from arbridge.connectors.ratelimit import Limits, limited_client
from arbridge.connectors.wire import loads

STREAM = "business_central"
# Read in this order: a contact's customer and an invoice's customer come first.
ENTITIES = ("customers", "contacts", "salesInvoices")
EXPAND = {"contacts": "contactsInformation", "salesInvoices": "salesInvoiceLines"}
# A pass by change ends by reading again every invoice still open: a payment or credit
# memo applied in Business Central moves its remainingAmount (a sum over customer ledger
# entries), which need not stamp the invoice's lastModifiedDateTime.
OPEN = "openInvoices"
SETS = {OPEN: "salesInvoices"}
BY_ENTITY = {"customer": "customers", "contact": "contacts", "invoice": "salesInvoices"}
OVERLAP = dt.timedelta(minutes=1)
# Subscriptions live three days; renewed when less than two are left, so a
# job running every few hours never lets one lapse.
RENEW_WITHIN = dt.timedelta(days=2)

# Per user and environment: 6,000 OData requests in any 5 minutes, 5 processed
# at once (more wait in a queue of 95, then 429). A margin of a second on the window.
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online#odata-request-limits
LIMITS = Limits(per_window=6_000, window_s=301.0, concurrency=5)

# The Microsoft identity platform, authorization code with refresh tokens.
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-develop-connect-apps#AAD
AUTHORIZE_URL = "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
TOKEN_URL = "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"  # noqa: S105
API_BASE = "https://api.businesscentral.dynamics.com"
SCOPES = ("https://api.businesscentral.dynamics.com/Financials.ReadWrite.All", "offline_access")
OAUTH = OAuth2(
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    api_base=API_BASE,
    scope=" ".join(SCOPES),
)
# The Business Central admin center API lists a tenant's environments.
ENVIRONMENTS = "/admin/v2.21/applications/BusinessCentral/environments"


class BusinessCentral:
    kind: ClassVar[str] = "business_central"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={
            Item.INVOICE_DETAILS: Frequency.REAL_TIME,
            Item.INVOICE_LINES: Frequency.REAL_TIME,
            Item.CUSTOMERS: Frequency.REAL_TIME,
            # Payments applied in Business Central move the invoice's remainingAmount,
            # which need not send a notification: open invoices are read again hourly.
            Item.PAYMENTS: Frequency.HOURLY,
            Item.DEPOSITS: Frequency.REAL_TIME,
            Item.ARCHIVE_INVOICES: Frequency.REAL_TIME,
            Item.ARCHIVE_CUSTOMERS: Frequency.REAL_TIME,
            Item.DELETE_PAYMENTS: Frequency.REAL_TIME,
            Item.PDF_INVOICES: Frequency.NONE,
        },
        native_pdf=False,
        deposits=True,
        archive_on_source_delete=True,
        contact_scope=ContactScope.BILLING,
        fetch=True,
        accounts=True,
        tenants=True,
        webhooks="connection",
        subscribe=True,
        renews_subscriptions=True,
    )
    Preferences: ClassVar[type[BusinessCentralPreferences]] = BusinessCentralPreferences
    display_name: ClassVar[str] = "Business Central"
    auth: ClassVar[OAuth2] = OAUTH
    api_base: ClassVar[str] = API_BASE
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config (remote_account "tenant/environment/company", empty
        until picked, when only `tenants()` works), a client carrying its token, and the
        host's runtime: the environment's limits are shared by every worker.
        """
        self.preferences = BusinessCentralPreferences.model_validate(config.preferences)
        self.base_url = config.base_url
        self.account = config.remote_account
        self.client_state = str(config.credentials.get("webhook_secret") or "")
        self.where = Company.parse(self.account) if self.account else None
        if self.where is not None:
            key = f"business_central:{self.where.tenant}:{self.where.environment}"
            http = limited_client(http, runtime.limiter(LIMITS), key)
        self.http = http
        self.clock = runtime.clock
        self.sleep = runtime.sleep
        self.client = (
            BusinessCentralClient(http, config.base_url, self.where, sleep=runtime.sleep)
            if self.where is not None
            else None
        )

    @property
    def journals(self) -> Journals:
        return Journals(self.api, self.preferences, self.clock)

    @property
    def api(self) -> BusinessCentralClient:
        if self.client is None:
            raise PermanentError("the connection names no Business Central company")
        return self.client

    # -- the company ----------------------------------------------------------

    def tenants(self) -> list[Tenant]:
        """Return the companies of every environment the consent reaches, to pick one."""
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/administration-center-api_environments
        base = self.base_url.rstrip("/")
        found = loads(
            self._get(f"{base}{ENVIRONMENTS}").content,
            "Business Central",
        )
        companies = []
        for environment in found.get("value") or []:
            if environment.get("status", "Active") != "Active":
                continue
            tenant, name = str(environment["aadTenantId"]), str(environment["name"])
            root = environment_root(self.base_url, tenant, name)
            listed = loads(
                self._get(f"{root}/companies").content,
                "Business Central",
            )
            for company in listed.get("value") or []:
                label = company.get("displayName") or company.get("name") or company["id"]
                companies.append(
                    Tenant(
                        id=str(Company(tenant, name, str(company["id"]))), name=f"{label} ({name})"
                    )
                )
        return companies

    def _get(self, url: str) -> httpx.Response:
        return request(
            self.http, "GET", url, headers={"Accept": "application/json"}, sleep=self.sleep
        )

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        state = dict(cursor.value) if cursor is not None else {}
        since = mapping.parse_time(state.get("since"))
        started = mapping.parse_time(state.get("started"))
        stages = ENTITIES if since is None else (*ENTITIES, OPEN)
        first = stages.index(state["entity"]) if state.get("entity") in stages else 0
        link = state.get("next")
        for stage in stages[first:]:
            entity_set = SETS.get(stage, stage)
            while True:
                page = self.api.page(link or entity_set, None if link else self.query(stage, since))
                if started is None:
                    started = (server_time(page.date) or self.clock()) - OVERLAP
                yield from self._read(entity_set, page.records, full=since is None)
                link = page.next_link
                if not link:
                    break
                yield Cursor(STREAM, place(since, started, stage, link))
            following = stages.index(stage) + 1
            if following < len(stages):
                yield Cursor(STREAM, place(since, started, stages[following], None))
        yield Cursor(STREAM, {"since": (started or self.clock()).isoformat()})

    def query(self, stage: str, since: dt.datetime | None) -> dict[str, str]:
        entity_set = SETS.get(stage, stage)
        params = {}
        if stage == OPEN:
            params["$filter"] = "status eq 'Open'"
        elif since is not None:
            params["$filter"] = f"lastModifiedDateTime gt {mapping.odata_time(since)}"
        if entity_set in EXPAND:
            params["$expand"] = EXPAND[entity_set]
        return params

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read some records again, as notifications ask; one no longer there is a delete.

        A "collection" hint (too many changes to list) reads that list by change
        since the moment it names, less a minute.
        """
        entity_set = BY_ENTITY.get(entity.lower())
        if entity_set is None:
            return
        for id in dict.fromkeys(ids):
            if id.startswith(webhooks.COLLECTION):
                yield from self._collection(entity_set, id.partition(":")[2])
                continue
            params = {"$expand": EXPAND[entity_set]} if entity_set in EXPAND else {}
            try:
                raw = self.api.get(keyed(entity_set, id), **params)
            except PermanentError as e:
                if e.status != 404:
                    raise
                yield mapping.changed(entity.lower(), {}, id, mapping.Op.DELETE)
                if entity_set == "customers":
                    yield mapping.changed("contact", {}, f"{id}:billing", mapping.Op.DELETE)
                continue
            yield from self._read(entity_set, [raw], full=False)

    def _collection(self, entity_set: str, moment: str) -> Iterator[Change | Rejected]:
        since = mapping.parse_time(moment)
        since = since - OVERLAP if since else None
        for raw_page in self._pages(entity_set, self.query(entity_set, since)):
            yield from self._read(entity_set, raw_page, full=False)

    def _pages(self, entity_set: str, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        page = self.api.page(entity_set, params)
        yield page.records
        while page.next_link:
            page = self.api.page(page.next_link)
            yield page.records

    def _read(
        self, entity_set: str, records: list[dict[str, Any]], *, full: bool
    ) -> Iterator[Change | Rejected]:
        for raw in records:
            if entity_set == "customers":
                yield from mapping.customer_changes(raw)
            elif entity_set == "contacts":
                yield from mapping.contact_changes(raw)
            elif entity_set == "salesInvoices":
                yield from mapping.invoice_changes(
                    raw, full=full, currency=self.preferences.currency
                )

    def accounts(self) -> list[Account]:
        """Return the G/L accounts (by category) and the bank accounts, for the preferences."""
        ledger = [
            Account(
                id=str(a["id"]),
                code=str(a.get("number") or ""),
                name=str(a.get("displayName") or ""),
                type=str(a.get("category") or ""),
                subtype=str(a.get("subCategory") or ""),
            )
            for a in self.api.all("accounts")
            if not a.get("blocked") and a.get("directPosting", True)
        ]
        banks = [
            Account(
                id=str(b["id"]),
                code=str(b.get("number") or ""),
                name=str(b.get("displayName") or ""),
                type="Bank",
            )
            for b in self.api.all("bankAccounts")
        ]
        return ledger + banks

    # -- webhooks -------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> Delivery:
        """Answer the validation handshake; accept notifications carrying our clientState."""
        token = webhooks.validation_token(dict(request.query))
        if token is not None:
            # Nothing is stored; the answer is the token itself, as plain text.
            return Delivery(accepted=True, answer=token)
        if not webhooks.is_ours(request.body, self.client_state):
            return Delivery(accepted=False, reason="This notification's clientState is not ours.")
        return Delivery(accepted=True, hints=tuple(self.hints(request.body)))

    def hints(self, body: bytes) -> list[Hint]:
        """Return a stored delivery's hints for this connection's company."""
        try:
            notes = webhooks.parse(body)
        except (ValueError, TypeError) as e:
            raise MalformedRecord(
                "The body is not a Business Central notification.", raw=body
            ) from e
        company = self.where.company if self.where else ""
        hints = []
        for note in notes:
            if note.company != company:
                continue
            if note.change_type == "collection" or not note.remote_id:
                remote_id = f"{webhooks.COLLECTION}:{note.modified}"
            else:
                remote_id = note.remote_id
            event_id = ":".join(
                (note.subscription_id, note.entity, remote_id, note.change_type, note.modified)
            )
            hints.append(Hint(entity=note.entity, remote_id=remote_id, event_id=event_id))
        return hints

    def subscribe(self, url: str) -> list[str]:
        """Have Business Central notify `url` of changes to the synced lists, once each.

        A subscription found with less than RENEW_WITHIN left is renewed
        (PATCH with its etag; Business Central repeats the handshake); one
        missing or lapsed (expired: deleted first) is made anew, under a new
        id, which tells the caller to catch up by polling. Returns the ids.
        """
        # Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions
        if not self.client_state:
            raise PermanentError("the connection has no webhook secret to send as clientState")
        existing = {
            (row.get("notificationUrl"), row.get("resource")): row
            for row in self.api.all("/subscriptions")
        }
        ids = []
        for entity_set in ENTITIES:
            resource = f"/api/v2.0/companies({self.api_company()})/{entity_set}"
            body = {"notificationUrl": url, "resource": resource, "clientState": self.client_state}
            row = existing.get((url, resource))
            if row is not None and self._lapsed(row):
                # Nothing was sent since it expired: a new one, and the caller catches up.
                path = f"/subscriptions({literal(row['subscriptionId'])})"
                self.api.delete(path, str(row.get("@odata.etag") or "*"))
                row = None
            if row is None:
                row = self.api.post("/subscriptions", body)
            elif self._expires_soon(row):
                path = f"/subscriptions({literal(row['subscriptionId'])})"
                row = self.api.patch(path, body, str(row.get("@odata.etag") or "*"))
            ids.append(str(row["subscriptionId"]))
        return ids

    def api_company(self) -> str:
        return self.where.company if self.where else ""

    def _lapsed(self, row: dict[str, Any]) -> bool:
        expires = mapping.parse_time(row.get("expirationDateTime"))
        return expires is not None and expires <= self.clock()

    def _expires_soon(self, row: dict[str, Any]) -> bool:
        expires = mapping.parse_time(row.get("expirationDateTime"))
        return expires is None or expires - self.clock() < RENEW_WITHIN

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        try:
            return self._push(command.action, dict(command.payload), command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e

    def _push(self, action: str, payload: dict[str, Any], key: str) -> RemoteRef:
        if action == "create_payment":
            return self.journals.create_payment(payload, key)
        if action == "delete_payment":
            return self.journals.delete_payment(str(payload["remote_id"]))
        if action == "create_deposit":
            return self.journals.create_deposit(payload, key)
        raise PermanentError(f"Business Central cannot {action!r}")


def place(
    since: dt.datetime | None, started: dt.datetime, entity: str, link: str | None
) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "started": started.isoformat(),
        "entity": entity,
        "next": link,
    }


def server_time(header: str) -> dt.datetime | None:
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
