"""The SuperOps sandbox as a WSGI app (Werkzeug and graphql-core, no Django).

Routes (mounted at /sandbox/superops/ in the demo):

    POST  /msp                    the GraphQL API: `Authorization: Bearer <token>` and
                                  `CustomerSubDomain: <subdomain>` on every call
    GET|POST /_sandbox/faults     GET /_sandbox/stats     PUT /_sandbox/accounts/<subdomain>
    POST  /_sandbox/seed          POST /_sandbox/clock (move the clock on, for the bench)

Every operation is parsed and validated against schema.SDL by graphql-core
and answered as GraphQL answers: 200 with `data`, and `errors` (with an
extensions code: NOT_FOUND, BAD_REQUEST, UNAUTHENTICATED) for what it
refused. 800 calls a minute per subdomain, then 429 with Retry-After.

# Reference: https://developer.superops.com/msp/#section/Authentication
# Reference: https://developer.superops.com/msp/#section/Rate-limits
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, graphql_sync
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.limits import Limiter
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.superops.schema import SCHEMA
from arbridge.sandbox.superops.store import GraphQLFault, Store

JSON = "application/json; charset=utf-8"
# The sandbox's own API token: published, like any sandbox's test keys.
TOKEN = "sandbox-superops-token"  # noqa: S105
SUBDOMAIN = "sandbox"
REQUESTS_PER_WINDOW, WINDOW_SECONDS = 800, 60.0

URLS = Map([
    Rule("/msp", endpoint="graphql", methods=["POST"]),
    Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
    Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
    Rule("/_sandbox/accounts/<subdomain>", endpoint="account", methods=["PUT"]),
    Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
    Rule("/_sandbox/clock", endpoint="clock", methods=["POST"]),
])  # fmt: skip


class Root:
    """The resolvers of Query and Mutation for one subdomain (graphql-core calls them)."""

    def __init__(self, store: Store, subdomain: str) -> None:
        self.store = store
        self.subdomain = subdomain
        self.account = store.account(subdomain)

    def getClientList(self, info, input):  # noqa: N802, A002 - the schema's names
        rows, list_info = self.store.page(list(self.account.clients.values()), input, "accountId")
        return {"clients": rows, "listInfo": list_info}

    def getClient(self, info, input):  # noqa: N802, A002
        return self._one(self.account.clients, input["accountId"], "Client")

    def getInvoiceList(self, info, input):  # noqa: N802, A002
        rows, list_info = self.store.page(list(self.account.invoices.values()), input, "invoiceId")
        return {"invoices": rows, "listInfo": list_info}

    def getInvoice(self, info, input):  # noqa: N802, A002
        return self._one(self.account.invoices, input["invoiceId"], "Invoice")

    def recordInvoicePayment(self, info, input):  # noqa: N802, A002
        return self.store.record_payment(self.subdomain, input)

    def deleteInvoicePayment(self, info, input):  # noqa: N802, A002
        return self.store.delete_payment(self.subdomain, input["paymentId"])

    @staticmethod
    def _one(table: dict[str, Any], remote_id: str, what: str) -> dict[str, Any]:
        if str(remote_id) not in table:
            raise GraphQLFault(f"{what} not found", "NOT_FOUND")
        return table[str(remote_id)]


class SuperOpsSandbox:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float],
        requests_per_window: int = REQUESTS_PER_WINDOW,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.limiter = Limiter(clock, per_window=requests_per_window, window_s=WINDOW_SECONDS)
        self.limiter.accounts = "subdomains"
        self.store.account(SUBDOMAIN)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except (NotFound, MethodNotAllowed) as error:
            response = error.get_response()
        except HTTPException as error:
            response = error.get_response()
        except ValueError as error:
            response = self._json({"error": str(error)}, 400)
        return response(environ, start_response)

    def on_graphql(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        subdomain = request.headers.get("CustomerSubDomain", "")
        if token != TOKEN or subdomain not in self.store.accounts:
            return self._errors("Invalid API token or CustomerSubDomain", "UNAUTHENTICATED", 401)
        wait = self.limiter.admit(subdomain)
        if wait is not None:
            return self._errors("Too many requests", "TOO_MANY_REQUESTS", 429, wait)
        latency, fault = self.limiter.draw(subdomain)
        if latency:
            self.sleep(latency)
        if fault in ("429", "500", "503"):
            return self._errors("Injected fault", "FAULT", int(fault), 1 if fault == "429" else 0)
        try:
            body = loads(request.get_data())
            query, variables = body["query"], body.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return self._errors("The body is {query, variables}", "BAD_REQUEST", 400)
        result = graphql_sync(
            SCHEMA, query, root_value=Root(self.store, subdomain), variable_values=variables
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_error(error) for error in result.errors]
        if fault == "timeout":
            self.sleep(self.limiter.faults.timeout_ms / 1000)
            return self._errors("Gateway timeout", "TIMEOUT", 504)
        return self._json(answer)

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._json(self.limiter.faults.as_json())
        return self._json(control.switch_faults(self.limiter, request, lambda: 0))

    def on_stats(self, request: Request) -> Response:
        return self._json(self.limiter.report())

    def on_account(self, request: Request, subdomain: str) -> Response:
        self.store.account(subdomain)
        return self._json({"subdomain": subdomain})

    def on_seed(self, request: Request) -> Response:
        settings = control.body(request)
        subdomain = str(settings.get("subdomain") or SUBDOMAIN)
        made = seed(
            self.store, subdomain,
            clients=int(settings.get("clients", 10)), invoices=int(settings.get("invoices", 20)),
            lines=int(settings.get("lines", 3)),
        )  # fmt: skip
        return self._json(made)

    def on_clock(self, request: Request) -> Response:
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise ValueError("this sandbox runs on the real clock")
        advance(float(control.body(request).get("advance_s", 0)))
        return self._json({"now": self.clock()})

    def _errors(self, message: str, code: str, status: int, retry_after: int = 0) -> Response:
        response = self._json(
            {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
            status,
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(dumps(body), status=status, content_type=JSON)


def _error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    code = original.extensions["code"] if isinstance(original, GraphQLFault) else "BAD_REQUEST"
    answer: dict[str, Any] = {"message": error.message, "extensions": {"code": code}}
    if error.path:
        answer["path"] = list(error.path)
    return answer


class Clock:
    """Monotonic time that a test or the bench can move on."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def seed(store: Store, subdomain: str, *, clients: int, invoices: int, lines: int) -> dict:
    """Fill an account with clients (each with a billing contact) and invoices of `lines` items."""
    made = []
    for number in range(1, clients + 1):
        made.append(store.client(
            subdomain, f"Client {number:05d}", email=f"ap{number}@client.example",
            billing={"firstName": "Accounts", "lastName": f"Payable {number}",
                     "email": f"billing{number}@client.example", "contactNumber": ""},
        ))  # fmt: skip
    base = dt.date(2026, 1, 1)
    for number in range(invoices):
        client = made[number % len(made)]
        store.invoice(
            subdomain, client["accountId"],
            [(f"Managed services {n + 1}", 1, f"{number % 90 + 10 + n}.50") for n in range(lines)],
            issued=base + dt.timedelta(days=number % 300),
        )  # fmt: skip
    return {"clients": clients, "invoices": invoices}


def create_app(
    store: Store | None = None,
    *,
    clock: Callable[[], float] | None = None,
    requests_per_window: int = REQUESTS_PER_WINDOW,
) -> SuperOpsSandbox:
    clock = clock or Clock()
    return SuperOpsSandbox(store or Store(), clock=clock, requests_per_window=requests_per_window)
