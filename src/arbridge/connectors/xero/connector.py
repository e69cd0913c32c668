"""The Xero connector: pull by pages and If-Modified-Since, push payments and payouts.

# Reference: https://developer.xero.com/documentation/api/accounting/overview
# Reference: https://developer.xero.com/documentation/api/accounting/requests-and-responses#retrieving-modified-resources
# Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow
# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/

One cursor stream, "xero", holds where reading stopped:

    {"since": S}                                   read what changed since S
    {"since": S | None, "started": T,              a pass under way: resume at
     "entity": "Invoices", "page": 7}              page 7 of the invoices

A pass reads contacts, invoices, credit notes and payments in that order
(so a record's contact and invoices come before it), each a page of 100 at a
time, with If-Modified-Since S (none on the first pass), ordered by the
record's id: a record changed during the pass keeps its place, and one that
newly matches shifts later ones a place on, so a page resumed may re-read
one but never skips one. After every page a checkpoint. When the pass ends,
the next one reads from T, the server's clock at the pass's first page less
a minute, so what changed while it ran is read again. Applying a change
twice changes nothing.

A 429 for the day's 5,000 calls is raised (RateLimited, problem "day",
retry_after until the window frees): the job stops after its last
checkpoint and, rescheduled, resumes from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

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
    Delivery,
    Frequency,
    Hint,
    Item,
    MalformedRecord,
    OAuth2,
    PermanentError,
    Preferences,
    Rejected,
    RemoteRef,
    Runtime,
    Tenant,
    WebhookRequest,
    account_field,
)
from arbridge.connectors.http import request
from arbridge.connectors.ratelimit import Limits, limited_client
from arbridge.connectors.wire import loads
from arbridge.connectors.xero import mapping, webhooks
from arbridge.connectors.xero.client import PAGE_SIZE, XeroClient, id_list, parse_date, since_header

STREAM = "xero"
# Read in this order: a record's contact and invoices come before it.
ENTITIES = ("Contacts", "Invoices", "CreditNotes", "Payments")
# Only sales; contacts as well archived.
FILTERS: dict[str, dict[str, str]] = {
    "Contacts": {"includeArchived": "true", "order": "ContactID"},
    "Invoices": {"where": 'Type=="ACCREC"', "order": "InvoiceID"},
    "CreditNotes": {"where": 'Type=="ACCRECCREDIT"', "order": "CreditNoteID"},
    "Payments": {"where": 'PaymentType=="ACCRECPAYMENT"', "order": "PaymentID"},
}
BY_ENTITY = {
    "customer": "Contacts",
    "invoice": "Invoices",
    "credit": "CreditNotes",
    "payment": "Payments",
}
OVERLAP = dt.timedelta(minutes=1)

# Per organisation and app: 60 calls a minute, 5,000 a day, 5 at once (and
# 10,000 a minute per app across organisations). A second's margin on the minute.
# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
LIMITS = Limits(per_window=60, window_s=61.0, concurrency=5)
DAILY_LIMITS = Limits(per_window=5_000, window_s=24 * 3600.0)

# OAuth2 authorization code; refresh tokens rotate on every use (the last one
# works for 30 minutes more), access tokens live 30 minutes.
# Reference: https://developer.xero.com/documentation/guides/oauth2/scopes
AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
TOKEN_URL = "https://identity.xero.com/connect/token"  # noqa: S105 - a URL
REVOKE_URL = "https://identity.xero.com/connect/revocation"
API_BASE = "https://api.xero.com"
SCOPES = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings.read",
)
OAUTH = OAuth2(
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    revoke_url=REVOKE_URL,
    api_base=API_BASE,
    scope=" ".join(SCOPES),
)


class XeroPreferences(Preferences):
    """Where payments and payouts are recorded; accounts offered by their Xero type."""

    # Where payments taken in arbridge are recorded while deposits are on: an
    # account with payments enabled (e.g. "Stripe clearing"); the bank account otherwise.
    clearing_account_code: str | None = Field(
        None,
        title="Clearing account",
        description='An account with payments enabled, e.g. "Stripe clearing": payments '
        "wait there until their payout moves them to the bank account.",
        json_schema_extra=account_field(
            ["BANK", "payments"],
            key="code",
            needed_by="create_deposits",
            missing="Choose the clearing account payments wait in.",
        ),
    )
    bank_account_code: str | None = Field(
        None,
        title="Bank account for deposits",
        description="We recommend the bank account connected to arbridge for payouts.",
        json_schema_extra=account_field(
            ["BANK"], key="code", needed_by="create_deposits", missing="Choose the bank account."
        ),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a bank transfer from the clearing account to the "
        "bank account, and its fees as a spend transaction. Off by default.",
    )
    fee_account_code: str | None = Field(
        None,
        title="Processing fee account",
        json_schema_extra=account_field(
            ["EXPENSE", "OVERHEADS", "DIRECTCOSTS"],
            key="code",
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    fee_contact_name: str = Field("Payment processor", title="Contact the fees are paid to")


class XeroConnector:
    kind: ClassVar[str] = "xero"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={
            Item.INVOICE_DETAILS: Frequency.REAL_TIME,
            Item.INVOICE_LINES: Frequency.REAL_TIME,
            Item.CUSTOMERS: Frequency.REAL_TIME,
            # Xero sends no payment events: payments recorded there are read hourly.
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
        webhooks="app",
    )
    Preferences: ClassVar[type[XeroPreferences]] = XeroPreferences
    display_name: ClassVar[str] = "Xero"
    auth: ClassVar[OAuth2] = OAUTH
    api_base: ClassVar[str] = API_BASE
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config (remote_account: the tenant id picked after
        consent; empty until then, when only `tenants()` works), a client that
        carries its token, and the host's runtime: the organisation's minute and
        daily limits are counted by the host's limiters, shared by every worker.
        """
        self.preferences = XeroPreferences.model_validate(config.preferences)
        self.base_url = config.base_url
        self.tenant_id = config.remote_account
        key = f"xero:{self.tenant_id}"
        http = limited_client(http, runtime.limiter(DAILY_LIMITS), f"{key}:day")
        http = limited_client(http, runtime.limiter(LIMITS), key)
        self.http = http
        self.client = XeroClient(http, config.base_url, config.remote_account)

    # -- webhooks -------------------------------------------------------------

    @classmethod
    def receive(cls, request: WebhookRequest, key: str) -> Delivery:
        """Verify an x-xero-signature; intent to receive is a good signature on no events.

        Xero wants 200 or 401 with an empty body, within 5 seconds.
        """
        signature = request.headers.get(webhooks.SIGNATURE_HEADER, "")
        if not webhooks.verify(request.body, signature, key):
            return Delivery(accepted=False)
        return Delivery(
            accepted=True,
            hints=tuple(_hints(request.body)),
            kept_headers=("content-type", webhooks.SIGNATURE_HEADER),
        )

    def hints(self, body: bytes) -> list[Hint]:
        """Return a stored delivery's hints for this connection's organisation."""
        return [hint for hint in _hints(body) if hint.account == self.tenant_id]

    def _tenant(self) -> None:
        if not self.tenant_id:
            raise PermanentError("the connection names no Xero organisation (tenant id)")

    def tenants(self) -> list[Tenant]:
        """Return the organisations the consent connected (GET /connections), to pick one."""
        # Reference: https://developer.xero.com/documentation/guides/oauth2/tenants
        response = request(
            self.http,
            "GET",
            f"{self.base_url.rstrip('/')}/connections",
            headers={"Accept": "application/json"},
        )
        return [
            Tenant(id=str(c["tenantId"]), name=str(c.get("tenantName") or ""))
            for c in loads(response.content, "Xero")
            if c.get("tenantType", "ORGANISATION") == "ORGANISATION"
        ]

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        self._tenant()
        state = dict(cursor.value) if cursor is not None else {}
        since = parse_date(state.get("since"))
        started = parse_date(state.get("started"))
        first = ENTITIES.index(state["entity"]) if state.get("entity") in ENTITIES else 0
        number = int(state.get("page", 1))
        for entity in ENTITIES[first:]:
            while True:
                page = self.client.page(
                    entity,
                    number,
                    since=since_header(since) if since else None,
                    params=FILTERS[entity],
                )
                if started is None:
                    started = (page.time or now()) - OVERLAP
                yield from self._read(entity, page.records, full=since is None)
                if page.last:
                    break
                number += 1
                yield Cursor(STREAM, place(since, started, entity, number))
            number = 1
            following = ENTITIES.index(entity) + 1
            if following < len(ENTITIES):
                yield Cursor(STREAM, place(since, started, ENTITIES[following], 1))
        yield Cursor(STREAM, {"since": (started or now()).isoformat()})

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read some records again, as webhook hints ask ("invoice", "customer", ...)."""
        self._tenant()
        resource = BY_ENTITY.get(entity.lower())
        ids = id_list(ids)
        if resource is None:
            return
        for start in range(0, len(ids), PAGE_SIZE):
            batch = ids[start : start + PAGE_SIZE]
            params = {"includeArchived": "true"} if resource == "Contacts" else {}
            yield from self._read(
                resource, self.client.by_ids(resource, batch, **params), full=False
            )

    def _read(
        self, entity: str, records: list[dict[str, Any]], *, full: bool
    ) -> Iterator[Change | Rejected]:
        for raw in records:
            if entity == "Contacts":
                yield from mapping.contact_changes(raw)
            elif entity == "Invoices":
                yield from mapping.invoice_changes(raw, full=full)
            elif entity == "CreditNotes":
                yield from mapping.credit_changes(raw, full=full)
            elif entity == "Payments":
                yield from mapping.payment_changes(raw, full=full)

    def accounts(self) -> list[Account]:
        """Return the active accounts (those taking payments marked), for the preferences."""
        self._tenant()
        body = self.client.get("Accounts", where='Status=="ACTIVE"')
        return [
            Account(
                id=str(a["AccountID"]),
                code=str(a.get("Code") or ""),
                name=str(a.get("Name") or ""),
                type=str(a.get("Type") or ""),
                subtype="payments" if a.get("EnablePaymentsToAccount") else "",
            )
            for a in body.get("Accounts") or []
        ]

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        self._tenant()
        try:
            return self._push(command.action, dict(command.payload), command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e

    def _push(self, action: str, payload: dict[str, Any], key: str) -> RemoteRef:
        if action == "create_payment":
            return self._create_payment(payload, key)
        if action == "delete_payment":
            return self._delete_payment(str(payload["remote_id"]), key)
        if action == "create_deposit":
            return self._create_deposit(payload, key)
        raise PermanentError(f"Xero cannot {action!r}")

    def payment_account(self) -> str:
        """Return the code of the account payments are recorded into."""
        prefs = self.preferences
        code = prefs.clearing_account_code if prefs.create_deposits else None
        code = code or prefs.bank_account_code or prefs.clearing_account_code
        if not code:
            raise PermanentError("no Xero account is chosen for payments")
        return code

    def _create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """PUT the payment (one per invoice paid) under the command's Idempotency-Key.

        Several invoices paid at once are several Xero payments; the remote id
        lists them, comma-separated, so that deleting it deletes them all.
        """
        # Reference: https://developer.xero.com/documentation/api/accounting/payments#put-payments
        bodies = mapping.payment_bodies(
            payload, payload.get("account_code") or self.payment_account()
        )
        created = self.client.put("Payments", {"Payments": bodies}, key=key)
        if len(created) != len(bodies) or not all(p.get("PaymentID") for p in created):
            raise PermanentError("Xero did not answer with every payment it was sent")
        return RemoteRef(",".join(str(p["PaymentID"]) for p in created))

    def _delete_payment(self, remote_id: str, key: str) -> RemoteRef:
        """Set each payment's Status to DELETED; one already deleted counts as deleted."""
        # Reference: https://developer.xero.com/documentation/api/accounting/payments#deleting-payments
        for n, payment_id in enumerate(id_list(remote_id.split(","))):
            try:
                self.client.post(f"Payments/{payment_id}", {"Status": "DELETED"}, key=f"{key}:{n}")
            except PermanentError as e:
                if e.status == 400 and "already" in str(e).lower():
                    continue
                if e.status == 404:
                    continue
                raise
        return RemoteRef(remote_id)

    def _create_deposit(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Move a payout from clearing to the bank, and spend its fees out of clearing.

        Two writes, each under a key of its own derived from the command's, so
        a retry repeats neither. The remote id is the transfer's, the version
        the spend's.
        """
        prefs = self.preferences
        clearing = payload.get("clearing_account_code") or prefs.clearing_account_code
        bank = payload.get("bank_account_code") or prefs.bank_account_code
        if not clearing:
            raise PermanentError("no Xero clearing account is chosen for deposits")
        if not bank:
            raise PermanentError("no Xero bank account is chosen for deposits")
        transfer, spend = mapping.deposit_bodies(
            payload,
            clearing=clearing,
            bank=bank,
            fee_account=payload.get("fee_account_code") or prefs.fee_account_code,
            fee_contact=prefs.fee_contact_name,
        )
        spent = ""
        if spend is not None:
            rows = self.client.put(
                "BankTransactions", {"BankTransactions": [spend]}, key=f"{key}:fees"
            )
            spent = str(rows[0]["BankTransactionID"]) if rows else ""
        moved = self.client.put(
            "BankTransfers", {"BankTransfers": [transfer]}, key=f"{key}:transfer"
        )
        if not moved or not moved[0].get("BankTransferID"):
            raise PermanentError("Xero did not answer with the bank transfer")
        return RemoteRef(str(moved[0]["BankTransferID"]), spent)


def place(
    since: dt.datetime | None, started: dt.datetime, entity: str, page: int
) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "started": started.isoformat(),
        "entity": entity,
        "page": page,
    }


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hints(body: bytes) -> Iterator[Hint]:
    try:
        events = webhooks.parse(body)
    except (ValueError, KeyError, TypeError) as e:
        raise MalformedRecord("The body is not a Xero webhook delivery.", raw=body) from e
    for e in events:
        yield Hint(entity=e.entity, remote_id=e.remote_id, account=e.tenant_id, event_id=e.event_id)
