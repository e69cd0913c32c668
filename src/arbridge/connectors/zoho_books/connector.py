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

Zoho keeps no idempotency key: a payment carries a reference number built
from the command's key, and is looked up by it (search_text, then the
payment itself) before it is created. The create is never resent on a lost
answer; the outbox's retry finds it by the lookup instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

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
    Preferences,
    Rejected,
    RemoteRef,
    Runtime,
    Tenant,
    account_field,
)
from arbridge.connectors.ratelimit import Limits, limited_client
from arbridge.connectors.zoho_books import mapping
from arbridge.connectors.zoho_books.client import ZohoClient, parse_time, since_param
from arbridge.connectors.zoho_books.datacentres import US

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
Plan = Literal["free", "standard", "professional", "premium", "elite", "ultimate"]


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
OAUTH = OAuth2(
    authorize_url=f"{US.accounts_server}/oauth/v2/auth?access_type=offline&prompt=consent",
    token_url=US.token_url,
    revoke_url=US.revoke_url,
    api_base=US.api_domain,
    scope=",".join(SCOPES),
)


class ZohoBooksPreferences(Preferences):
    """The organization's plan (its daily API allowance), where payments and payouts go."""

    plan: Plan = Field(
        "standard",
        title="Zoho Books plan",
        description="Zoho allows each plan a number of API calls a day (Standard 2,000, "
        "Professional 5,000, Premium and above 10,000); arbridge keeps within it.",
    )
    payment_account_id: str | None = Field(
        None,
        title="Record payments into",
        description='The account payments taken in arbridge wait in, e.g. "Undeposited '
        "Funds\"; Zoho's default when none is chosen.",
        json_schema_extra=account_field(
            ["bank", "cash", "other_current_asset"],
            needed_by="create_deposits",
            missing="Choose the account payments wait in until their payout.",
        ),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a transfer from that account to the bank "
        "account, its fees as an expense and its surcharges as income. Off by default.",
    )
    deposit_account_id: str | None = Field(
        None,
        title="Bank account for deposits",
        description="We recommend the bank account connected to arbridge for payouts.",
        json_schema_extra=account_field(
            ["bank"], needed_by="create_deposits", missing="Choose the bank account."
        ),
    )
    fee_account_id: str | None = Field(
        None,
        title="Processing fee account",
        json_schema_extra=account_field(
            ["expense", "other_expense"],
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    surcharge_income_account_id: str | None = Field(
        None,
        title="Surcharge income account",
        json_schema_extra=account_field(["income", "other_income"]),
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
                return self._create_payment(payload, command.idempotency_key)
            if command.action == "delete_payment":
                return self._delete_payment(str(payload["remote_id"]))
            if command.action == "create_deposit":
                return self._create_deposit(payload, command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e
        raise PermanentError(f"Zoho Books cannot {command.action!r}")

    def find_payment(self, reference: str) -> str | None:
        """Return the id of the payment carrying this reference number, if there is one."""
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#list-customer-payments
        body = self.client.get("customerpayments", search_text=reference)
        for hit in body.get("customer_payments") or []:
            payment_id = str(hit.get("payment_id") or "")
            if not payment_id:
                continue
            # The list need not carry the reference number, and search_text
            # also matches names and descriptions: the payment itself says.
            if hit.get("reference_number") is None:
                payment = self.client.get(f"customerpayments/{payment_id}").get("payment") or {}
                hit = {**hit, "reference_number": payment.get("reference_number")}
            if hit.get("reference_number") == reference:
                return payment_id
        return None

    def _create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Record one customer payment applied to the command's invoices, once per key."""
        reference = mapping.reference(key)
        if found := self.find_payment(reference):
            return RemoteRef(found)
        allocations = payload.get("allocations") or []
        if not allocations:
            raise PermanentError("the payment applies to no invoice")
        customer_id = payload.get("customer_remote_id")
        if not customer_id:
            first = str(allocations[0]["invoice_remote_id"])
            invoice = self.client.get(f"invoices/{first}").get("invoice") or {}
            customer_id = invoice.get("customer_id")
        body = mapping.payment_body(
            payload, str(customer_id or ""), key, self.preferences.payment_account_id
        )
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#create-a-payment
        created = self.client.post("customerpayments", body).get("payment") or {}
        if not created.get("payment_id"):
            raise PermanentError("Zoho Books did not answer with the payment it recorded")
        return RemoteRef(str(created["payment_id"]))

    def _delete_payment(self, remote_id: str) -> RemoteRef:
        """Delete the payment (a reversal or an ACH return); one already gone counts as deleted."""
        # Reference: https://www.zoho.com/books/api/v3/customer-payments/#delete-a-payment
        try:
            self.client.delete(f"customerpayments/{remote_id}")
        except PermanentError as e:
            if e.status != 404 and "not exist" not in str(e).lower():
                raise
        return RemoteRef(remote_id)

    def find_transaction(self, reference: str) -> str | None:
        """Return the id of the bank transaction carrying this reference number, if any."""
        # Reference: https://www.zoho.com/books/api/v3/bank-transactions/#get-transactions-list
        body = self.client.get("banktransactions", search_text=reference)
        for hit in body.get("banktransactions") or []:
            if hit.get("reference_number") == reference and hit.get("transaction_id"):
                return str(hit["transaction_id"])
        return None

    def _create_deposit(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Move a payout out of the payments' account: a transfer, its fees and surcharges.

        Up to three bank transactions, each under a reference of its own
        derived from the command's key and looked up before it is created,
        so a retry repeats none. The remote id is the transfer's, the
        version the others' ids.
        """
        prefs = self.preferences
        clearing = payload.get("payment_account_id") or prefs.payment_account_id
        bank = payload.get("deposit_account_id") or prefs.deposit_account_id
        if not clearing:
            raise PermanentError("no Zoho Books account is chosen for payments to wait in")
        if not bank:
            raise PermanentError("no Zoho Books bank account is chosen for deposits")
        bodies = mapping.deposit_bodies(
            payload,
            key,
            clearing=clearing,
            bank=bank,
            fee_account=payload.get("fee_account_id") or prefs.fee_account_id,
            surcharge_account=payload.get("surcharge_account_id")
            or prefs.surcharge_income_account_id,
        )
        ids = {}
        for part, body in bodies.items():
            # Reference: https://www.zoho.com/books/api/v3/bank-transactions/#create-a-transaction-for-an-account
            found = self.find_transaction(body["reference_number"])
            if found is None:
                answer = self.client.post("banktransactions", body).get("banktransaction") or {}
                found = str(answer.get("transaction_id") or "")
                if not found:
                    raise PermanentError("Zoho Books did not answer with the bank transaction")
            ids[part] = found
        others = ",".join(ids[part] for part in ("surcharges", "fees") if part in ids)
        return RemoteRef(ids["transfer"], others)


def has_amount(value: Any) -> bool:
    try:
        return Decimal(str(value or 0)) != 0
    except ArithmeticError:
        return True  # read what it holds rather than guess


def is_changed(raw: dict[str, Any], since: dt.datetime | None) -> bool:
    modified = parse_time(raw.get("last_modified_time"))
    return since is None or modified is None or modified >= since
