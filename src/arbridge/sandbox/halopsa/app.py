"""The HaloPSA sandbox as a WSGI app (Werkzeug, no Django).

Routes (mounted at /sandbox/halopsa/ in the demo; paths are case-insensitive, as Halo's are):

    POST       /auth/token?tenant=          client_credentials, scope "all", tokens last 3600 s
    GET        /api/Instance                the instance and its version
    GET|POST   /api/Client                  GET|DELETE /api/Client/<id>
    GET|POST   /api/Users                   GET|DELETE /api/Users/<id>
    GET|POST   /api/ClientContract          GET|DELETE /api/ClientContract/<id>   (agreements)
    GET|POST   /api/Invoice                 GET|DELETE /api/Invoice/<id>
    POST       /api/Invoice/<id>/void       POST /api/Invoice/PDF/<id>
    GET|POST   /api/InvoicePayment          GET|DELETE /api/InvoicePayment/<id>
    GET|POST   /api/Webhook                 GET|DELETE /api/Webhook/<id>
    GET|POST   /_sandbox/faults   GET /_sandbox/stats   GET|POST /_sandbox/tenants
    PUT        /_sandbox/tenants/<name>     POST /_sandbox/tokens   POST /_sandbox/seed
    POST       /_sandbox/webhooks/flush

POST bodies are arrays, as Halo's are: an item with an `id` updates that
record (the fields it names), one without creates a record; one item answers
with the saved record, several with a list. Lists answer
{"record_count": n, "<key>": [...]} with `pageinate`, `page_size`, `page_no`,
`count`, `order`/`orderdesc`, `idonly`, `search` and each table's filters,
including `lastupdatefromdate`/`lastupdatetodate` on the record's last-update
stamp. /_sandbox/ is the sandbox's own control API for tests and the demo.
Reference: ../shared/specs/halopsa/halo-api-v2-subset.json; list shapes and
paging: https://github.com/homotechsual/HaloAPI (Private/New-HaloGETRequest.ps1)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.halopsa.limits import REQUESTS_PER_WINDOW, WINDOW_SECONDS, Limiter
from arbridge.sandbox.halopsa.pdf import render_invoice
from arbridge.sandbox.halopsa.records import (
    CLIENT,
    CONTRACT,
    INVOICE,
    LINK,
    PAYMENT,
    STAMPS,
    USER,
)
from arbridge.sandbox.halopsa.seed import seed
from arbridge.sandbox.halopsa.store import DEFAULT_VERSION, SCOPE, Store, public_webhook
from arbridge.sandbox.halopsa.webhooks import Notifier
from arbridge.sandbox.halopsa.wire import (
    ApiError,
    bad_request,
    dumps,
    flag,
    loads,
    parse_time,
    timestamp,
)

JSON = "application/json; charset=utf-8"
# The sandbox's own tenant and API application: published, like any sandbox's test keys.
TENANT = "sandbox"
CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Each table's path and the key its list answers under.
TABLES = {
    "client": (CLIENT, "clients"),
    "users": (USER, "users"),
    "clientcontract": (CONTRACT, "contracts"),
    "invoice": (INVOICE, "invoices"),
    "invoicepayment": (PAYMENT, "invoicepayments"),
}

URLS = Map(
    [
        Rule("/auth/token", endpoint="token", methods=["POST"]),
        Rule("/api/instance", endpoint="instance", methods=["GET"]),
        Rule("/api/webhook", endpoint="webhooks", methods=["GET", "POST"]),
        Rule("/api/webhook/<id>", endpoint="webhook", methods=["GET", "DELETE"]),
        Rule("/api/invoice/<int:id>/void", endpoint="void", methods=["POST"]),
        Rule("/api/invoice/pdf/<int:id>", endpoint="pdf", methods=["POST"]),
        Rule("/api/<table>", endpoint="collection", methods=["GET", "POST"]),
        Rule("/api/<table>/<int:id>", endpoint="item", methods=["GET", "DELETE"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/tenants", endpoint="tenants", methods=["GET", "POST"]),
        Rule("/_sandbox/tenants/<name>", endpoint="tenant", methods=["PUT"]),
        Rule("/_sandbox/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
    ]
)
API = {"instance", "webhooks", "webhook", "void", "pdf", "collection", "item"}


def create_app(
    store: Store | None = None,
    *,
    tenant: str = TENANT,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    version: str = DEFAULT_VERSION,
    http: httpx.Client | None = None,
    webhook_interval: float | None = 0.5,
    clock: Callable[[], dt.datetime] | None = None,
    requests_per_window: int = REQUESTS_PER_WINDOW,
    window_seconds: float = WINDOW_SECONDS,
) -> HaloSandbox:
    """Return a sandbox app with one tenant (unless the store has it already)."""
    store = store or Store(clock=clock)
    if tenant not in store.tenants:
        store.add_tenant(tenant, client_id, client_secret, version)
    notifier = Notifier(store, interval=webhook_interval, http=http)
    store.listeners.append(notifier.add)
    limiter = Limiter(store.now, per_window=requests_per_window, window_s=window_seconds)
    return HaloSandbox(store, limiter, notifier)


class HaloSandbox:
    """The WSGI app, with its store, limiter and webhook notifier at hand."""

    def __init__(self, store: Store, limiter: Limiter, notifier: Notifier):
        self.store = store
        self.limiter = limiter
        self.notifier = notifier

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        adapter = URLS.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match(request.path.lower(), method=request.method)
        except NotFound:
            response = self._text(404, f"No route for {request.path}")
        except MethodNotAllowed as error:
            response = error.get_response(environ)
        except HTTPException as error:
            response = error.get_response(environ)
        else:
            if endpoint in API:
                response = self._api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        response.headers["Date"] = email.utils.format_datetime(self.store.clock(), usegmt=True)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        """Send pending webhook batches now; return how many were delivered."""
        return self.notifier.flush()

    def _json(self, status: int, data: Any) -> Response:
        return Response(dumps(data), status=status, content_type=JSON)

    def _text(self, status: int, text: str, **headers: str) -> Response:
        return Response(text, status=status, content_type="text/plain", headers=headers)

    # -- the API --------------------------------------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it."""
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return self._text(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})
        tenant = self.store.tenant_of(header[7:].strip())
        if tenant is None:
            return self._text(
                401, "Unauthorized", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        wait = self.limiter.admit(tenant)
        if wait is not None:
            return self._text(429, "Too Many Requests", **{"Retry-After": str(wait)})
        latency, injected = self.limiter.draw(tenant)
        if latency:
            time.sleep(latency)
        if injected == "429":
            return self._text(429, "Too Many Requests", **{"Retry-After": "1"})
        if injected in ("500", "503"):
            return self._text(int(injected), "The sandbox failed this call on purpose")
        try:
            response = getattr(self, f"on_{endpoint}")(request, tenant, **args)
        except ApiError as error:
            response = self._text(error.status, error.message)
        if injected == "timeout":
            time.sleep(self.limiter.faults.timeout_ms / 1000)
            return self._text(504, "Gateway Timeout")
        return response

    def on_instance(self, request: Request, tenant: str) -> Response:
        """Describe this instance; its `version` is what decides real-time invoices."""
        found = self.store.tenant(tenant)
        instance = {
            "id": 1,
            "hostname": f"{found.name}.halopsa.com",
            "envname": "Production",
            "version": found.version,
            "isself": True,
            "isprod": True,
            "iscurrent": True,
        }
        return self._json(200, [instance])

    def on_collection(self, request: Request, tenant: str, table: str) -> Response:
        name, key = self._table(table)
        if request.method == "POST":
            return self._post(request, lambda item: self.store.save(tenant, name, item))
        return self._json(200, self._list(request, tenant, name, key))

    def on_item(self, request: Request, tenant: str, table: str, id: int) -> Response:
        name, _ = self._table(table)
        if request.method == "DELETE":
            self.store.delete(tenant, name, id)
            return self._text(200, "")
        return self._json(200, self.store.render(tenant, name, id))

    def on_void(self, request: Request, tenant: str, id: int) -> Response:
        return self._json(200, self.store.void(tenant, id))

    def on_pdf(self, request: Request, tenant: str, id: int) -> Response:
        invoice = self.store.render(tenant, INVOICE, id, payments=False)
        pdf = render_invoice(invoice, f"{tenant} (HaloPSA sandbox)")
        return Response(pdf, content_type="application/pdf")

    def on_webhooks(self, request: Request, tenant: str) -> Response:
        if request.method == "POST":
            return self._post(request, lambda item: self.store.save_webhook(tenant, item))
        webhooks = self.store.tenant(tenant).webhooks.values()
        return self._json(200, [public_webhook(w) for w in webhooks])

    def on_webhook(self, request: Request, tenant: str, id: str) -> Response:
        if request.method == "DELETE":
            self.store.delete_webhook(tenant, id)
            return self._text(200, "")
        webhook = self.store.tenant(tenant).webhooks.get(id)
        if webhook is None:
            raise ApiError(404, f"Webhook {id} not found")
        return self._json(200, public_webhook(webhook))

    def _table(self, path: str) -> tuple[str, str]:
        try:
            return TABLES[path]
        except KeyError:
            raise ApiError(404, f"No route for /api/{path}") from None

    def _post(self, request: Request, save: Callable[[dict], dict]) -> Response:
        try:
            body = loads(request.get_data())
        except (ValueError, UnicodeDecodeError):
            raise bad_request("The body is not JSON") from None
        if not isinstance(body, list) or not body:
            raise bad_request("The body must be a non-empty JSON array")
        saved = [save(item) for item in body]
        return self._json(201, saved[0] if len(saved) == 1 else saved)

    def _list(self, request: Request, tenant: str, table: str, key: str) -> dict[str, Any]:
        """Answer a list GET: filter, order, then page or count."""
        args = request.args
        tests = self._filters(args, table)
        order = (args.get("order") or "id").lower()
        answer: dict[str, Any] = {}
        window = slice(None)
        idonly = flag(args.get("idonly"))  # not compatible with pagination, the spec says
        if flag(args.get("pageinate")) and not idonly:
            size = _positive(args.get("page_size"), DEFAULT_PAGE_SIZE, "page_size")
            page = _positive(args.get("page_no"), 1, "page_no")
            size = min(size, MAX_PAGE_SIZE)
            window = slice((page - 1) * size, page * size)
            answer.update(page_no=page, page_size=size)
        elif args.get("count") and not idonly:
            window = slice(_positive(args.get("count"), 0, "count"))
        count, rows = self.store.select(
            tenant,
            table,
            lambda row: all(test(row) for test in tests),
            order=order,
            descending=flag(args.get("orderdesc")),
            lines=table == INVOICE and flag(args.get("includelines")) and not idonly,
            window=window,
        )
        if idonly:
            return {"record_count": count, key: [{"id": row["id"]} for row in rows]}
        return {"record_count": count, **answer, key: rows}

    def _filters(self, args, table: str) -> list[Callable[[dict], bool]]:
        tests: list[Callable[[dict], bool]] = []
        stamp = STAMPS.get(table)
        # The spec lists lastupdatefromdate/lastupdatetodate on /Client, /Users and /Site
        # only; the sandbox takes them on every stamped table, /Invoice included, as
        # arbridge's incremental reads ask (an instance that ignores them answers all).
        if stamp and args.get("lastupdatefromdate"):
            since = timestamp(parse_time(args["lastupdatefromdate"], "lastupdatefromdate"))
            tests.append(lambda row: row.get(stamp, "") >= since)
        if stamp and args.get("lastupdatetodate"):
            until = timestamp(parse_time(args["lastupdatetodate"], "lastupdatetodate"))
            tests.append(lambda row: row.get(stamp, "") <= until)
        for name in ("client_id", "invoice_id", "contract_id"):
            if args.get(name):
                value = _positive(args[name], 0, name)
                tests.append(lambda row, name=name, value=value: row.get(name) == value)
        if args.get("client_ids"):
            wanted = {_positive(v, 0, "client_ids") for v in args["client_ids"].split(",") if v}
            tests.append(lambda row: row.get("client_id") in wanted)
        if search := (args.get("search") or "").casefold():
            fields = ("name", "emailaddress", "invoicenumber", "client_name", "ref")
            tests.append(lambda row: any(search in str(row.get(f, "")).casefold() for f in fields))
        if table in (CLIENT, USER):
            active, inactive = (
                flag(args.get("includeactive"), True),
                flag(args.get("includeinactive")),
            )
            tests.append(lambda row: inactive if row.get("inactive") else active)
        if table == CONTRACT and not flag(args.get("includeinactive")):
            tests.append(lambda row: row.get("active", True))
        if table == INVOICE:
            credits, invoices = (
                flag(args.get("includecredits"), True),
                flag(args.get("includeinvoices"), True),
            )
            tests.append(lambda row: credits if row.get(LINK) else invoices)
            if flag(args.get("postedonly")):
                tests.append(lambda row: row.get("posted"))
            if flag(args.get("notpostedonly")):
                tests.append(lambda row: not row.get("posted"))
        return tests

    # -- auth -----------------------------------------------------------------

    def on_token(self, request: Request) -> Response:
        """Issue a token for an API application (client credentials only)."""
        # Reference: https://halopsa.com/apidoc/authorisation
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return self._oauth_error("unsupported_grant_type", "Only client_credentials here")
        if SCOPE not in (form.get("scope") or "").split():
            return self._oauth_error("invalid_scope", f"Ask for scope={SCOPE}")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username or ""
            secret = request.authorization.password or ""
        try:
            tenant = self.store.client_credentials(request.args.get("tenant"), client_id, secret)
        except ValueError as error:
            return self._oauth_error("invalid_client", str(error), status=401)
        token = self.store.issue_token(tenant)
        return Response(dumps(token), content_type=JSON, headers={"Cache-Control": "no-store"})

    def _oauth_error(self, error: str, description: str, status: int = 400) -> Response:
        return self._json(status, {"error": error, "error_description": description})

    # -- the sandbox's control API --------------------------------------------

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._json(200, self.limiter.faults.as_json())
        try:
            answer = control.switch_faults(self.limiter, request, self.store.expire_tokens)
        except (TypeError, ValueError) as error:
            return self._json(400, {"error": str(error)})
        return self._json(200, answer)

    def on_stats(self, request: Request) -> Response:
        report = self.limiter.report()
        report["webhooks"] = control.webhook_stats(self.notifier)
        return self._json(200, report)

    def on_tenants(self, request: Request) -> Response:
        if request.method == "GET":
            tenants = [
                {"tenant": t.name, "client_id": t.client_id, "version": t.version}
                for t in self.store.tenants.values()
            ]
            return self._json(200, {"tenants": tenants})
        try:
            body = control.body(request)
            tenant = self.store.add_tenant(
                body.get("tenant", ""),
                body.get("client_id"),
                body.get("client_secret"),
                body.get("version", DEFAULT_VERSION),
            )
        except ValueError as error:
            return self._json(400, {"error": str(error)})
        answer = {"tenant": tenant.name, "client_id": tenant.client_id}
        return self._json(201, {**answer, "client_secret": tenant.client_secret})

    def on_tenant(self, request: Request, name: str) -> Response:
        """Change a tenant's version, as an upgrade would."""
        try:
            body = control.body(request)
            found = self.store.tenant(name)
        except (ValueError, ApiError) as error:
            return self._json(400, {"error": str(error)})
        if body.get("version"):
            found.version = str(body["version"])
        return self._json(200, {"tenant": found.name, "version": found.version})

    def on_tokens(self, request: Request) -> Response:
        """Mint a token for a tenant without the token endpoint (ttl null: never expires)."""
        try:
            body = control.body(request)
            token = self.store.issue_token(body.get("tenant", TENANT), ttl=body.get("ttl", 3600))
        except (ValueError, ApiError) as error:
            return self._json(400, {"error": str(error)})
        return self._json(200, token)

    def on_seed(self, request: Request) -> Response:
        """Fill a tenant with an MSP's clients, agreements and billing, straight into the store."""
        try:
            body = control.body(request)
            tenant = body.pop("tenant", TENANT)
            summary = seed(self.store, tenant, **body)
        except (TypeError, ValueError, ApiError) as error:
            return self._json(400, {"error": str(error)})
        return self._json(200, {"tenant": tenant, **summary})

    def on_flush(self, request: Request) -> Response:
        return self._json(200, {"delivered": self.flush_webhooks()})


def _positive(value: str | None, default: int, field: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"{field} must be a whole number") from None
    if number < 0 or (number == 0 and field in ("page_size", "page_no")):
        raise bad_request(f"{field} must be positive")
    return number
