"""The NetSuite connector: SuiteQL for what changed, the record service to read and write it.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156431113524.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1544787084.html

One cursor stream, "netsuite", holds where reading stopped:

    {"since": S}                                  read what changed since S
    {"since": S | None, "started": T,             a pass under way: resume at
     "entity": "invoice", "offset": 2300}         the 2,301st changed invoice

A pass asks SuiteQL, entity by entity (customers, invoices, credit memos,
customer payments, then the DeletedRecord table), for the ids whose
lastModifiedDate is at or after S, in id order, 1,000 a page (offset and
limit, until hasMore is false), and reads each record whole from the record
service with its sublists. A record changed during the pass keeps its place
and one that newly matches moves later ones on: a page resumed may re-read
one but never skips one. A checkpoint follows every page and every
CHECKPOINT_EVERY records. The next pass reads from T, the server's clock
when the pass began, less OVERLAP. Deleted records come from DeletedRecord
(not read on the first pass, when nothing is held); a voided invoice or an
inactive customer reads as deleted too. Applying a change twice changes
nothing.

Writes use NetSuite's upsert by external id (PUT .../eid:<id>), derived
from the command's key: a retry after a lost answer updates the record the
first attempt created, never a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Account,
    Capabilities,
    Change,
    Checked,
    Command,
    Config,
    ContactScope,
    Cursor,
    Frequency,
    Item,
    Op,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.netsuite import mapping
from arbridge.connectors.netsuite.auth import (
    TOKEN_PATH,
    ClientCredentialsAuth,
    Credentials,
    account_host,
)
from arbridge.connectors.netsuite.client import PAGE_SIZE, NetSuiteClient, parse_time, timestamp
from arbridge.connectors.netsuite.preferences import NetSuitePreferences
from arbridge.connectors.ratelimit import ClientTransport, Limits, limited_client

STREAM = "netsuite"
# SuiteQL's table and type for each entity, and the record service's record type.
ENTITIES: dict[str, tuple[str, str]] = {
    "customer": ("customer", "customer"),
    "invoice": ("CustInvc", "invoice"),
    "credit": ("CustCred", "creditMemo"),
    "payment": ("CustPymt", "customerPayment"),
}
ORDER = (*ENTITIES, "deleted")
OVERLAP = dt.timedelta(minutes=5)
CHECKPOINT_EVERY = 100
# DeletedRecord's recordtype for each entity (verify: NetSuite names them in lower case).
DELETED_TYPES = {
    "customer": "customer",
    "invoice": "invoice",
    "creditmemo": "credit",
    "customerpayment": "payment",
}


def governance(concurrency: int) -> Limits:
    """Return an account's limits: requests at once, not per minute (a window never reached).

    # Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156225409090.html
    """
    return Limits(per_window=1_000_000, window_s=1.0, concurrency=concurrency)


def changes_query(entity: str, since: dt.datetime | None) -> str:
    table, kind = ENTITIES[entity]
    conditions = [] if entity == "customer" else [f"type = '{table}'"]
    if since is not None:
        stamp = timestamp(since)
        conditions.append(f"lastmodifieddate >= TO_TIMESTAMP('{stamp}', 'YYYY-MM-DD HH24:MI:SS')")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    source = "customer" if entity == "customer" else "transaction"
    return f"SELECT id, lastmodifieddate FROM {source}{where} ORDER BY id"  # noqa: S608 - ours


def deleted_query(since: dt.datetime) -> str:
    stamp = timestamp(since)
    condition = f"deleteddate >= TO_TIMESTAMP('{stamp}', 'YYYY-MM-DD HH24:MI:SS')"
    return f"SELECT recordid, recordtype FROM deletedrecord WHERE {condition} ORDER BY recordid"  # noqa: S608


class NetSuite:
    kind: ClassVar[str] = "netsuite"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={
            # NetSuite's outbound events are SuiteScripts or workflows an account writes
            # itself: arbridge reads on a schedule instead.
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
        check=True,
    )
    Preferences: ClassVar[type[NetSuitePreferences]] = NetSuitePreferences
    display_name: ClassVar[str] = "NetSuite"
    auth: ClassVar[type[Credentials]] = Credentials
    api_base: ClassVar[str] = ""  # each account has its own domain

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config (credentials: the account id, the integration's client
        id, the certificate id and its private key), a plain client and the host's runtime,
        whose limiter holds the account's concurrency limit for every worker.
        """
        credentials = config.credentials
        self.preferences = NetSuitePreferences.model_validate(config.preferences)
        self.account_id = str(credentials.get("account_id") or config.remote_account)
        if not self.account_id:
            raise PermanentError("the connection names no NetSuite account")
        base_url = str(credentials.get("base_url") or config.base_url or "")
        self.base_url = (base_url or account_host(self.account_id)).rstrip("/")
        self.runtime = runtime
        self.limits = governance(self.preferences.concurrency_limit)
        limited = limited_client(http, runtime.limiter(self.limits), f"netsuite:{self.account_id}")
        self.auth = ClientCredentialsAuth(
            f"{self.base_url}{TOKEN_PATH}",
            str(credentials.get("client_id") or ""),
            str(credentials.get("certificate_id") or ""),
            str(credentials.get("private_key") or ""),
        )
        self.http = httpx.Client(
            transport=ClientTransport(limited), auth=self.auth, timeout=http.timeout
        )
        self.client = NetSuiteClient(self.http, self.base_url, sleep=runtime.sleep)

    def check(self) -> Checked:
        """Sign an assertion, take a token and ask one query: the credentials work."""
        self.client.query("SELECT id FROM account", limit=1)
        return Checked(remote_account=self.account_id)

    def accounts(self) -> list[Account]:
        """Return the active accounts of the chart of accounts, for the preferences."""
        rows: list[dict[str, Any]] = []
        offset, more = 0, True
        while more:
            page = self.client.query(
                "SELECT id, acctnumber, accountsearchdisplaynamecopy, accttype FROM account "
                "WHERE isinactive = 'F' ORDER BY id",
                offset,
            )
            rows += page.items
            offset, more = offset + PAGE_SIZE, page.more
        return [
            Account(
                id=str(r["id"]),
                name=str(r.get("accountsearchdisplaynamecopy") or ""),
                type=str(r.get("accttype") or ""),
                code=str(r.get("acctnumber") or ""),
            )
            for r in rows
        ]

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        state = dict(cursor.value) if cursor is not None else {}
        since = parse_time(state.get("since"))
        started = parse_time(state.get("started"))
        first = ORDER.index(state["entity"]) if state.get("entity") in ORDER else 0
        at = int(state.get("offset", 0))

        def place(entity: str, offset: int) -> Cursor:
            return Cursor(
                STREAM,
                {
                    "since": since.isoformat() if since else None,
                    "started": started.isoformat() if started else None,
                    "entity": entity,
                    "offset": offset,
                },
            )

        for entity in ORDER[first:]:
            if entity == "deleted" and since is None:
                break
            query = deleted_query(since) if entity == "deleted" else changes_query(entity, since)
            page_at = at - at % PAGE_SIZE
            while True:
                page = self.client.query(query, page_at)
                if started is None:
                    started = (page.time or self.runtime.clock()) - OVERLAP
                held = self._held(entity)
                for n, row in enumerate(page.items[at - page_at :], start=at):
                    if n > at and n % CHECKPOINT_EVERY == 0:
                        yield place(entity, n)
                    if entity == "deleted":
                        yield from self._deleted(row)
                    else:
                        yield from self._read(entity, str(row.get("id") or ""), held)
                page_at += PAGE_SIZE
                at = page_at
                if not page.more:
                    break
                yield place(entity, page_at)
            at = 0
            following = ORDER.index(entity) + 1
            if following < len(ORDER):
                yield place(ORDER[following], 0)
        finished = started or self.runtime.clock()
        yield Cursor(STREAM, {"since": finished.isoformat()})

    def _held(self, entity: str) -> dict[str, set[str]]:
        if entity == "customer":
            return mapping.by_owner(self.runtime.known("contact"))
        if entity in ("credit", "deleted"):
            return mapping.by_owner(self.runtime.known("credit"))
        return {}

    def _read(
        self, entity: str, remote_id: str, held: dict[str, set[str]]
    ) -> Iterator[Change | Rejected]:
        kind = ENTITIES[entity][1]
        try:
            raw = self.client.record(kind, remote_id)
        except PermanentError as e:
            if e.status == 404:  # deleted since the query: DeletedRecord says so next pass
                return
            raise
        if entity == "customer":
            yield from mapping.customer_changes(raw, held.get(remote_id, set()))
        elif entity == "invoice":
            yield from mapping.invoice_changes(raw)
        elif entity == "credit":
            yield from mapping.credit_changes(raw, held.get(remote_id, set()))
        else:
            yield from mapping.payment_changes(raw)

    def _deleted(self, row: dict[str, Any]) -> Iterator[Change]:
        entity = DELETED_TYPES.get(str(row.get("recordtype") or "").lower())
        remote_id = str(row.get("recordid") or "")
        if not entity or not remote_id:
            return
        raw = {"recordid": remote_id, "recordtype": row.get("recordtype")}
        if entity == "credit":
            credits = mapping.by_owner(self.runtime.known("credit")).get(remote_id, ())
            for credit in sorted(credits):
                yield mapping.changed("credit", raw, credit, Op.DELETE)
            return
        yield mapping.changed(entity, raw, remote_id, Op.DELETE)
        if entity == "customer":
            contacts = mapping.by_owner(self.runtime.known("contact")).get(remote_id, ())
            for contact in sorted(contacts):
                yield mapping.changed("contact", raw, contact, Op.DELETE)

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        payload = dict(command.payload)
        try:
            if command.action == "create_payment":
                return self.create_payment(payload, command.idempotency_key)
            if command.action == "delete_payment":
                return self.delete_payment(str(payload["remote_id"]))
            if command.action == "create_deposit":
                return self.create_deposit(payload, command.idempotency_key)
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e
        raise PermanentError(f"NetSuite cannot {command.action!r}")

    def create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Upsert a customer payment by the external id derived from the key: written once."""
        # Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
        allocations = payload.get("allocations") or []
        if not allocations:
            raise PermanentError("the payment applies to no invoice")
        customer_id = payload.get("customer_remote_id")
        if not customer_id:
            invoice = self.client.record("invoice", str(allocations[0]["invoice_remote_id"]))
            customer_id = mapping.ref(invoice.get("entity"))
        body = mapping.payment_body(
            payload, str(customer_id or ""), key, self.preferences.payment_account_id
        )
        return RemoteRef(self.client.upsert("customerPayment", body["externalId"], body))

    def delete_payment(self, remote_id: str) -> RemoteRef:
        """Delete the payment (a reversal or an ACH return); one already gone counts as deleted."""
        try:
            self.client.delete("customerPayment", remote_id)
        except PermanentError as e:
            if e.status != 404:
                raise
        return RemoteRef(remote_id)

    def create_deposit(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Upsert one deposit of the payout's payments, its fee a cash back line."""
        prefs = self.preferences
        bank = payload.get("deposit_account_id") or prefs.deposit_account_id
        if not bank:
            raise PermanentError("no NetSuite bank account is chosen for deposits")
        body = mapping.deposit_body(
            payload,
            key,
            bank=bank,
            fee_account=payload.get("fee_account_id") or prefs.fee_account_id,
            surcharge_account=payload.get("surcharge_account_id")
            or prefs.surcharge_income_account_id,
        )
        return RemoteRef(self.client.upsert("deposit", body["externalId"], body))
