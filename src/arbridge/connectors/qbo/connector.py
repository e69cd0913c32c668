"""The QuickBooks Online connector: pull by query pages and CDC, push payments and deposits.

One cursor stream, "qbo", holds where reading stopped:

    {"since": T}                                 read changes since T by CDC
    {"since": T, "entity": "Invoice", "after": I} a full sync under way: resume
                                                 with the invoices after Id I

A full sync (no cursor, or a cursor older than CDC's 30 days) reads every
term, customer, invoice and payment by query pages of 1,000 and checkpoints
after each page; its T is the moment it began, so CDC afterwards re-reads
whatever changed while it ran. Applying a change twice changes nothing, so
reading a little too much is always the safe side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple

import httpx
from pydantic import Field

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Account,
    Batching,
    Capabilities,
    Change,
    Command,
    Config,
    ConnectorError,
    ContactScope,
    Cursor,
    Delivery,
    Frequency,
    Hint,
    InvoicePayment,
    InvoiceSummary,
    Item,
    MalformedRecord,
    OAuth2,
    PermanentError,
    Preferences,
    Rejected,
    RemoteRef,
    Runtime,
    SaleItem,
    WebhookRequest,
    account_field,
)
from arbridge.connectors.qbo import invoices_out, mapping, webhooks
from arbridge.connectors.qbo import models as qb
from arbridge.connectors.qbo.client import (
    CDC_LIMIT,
    NotFound,
    QuickBooksClient,
    StaleObject,
    batch_result,
    id_order,
)
from arbridge.connectors.ratelimit import Limits, limited_client

STREAM = "qbo"
# Read in this order, so that an invoice's terms and customer come before it,
# and the invoices a payment pays before the payment.
ENTITIES = ("Term", "Customer", "Invoice", "Payment")
# Name lists answer only active rows unless asked: inactive customers are deleted ones,
# and an invoice may still name an inactive term.
WHERE = {"Customer": ("Active in (true, false)",), "Term": ("Active in (true, false)",)}
# What QuickBooks deletes outright; a customer is made inactive instead.
DELETABLE = ("Invoice", "Payment")
CDC_DAYS = dt.timedelta(days=30)
# Fall back to a full sync this long before CDC's limit, so a clock a little
# ahead of Intuit's is not refused.
CDC_MARGIN = dt.timedelta(hours=1)
# Read back this far behind the server's clock: a change committed as a page
# was answered is then read again rather than missed.
OVERLAP = dt.timedelta(minutes=1)
MAX_STALE_RETRIES = 3
# Ids asked for in one query: the query travels in the URL, which must stay short.
FETCH_BATCH = 100


# Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
OAUTH = OAuth2(
    authorize_url="https://appcenter.intuit.com/connect/oauth2",
    token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",  # noqa: S106
    revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    api_base="https://quickbooks.api.intuit.com",
    scope="com.intuit.quickbooks.accounting",
    account_param="realmId",
    revoke_as_json=True,
)

# Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles
# A second's margin on the minute: Intuit counts a request when it arrives,
# and one sent the instant its slot frees may arrive inside the old minute.
LIMITS = Limits(per_window=500, window_s=61.0, concurrency=10)

# Batch requests: "Recommended maximum number of payloads in a single batch
# request is 30. Throttled at 40 Batch requests per minute, per realm ID and
# app. 120 Batch requests per minute per realm ID." A batch is also one of the
# 500 requests a minute. So at most 40 x 30 = 1,200 payments a minute, 20 a
# second, from one app to one company, however they are sent.
# Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
# (checked 2025; the older batch page still says 10 payloads:
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/batch)
# A second's margin on the minute, as for the 500.
BATCH_LIMITS = Limits(per_window=40, window_s=61.0)
# Partial batches go at most once per BATCH_LIMITS' average spacing (61 s / 40),
# so that only full batches can spend the minute faster. Only payments are
# batched: a deposit is one write per payout, and a delete must read first.
BATCHING = Batching(
    max_commands=30,
    actions=frozenset({"create_payment"}),
    spacing_s=BATCH_LIMITS.window_s / BATCH_LIMITS.per_window,
)


class Judged(NamedTuple):
    """An entity read in full from an Id on: the Ids arbridge held before, and those read."""

    entity: str
    start: str
    held: set[str]
    seen: set[str]


BANK_NOTE = (
    "We recommend selecting the same bank account that is connected to arbridge for payouts."
)


class QuickBooksPreferences(Preferences):
    """Where payments and deposits are recorded; accounts offered by their QuickBooks type."""

    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
    deposit_account_id: str | None = Field(
        None,
        title="Bank account for deposits",
        description=BANK_NOTE,
        json_schema_extra=account_field(
            ["Bank"], needed_by="create_deposits", missing="Choose the bank account deposits go to."
        ),
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a deposit into the bank account above, moving its "
        "payments out of Undeposited Funds. Off by default: leave it off to reconcile "
        "deposits by hand against your bank feed.",
    )
    fee_account_id: str | None = Field(
        None,
        title="Processing fee account",
        description="Where each payout's processing fees are booked, as a negative deposit line.",
        json_schema_extra=account_field(
            ["Expense", "Other Expense"],
            needed_by="create_deposits",
            missing="Choose the account processing fees go to.",
        ),
    )
    surcharge_income_account_id: str | None = Field(
        None,
        title="Surcharge income account",
        json_schema_extra=account_field(["Income", "Other Income"]),
    )


class QuickBooksOnline:
    kind: ClassVar[str] = "qbo"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={item: Frequency.REAL_TIME for item in Item},
        native_pdf=True,
        deposits=True,
        archive_on_source_delete=True,
        contact_scope=ContactScope.BILLING,
        batching=BATCHING,
        fetch=True,
        pdf=True,
        accounts=True,
        webhooks="app",
        invoices=True,
        invoices_in=True,
    )
    Preferences: ClassVar[type[QuickBooksPreferences]] = QuickBooksPreferences
    display_name: ClassVar[str] = "QuickBooks Online"
    auth: ClassVar[OAuth2] = OAUTH
    api_base: ClassVar[str] = OAUTH.api_base
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config, a client that carries its token, and the host's runtime:
        the company's limits (LIMITS, BATCH_LIMITS) shared by every worker, and what it holds
        (`known`: the remote ids of an entity, "invoice", arbridge holds from this company).
        """
        if not config.remote_account:
            raise PermanentError("the connection names no QuickBooks company (realm id)")
        self.realm = config.remote_account
        self.preferences = QuickBooksPreferences.model_validate(config.preferences)
        http = limited_client(http, runtime.limiter(LIMITS), f"qbo:{self.realm}")
        self.client = QuickBooksClient(http, config.base_url, self.realm)
        self.batch_limiter = runtime.limiter(BATCH_LIMITS)
        self.batch_limit_key = f"qbo-batch:{self.realm}"
        self.known = runtime.known
        self._terms: dict[str, str] | None = None

    # -- webhooks -------------------------------------------------------------

    @classmethod
    def receive(cls, request: WebhookRequest, key: str) -> Delivery:
        """Verify a delivery for every company by its intuit-signature; read its hints."""
        signature = request.headers.get("intuit-signature", "")
        if not webhooks.verify_signature(request.body, signature, key):
            return Delivery(accepted=False, reason="The intuit-signature does not verify.")
        return Delivery(
            accepted=True,
            hints=tuple(_hints(request.body)),
            kept_headers=webhooks.KEPT_HEADERS,
        )

    def hints(self, body: bytes) -> list[Hint]:
        """Return a stored delivery's hints for this connection's company."""
        return [hint for hint in _hints(body) if hint.account == self.realm]

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        state = dict(cursor.value) if cursor is not None else {}
        since = parse_time(state.get("since"))
        if "entity" in state or since is None:
            yield from self._full_sync(state)
        elif now() - since > CDC_DAYS - CDC_MARGIN:
            yield from self._full_sync({})
        else:
            yield from self._changes_since(since)

    def _full_sync(self, state: dict[str, Any]) -> Iterator[Change | Rejected | Cursor]:
        """Read everything by query pages, from where `state` says a full sync stopped.

        Once every page is read, what arbridge held before the pages that no
        page had is gone from QuickBooks: CDC reports deletes for 30 days only,
        so after a longer gap this is the only way to learn of them. Only Id
        ranges this run read count: a full sync resumed from a checkpoint
        judges nothing before it, and one cut short judges nothing at all.
        """
        began = parse_time(state.get("since"))
        first = ENTITIES.index(state.get("entity", ENTITIES[0]))
        after = str(state.get("after", "0"))
        judged: list[Judged] = []
        for entity in ENTITIES[first:]:
            if entity == "Term" and after == "0":
                self._terms = {}  # every term is in the pages below
            if entity in DELETABLE and self.known is not None:
                # Held before reading: what arbridge writes meanwhile is not judged.
                judged.append(Judged(entity, after, set(self.known(entity.lower())), set()))
            for page in self.client.pages(entity, where=WHERE.get(entity, ()), after=after):
                if began is None:
                    began = (page.time or now()) - OVERLAP
                yield from self._read(entity, page.records)
                if judged and judged[-1].entity == entity:
                    judged[-1].seen.update(str(record["Id"]) for record in page.records)
                if page.records:
                    after = str(page.records[-1]["Id"])
                yield Cursor(STREAM, {"since": began.isoformat(), "entity": entity, "after": after})
            after = "0"
        for entity, start, held, seen in judged:
            for id in held - seen:
                if id_order(id) > id_order(start):
                    yield mapping.tombstone(entity.lower(), {"Id": id})
        yield Cursor(STREAM, {"since": (began or now()).isoformat()})

    def _changes_since(self, since: dt.datetime) -> Iterator[Change | Rejected | Cursor]:
        """Read what changed since a moment by CDC, a window per response.

        A response holds at most 1,000 objects, the oldest changes first. A full
        one covers only the window up to its newest change: the next window
        starts there (re-reading that instant, which may have more). If one
        instant alone holds more than a response can, only a full sync reads it.
        """
        while True:
            changed = self.client.cdc(ENTITIES, since)
            for entity in ENTITIES:
                yield from self._read(entity, changed.objects.get(entity, []))
            if sum(len(objects) for objects in changed.objects.values()) < CDC_LIMIT:
                end = (changed.time or now()) - OVERLAP
                yield Cursor(STREAM, {"since": max(end, since).isoformat()})
                return
            newest = last_update(changed.objects, default=since)
            if newest <= since:
                yield from self._full_sync({})
                return
            since = newest
            yield Cursor(STREAM, {"since": since.isoformat()})

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read some objects again, as webhook hints ask: one query per page of ids.

        An id QuickBooks no longer answers for is reported deleted.
        """
        name = next((e for e in ENTITIES if e.lower() == entity.lower()), None)
        ids = list(dict.fromkeys(str(id) for id in ids))
        if name is None or not ids:
            return
        for start in range(0, len(ids), FETCH_BATCH):
            batch = ids[start : start + FETCH_BATCH]
            records = self.client.select(name, batch, where=WHERE.get(name, ())).records
            yield from self._read(name, records)
            found = {str(record["Id"]) for record in records}
            if name in DELETABLE:
                for id in batch:
                    if id not in found:
                        yield mapping.tombstone(name.lower(), {"Id": id})

    def _read(self, entity: str, records: list[dict[str, Any]]) -> Iterator[Change | Rejected]:
        if entity == "Term":
            self._learn_terms(records)
        elif entity == "Customer":
            for raw in records:
                yield from mapping.customer_changes(raw)
        elif entity == "Invoice":
            terms = self.terms() if records else {}
            for raw in records:
                yield from mapping.invoice_changes(raw, terms)
        elif entity == "Payment":
            for raw in records:
                yield from mapping.payment_changes(raw)

    def terms(self) -> dict[str, str]:
        """Return the company's terms' names by id, read once per connector."""
        if self._terms is None:
            self._terms = {}
            for page in self.client.pages("Term", where=WHERE["Term"]):
                self._learn_terms(page.records)
        return self._terms

    def _learn_terms(self, records: list[dict[str, Any]]) -> None:
        """Note terms read along the way; unless all were read, `terms()` reads them later."""
        if self._terms is None:
            return
        for raw in records:
            if not mapping.is_deleted(raw) and raw.get("Name"):
                self._terms[str(raw["Id"])] = raw["Name"]

    def invoice(self, remote_id: str) -> InvoiceSummary | None:
        """Return an invoice's number, total and customer as QuickBooks has them now."""
        try:
            return invoices_out.invoice_copy(self.client, remote_id)
        except NotFound:
            return None

    def invoice_by_number(self, number: str) -> InvoiceSummary | None:
        raw = invoices_out.find_invoice(self.client, number)
        return None if raw is None else self.invoice(str(raw["Id"]))

    def invoice_payments(self, remote_id: str) -> list[InvoicePayment]:
        raise PermanentError("QuickBooks Online payments are read with the sync, not by invoice")

    def items(self) -> list[SaleItem]:
        """Return the items an invoice the Sync Tool creates may sell."""
        return invoices_out.items(self.client)

    def pdf(self, invoice_remote_id: str) -> bytes:
        """Return QuickBooks' own PDF of an invoice."""
        return self.client.pdf(invoice_remote_id)

    def accounts(self) -> list[Account]:
        """Return the company's active accounts, for choosing bank, fee and income accounts."""
        accounts = []
        for page in self.client.pages("Account", where=("Active = true",)):
            for raw in page.records:
                a = qb.Account.model_validate(raw)
                accounts.append(
                    Account(id=a.Id, name=a.Name, type=a.AccountType, subtype=a.AccountSubType)
                )
        return accounts

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        try:
            return self._push(command.action, dict(command.payload), command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e

    def _push(self, action: str, payload: dict[str, Any], key: str) -> RemoteRef:
        if action == "create_payment":
            payment = self.client.write("Payment", self._payment_body(payload), request_id=key)
            return RemoteRef(str(payment["Id"]), str(payment.get("SyncToken", "")))
        if action == "delete_payment":
            return self._delete_payment(str(payload["remote_id"]), key)
        if action == "create_deposit":
            body = mapping.deposit_body(
                payload,
                payload.get("deposit_account_id") or self.preferences.deposit_account_id,
                payload.get("fee_account_id") or self.preferences.fee_account_id,
            )
            deposit = self.client.write("Deposit", body, request_id=key)
            return RemoteRef(str(deposit["Id"]), str(deposit.get("SyncToken", "")))
        if action == "create_invoice":
            return invoices_out.create_invoice(self.client, payload, key)
        raise PermanentError(f"QuickBooks Online cannot {action!r}")

    def push_many(self, commands: Sequence[Command], key: str) -> list[RemoteRef | ConnectorError]:
        """Create several payments in one batch request whose requestid is `key`.

        A command whose body cannot be built is answered with its error and
        left out of the request; the others are numbered by position (bId), so
        the same commands in the same order are the same request again.
        """
        results: list[RemoteRef | ConnectorError] = [
            PermanentError("QuickBooks answered nothing for it")
        ] * len(commands)
        items = []
        for n, command in enumerate(commands):
            try:
                items.append(self._batch_item(str(n), command))
            except ConnectorError as e:
                results[n] = e
            except KeyError as e:
                results[n] = PermanentError(f"the {command.action} command has no {e}")
        if items:
            answers = self.client.batch(
                items, request_id=key, limiter=self.batch_limiter, key=self.batch_limit_key
            )
            for item in items:
                n = int(item["bId"])
                results[n] = batch_result(answers.get(item["bId"]), "Payment")
        return results

    def _batch_item(self, bid: str, command: Command) -> dict[str, Any]:
        if command.action not in BATCHING.actions:
            raise PermanentError(f"QuickBooks Online does not batch {command.action!r}")
        body = self._payment_body(dict(command.payload))
        return {"bId": bid, "operation": "create", "Payment": body}

    def _payment_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Return the Payment to create, naming the customer QuickBooks says the invoice has."""
        if not payload.get("customer_remote_id") and payload.get("allocations"):
            payload["customer_remote_id"] = self._invoice_customer(payload["allocations"])
        return mapping.payment_body(payload)

    def _invoice_customer(self, allocations: list[dict[str, Any]]) -> str | None:
        """Return the QuickBooks customer of the first invoice paid.

        An invoice that arrived first from another connection (a PSA) is linked
        to its QuickBooks copy, but its arbridge customer may not be; QuickBooks
        itself says whose invoice it is, and a payment must name that customer.
        """
        try:
            invoice = self.client.read("Invoice", str(allocations[0]["invoice_remote_id"]))
        except NotFound:
            return None
        return (invoice.get("CustomerRef") or {}).get("value")

    def _delete_payment(self, remote_id: str, key: str) -> RemoteRef:
        """Delete a payment at its latest SyncToken; one already gone counts as deleted."""
        # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment#delete-a-payment
        attempt = 0
        while True:
            attempt += 1
            try:
                payment = self.client.read("Payment", remote_id)
                body = {"Id": remote_id, "SyncToken": payment["SyncToken"]}
                # Each attempt has its own request id: QuickBooks would answer a
                # repeated one with the first attempt's stale-object error.
                self.client.write(
                    "Payment", body, request_id=f"{key}:{attempt}", operation="delete"
                )
            except NotFound:
                pass  # already gone, which is what was asked
            except StaleObject:
                if attempt < MAX_STALE_RETRIES:
                    continue  # changed since it was read: read it again
                raise
            return RemoteRef(remote_id)


def _hints(body: bytes) -> Iterator[Hint]:
    try:
        notifications = webhooks.parse_notifications(body)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise MalformedRecord("The body is not a QuickBooks notification.", raw=body) from e
    for n in notifications:
        yield Hint(entity=n.entity.lower(), remote_id=n.id, account=n.realm, event_id=n.event_id)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def last_update(changed: dict[str, list[dict[str, Any]]], default: dt.datetime) -> dt.datetime:
    """Return the latest LastUpdatedTime among CDC's objects (deleted ones carry it too)."""
    times = [
        qb.Metadata.model_validate(raw.get("MetaData") or {}).LastUpdatedTime
        for objects in changed.values()
        for raw in objects
    ]
    return max(filter(None, times), default=default)
