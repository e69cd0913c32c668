"""The Xero sandbox as a WSGI app (Werkzeug, no Django).

# Reference: https://developer.xero.com/documentation/api/accounting/overview
# Reference: https://developer.xero.com/documentation/api/accounting/requests-and-responses
# Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow
# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/
# Reference: https://github.com/XeroAPI/Xero-OpenAPI (xero_accounting.yaml)

Routes (mounted at /sandbox/xero/ in the demo):

    GET      /api.xro/2.0/<Resource>            ?page=N (100 a page, with `pagination`;
                                                not Accounts and BankTransfers),
                                                ?where=Field=="value" [AND ...], ?order=,
                                                ?IDs=a,b, ?includeArchived=true;
                                                If-Modified-Since header
    GET      /api.xro/2.0/<Resource>/<id>
    PUT      /api.xro/2.0/<Resource>            create (Idempotency-Key)
    POST     /api.xro/2.0/<Resource>[/<id>]     update: contacts, invoices (Status VOIDED,
                                                DELETED), payments (Status DELETED)
    PUT      /api.xro/2.0/CreditNotes/<id>/Allocations
    GET      /api.xro/2.0/Organisation
    GET      /identity/connect/authorize   POST /connect/token   POST /connect/revocation
    GET      /connections   DELETE /connections/<id>
    GET|POST /_sandbox/faults   GET /_sandbox/stats   GET|POST /_sandbox/orgs
    POST     /_sandbox/tokens   POST /_sandbox/seed   POST /_sandbox/webhooks/flush
    POST     /_sandbox/webhooks/intent   POST /_sandbox/clock {"advance_s": 60}

Resources: Contacts, Invoices, CreditNotes, Payments, Accounts, BankTransfers,
BankTransactions. Every API call needs a Bearer token and the `xero-tenant-id`
of an organisation the token is connected to. A PUT or POST with an
Idempotency-Key answers a repeated key with the first answer and does
nothing more. /_sandbox/ is the sandbox's own control API for tests and the demo.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.xero.limits import Limiter
from arbridge.sandbox.xero.oauth import REQUIRED_SCOPE, OAuthError
from arbridge.sandbox.xero.seed import seed
from arbridge.sandbox.xero.store import ID_FIELD, Invalid, Store, ms_date
from arbridge.sandbox.xero.webhooks import Notifier

JSON = "application/json; charset=utf-8"
# The sandbox's own app credentials: published, like any sandbox's test keys.
CLIENT_ID = "sandbox-xero-client-id"
CLIENT_SECRET = "sandbox-xero-client-secret"  # noqa: S105
WEBHOOK_KEY = "sandbox-xero-webhook-key"
PAGE_SIZE = 100
MAX_IDEMPOTENCY_KEY = 128
API = "/api.xro/2.0"
WHERE_CLAUSE = re.compile(r'\s*([A-Za-z.]+)\s*==\s*"?([^"]*?)"?\s*$')

URLS = Map(
    [
        Rule(f"{API}/Organisation", endpoint="organisation", methods=["GET"]),
        Rule(f"{API}/CreditNotes/<id>/Allocations", endpoint="allocate", methods=["PUT"]),
        Rule(f"{API}/<resource>", endpoint="collection", methods=["GET", "PUT", "POST"]),
        Rule(f"{API}/<resource>/<id>", endpoint="item", methods=["GET", "POST"]),
        Rule("/identity/connect/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/connect/token", endpoint="token", methods=["POST"]),
        Rule("/connect/revocation", endpoint="revoke", methods=["POST"]),
        Rule("/connections", endpoint="connections", methods=["GET"]),
        Rule("/connections/<id>", endpoint="disconnect", methods=["DELETE"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/orgs", endpoint="orgs", methods=["GET", "POST"]),
        Rule("/_sandbox/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
        Rule("/_sandbox/webhooks/intent", endpoint="intent", methods=["POST"]),
        Rule("/_sandbox/clock", endpoint="clock", methods=["POST"]),
    ]
)
API_ENDPOINTS = {"organisation", "allocate", "collection", "item"}
RESOURCES = frozenset(ID_FIELD)
# The lists that take ?page= (Accounts and BankTransfers answer whole).
PAGED = frozenset({"Contacts", "Invoices", "CreditNotes", "Payments", "BankTransactions"})


def create_app(
    store: Store | None = None,
    *,
    webhook_key: str = WEBHOOK_KEY,
    webhook_url: str | None = None,
    webhook_interval: float | None = 0.5,
    http: httpx.Client | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    requests_per_minute: int = 60,
    requests_per_day: int = 5_000,
    concurrent_requests: int = 5,
    app_requests_per_minute: int = 10_000,
) -> XeroSandbox:
    """Return a sandbox app; without a store, a new one (organisations appear on first consent)."""
    store = store or Store(clock=clock)
    store.auth.register_client(client_id, client_secret)
    notifier = None
    if webhook_url:
        notifier = Notifier(webhook_url, webhook_key, interval=webhook_interval, http=http)
        store.listeners.append(notifier.add)
    limiter = Limiter(
        lambda: store.now().timestamp(),
        per_minute=requests_per_minute,
        per_day=requests_per_day,
        concurrent=concurrent_requests,
        app_per_minute=app_requests_per_minute,
    )
    return XeroSandbox(store, limiter, notifier)


class XeroSandbox:
    """The WSGI app, with its store, limits and webhook notifier at hand."""

    def __init__(self, store: Store, limiter: Limiter, notifier: Notifier | None) -> None:
        self.store = store
        self.limiter = limiter
        self.notifier = notifier

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._problem(404, "Not Found", f"No route {request.path}")
        except (MethodNotAllowed, HTTPException) as error:
            response = error.get_response(environ)
        else:
            if endpoint in API_ENDPOINTS:
                response = self._api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        return self.notifier.flush() if self.notifier else 0

    # -- answers --------------------------------------------------------------

    def _json(self, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
        return Response(
            text,
            status=status,
            content_type=JSON,
            headers={"Xero-Correlation-Id": str(uuid.uuid4()), **(headers or {})},
        )

    def _problem(self, status: int, title: str, detail: str) -> Response:
        return self._json(status, dumps({"Title": title, "Status": status, "Detail": detail}))

    def _invalid(self, error: Invalid) -> Response:
        return self._json(error.status, dumps(error.body()))

    def _envelope(self, resource: str, records: list[dict[str, Any]], **extra: Any) -> str:
        return dumps(
            {
                "Id": str(uuid.uuid4()),
                "Status": "OK",
                "ProviderName": "arbridge",
                "DateTimeUTC": ms_date(self.store.now()),
                **extra,
                resource: records,
            }
        )

    # -- the Accounting API -----------------------------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it."""
        token = request.headers.get("Authorization", "")
        if not token.lower().startswith("bearer "):
            return self._problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        grant = self.store.auth.grant_of(token[7:].strip())
        if grant is None:
            return self._problem(401, "Unauthorized", "TokenExpired: token expired or invalid")
        tenant_id = request.headers.get("xero-tenant-id", "")
        if tenant_id not in grant.connections or tenant_id not in self.store.orgs:
            return self._problem(403, "Forbidden", "AuthorizationUnsuccessful")
        refusal = self.limiter.enter(tenant_id)
        if refusal is not None:
            return self._throttled(tenant_id, refusal.problem, refusal.retry_after)
        try:
            latency, injected = self.limiter.draw(tenant_id)
            if latency:
                time.sleep(latency)
            if injected == "429":
                return self._throttled(tenant_id, "minute", 1)
            if injected in ("500", "503"):
                return self._problem(
                    int(injected), "Service Unavailable", "Injected by the sandbox"
                )
            try:
                response = getattr(self, f"on_{endpoint}")(request, tenant_id, **args)
            except Invalid as error:
                response = self._invalid(error)
            if injected == "timeout":
                time.sleep(self.limiter.faults.timeout_ms / 1000)
                return Response("Gateway Timeout", status=504, content_type="text/plain")
            response.headers.update(self.limiter.remaining(tenant_id))
            return response
        finally:
            self.limiter.leave(tenant_id)

    def _throttled(self, tenant_id: str, problem: str, retry_after: int) -> Response:
        headers = {
            "Retry-After": str(retry_after),
            "X-Rate-Limit-Problem": problem,
            **self.limiter.remaining(tenant_id),
        }
        return self._json(
            429,
            dumps(
                {
                    "Title": "Too Many Requests",
                    "Status": 429,
                    "Detail": f"Rate limit exceeded: {problem}",
                }
            ),
            headers,
        )

    def on_organisation(self, request: Request, tenant_id: str) -> Response:
        org = self.store.org(tenant_id)
        body = {
            "OrganisationID": org.id,
            "Name": org.name,
            "LegalName": org.name,
            "BaseCurrency": "USD",
            "CountryCode": "US",
            "OrganisationType": "COMPANY",
            "CreatedDateUTC": ms_date(org.created),
        }
        return self._json(200, self._envelope("Organisations", [body]))

    def on_collection(self, request: Request, tenant_id: str, resource: str) -> Response:
        resource = self._resource(resource)
        if request.method == "GET":
            return self._list(request, tenant_id, resource)
        return self._write(request, tenant_id, resource, None)

    def on_item(self, request: Request, tenant_id: str, resource: str, id: str) -> Response:
        resource = self._resource(resource)
        if request.method == "GET":
            return self._json(
                200, self._envelope(resource, [self.store.get(tenant_id, resource, id)])
            )
        return self._write(request, tenant_id, resource, id)

    def on_allocate(self, request: Request, tenant_id: str, id: str) -> Response:
        def write() -> list[dict[str, Any]]:
            return [
                self.store.allocate(tenant_id, id, item)
                for item in self._items(request, "Allocations")
            ]

        return self._once(request, tenant_id, "Allocations", write)

    def _resource(self, name: str) -> str:
        for resource in RESOURCES:
            if resource.lower() == name.lower():
                return resource
        raise Invalid(f"The resource {name} is not served by this sandbox", status=404)

    def _list(self, request: Request, tenant_id: str, resource: str) -> Response:
        args = request.args
        since = None
        if header := request.headers.get("If-Modified-Since"):
            try:
                since = parse_since(header)
            except ValueError:
                raise Invalid(f"If-Modified-Since is not a date: {header}") from None
        where = []
        if text := args.get("where"):
            for clause in re.split(r"\s+(?:AND|&&)\s+", text):
                match = WHERE_CLAUSE.match(clause)
                if not match:
                    raise Invalid(f"The where clause is not understood: {clause}")
                where.append((match[1], match[2]))
        ids = [i for i in args.get("IDs", "").split(",") if i] or None
        archived = args.get("includeArchived", "false").lower() == "true"
        records = self.store.list(
            tenant_id,
            resource,
            since=since,
            where=where,
            ids=ids,
            include_archived=archived,
            order=args.get("order", ""),
        )
        if "page" not in args or resource not in PAGED:
            return self._json(200, self._envelope(resource, records))
        try:
            page = max(1, int(args["page"]))
        except ValueError:
            raise Invalid("page is a number") from None
        count = len(records)
        chunk = records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        pagination = {
            "page": page,
            "pageSize": PAGE_SIZE,
            "pageCount": -(-count // PAGE_SIZE),
            "itemCount": count,
        }
        return self._json(200, self._envelope(resource, chunk, pagination=pagination))

    def _items(self, request: Request, resource: str) -> list[dict[str, Any]]:
        try:
            body = loads(request.get_data())
        except ValueError:
            raise Invalid("The request body is not JSON") from None
        if isinstance(body, dict) and isinstance(body.get(resource), list):
            return body[resource]
        if isinstance(body, dict):
            return [body]
        raise Invalid("The request body is not an object")

    def _write(self, request: Request, tenant_id: str, resource: str, id: str | None) -> Response:
        def write() -> list[dict[str, Any]]:
            items = self._items(request, resource)
            if id is not None:
                items = [{**item, ID_FIELD[resource]: id} for item in items[:1]]
            return [self._write_one(tenant_id, resource, item, request.method) for item in items]

        return self._once(request, tenant_id, resource, write)

    def _once(
        self,
        request: Request,
        tenant_id: str,
        resource: str,
        write: Callable[[], list[dict[str, Any]]],
    ) -> Response:
        """Carry out a write; replay the first answer to a repeated Idempotency-Key."""
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            raise Invalid("The Idempotency-Key is at most 128 characters")
        with self.store.lock:  # the check and the write are one step for a repeated key
            kept = self.store.replayed(tenant_id, key) if key else None
            if kept:
                return self._json(*kept)
            try:
                status, text = 200, self._envelope(resource, write())
            except Invalid as error:
                status, text = error.status, dumps(error.body())
            if key:
                self.store.remember(tenant_id, key, status, text)
        return self._json(status, text)

    def _write_one(
        self, tenant_id: str, resource: str, item: dict[str, Any], method: str
    ) -> dict[str, Any]:
        store = self.store
        existing = item.get(ID_FIELD[resource])
        if method == "PUT" and existing:
            raise Invalid(f"PUT creates; POST updates {resource}")
        if resource == "Contacts":
            return store.save_contact(tenant_id, item)
        if resource == "Invoices":
            return store.save_invoice(tenant_id, item)
        if resource == "Payments":
            if existing:
                if item.get("Status") != "DELETED":
                    raise Invalid("A payment can only be deleted (Status DELETED)")
                return store.delete_payment(tenant_id, str(existing))
            return store.create_payment(tenant_id, item)
        if resource == "CreditNotes" and not existing:
            return store.create_credit_note(tenant_id, item)
        if resource == "BankTransfers" and not existing:
            return store.create_transfer(tenant_id, item)
        if resource == "BankTransactions" and not existing:
            return store.create_bank_transaction(tenant_id, item)
        raise Invalid(f"The sandbox does not write {resource} this way")

    # -- OAuth 2.0 and connections ------------------------------------------------

    def on_authorize(self, request: Request) -> Response:
        """Consent at once: connect the organisation named (?tenant=), or every one."""
        args = request.args
        redirect_uri, client_id = args.get("redirect_uri"), args.get("client_id", "")
        if not redirect_uri or client_id not in self.store.auth.clients:
            return Response("Unknown client or missing redirect_uri", status=400)
        answer: dict[str, str] = {}
        if args.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif REQUIRED_SCOPE not in args.get("scope", "").split():
            answer["error"] = "invalid_scope"
        else:
            tenants = [t for t in args.get("tenant", "").split(",") if t] or list(self.store.orgs)
            if not tenants:
                tenants = [self.store.add_org()]
            for tenant in tenants:
                self.store.add_org(tenant)
            answer["code"] = self.store.auth.authorize(client_id, redirect_uri, tenants)
            answer["scope"] = args.get("scope", "")
        if "state" in args:
            answer["state"] = args["state"]
        parts = urlsplit(redirect_uri)
        query = "&".join(filter(None, (parts.query, urlencode(answer))))
        return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})

    def on_token(self, request: Request) -> Response:
        try:
            client_id = self._client(request)
            form = request.form
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                token = self.store.auth.exchange_code(
                    client_id, form.get("code", ""), form.get("redirect_uri", "")
                )
            elif grant_type == "refresh_token":
                token = self.store.auth.refresh_tokens(client_id, form.get("refresh_token", ""))
            else:
                raise OAuthError("unsupported_grant_type", f"{grant_type} is not supported")
        except OAuthError as error:
            return Response(dumps(error.body()), status=error.status, content_type=JSON)
        return Response(dumps(token), content_type=JSON, headers={"Cache-Control": "no-store"})

    def on_revoke(self, request: Request) -> Response:
        try:
            client_id = self._client(request)
        except OAuthError as error:
            return Response(dumps(error.body()), status=error.status, content_type=JSON)
        self.store.auth.revoke(client_id, request.form.get("token", ""))
        return Response(status=200)

    def _client(self, request: Request) -> str:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise OAuthError("invalid_client", "HTTP Basic client authentication required", 401)
        self.store.auth.check_client(auth.username or "", auth.password or "")
        return auth.username or ""

    def _grant(self, request: Request):
        token = request.headers.get("Authorization", "")
        return (
            self.store.auth.grant_of(token[7:].strip())
            if token.lower().startswith("bearer ")
            else None
        )

    def on_connections(self, request: Request) -> Response:
        grant = self._grant(request)
        if grant is None:
            return self._problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        created = ms_date(self.store.now())
        connections = [
            {
                "id": connection,
                "authEventId": grant.auth_event_id,
                "tenantId": tenant,
                "tenantType": "ORGANISATION",
                "tenantName": self.store.orgs[tenant].name,
                "createdDateUtc": created,
                "updatedDateUtc": created,
            }
            for tenant, connection in grant.connections.items()
            if tenant in self.store.orgs
        ]
        return Response(dumps(connections), content_type=JSON)

    def on_disconnect(self, request: Request, id: str) -> Response:
        grant = self._grant(request)
        if grant is None:
            return self._problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if not self.store.auth.disconnect(grant, id):
            return self._problem(404, "Not Found", f"No connection {id}")
        return Response(status=204)

    # -- the sandbox's control API --------------------------------------------

    def _control(self, status: int, data: Any) -> Response:
        return Response(dumps(data), status=status, content_type=JSON)

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._control(200, self.limiter.faults.as_json())
        try:
            answer = control.switch_faults(
                self.limiter, request, self.store.auth.expire_access_tokens
            )
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, answer)

    def on_stats(self, request: Request) -> Response:
        report = self.limiter.report()
        report["token_refreshes"] = self.store.auth.refreshes
        if self.notifier:
            report["webhooks"] = {
                **control.webhook_stats(self.notifier),
                "status": self.notifier.status,
            }
        return self._control(200, report)

    def on_orgs(self, request: Request) -> Response:
        if request.method == "GET":
            orgs = [{"tenantId": o.id, "name": o.name} for o in self.store.orgs.values()]
            return self._control(200, {"orgs": orgs})
        try:
            body = control.body(request)
            tenant_id = self.store.add_org(body.get("tenant_id"), body.get("name"))
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, {"tenantId": tenant_id})

    def on_tokens(self, request: Request) -> Response:
        """Mint tokens connected to organisations without consent (ttl null: never expire)."""
        try:
            body = control.body(request)
            tenants = body.get("tenants") or list(self.store.orgs)
            client_id = body.get("client_id", CLIENT_ID)
            token = self.store.auth.issue(client_id, tenants, ttl=body.get("ttl", 1800))
        except (ValueError, TypeError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, token)

    def on_seed(self, request: Request) -> Response:
        try:
            body = control.body(request)
            tenant_id = body.pop("tenant_id", None) or self.store.add_org()
            summary = seed(self.store, tenant_id, **body)
        except (TypeError, ValueError, Invalid) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, {"tenantId": tenant_id, **summary})

    def on_flush(self, request: Request) -> Response:
        return self._control(200, {"delivered": self.flush_webhooks()})

    def on_intent(self, request: Request) -> Response:
        if self.notifier is None:
            return self._control(400, {"error": "no webhook is configured"})
        return self._control(
            200, {"ok": self.notifier.intent_to_receive(), "status": self.notifier.status}
        )

    def on_clock(self, request: Request) -> Response:
        """Move the sandbox's clock on (tokens, limits and stamps all follow it)."""
        try:
            seconds = float(control.body(request).get("advance_s", 0))
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        if seconds < 0:
            return self._control(400, {"error": "the clock only moves on"})
        self.store.skew += dt.timedelta(seconds=seconds)
        return self._control(200, {"now": self.store.now().isoformat()})


def parse_since(value: str) -> dt.datetime:
    """Return If-Modified-Since (ISO 8601 as Xero takes it, or an HTTP date) as UTC."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = email.utils.parsedate_to_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
