"""The FreshBooks connector: pull by pages and search[updated_min], push payments once.

# Reference: https://www.freshbooks.com/api/start
# Reference: https://www.freshbooks.com/api/authentication
# Reference: https://www.freshbooks.com/api/me_endpoint
# Reference: https://www.freshbooks.com/api/parameters
# Reference: https://www.freshbooks.com/api/payments
# Reference: https://www.freshbooks.com/api/webhooks

One cursor stream, "freshbooks":

    {"since": S}                                   read what changed since S
    {"since": S | None, "started": T,              a pass under way: resume at
     "entity": "invoices", "page": 7}              page 7 of the invoices

A pass reads clients (with their contacts), invoices (with their lines) and
payments in that order, 100 a page, with search[updated_min] S (none on the
first pass). After every page a checkpoint. The next pass reads from T, the
server's clock at the pass's first page less a minute, so what changed while
it ran is read again; applying a change twice changes nothing. A record
changed mid-pass can shift a page by one: it is read twice, never skipped
(the lists are in id order and a change moves nothing to an earlier page).

OAuth2: access tokens live 12 hours; a refresh token works once, and each
refresh returns the next one (connectors.oauth saves it before the access
token is used). One consent may reach several businesses: the account id is
picked after consent from /auth/api/v1/users/me (`tenants()`).

FreshBooks has no idempotency key. A payment written back carries a marker
built from the command's key in its note, and the invoice's payments are
searched for it before any is added: a retry after a lost answer finds the
first and adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import httpx

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
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
)
from arbridge.connectors.freshbooks import mapping, webhooks
from arbridge.connectors.freshbooks.client import FreshBooksClient
from arbridge.connectors.http import request
from arbridge.connectors.ratelimit import Limits, limited_client
from arbridge.connectors.wire import loads

STREAM = "freshbooks"
# Read in this order: a record's client and invoice come before it.
ENTITIES = ("clients", "invoices", "payments")
INCLUDES = {"clients": ("contacts",), "invoices": ("lines",), "payments": ()}
BY_ENTITY = {
    "customer": "clients",
    "contact": "clients",
    "invoice": "invoices",
    "payment": "payments",
    "credit": "payments",
}
OVERLAP = dt.timedelta(minutes=1)
# A redelivery within this many seconds is the same change; a later one is read again.
DELIVERY_BUCKET_S = 60

# FreshBooks publishes no number. Railz lists 432,000 calls a day per FreshBooks
# connection (5 a second, 300 a minute) **(verify)**; past it FreshBooks answers 429.
# Reference: https://docs.railz.ai/reference/rate-limit
LIMITS = Limits(per_window=300, window_s=61.0)

# Reference: https://www.freshbooks.com/api/authentication
AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
TOKEN_URL = "https://api.freshbooks.com/auth/oauth/token"  # noqa: S105 - a URL
REVOKE_URL = "https://api.freshbooks.com/auth/oauth/revoke"
API_BASE = "https://api.freshbooks.com"
SCOPES = (
    "user:profile:read",
    "user:clients:read",
    "user:invoices:read",
    "user:payments:read",
    "user:payments:write",
)
OAUTH = OAuth2(
    authorize_url=AUTHORIZE_URL,
    token_url=TOKEN_URL,
    revoke_url=REVOKE_URL,
    api_base=API_BASE,
    scope=" ".join(SCOPES),
)


class FreshBooksPreferences(Preferences):
    """FreshBooks takes no preferences: payments go on the invoice, no account is chosen."""


class FreshBooks:
    kind: ClassVar[str] = "freshbooks"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        frequencies={
            Item.INVOICE_DETAILS: Frequency.REAL_TIME,
            Item.INVOICE_LINES: Frequency.REAL_TIME,
            Item.CUSTOMERS: Frequency.REAL_TIME,
            Item.PAYMENTS: Frequency.REAL_TIME,
            # No deposit record in FreshBooks' API (docs/decisions.md).
            Item.DEPOSITS: Frequency.NONE,
            Item.ARCHIVE_INVOICES: Frequency.REAL_TIME,
            Item.ARCHIVE_CUSTOMERS: Frequency.REAL_TIME,
            Item.DELETE_PAYMENTS: Frequency.REAL_TIME,
            # No native PDF sync (the seeds): arbridge renders the invoice.
            Item.PDF_INVOICES: Frequency.NONE,
        },
        native_pdf=False,
        deposits=False,
        archive_on_source_delete=True,
        contact_scope=ContactScope.BILLING,
        fetch=True,
        tenants=True,
        webhooks="connection",
        subscribe=True,
    )
    Preferences: ClassVar[type[FreshBooksPreferences]] = FreshBooksPreferences
    display_name: ClassVar[str] = "FreshBooks"
    auth: ClassVar[OAuth2] = OAUTH
    api_base: ClassVar[str] = API_BASE
    limits: ClassVar[Limits] = LIMITS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        """Take a connection's config (remote_account: the account id picked after consent;
        empty until then, when only `tenants()` works), a client carrying its token, and
        the host's runtime, whose limiter counts the account's calls for every worker.
        """
        self.preferences = FreshBooksPreferences.model_validate(config.preferences)
        self.credentials = dict(config.credentials)
        self.base_url = config.base_url
        self.account_id = config.remote_account
        self.runtime = runtime
        self.http = limited_client(http, runtime.limiter(LIMITS), f"freshbooks:{self.account_id}")
        self.client = FreshBooksClient(self.http, config.base_url, self.account_id)

    def _account(self) -> None:
        if not self.account_id:
            raise PermanentError("the connection names no FreshBooks account id")

    def tenants(self) -> list[Tenant]:
        """Return the businesses the consent reaches, by account id, to pick one."""
        # Reference: https://www.freshbooks.com/api/me_endpoint
        response = request(
            self.http,
            "GET",
            f"{self.base_url.rstrip('/')}/auth/api/v1/users/me",
            headers={"Accept": "application/json"},
        )
        me = (loads(response.content, "FreshBooks").get("response")) or {}
        found = {}
        for membership in me.get("business_memberships") or []:
            business = membership.get("business") or {}
            if business.get("account_id"):
                found[str(business["account_id"])] = str(business.get("name") or "")
        return [Tenant(id=id, name=name) for id, name in found.items()]

    # -- reading --------------------------------------------------------------

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        self._account()
        state = dict(cursor.value) if cursor is not None else {}
        since = parse_iso(state.get("since"))
        started = parse_iso(state.get("started"))
        at = ENTITIES.index(state["entity"]) if state.get("entity") in ENTITIES else 0
        number = int(state.get("page", 1))
        for entity in ENTITIES[at:]:
            last = False
            while not last:
                page = self.client.page(entity, number, since=since, include=INCLUDES[entity])
                started = started or (page.time or self.runtime.clock()) - OVERLAP
                yield from self._read(entity, page.records, full=since is None)
                last, number = page.last, number + 1
                if not last:
                    yield Cursor(STREAM, place(since, started, entity, number))
            number = 1
            if entity != ENTITIES[-1]:
                following = ENTITIES[ENTITIES.index(entity) + 1]
                yield Cursor(STREAM, place(since, started, following, 1))
        yield Cursor(STREAM, {"since": (started or self.runtime.clock()).isoformat()})

    def fetch(self, entity: str, ids: Iterable[str]) -> Iterator[Change | Rejected]:
        """Read some records again, as a callback asks; one FreshBooks no longer has is a delete."""
        self._account()
        resource = BY_ENTITY.get(entity.lower())
        if resource is None:
            return
        for id in dict.fromkeys(str(i).split(":")[0] for i in ids if i):
            raw = self.client.one(resource, id, include=INCLUDES[resource])
            if raw is None:
                yield Change(entity, id, mapping.Op.DELETE)
                continue
            yield from self._read(resource, [raw], full=False)

    def _read(
        self, resource: str, records: list[dict[str, Any]], *, full: bool
    ) -> Iterator[Change | Rejected]:
        read = {
            "clients": mapping.client_changes,
            "invoices": mapping.invoice_changes,
            "payments": mapping.payment_changes,
        }[resource]
        for raw in records:
            yield from read(raw, full=full)

    # -- writing --------------------------------------------------------------

    def push(self, command: Command) -> RemoteRef:
        self._account()
        payload = dict(command.payload)
        try:
            if command.action == "create_payment":
                return self._create_payment(payload, command.idempotency_key)
            if command.action == "delete_payment":
                return self._delete_payment(str(payload["remote_id"]))
        except KeyError as e:
            raise PermanentError(f"the {command.action} command has no {e}") from e
        raise PermanentError(f"FreshBooks cannot {command.action!r}")

    def _create_payment(self, payload: dict[str, Any], key: str) -> RemoteRef:
        """Add one payment per invoice paid, each unless the one it marks is already there.

        The remote id lists them, comma-separated, so that deleting it deletes them all.
        """
        allocations = payload.get("allocations") or []
        if not allocations:
            raise PermanentError("a FreshBooks payment must pay an invoice")
        ids = []
        for n, allocation in enumerate(allocations):
            mark = mapping.marker(key, n, len(allocations))
            invoice_id = str(allocation["invoice_remote_id"])
            found = self.written(invoice_id, mark)
            if found is None:
                found = self.client.create(
                    "payments", mapping.payment_body(payload, allocation, mark)
                )
            ids.append(mapping.record_id(found, "logid"))
        return RemoteRef(",".join(ids))

    def written(self, invoice_id: str, mark: str) -> dict[str, Any] | None:
        """Return the live payment of the invoice whose note carries `mark`, if there is one."""
        number = 1
        while True:
            page = self.client.page("payments", number, search={"invoiceid": invoice_id})
            for raw in page.records:
                if raw.get("vis_state", 0) == mapping.ACTIVE and mark in str(raw.get("note")):
                    return raw
            if page.last:
                return None
            number += 1

    def _delete_payment(self, remote_id: str) -> RemoteRef:
        """Set each payment's vis_state to 1 (deleted); one FreshBooks no longer has is gone."""
        for payment_id in dict.fromkeys(i for i in remote_id.split(",") if i):
            try:
                self.client.update("payments", payment_id, {"vis_state": mapping.DELETED})
            except PermanentError as e:
                if e.status != 404:
                    raise
        return RemoteRef(remote_id)

    # -- webhooks -------------------------------------------------------------

    def subscribe(self, url: str) -> list[str]:
        """Register a callback to `url` for every event of clients, invoices and payments.

        Events already registered to that URL are not registered again. FreshBooks
        then sends each callback's verifier to `url`, where `receive` completes it.
        """
        self._account()
        held = {(str(c.get("event")), str(c.get("uri"))) for c in self.client.callbacks()}
        made = []
        for event in webhooks.EVENTS:
            if (event, url) not in held:
                made.append(str(self.client.create_callback(event, url).get("callbackid")))
        return made

    def receive(self, request: WebhookRequest) -> Delivery:
        """Complete a callback's verification, or check a delivery's signature and read it."""
        try:
            fields = webhooks.form(request.body)
        except ValueError as e:
            raise MalformedRecord("The body is not a FreshBooks callback.", raw=request.body) from e
        if fields.get("account_id") != self.account_id:
            return Delivery(accepted=False, reason="This callback is for another account.")
        if fields["name"] == webhooks.VERIFY:
            return self._verify_callback(fields)
        header = request.headers.get(webhooks.SIGNATURE_HEADER, "")
        if not webhooks.verify(fields, header, self.verifiers()):
            return Delivery(accepted=False, reason="The signature does not verify.")
        bucket = int(self.runtime.clock().timestamp()) // DELIVERY_BUCKET_S
        return Delivery(
            accepted=True,
            hints=tuple(self._hints(fields, event_id=f"{bucket}")),
            kept_headers=("content-type", webhooks.SIGNATURE_HEADER),
        )

    def _verify_callback(self, fields: dict[str, str]) -> Delivery:
        """PUT the verifier back; FreshBooks accepting it is what proves the form was its own."""
        callback_id, verifier = fields.get("object_id", ""), fields.get("verifier", "")
        if not callback_id or not verifier:
            return Delivery(accepted=False, reason="The verification names no callback.")
        try:
            callback = self.client.verify_callback(callback_id, verifier)
        except PermanentError:
            return Delivery(accepted=False, reason="FreshBooks did not accept that verifier.")
        if not callback.get("verified"):
            return Delivery(accepted=False, reason="FreshBooks did not verify the callback.")
        return Delivery(
            accepted=True, credentials={f"{webhooks.VERIFIER_PREFIX}{callback_id}": verifier}
        )

    def verifiers(self) -> list[str]:
        return [
            str(v) for k, v in self.credentials.items() if k.startswith(webhooks.VERIFIER_PREFIX)
        ]

    def hints(self, body: bytes) -> list[Hint]:
        """Return a stored delivery's hints, if it is for this connection's account."""
        try:
            fields = webhooks.form(body)
        except ValueError as e:
            raise MalformedRecord("The body is not a FreshBooks callback.", raw=body) from e
        if fields.get("account_id") != self.account_id:
            return []
        return list(self._hints(fields, event_id=""))

    def _hints(self, fields: dict[str, str], *, event_id: str) -> Iterator[Hint]:
        entity = webhooks.entity_of(fields.get("name", ""))
        remote_id = fields.get("object_id", "")
        if entity is None or not remote_id:
            return
        yield Hint(
            entity=entity,
            remote_id=remote_id,
            account=self.account_id,
            event_id=f"{self.account_id}:{fields['name']}:{remote_id}:{event_id}"
            if event_id
            else "",
        )


def place(
    since: dt.datetime | None, started: dt.datetime, entity: str, page: int
) -> dict[str, Any]:
    return {
        "since": since.isoformat() if since else None,
        "started": started.isoformat(),
        "entity": entity,
        "page": page,
    }


def parse_iso(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
