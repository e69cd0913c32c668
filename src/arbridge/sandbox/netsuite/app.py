"""The NetSuite sandbox as a WSGI app (Werkzeug, no Django): one path prefix per account.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1540391670.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545222128.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156225409090.html

NetSuite gives each account its own domain (<account>.suitetalk.api.netsuite.com);
the sandbox gives it a path, `/<account>`:

    POST   /<account>/services/rest/auth/oauth2/v1/token    client credentials (M2M)
    POST   /<account>/services/rest/query/v1/suiteql?limit=&offset=   {"q": "SELECT ..."}
    GET    /<account>/services/rest/record/v1/<type>/<id | eid:x>
    POST   /<account>/services/rest/record/v1/<type>          create: 204, Location
    PATCH  /<account>/services/rest/record/v1/<type>/<id>     update: 204
    PUT    /<account>/services/rest/record/v1/<type>/eid:<x>  upsert: 204, Location
    DELETE /<account>/services/rest/record/v1/<type>/<id>     204
    POST   /_sandbox/accounts  /_sandbox/seed  /_sandbox/void  /_sandbox/faults
    GET    /_sandbox/stats

Governance: an account takes `concurrency` requests at once (5 by default,
as a standard account without SuiteCloud Plus); one more is answered 429
(CONCURRENCY_LIMIT_EXCEEDED) with Retry-After. SuiteQL pages hold at most
1,000 rows; `offset` must be a multiple of `limit`. No spec of NetSuite's is
in ../shared/specs: shapes follow Oracle's REST API browser (verify).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.faults import Faults
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.netsuite import suiteql
from arbridge.sandbox.netsuite.auth import OAuthError, stamp
from arbridge.sandbox.netsuite.seed import seed
from arbridge.sandbox.netsuite.store import TYPES, Invalid, Store

JSON = "application/json; charset=UTF-8"
MAX_LIMIT = 1000
RETRY_AFTER_S = 1
RECORDS = "/services/rest/record/v1/"
SUITEQL = "/services/rest/query/v1/suiteql"
TOKEN = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path


def create_app(store: Store | None = None, *, clock: Callable[[], dt.datetime] | None = None):
    return NetSuiteSandbox(store or Store(clock=clock))


def public(value: Any) -> Any:
    """Return a stored record as the record service writes it: times in ISO 8601, UTC."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [public(v) for v in value]
    if isinstance(value, dt.datetime):
        return stamp(value)
    return value


class NetSuiteSandbox:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.auth = store.auth
        self.faults = Faults()
        self.random = random.Random()
        self.in_flight: Counter[str] = Counter()
        self.flight_lock = threading.Lock()
        self.stats: dict[str, Counter[str]] = {}

    def configure(self, faults: Faults) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)

    def count(self, account_id: str, what: str) -> None:
        self.stats.setdefault(account_id, Counter())[what] += 1

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.route(request)
        except Invalid as error:
            response = self.answer(error.body(), error.status)
        return response(environ, start_response)

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None):
        date = email.utils.format_datetime(self.store.now(), usegmt=True)
        return Response(
            dumps(public(body)), status, {"Content-Type": JSON, "Date": date, **(headers or {})}
        )

    def empty(self, status: int = 204, location: str | None = None) -> Response:
        headers = {"Date": email.utils.format_datetime(self.store.now(), usegmt=True)}
        if location:
            headers["Location"] = location
        return Response(b"", status, headers)

    def route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/"):
            return self.control(request, path.removeprefix("/_sandbox/"))
        account_id, _, rest = path.lstrip("/").partition("/")
        rest = f"/{rest}"
        if account_id not in self.store.accounts:
            raise Invalid("Unknown account", status=404, code="NONEXISTENT_ID")
        if rest == TOKEN and request.method == "POST":
            return self.token(request, account_id)
        authorized = self.auth.account_of(request.headers.get("Authorization", ""), time.time())
        if authorized != account_id:
            self.count(account_id, "unauthorized")
            raise Invalid("Invalid login attempt.", status=401, code="INVALID_LOGIN")
        account = self.store.account(account_id)
        with self.flight_lock:
            if self.in_flight[account_id] >= account.concurrency:
                self.count(account_id, "throttled")
                return self.answer(
                    Invalid(
                        "Concurrent request limit exceeded. Request blocked.",
                        429,
                        "CONCURRENCY_LIMIT_EXCEEDED",
                    ).body(),
                    429,
                    {"Retry-After": str(RETRY_AFTER_S)},
                )
            self.in_flight[account_id] += 1
        try:
            self.count(account_id, "requests")
            return self.api(request, account_id, rest)
        finally:
            with self.flight_lock:
                self.in_flight[account_id] -= 1

    def api(self, request: Request, account_id: str, rest: str) -> Response:
        fault = None
        if self.faults.error_rate and self.random.random() < self.faults.error_rate:
            fault = self.random.choice(self.faults.error_kinds)
            self.count(account_id, "faults")
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        if fault in ("429", "500", "503"):
            headers = {"Retry-After": str(RETRY_AFTER_S)} if fault == "429" else {}
            code = {
                "429": "CONCURRENCY_LIMIT_EXCEEDED",
                "500": "UNEXPECTED_ERROR",
                "503": "SERVICE_UNAVAILABLE",
            }[fault]
            return self.answer(Invalid("Fault", int(fault), code).body(), int(fault), headers)
        with self.store.lock:
            response = self.serve(request, account_id, rest)
        if fault == "timeout":
            time.sleep(self.faults.timeout_ms / 1000)
            return self.answer(Invalid("Gateway timeout", 504, "TIMEOUT").body(), 504)
        return response

    def serve(self, request: Request, account_id: str, rest: str) -> Response:
        if rest == SUITEQL and request.method == "POST":
            return self.query(request, account_id)
        if not rest.startswith(RECORDS):
            raise Invalid(f"No such resource {rest}", status=404, code="NONEXISTENT_ID")
        kind, _, key = rest.removeprefix(RECORDS).partition("/")
        if kind not in TYPES:
            raise Invalid(
                f"Record type {kind} does not exist.", status=404, code="INVALID_RCRD_TYPE"
            )
        base = f"{request.root_url.rstrip('/')}/{account_id}{RECORDS}{kind}"
        method = request.method
        if method == "GET" and key:
            return self.answer(self.store.get(account_id, kind, key))
        if method == "POST" and not key:
            created = self.store.save(account_id, kind, self.body(request))
            return self.empty(location=f"{base}/{created}")
        if method == "PATCH" and key and not key.startswith("eid:"):
            self.store.save(account_id, kind, self.body(request), key)
            return self.empty()
        if method == "PUT" and key.startswith("eid:"):
            body = self.body(request)
            if body.get("externalId") not in (None, key[4:]):
                raise Invalid("The externalId does not match the key.", code="INVALID_FLD_VALUE")
            saved = self.store.save(account_id, kind, body, key)
            return self.empty(location=f"{base}/{quote(saved)}")
        if method == "DELETE" and key:
            self.store.delete(account_id, kind, key)
            return self.empty()
        raise Invalid(f"{method} is not allowed here.", status=405, code="INVALID_REQUEST")

    def body(self, request: Request) -> dict[str, Any]:
        try:
            body = loads(request.get_data()) if request.get_data() else {}
        except ValueError:
            raise Invalid("The request body is not JSON.", code="INVALID_REQUEST") from None
        if not isinstance(body, dict):
            raise Invalid("The request body must be an object.", code="INVALID_REQUEST")
        return body

    def query(self, request: Request, account_id: str) -> Response:
        if request.headers.get("Prefer") != "transient":
            raise Invalid("SuiteQL needs the header Prefer: transient.", code="INVALID_REQUEST")
        try:
            limit = int(request.args.get("limit", MAX_LIMIT))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            raise Invalid("limit and offset are numbers.", code="INVALID_PARAMETER") from None
        if not 1 <= limit <= MAX_LIMIT or offset < 0 or offset % limit:
            raise Invalid(
                "The offset must be a multiple of limit (1 to 1000).", code="INVALID_PARAMETER"
            )
        try:
            query = suiteql.parse(str(self.body(request).get("q") or ""))
        except suiteql.QueryError as e:
            raise Invalid(str(e), code="INVALID_SEARCH") from None
        rows = [r for r in self.store.rows(account_id, query.table) if query.matches(r)]
        if query.order:
            rows.sort(key=lambda r: (len(str(r.get(query.order, ""))), str(r.get(query.order, ""))))
        page = rows[offset : offset + limit]
        wanted = [{c: r.get(c) for c in query.columns if c in r} for r in page]
        more = offset + limit < len(rows)
        return self.answer(
            {
                "links": [],
                "count": len(page),
                "hasMore": more,
                "items": wanted,
                "offset": offset,
                "totalResults": len(rows),
            }
        )

    def token(self, request: Request, account_id: str) -> Response:
        audience = f"{request.root_url.rstrip('/')}/{account_id}{TOKEN}"
        try:
            token = self.auth.token(account_id, dict(request.form), audience, time.time())
        except OAuthError as e:
            return self.answer({"error": e.error, "error_description": e.description}, 400)
        self.count(account_id, "tokens")
        return self.answer(token)

    def control(self, request: Request, what: str) -> Response:
        try:
            if what == "faults" and request.method == "POST":
                return self.answer(control.switch_faults(self, request, self.auth.expire))
            if what == "stats":
                return self.answer({a: dict(c) for a, c in self.stats.items()})
            settings = control.body(request)
            if what == "accounts" and request.method == "POST":
                account = self.store.add_account(
                    str(settings["account_id"]),
                    str(settings.get("name") or ""),
                    int(settings.get("concurrency", 5)),
                )
                if settings.get("public_key"):
                    self.auth.register(
                        account.id,
                        str(settings["client_id"]),
                        str(settings["certificate_id"]),
                        str(settings["public_key"]),
                    )
                return self.answer({"account_id": account.id})
            if what == "seed" and request.method == "POST":
                counts = seed(
                    self.store,
                    str(settings["account_id"]),
                    customers=int(settings.get("customers", 10)),
                    invoices=int(settings.get("invoices", 20)),
                    lines_per_invoice=int(settings.get("lines_per_invoice", 2)),
                    rng_seed=int(settings.get("seed", 1)),
                )
                return self.answer(counts)
            if what == "void" and request.method == "POST":
                self.store.void(str(settings["account_id"]), str(settings["invoice_id"]))
                return self.empty()
        except (KeyError, ValueError) as e:
            return self.answer({"error": str(e)}, 400)
        raise Invalid(f"No such control {what}", status=404, code="NONEXISTENT_ID")
