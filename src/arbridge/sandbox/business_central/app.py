"""The Business Central sandbox as a WSGI app (Werkzeug, no Django): API v2.0 and its sign-in.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/odata-client-performance
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/administration-center-api_environments
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

Routes (mounted at /sandbox/business_central/ in the demo); {api} is
/v2.0/{tenant}/{environment}/api/v2.0:

    GET          {api}/companies
    GET          {api}/companies({id})/{set}          $filter (eq, gt, ge, lt, le, ne joined
                                                      by "and"), $expand, $top, $skiptoken;
                                                      Prefer: odata.maxpagesize=N (at most
                                                      20,000) and @odata.nextLink
    GET|PATCH|DELETE {api}/companies({id})/{set}({id})   (If-Match on PATCH and DELETE)
    POST         {api}/companies({id})/{set}          customers, salesInvoices (lines inline),
                                                      customerPaymentJournals, journals
    GET|POST     .../salesInvoices({id})/salesInvoiceLines
    POST         .../salesInvoices({id})/Microsoft.NAV.post | Microsoft.NAV.cancel
    GET|POST     .../customerPaymentJournals({id})/customerPayments
    DELETE       .../customerPaymentJournals({id})/customerPayments({id})
    POST         .../customerPaymentJournals({id})/Microsoft.NAV.post
    GET|POST     .../journals({id})/journalLines       POST .../journals({id})/Microsoft.NAV.post
    GET|POST     {api}/subscriptions   GET|PATCH|DELETE {api}/subscriptions('{id}')
    GET          /admin/v2.21/applications/BusinessCentral/environments
    GET          /{tenant}/oauth2/v2.0/authorize   POST /{tenant}/oauth2/v2.0/token
    GET|POST     /_sandbox/faults   GET /_sandbox/stats   POST /_sandbox/companies
    POST         /_sandbox/tokens   POST /_sandbox/seed   POST /_sandbox/webhooks/flush
    POST         /_sandbox/clock {"advance_s": 60}

Sets: companies' customers, contacts, salesInvoices, customerPaymentJournals,
journals, generalLedgerEntries, accounts, bankAccounts. Every API call needs
a Bearer token for the URL's tenant. Limits per user and environment: 6,000
requests in any 5 minutes, and 5 processed at once with 95 more queued; past
either, 429 with Retry-After. Errors are OData's {"error": {"code", "message"}}.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.business_central import odata
from arbridge.sandbox.business_central.oauth import Authority, authorize, token
from arbridge.sandbox.business_central.seed import seed
from arbridge.sandbox.business_central.store import Company, Environment, Invalid, Store
from arbridge.sandbox.business_central.webhooks import Notifier, etag_of
from arbridge.sandbox.common import control
from arbridge.sandbox.common.limits import Limiter
from arbridge.sandbox.common.wire import dumps, loads

JSON = "application/json; odata.metadata=minimal; charset=utf-8"
# The sandbox's own app: published, like any sandbox's test keys.
CLIENT_ID = "sandbox-business-central-client-id"
CLIENT_SECRET = "sandbox-business-central-client-secret"  # noqa: S105
QUEUED = 95
SEGMENT = re.compile(r"^([A-Za-z.]+)(?:\(([^)]*)\))?$")
COMPANY_SETS = frozenset(
    {
        "customers",
        "contacts",
        "salesInvoices",
        "customerPaymentJournals",
        "journals",
        "generalLedgerEntries",
        "accounts",
        "bankAccounts",
    }
)
EXPANDS = {"salesInvoices": "salesInvoiceLines", "contacts": "contactsInformation"}

ALL = ["GET", "POST", "PATCH", "DELETE"]
ENVIRONMENTS = "/admin/v2.21/applications/BusinessCentral/environments"
URLS = Map(
    [
        Rule("/v2.0/<tenant>/<env>/api/v2.0/<path:rest>", endpoint="api", methods=ALL),
        Rule(ENVIRONMENTS, endpoint="environments", methods=["GET"]),
        Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/companies", endpoint="companies", methods=["POST"]),
        Rule("/_sandbox/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
        Rule("/_sandbox/clock", endpoint="clock", methods=["POST"]),
    ]
)  # fmt: skip


def create_app(
    store: Store | None = None,
    *,
    http: httpx.Client | None = None,
    webhook_interval: float | None = 1.0,
    clock: Callable[[], dt.datetime] | None = None,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    requests_per_window: int = 6_000,
    window_s: float = 300.0,
    concurrent_requests: int = 5,
) -> BusinessCentralSandbox:
    """Return a sandbox app; without a store, a new one (a company appears on first consent)."""
    store = store or Store(clock=clock)
    auth = getattr(store, "auth", None)
    if auth is None:
        auth = store.auth = Authority(lambda: store.now().timestamp())  # type: ignore[attr-defined]
    auth.register_client(client_id, client_secret)
    notifier = Notifier(store, interval=webhook_interval, http=http)
    limiter = Limiter(
        lambda: store.now().timestamp(), per_window=requests_per_window, window_s=window_s
    )
    return BusinessCentralSandbox(store, auth, limiter, notifier, concurrent_requests)


class BusinessCentralSandbox:
    """The WSGI app, with its store, sign-in, limits and notifier at hand."""

    def __init__(
        self,
        store: Store,
        auth: Authority,
        limiter: Limiter,
        notifier: Notifier,
        concurrent: int,
    ) -> None:
        self.store = store
        self.auth = auth
        self.limiter = limiter
        self.notifier = notifier
        self.concurrent = concurrent
        self.running: dict[str, int] = {}
        self.running_lock = threading.Lock()
        self.slots: dict[str, threading.BoundedSemaphore] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._error(
                Invalid(f"No route {request.path}", status=404, code="BadRequest_NotFound")
            )
        except (MethodNotAllowed, HTTPException) as error:
            response = error.get_response(environ)
        else:
            try:
                response = getattr(self, f"on_{endpoint}")(request, **args)
            except Invalid as error:
                response = self._error(error)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        return self.notifier.flush()

    # -- answers ------------------------------------------------------------------

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(
            dumps(data),
            status=status,
            content_type=JSON,
            headers={
                "Date": email.utils.format_datetime(self.store.now(), usegmt=True),
                **(headers or {}),
            },
        )

    def _error(self, error: Invalid, headers: dict[str, str] | None = None) -> Response:
        return self._json(error.status, error.body(), headers)

    # -- the API --------------------------------------------------------------------

    def _tenant(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return self.auth.tenant_of(header[7:].strip())

    def on_api(self, request: Request, tenant: str, env: str, rest: str) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it."""
        if self._tenant(request) != tenant:
            return self._error(
                Invalid(
                    "The credentials provided are incorrect",
                    status=401,
                    code="Authentication_InvalidCredentials",
                )
            )
        environment = self.store.environment(tenant, env)
        account = f"{tenant}/{env}"
        wait = self.limiter.admit(account)
        if wait is not None:
            return self._throttled(wait)
        with self.running_lock:
            running = self.running.get(account, 0)
            if running >= self.concurrent + QUEUED:
                self.limiter.stats[account].throttled += 1
                return self._throttled(1)
            self.running[account] = running + 1
            slot = self.slots.setdefault(account, threading.BoundedSemaphore(self.concurrent))
        try:
            with slot:  # five at once; the rest wait, as in Business Central's queue
                latency, injected = self.limiter.draw(account)
                if latency:
                    time.sleep(latency)
                if injected == "429":
                    return self._throttled(1)
                if injected in ("500", "503"):
                    return self._error(
                        Invalid(
                            "Injected by the sandbox",
                            status=int(injected),
                            code="Internal_ServerError",
                        )
                    )
                try:
                    response = self._route(request, environment, rest)
                except Invalid as error:
                    response = self._error(error)
                if injected == "timeout":
                    time.sleep(self.limiter.faults.timeout_ms / 1000)
                    return Response("Gateway Timeout", status=504, content_type="text/plain")
                return response
        finally:
            with self.running_lock:
                self.running[account] -= 1

    def _throttled(self, retry_after: int) -> Response:
        error = Invalid(
            "Too many requests reached. Try again after the Retry-After interval.",
            status=429,
            code="Application_TooManyRequests",
        )
        return self._error(error, {"Retry-After": str(retry_after)})

    def _route(self, request: Request, env: Environment, rest: str) -> Response:
        segments = []
        for part in rest.strip("/").split("/"):
            match = SEGMENT.match(part)
            if match is None:
                raise Invalid(f"The path segment {part} is not understood", status=404)
            segments.append((match[1], (match[2] or "").strip("'") or None))
        (head, key), tail = segments[0], segments[1:]
        if head == "subscriptions" and not tail:
            return self._subscriptions(request, env, key)
        if head != "companies":
            raise Invalid(f"The resource {head} is not served by this sandbox", status=404)
        if key is None:
            if tail or request.method != "GET":
                raise Invalid("Name a company", status=404)
            rows = [
                {"id": c.id, "name": c.name, "displayName": c.name, "systemVersion": "24.0"}
                for c in env.companies.values()
            ]
            return self._json(200, {"value": rows})
        company = env.companies.get(key)
        if company is None:
            raise Invalid(f"Company {key} does not exist", status=404)
        if not tail:
            return self._json(
                200, {"id": company.id, "name": company.name, "displayName": company.name}
            )
        return self._company(request, env, company, tail)

    def _company(
        self, request: Request, env: Environment, company: Company, tail: list
    ) -> Response:
        store, method = self.store, request.method
        (name, key), rest = tail[0], tail[1:]
        if name not in COMPANY_SETS:
            raise Invalid(f"The resource {name} is not served by this sandbox", status=404)
        with store.lock:
            if not rest:
                if key is None and method == "GET":
                    return self._list(request, name, list(store.rows(company, name)))
                if key is None and method == "POST":
                    return self._json(
                        201,
                        self.render(
                            name, self._create(env, company, name, self._body(request)), expand=True
                        ),
                    )
                record = store.get(company, name, key)
                if method == "GET":
                    return self._json(
                        200,
                        self.render(
                            name, record, expand=EXPANDS.get(name) in self._expand(request)
                        ),
                    )
                self._check_etag(request, record)
                if method == "PATCH":
                    return self._json(
                        200,
                        self.render(
                            name,
                            self._update(env, company, name, key, self._body(request)),
                            expand=True,
                        ),
                    )
                if name != "customers":
                    raise Invalid(f"The sandbox does not delete {name}")
                store.delete_customer(env, company, key)
                return Response(status=204)
            ((child, child_key),) = rest[:1]
            if child == "Microsoft.NAV.post" and method == "POST":
                if name == "salesInvoices":
                    store.post_invoice(env, company, key)
                elif name == "customerPaymentJournals":
                    store.post_payment_journal(env, company, key)
                elif name == "journals":
                    store.post_general_journal(company, key)
                else:
                    raise Invalid(f"{name} cannot be posted", status=404)
                return Response(status=204)
            if child == "Microsoft.NAV.cancel" and method == "POST" and name == "salesInvoices":
                store.cancel_invoice(env, company, key)
                return Response(status=204)
            lines = {
                "salesInvoices": "salesInvoiceLines",
                "customerPaymentJournals": "customerPayments",
                "journals": "journalLines",
            }
            if lines.get(name) != child:
                raise Invalid(f"{name}({key})/{child} is not served by this sandbox", status=404)
            parent = store.get(company, name, key)
            if name == "salesInvoices":
                if method != "GET":
                    raise Invalid("Send the invoice's lines with it (deep insert)")
                return self._list(request, child, parent["salesInvoiceLines"])
            if method == "GET" and child_key is None:
                return self._list(request, child, list(parent["_lines"].values()))
            if method == "POST" and child_key is None:
                body = self._body(request)
                if name == "journals":
                    line = store.add_journal_line(company, key, body)
                else:
                    line = store.add_payment_line(company, key, body)
                return self._json(201, self.render(child, line))
            if method == "DELETE" and child_key is not None:
                store.delete_line(company, name, key, child_key)
                return Response(status=204)
            raise Invalid(
                f"{method} {name}({key})/{child} is not served by this sandbox", status=405
            )

    def _create(
        self, env: Environment, company: Company, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        store = self.store
        if name == "customers":
            return store.save_customer(env, company, body)
        if name == "salesInvoices":
            return store.save_invoice(env, company, body)
        if name in ("customerPaymentJournals", "journals"):
            return store.save_journal(company, name, body)
        raise Invalid(f"The sandbox does not create {name}", status=405)

    def _update(
        self, env: Environment, company: Company, name: str, key: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        store = self.store
        if name == "customers":
            return store.save_customer(env, company, body, key)
        if name == "salesInvoices":
            return store.save_invoice(env, company, body, key)
        if name in ("customerPaymentJournals", "journals"):
            return store.save_journal(company, name, body, key)
        raise Invalid(f"The sandbox does not change {name}", status=405)

    def _check_etag(self, request: Request, record: dict[str, Any]) -> None:
        etag = request.headers.get("If-Match")
        if not etag:
            raise Invalid(
                "Could not save because the If-Match header is missing.", code="BadRequest"
            )
        if etag != "*" and etag != record_etag(record):
            raise Invalid(
                "Another user has already changed the record.",
                status=412,
                code="Request_EntityChanged",
            )

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = loads(request.get_data() or b"{}")
        except ValueError:
            raise Invalid("The request body is not JSON") from None
        if not isinstance(body, dict):
            raise Invalid("The request body is not an object")
        return body

    def _expand(self, request: Request) -> set[str]:
        return {part.strip() for part in request.args.get("$expand", "").split(",") if part.strip()}

    def _list(self, request: Request, name: str, rows: list[dict[str, Any]]) -> Response:
        expand = EXPANDS.get(name) in self._expand(request)
        page, next_link, size = odata.page(request, rows)
        body: dict[str, Any] = {"value": [self.render(name, row, expand=expand) for row in page]}
        if next_link:
            body["@odata.nextLink"] = next_link
        headers = (
            {"Preference-Applied": f"odata.maxpagesize={size}"}
            if "Prefer" in request.headers
            else {}
        )
        return self._json(200, body, headers)

    def render(self, name: str, record: dict[str, Any], *, expand: bool = False) -> dict[str, Any]:
        out = {"@odata.etag": record_etag(record)}
        for field, value in record.items():
            if field.startswith("_") or (field == "salesInvoiceLines" and not expand):
                continue
            out[field] = value
        if name == "contacts" and expand:
            out["contactsInformation"] = [
                {
                    "contactId": record["id"],
                    "contactNumber": record["number"],
                    "contactName": record["displayName"],
                    "contactType": record["type"],
                    **relation,
                }
                for relation in record.get("_relations", [])
            ]
        return out

    # -- subscriptions ----------------------------------------------------------------

    def _subscriptions(self, request: Request, env: Environment, key: str | None) -> Response:
        method = request.method
        with self.store.lock:
            if key is None and method == "GET":
                return self._json(
                    200, {"value": [render_subscription(s) for s in env.subscriptions.values()]}
                )
            if key is None and method == "POST":
                row = self.notifier.subscribe(env, self._body(request), user="arbridge")
                return self._json(201, render_subscription(row))
            row = env.subscriptions.get(key or "")
            if row is None:
                raise Invalid(f"The subscription {key} does not exist.", status=404)
            if method == "GET":
                return self._json(200, render_subscription(row))
            if method == "PATCH":
                etag = request.headers.get("If-Match", "")
                row = self.notifier.renew(env, row["subscriptionId"], self._body(request), etag)
                return self._json(200, render_subscription(row))
            if method == "DELETE":
                del env.subscriptions[row["subscriptionId"]]
                return Response(status=204)
        raise Invalid(f"{method} is not allowed here", status=405)

    def on_environments(self, request: Request) -> Response:
        tenant = self._tenant(request)
        if tenant is None:
            return self._error(Invalid("The credentials provided are incorrect", status=401))
        rows = [
            {
                "friendlyName": env.name,
                "type": "Production" if env.name == "production" else "Sandbox",
                "name": env.name,
                "countryCode": "US",
                "applicationFamily": "BusinessCentral",
                "aadTenantId": tenant,
                "status": "Active",
            }
            for env in self.store.tenant_environments(tenant)
        ]
        return self._json(200, {"value": rows})

    # -- sign-in -------------------------------------------------------------------------

    def on_authorize(self, request: Request, tenant: str) -> Response:
        return authorize(self.auth, self.store, request, tenant)

    def on_token(self, request: Request, tenant: str) -> Response:
        return token(self.auth, request)

    # -- the sandbox's control API ------------------------------------------------------

    def _control(self, status: int, data: Any) -> Response:
        return Response(dumps(data), status=status, content_type="application/json")

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._control(200, self.limiter.faults.as_json())
        try:
            answer = control.switch_faults(self.limiter, request, self.auth.expire_access_tokens)
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, answer)

    def on_stats(self, request: Request) -> Response:
        report = self.limiter.report()
        report["token_refreshes"] = self.auth.refreshes
        report["webhooks"] = {
            **control.webhook_stats(self.notifier),
            "handshakes": self.notifier.handshakes,
        }
        return self._control(200, report)

    def on_companies(self, request: Request) -> Response:
        try:
            body = control.body(request)
            tenant, env, company = self.store.add_company(
                body.get("tenant"),
                body.get("environment", "production"),
                body.get("name", "CRONUS USA, Inc."),
                body.get("company_id"),
            )
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, {"tenant": tenant, "environment": env, "company": company})

    def on_tokens(self, request: Request) -> Response:
        """Mint tokens for a tenant without consent (ttl null: never expire)."""
        try:
            body = control.body(request)
            token = self.auth.issue(
                body.get("client_id", CLIENT_ID), str(body["tenant"]), ttl=body.get("ttl", 3599)
            )
        except (ValueError, TypeError, KeyError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, token)

    def on_seed(self, request: Request) -> Response:
        try:
            body = control.body(request)
            tenant, env, company = self.store.add_company(
                body.pop("tenant", None),
                body.pop("environment", "production"),
                body.pop("name", "CRONUS USA, Inc."),
                body.pop("company_id", None),
            )
            summary = seed(self.store, tenant, env, company, **body)
        except (TypeError, ValueError, Invalid) as error:
            return self._control(400, {"error": str(error)})
        return self._control(
            200, {"tenant": tenant, "environment": env, "company": company, **summary}
        )

    def on_flush(self, request: Request) -> Response:
        return self._control(200, {"delivered": self.flush_webhooks()})

    def on_clock(self, request: Request) -> Response:
        """Move the sandbox's clock on (tokens, limits, stamps and expiries follow it)."""
        try:
            seconds = float(control.body(request).get("advance_s", 0))
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        if seconds < 0:
            return self._control(400, {"error": "the clock only moves on"})
        self.store.skew += dt.timedelta(seconds=seconds)
        return self._control(200, {"now": self.store.now().isoformat()})


def record_etag(record: dict[str, Any]) -> str:
    return f'W/"JzE5OzE{record.get("_seq", 0)}_{record.get("_version", 0)}Oyc="'


def render_subscription(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not k.startswith("_")}
    return {"@odata.etag": etag_of(row), **out}
