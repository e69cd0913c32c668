"""A ConnectWise PSA (Manage) simulator: the finance and company routes arbridge uses.

    GET        /login/companyinfo/<company>          the codebase ("v4_6_release/"), versions
    GET|POST   {api}/finance/invoices                 GET|PUT|PATCH|DELETE .../<id>
    GET        {api}/finance/invoices/<id>/pdf
    GET|POST   {api}/finance/invoices/<id>/payments  DELETE .../payments/<paymentId>
    GET|POST   {api}/company/companies               GET|PATCH|DELETE .../<id>
    GET|POST   {api}/company/contacts                GET|PATCH|DELETE .../<id>
    GET|POST   {api}/procurement/products            GET|PATCH|DELETE .../<id>
    GET|POST   {api}/system/callbacks                GET|DELETE .../<id>
    GET        /callback-keys/<id>                   the key callbacks are signed with
    GET|POST   /_sandbox/faults   GET /_sandbox/stats   POST /_sandbox/callbacks/flush

{api} is /v4_6_release/apis/3.0. Every API call needs `Authorization: Basic
base64("{company}+{publicKey}:{privateKey}")` (401 otherwise) and a `clientId`
header (403 without one). Lists take conditions, orderBy, fields, page and
pageSize (at most 1000, default 25) and answer a Link header with rel="next"
while more pages follow. Reference: ../shared/specs/connectwise (x-operation-pattern)
and https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide

Billing contacts: a contact's `defaultBillingFlag` (the Contact schema was
not transcribed; the field is in ConnectWise's Contact model, e.g.
spinen/laravel-connectwise-client src/Models/v2019_3/Company/Contact.php).

Callbacks are POSTed to each registered URL of the record's type, signed as
ConnectWise does: `x-content-signature` is base64(HMAC-SHA256(body, key=
SHA-256(signing key))), the key fetched from the body's Metadata.key_url
(NangoHQ/nango packages/server/lib/webhook/connectwise-psa-webhook-routing.ts).

No official rate limit is published; a third-party page says 60 requests a
minute (../shared/DOMAIN.md, "verify"). The limit here is configurable and
defaults to 1,000 a minute per company, so tests and the demo are not slowed.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import math
import random
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import wire
from arbridge.sandbox.connectwise import conditions
from arbridge.sandbox.connectwise.store import ApiError, Store, invalid

COMPANY = "arbridge_sbx"
PUBLIC_KEY = "pubKeySandbox01"
PRIVATE_KEY = "privKeySandbox01"
CLIENT_ID = "00000000-0000-4000-8000-00000000c11d"
CODEBASE = "v4_6_release/"
API = f"/{CODEBASE}apis/3.0"
VERSION = "2025.8"
MEDIA_TYPE = "application/vnd.connectwise.com+json"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
REQUESTS_PER_MINUTE = 1000
ERROR_KINDS = ("429", "500", "503", "timeout")

URLS = Map(
    [
        Rule("/login/companyinfo/<company>", endpoint="companyinfo"),
        Rule(f"{API}/finance/invoices", endpoint="list_invoices", methods=["GET", "POST"]),
        Rule(f"{API}/finance/invoices/<int:id>", endpoint="invoice",
             methods=["GET", "PUT", "PATCH", "DELETE"]),
        Rule(f"{API}/finance/invoices/<int:id>/pdf", endpoint="pdf"),
        Rule(f"{API}/finance/invoices/<int:id>/payments", endpoint="payments",
             methods=["GET", "POST"]),
        Rule(f"{API}/finance/invoices/<int:id>/payments/<int:payment_id>", endpoint="payment",
             methods=["DELETE"]),
        Rule(f"{API}/company/companies", endpoint="list_companies", methods=["GET", "POST"]),
        Rule(f"{API}/company/companies/<int:id>", endpoint="company",
             methods=["GET", "PUT", "PATCH", "DELETE"]),
        Rule(f"{API}/company/contacts", endpoint="list_contacts", methods=["GET", "POST"]),
        Rule(f"{API}/company/contacts/<int:id>", endpoint="contact",
             methods=["GET", "PUT", "PATCH", "DELETE"]),
        Rule(f"{API}/procurement/products", endpoint="list_products", methods=["GET", "POST"]),
        Rule(f"{API}/procurement/products/<int:id>", endpoint="product",
             methods=["GET", "PATCH", "DELETE"]),
        Rule(f"{API}/system/callbacks", endpoint="list_callbacks", methods=["GET", "POST"]),
        Rule(f"{API}/system/callbacks/<int:id>", endpoint="callback",
             methods=["GET", "DELETE"]),
        Rule("/callback-keys/<key_id>", endpoint="callback_key"),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats"),
        Rule("/_sandbox/callbacks/flush", endpoint="flush", methods=["POST"]),
    ],
    strict_slashes=False,
)  # fmt: skip
OPEN = {"companyinfo", "callback_key", "faults", "stats", "flush"}


def dumps(data: Any) -> bytes:
    """Return JSON with Decimals written as bare numbers, never through float."""
    return wire.dumps(data, ensure_ascii=True).encode()


def sign(signing_key: str, body: bytes) -> str:
    """Return a callback body's x-content-signature."""
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def basic(company: str, public_key: str, private_key: str) -> str:
    token = base64.b64encode(f"{company}+{public_key}:{private_key}".encode()).decode()
    return f"Basic {token}"


class ConnectWiseSandbox:
    """The WSGI app; `store` holds the records, `faults` what to break."""

    def __init__(
        self,
        *,
        clock: Callable[[], dt.datetime],
        requests_per_minute: int,
        http: httpx.Client | None,
        deliver_callbacks: bool,
    ) -> None:
        self.store = Store(clock)
        self.clock = clock
        self.requests_per_minute = requests_per_minute
        self.http = http
        self.deliver_callbacks = deliver_callbacks
        self.faults: dict[str, Any] = {"error_rate": 0.0, "error_kinds": ["500"],
                                       "timeout_ms": 0, "latency_ms": 0}  # fmt: skip
        self.random = random.Random()  # noqa: S311 - chaos, not secrets
        self.stats = {"requests": 0, "throttled": 0, "faults": 0, "callbacks": 0}
        self.window: deque[float] = deque()
        self.signing_key_id = uuid.uuid4().hex
        self.signing_key = secrets.token_urlsafe(32)
        self.pending: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._error(ApiError(404, "NotFound", f"no route {request.path}"))
        except HTTPException as error:
            response = error.get_response(environ)
        else:
            if endpoint in OPEN:
                response = getattr(self, f"on_{endpoint}")(request, **args)
            else:
                response = self._api(request, endpoint, args)
        response.headers["Date"] = email.utils.format_datetime(self.clock(), usegmt=True)
        return response(environ, start_response)

    # -- the API's gate: auth, limit, faults ----------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        if request.headers.get("Authorization") != basic(COMPANY, PUBLIC_KEY, PRIVATE_KEY):
            return self._error(ApiError(401, "Unauthorized", "Invalid credentials"))
        if not request.headers.get("clientId"):
            # A clientId is required on every call since 2019.
            # Reference: https://developer.connectwise.com/ClientID
            return self._error(ApiError(403, "Forbidden", "clientId header is required"))
        wait = self._admit()
        if wait is not None:
            return self._error(ApiError(429, "TooManyRequests", "Rate limit exceeded"),
                               {"Retry-After": str(wait)})  # fmt: skip
        fault = self._draw()
        if fault in ("429", "500", "503"):
            headers = {"Retry-After": "1"} if fault == "429" else {}
            return self._error(ApiError(int(fault), "Fault", "injected by the sandbox"), headers)
        try:
            method = request.method.lower()
            response = getattr(self, f"on_{endpoint}")(request, method, **args)
        except ApiError as error:
            response = self._error(error)
        except ValueError as error:  # a body that is not JSON
            response = self._error(invalid(str(error)))
        self._queue_callbacks(request.host_url)
        if fault == "timeout":
            # Done, then lost: a gateway giving up after the work was carried out.
            time.sleep(self.faults["timeout_ms"] / 1000)
            return self._error(ApiError(504, "GatewayTimeout", "the request timed out"))
        return response

    def _admit(self) -> int | None:
        with self.lock:
            self.stats["requests"] += 1
            now = self.clock().timestamp()
            while self.window and self.window[0] <= now - 60:
                self.window.popleft()
            if len(self.window) < self.requests_per_minute:
                self.window.append(now)
                return None
            self.stats["throttled"] += 1
            return max(1, math.ceil(self.window[0] + 60 - now))

    def _draw(self) -> str | None:
        with self.lock:
            if self.faults["latency_ms"]:
                time.sleep(self.faults["latency_ms"] / 1000)
            rate = self.faults["error_rate"]
            if rate and self.random.random() < rate:
                self.stats["faults"] += 1
                return self.random.choice(self.faults["error_kinds"])
            return None

    # -- answers -------------------------------------------------------------

    def _json(self, data: Any, status: int = 200, headers: dict | None = None) -> Response:
        return Response(dumps(data), status=status, headers=headers,
                        content_type=f"{MEDIA_TYPE}; version={VERSION}")  # fmt: skip

    def _error(self, error: ApiError, headers: dict | None = None) -> Response:
        return self._json(error.as_json(), error.status, headers)

    def _list(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        """Answer a list: filtered, ordered, paged, with a Link header to the next page."""
        args = request.args
        try:
            wanted = conditions.parse(args.get("conditions"))
        except conditions.ConditionError as error:
            raise invalid(f"conditions: {error}") from None
        rows = [row for row in rows if wanted(row)]
        field, _, direction = (args.get("orderBy") or "id asc").partition(" ")
        path = field.split("/")
        rows.sort(key=lambda row: (conditions.lookup(row, path) is None,
                                   conditions.lookup(row, path) or 0))  # fmt: skip
        if direction.strip().lower() == "desc":
            rows.reverse()
        page = _positive(args.get("page"), 1, "page")
        size = _positive(args.get("pageSize"), DEFAULT_PAGE_SIZE, "pageSize")
        if size > MAX_PAGE_SIZE:
            raise invalid(f"pageSize may be at most {MAX_PAGE_SIZE}")
        chunk = rows[(page - 1) * size : page * size]
        if args.get("fields"):
            names = [name.strip() for name in args["fields"].split(",")]
            chunk = [{name: row[name] for name in names if name in row} for row in chunk]
        last = max(1, math.ceil(len(rows) / size))
        headers = {}
        if page < last:
            url = httpx.URL(request.url)
            links = [f'<{url.copy_set_param("page", page + 1)}>; rel="next"',
                     f'<{url.copy_set_param("page", last)}>; rel="last"']  # fmt: skip
            headers["Link"] = ", ".join(links)
        return self._json(chunk, headers=headers)

    # -- routes --------------------------------------------------------------

    def on_companyinfo(self, request: Request, company: str) -> Response:
        # Reference: https://developer.connectwise.com/Products/ConnectWise_PSA/Developer_Guide
        # ("Codebase": which release path the company's API lives under).
        if company.lower() != COMPANY.lower():
            return self._error(ApiError(404, "NotFound", f"company {company} not found"))
        return self._json({
            "CompanyName": COMPANY, "Codebase": CODEBASE, "VersionCode": f"v{VERSION}",
            "VersionNumber": "v4.6", "CompanyID": COMPANY, "IsCloud": True,
            "SiteUrl": request.host,
        })  # fmt: skip

    def _record(self, request: Request, method: str, table: str, id: int,
                save: Callable, delete: Callable) -> Response:  # fmt: skip
        if method == "get":
            return self._json(self.store.get(table, id))
        if method == "delete":
            delete(id)
            return Response(status=204)
        body = _body(request)
        if method == "patch":
            body = _patched(body)
        return self._json(save(body, id))

    def on_list_invoices(self, request: Request, method: str) -> Response:
        if method == "post":
            return self._json(self.store.save_invoice(_body(request)), 201)
        return self._list(request, self.store.rows("invoices"))

    def on_invoice(self, request: Request, method: str, id: int) -> Response:
        store = self.store
        return self._record(request, method, "invoices", id, store.save_invoice,
                            store.delete_invoice)  # fmt: skip

    def on_pdf(self, request: Request, method: str, id: int) -> Response:
        invoice = self.store.get("invoices", id)
        return Response(_pdf(invoice), content_type="application/pdf")

    def on_payments(self, request: Request, method: str, id: int) -> Response:
        if method == "post":
            return self._json(self.store.add_payment(id, _body(request)), 201)
        self.store.get("invoices", id)
        return self._list(request, self.store.payments_of(id))

    def on_payment(self, request: Request, method: str, id: int, payment_id: int) -> Response:
        self.store.delete_payment(id, payment_id)
        return Response(status=204)

    def on_list_companies(self, request: Request, method: str) -> Response:
        if method == "post":
            return self._json(self.store.save_company(_body(request)), 201)
        return self._list(request, self.store.rows("companies"))

    def on_company(self, request: Request, method: str, id: int) -> Response:
        store = self.store
        return self._record(request, method, "companies", id, store.save_company,
                            store.delete_company)  # fmt: skip

    def on_list_contacts(self, request: Request, method: str) -> Response:
        if method == "post":
            return self._json(self.store.save_contact(_body(request)), 201)
        return self._list(request, self.store.rows("contacts"))

    def on_contact(self, request: Request, method: str, id: int) -> Response:
        store = self.store
        return self._record(request, method, "contacts", id, store.save_contact,
                            store.delete_contact)  # fmt: skip

    def on_list_products(self, request: Request, method: str) -> Response:
        # Reference: ProductItem (Jetbuilt/connect_wise docs/ProductItem.md);
        # GET|POST /procurement/products, as ConnectWise's ProductsApi has them.
        if method == "post":
            return self._json(self.store.save_product(_body(request)), 201)
        return self._list(request, self.store.rows("products"))

    def on_product(self, request: Request, method: str, id: int) -> Response:
        store = self.store
        return self._record(request, method, "products", id, store.save_product,
                            store.delete_product)  # fmt: skip

    def on_list_callbacks(self, request: Request, method: str) -> Response:
        if method == "post":
            return self._json(self.store.add_callback(_body(request)), 201)
        return self._list(request, self.store.rows("callbacks"))

    def on_callback(self, request: Request, method: str, id: int) -> Response:
        row = self.store.get("callbacks", id)
        if method == "delete":
            del self.store.tables["callbacks"][row["id"]]
            return Response(status=204)
        return self._json(row)

    def on_callback_key(self, request: Request, key_id: str) -> Response:
        if key_id != self.signing_key_id:
            return self._error(ApiError(404, "NotFound", "no such key"))
        return self._json({"signing_key": self.signing_key})

    # -- callbacks -----------------------------------------------------------

    def _queue_callbacks(self, host_url: str) -> None:
        """Turn what the request changed into callback deliveries to registered URLs."""
        for type_, action, record in self.store.drain_changes():
            for callback in self.store.rows("callbacks"):
                if callback["type"].lower() != type_ or callback.get("inactiveFlag"):
                    continue
                body = dumps({
                    "MessageId": str(uuid.uuid4()), "FromUrl": host_url.rstrip("/"),
                    "CompanyId": COMPANY, "MemberId": "arbridge-api", "Action": action,
                    "Type": type_, "ID": record["id"], "CallbackObjectRecId": callback["id"],
                    "Entity": dumps(record).decode(),
                    "Metadata": {"key_url": f"{host_url}callback-keys/{self.signing_key_id}"},
                })  # fmt: skip
                self.pending.append((callback["url"], body))
        if self.deliver_callbacks:
            self.flush_callbacks()

    def flush_callbacks(self) -> int:
        """Deliver the pending callbacks now; return how many were sent."""
        with self.lock:
            pending, self.pending = self.pending, []
        for url, body in pending:
            if self.http is None:
                continue
            headers = {"Content-Type": "application/json",
                       "x-content-signature": sign(self.signing_key, body)}  # fmt: skip
            try:
                self.http.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                continue  # ConnectWise does not retry a failed callback either
            self.stats["callbacks"] += 1
        return len(pending)

    # -- control -------------------------------------------------------------

    def on_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                faults = _faults(_body(request))
            except (ValueError, TypeError) as error:
                return self._error(invalid(str(error)))
            with self.lock:
                self.faults = faults
                self.random = random.Random(faults.pop("seed", None))  # noqa: S311
        return self._json(self.faults)

    def on_stats(self, request: Request) -> Response:
        return self._json({**self.stats, "limit_per_minute": self.requests_per_minute})

    def on_flush(self, request: Request) -> Response:
        return self._json({"delivered": self.flush_callbacks()})


def _faults(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - {"error_rate", "error_kinds", "timeout_ms", "latency_ms", "seed"}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    faults = {
        "error_rate": float(data.get("error_rate", 0.0)),
        "error_kinds": list(data.get("error_kinds", ["500"])),
        "timeout_ms": int(data.get("timeout_ms", 0)),
        "latency_ms": int(data.get("latency_ms", 0)),
        "seed": data.get("seed"),
    }
    if not 0 <= faults["error_rate"] <= 1:
        raise ValueError("error_rate is between 0 and 1")
    if not faults["error_kinds"] or set(faults["error_kinds"]) - set(ERROR_KINDS):
        raise ValueError(f"error_kinds are some of {', '.join(ERROR_KINDS)}")
    return faults


def _body(request: Request) -> Any:
    if not request.get_data():
        raise invalid("a JSON body is required")
    return json.loads(request.get_data(), parse_float=Decimal)


def _patched(operations: Any) -> dict[str, Any]:
    """Return the fields a JSON-patch list replaces: [{op, path, value}] (PatchOperation)."""
    if not isinstance(operations, list):
        raise invalid("PATCH takes a list of operations")
    changes = {}
    for operation in operations:
        if operation.get("op") not in ("replace", "add"):
            raise invalid(f"op {operation.get('op')!r} is not supported")
        changes[str(operation.get("path", "")).strip("/")] = operation.get("value")
    return changes


def _positive(value: str | None, default: int, field: str) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise invalid(f"{field} must be a positive number")
    return int(value)


def _pdf(invoice: dict[str, Any]) -> bytes:
    """Return a one-page PDF naming the invoice, as ConnectWise's rendering would."""
    text = f"Invoice {invoice['invoiceNumber']}  Total {invoice['total']}"
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)  # fmt: skip
    return bytes(out)


def create_app(
    *,
    clock: Callable[[], dt.datetime] | None = None,
    requests_per_minute: int = REQUESTS_PER_MINUTE,
    http: httpx.Client | None = None,
    deliver_callbacks: bool = True,
) -> ConnectWiseSandbox:
    """Return a sandbox ConnectWise company; callbacks go out through `http`, if given."""
    return ConnectWiseSandbox(
        clock=clock or (lambda: dt.datetime.now(dt.UTC)),
        requests_per_minute=requests_per_minute,
        http=http,
        deliver_callbacks=deliver_callbacks,
    )
