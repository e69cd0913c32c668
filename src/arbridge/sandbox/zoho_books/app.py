"""The Zoho Books sandbox as a WSGI app (Werkzeug, no Django), one set of routes per data centre.

# Reference: https://www.zoho.com/books/api/v3/introduction/
# Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html
# Reference: ../shared/specs/zoho-books (Zoho's OpenAPI documents, module by module)

The US data centre answers at the root, every other under `/<location>`
(`/eu`, `/in`, ...), standing in for accounts.zoho.<tld> and
www.zohoapis.<tld>:

    GET      /oauth/v2/auth          consent (US only: it redirects with location and
                                     accounts-server); ?organization=<id> picks one
    POST     [/<dc>]/oauth/v2/token  POST [/<dc>]/oauth/v2/token/revoke
    GET      [/<dc>]/books/v3/organizations
    GET|POST [/<dc>]/books/v3/contacts     GET|PUT|DELETE .../contacts/<id>
    POST     .../contacts/<id>/active|inactive
    GET|POST [/<dc>]/books/v3/invoices     GET|PUT|DELETE .../invoices/<id>
    POST     .../invoices/<id>/status/sent|void|draft
    GET      .../invoices/<id>/payments   GET .../invoices/<id>/creditsapplied
    GET|POST [/<dc>]/books/v3/customerpayments   GET|DELETE .../customerpayments/<id>
    POST     [/<dc>]/books/v3/creditnotes        POST .../creditnotes/<id>/invoices
    GET      [/<dc>]/books/v3/chartofaccounts
    GET|POST [/<dc>]/books/v3/banktransactions   (not in ../shared/specs: Zoho's pages)
    GET|POST /_sandbox/faults   GET /_sandbox/stats   POST /_sandbox/orgs
    POST     /_sandbox/tokens   POST /_sandbox/seed   POST /_sandbox/clock {"advance_s": 60}

Every API call but /organizations names `organization_id`, of an
organization the token reaches, at that organization's data centre. Lists
take page and per_page (at most 200) and answer `page_context` with
`has_more_page`; `last_modified_time` keeps what changed since.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.zoho_books.limits import Limiter
from arbridge.sandbox.zoho_books.oauth import Grant, OAuthError
from arbridge.sandbox.zoho_books.seed import seed
from arbridge.sandbox.zoho_books.store import LOCATIONS, Invalid, Store

JSON = "application/json;charset=UTF-8"
CLIENT_ID = "1000.SANDBOXZOHOBOOKSCLIENT"
CLIENT_SECRET = "sandbox-zoho-books-client-secret"  # noqa: S105 - published, like any sandbox's
MAX_PER_PAGE = 200
API = "/books/v3/"

INVOICE_SUMMARY = (
    "invoice_id", "customer_name", "customer_id", "status", "invoice_number",
    "reference_number", "date", "due_date", "currency_code", "total", "balance",
    "created_time", "last_modified_time",
)  # fmt: skip
CONTACT_SUMMARY = (
    "contact_id", "contact_name", "company_name", "contact_type", "status", "currency_code",
    "first_name", "last_name", "email", "phone", "mobile", "created_time", "last_modified_time",
)  # fmt: skip
CONTACT = (
    "contact_id", "contact_name", "company_name", "contact_type", "status", "currency_code",
    "contact_persons", "created_time", "last_modified_time",
)  # fmt: skip
PAYMENT_SUMMARY = ("payment_id", "payment_number", "date", "payment_mode", "amount")
PAYMENT = (
    "payment_id", "payment_mode", "amount", "date", "reference_number", "description",
    "customer_id", "customer_name", "invoices",
)  # fmt: skip
BANK_TRANSACTION = (
    "transaction_id", "transaction_type", "from_account_id", "to_account_id", "amount", "date",
    "reference_number", "description",
)  # fmt: skip
APPLIED = ("invoice_id", "invoice_number", "amount_applied")


def payment_answer(payment: dict[str, Any]) -> dict[str, Any]:
    answer = public(payment, PAYMENT)
    answer["invoices"] = [public(part, APPLIED) for part in payment["invoices"]]
    return answer


def create_app(
    store: Store | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    requests_per_minute: int = 100,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
) -> ZohoBooksSandbox:
    store = store or Store(clock=clock)
    sandbox = ZohoBooksSandbox(
        store, Limiter(lambda: store.now().timestamp(), per_minute=requests_per_minute)
    )
    sandbox.auth.register_client(client_id, client_secret)
    return sandbox


def public(record: dict[str, Any], fields: Iterable[str] | None = None) -> dict[str, Any]:
    if fields is not None:
        return {name: record[name] for name in fields if name in record}
    return {k: v for k, v in record.items() if not k.startswith("_")}


class ZohoBooksSandbox:
    """The WSGI app, with its store, limits and accounts server at hand."""

    def __init__(self, store: Store, limiter: Limiter) -> None:
        self.store = store
        self.limiter = limiter
        self.auth = store.auth

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        location = "us"
        head, _, rest = path.lstrip("/").partition("/")
        if head in LOCATIONS and head != "us":
            location, path = head, f"/{rest}"
        try:
            response = self.route(request, location, path)
        except Invalid as error:
            response = self.answer(error.body(), error.status)
        return response(environ, start_response)

    def root(self, request: Request, location: str = "us") -> str:
        root = request.root_url.rstrip("/")
        return root if location == "us" else f"{root}/{location}"

    def answer(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        moment = self.store.now()
        return Response(
            dumps(body),
            status=status,
            content_type=JSON,
            headers={"Date": email.utils.format_datetime(moment, usegmt=True), **(headers or {})},
        )

    def route(self, request: Request, location: str, path: str) -> Response:
        method = request.method
        if path == "/oauth/v2/auth" and method == "GET" and location == "us":
            return self.on_authorize(request)
        if path == "/oauth/v2/token" and method == "POST":
            return self.on_token(request, location)
        if path == "/oauth/v2/token/revoke" and method == "POST":
            self.auth.revoke(request.values.get("token", ""))
            return self.answer({"status": "success"})
        if path.startswith(API):
            return self.api(request, location, path[len(API) :].strip("/").split("/"))
        if path.startswith("/_sandbox/") and location == "us":
            handler = getattr(self, f"on_{path[len('/_sandbox/') :]}", None)
            if handler is not None:
                return handler(request)
        return self.answer({"code": 5, "message": "Invalid URL Passed"}, 404)

    # -- OAuth ------------------------------------------------------------------

    def on_authorize(self, request: Request) -> Response:
        args = request.args
        client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri")
        if client_id not in self.auth.clients or not redirect_uri:
            return Response("Invalid client or redirect_uri", status=400)
        answer: dict[str, str] = {}
        if args.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        else:
            chosen = [o for o in args.get("organization", "").split(",") if o]
            chosen = chosen or list(self.store.orgs)
            if not chosen:
                chosen = [self.store.add_org()]
            for org_id in chosen:
                self.store.add_org(org_id)
            # One Zoho account lives in one data centre: its first organization's.
            location = self.store.org(chosen[0]).location
            grant = Grant(
                client_id, location, [o for o in chosen if self.store.org(o).location == location]
            )
            answer["code"] = self.auth.authorize(client_id, redirect_uri, grant)
            answer["location"] = location
            answer["accounts-server"] = self.root(request, location)
        if "state" in args:
            answer["state"] = args["state"]
        parts = urlsplit(redirect_uri)
        query = "&".join(filter(None, (parts.query, urlencode(answer))))
        return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})

    def on_token(self, request: Request, location: str) -> Response:
        form = request.form
        auth = request.authorization
        client_id = form.get("client_id") or (auth.username if auth else "") or ""
        secret = form.get("client_secret") or (auth.password if auth else "") or ""
        try:
            self.auth.check_client(client_id, secret)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                token, grant = self.auth.exchange_code(
                    client_id, form.get("code", ""), form.get("redirect_uri", ""), location
                )
            elif grant_type == "refresh_token":
                token, grant = self.auth.refresh_token(
                    client_id, form.get("refresh_token", ""), location
                )
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            return self.answer(error.body(), error.status)
        return self.answer({**token, "api_domain": self.root(request, grant.location)})

    # -- the Books API ------------------------------------------------------------

    def api(self, request: Request, location: str, parts: list[str]) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        grant = (
            self.auth.grant_of(token.strip())
            # Reference: https://www.zoho.com/books/api/v3/oauth/#overview
            if scheme.lower() == "zoho-oauthtoken"
            else None
        )
        if grant is None or grant.location != location:
            # A token is good only at its own data centre.
            return self.answer(
                {"code": 57, "message": "You are not authorized to perform this operation"}, 401
            )
        if parts == ["organizations"]:
            orgs = [
                {"organization_id": o, "name": self.store.org(o).name, "currency_code": "USD"}
                for o in grant.organizations
                if o in self.store.orgs
            ]
            return self.answer({"code": 0, "message": "success", "organizations": orgs})
        org_id = request.args.get("organization_id", "")
        if org_id not in grant.organizations or org_id not in self.store.orgs:
            return self.answer(
                {"code": 6041, "message": "Invalid value passed for organization_id"}, 400
            )
        refusal = self.limiter.enter(org_id, self.store.org(org_id).plan)
        if refusal is not None:
            if refusal.problem == "day":
                body = {
                    "code": 44,
                    "message": "You have reached the maximum number of API calls allowed per day "
                    "for your organization.",
                }
            else:
                body = {
                    "code": 45,
                    "message": "Too many requests: at most 100 a minute for an organization.",
                }
            return self.answer(body, 429, {"Retry-After": str(refusal.retry_after)})
        latency, injected = self.limiter.draw(org_id)
        if latency:
            time.sleep(latency)
        if injected == "429":
            return self.answer(
                {"code": 45, "message": "Too many requests"}, 429, {"Retry-After": "1"}
            )
        if injected in ("500", "503"):
            return self.answer({"code": 9, "message": "Injected by the sandbox"}, int(injected))
        with self.store.lock:
            try:
                response = self.books(request, org_id, parts)
            except Invalid as error:
                response = self.answer(error.body(), error.status)
        if injected == "timeout":
            time.sleep(self.limiter.faults.timeout_ms / 1000)
            return Response("Gateway Timeout", status=504, content_type="text/plain")
        return response

    def body(self, request: Request) -> dict[str, Any]:
        data = request.get_data()
        if not data and "JSONString" in request.form:
            data = request.form["JSONString"].encode()
        try:
            body = loads(data) if data else {}
        except ValueError:
            raise Invalid("The JSON is not valid", code=2) from None
        if not isinstance(body, dict):
            raise Invalid("The JSON is not an object", code=2)
        return body

    def ok(self, message: str = "success", status: int = 200, **records: Any) -> Response:
        return self.answer({"code": 0, "message": message, **records}, status)

    def books(self, request: Request, org_id: str, parts: list[str]) -> Response:
        store, method = self.store, request.method
        resource, rest = parts[0], parts[1:]
        org = store.org(org_id)
        if resource == "contacts":
            if not rest:
                if method == "POST":
                    return self.ok(
                        "The contact has been added.",
                        201,
                        contact=public(store.create_contact(org_id, self.body(request)), CONTACT),
                    )
                return self.page(request, "contacts", self.contacts(request, org), CONTACT_SUMMARY)
            if len(rest) == 2 and method == "POST" and rest[1] in ("active", "inactive"):
                store.mark_contact(org_id, rest[0], rest[1])
                return self.ok(f"The contact has been marked as {rest[1]}.")
            if len(rest) == 1 and method == "PUT":
                return self.ok(
                    "Contact has been updated successfully",
                    contact=public(
                        store.update_contact(org_id, rest[0], self.body(request)), CONTACT
                    ),
                )
            if len(rest) == 1 and method == "GET":
                return self.ok(contact=public(store.contact(org_id, rest[0]), CONTACT))
            if len(rest) == 1 and method == "DELETE":
                store.delete_contact(org_id, rest[0])
                return self.ok("The contact has been deleted.")
        if resource == "invoices":
            if not rest:
                if method == "POST":
                    return self.ok(
                        "The invoice has been created.",
                        201,
                        invoice=public(store.create_invoice(org_id, self.body(request))),
                    )
                return self.page(request, "invoices", self.invoices(request, org), INVOICE_SUMMARY)
            if len(rest) == 3 and rest[1] == "status" and method == "POST":
                store.set_status(org_id, rest[0], rest[2])
                return self.ok(f"Invoice status has been changed to {rest[2].capitalize()}.")
            if len(rest) == 1 and method == "GET":
                return self.ok(invoice=public(store.invoice(org_id, rest[0])))
            if rest[1:] == ["payments"] and method == "GET":
                return self.ok(payments=list(store.invoice(org_id, rest[0])["_payments"]))
            if rest[1:] == ["creditsapplied"] and method == "GET":
                return self.ok(credits=list(store.invoice(org_id, rest[0])["_credits"]))
            if len(rest) == 1 and method == "PUT":
                return self.ok(
                    "Invoice information has been updated.",
                    invoice=public(store.update_invoice(org_id, rest[0], self.body(request))),
                )
            if len(rest) == 1 and method == "DELETE":
                store.delete_invoice(org_id, rest[0])
                return self.ok("The invoice has been deleted.")
        if resource == "customerpayments":
            if not rest:
                if method == "POST":
                    return self.ok(
                        "The payment has been created.",
                        201,
                        payment=payment_answer(store.create_payment(org_id, self.body(request))),
                    )
                return self.page(
                    request, "customer_payments", self.payments(request, org), PAYMENT_SUMMARY
                )
            if len(rest) == 1 and method == "GET":
                return self.ok(payment=payment_answer(store.payment(org_id, rest[0])))
            if len(rest) == 1 and method == "DELETE":
                store.delete_payment(org_id, rest[0])
                return self.ok("The payment has been deleted.")
        if resource == "creditnotes":
            if not rest and method == "POST":
                return self.ok(
                    "The credit note has been created.",
                    201,
                    creditnote=public(store.create_credit_note(org_id, self.body(request))),
                )
            if len(rest) == 2 and rest[1] == "invoices" and method == "POST":
                applied = store.apply_credit(
                    org_id, rest[0], list(self.body(request).get("invoices") or [])
                )
                return self.ok(
                    "Credits have been applied to the invoice(s).",
                    201,
                    apply_to_invoices={"invoices": applied},
                )
        if resource == "banktransactions":
            if not rest and method == "POST":
                row = store.create_bank_transaction(org_id, self.body(request))
                return self.ok(
                    "The transaction has been created.", 201, banktransaction=public(row)
                )
            if not rest and method == "GET":
                text = request.args.get("search_text", "").lower()
                rows = [
                    r
                    for r in org.banktransactions.values()
                    if text in r["reference_number"].lower() or text in r["description"].lower()
                ]
                return self.page(request, "banktransactions", rows, BANK_TRANSACTION)
        if resource == "chartofaccounts" and not rest and method == "GET":
            return self.ok(chartofaccounts=[public(a) for a in org.accounts])
        raise Invalid("Invalid URL Passed", status=404, code=5)

    def since(self, request: Request) -> dt.datetime | None:
        value = request.args.get("last_modified_time")
        if not value:
            return None
        text = value.strip().replace(" ", "+")
        try:
            return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            raise Invalid("Invalid value passed for last_modified_time", code=2) from None

    def contacts(self, request: Request, org) -> list[dict[str, Any]]:
        status = request.args.get("filter_by", "Status.All")
        chosen = self.store.listed(org.contacts.values(), self.since(request))
        if kind := request.args.get("contact_type"):
            chosen = [c for c in chosen if c["contact_type"] == kind]
        if status == "Status.Active":
            chosen = [c for c in chosen if c["status"] == "active"]
        elif status == "Status.Inactive":
            chosen = [c for c in chosen if c["status"] == "inactive"]
        return chosen

    def invoices(self, request: Request, org) -> list[dict[str, Any]]:
        chosen = self.store.listed(org.invoices.values(), self.since(request))
        if number := request.args.get("invoice_number"):
            chosen = [i for i in chosen if i["invoice_number"] == number]
        return chosen

    def payments(self, request: Request, org) -> list[dict[str, Any]]:
        chosen = list(org.payments.values())
        if text := request.args.get("search_text", "").lower():
            chosen = [
                p
                for p in chosen
                if text in p["reference_number"].lower()
                or text in p["customer_name"].lower()
                or text in p["description"].lower()
            ]
        return chosen

    def page(
        self, request: Request, name: str, records: list[dict[str, Any]], fields: tuple[str, ...]
    ) -> Response:
        try:
            number = max(1, int(request.args.get("page", 1)))
            per_page = min(MAX_PER_PAGE, max(1, int(request.args.get("per_page", MAX_PER_PAGE))))
        except ValueError:
            raise Invalid("page and per_page are numbers", code=2) from None
        chunk = records[(number - 1) * per_page : number * per_page]
        context = {
            "page": number,
            "per_page": per_page,
            "has_more_page": number * per_page < len(records),
            "sort_column": request.args.get("sort_column", "created_time"),
            "sort_order": request.args.get("sort_order", "A"),
        }
        return self.ok(**{name: [public(r, fields) for r in chunk]}, page_context=context)

    # -- the sandbox's control API --------------------------------------------------

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self.answer(self.limiter.faults.as_json())
        try:
            return self.answer(
                control.switch_faults(self.limiter, request, self.auth.expire_access_tokens)
            )
        except (TypeError, ValueError) as error:
            return self.answer({"error": str(error)}, 400)

    def on_stats(self, request: Request) -> Response:
        return self.answer({**self.limiter.report(), "token_refreshes": self.auth.refreshes})

    def on_orgs(self, request: Request) -> Response:
        try:
            body = control.body(request)
            org_id = self.store.add_org(
                body.get("organization_id"),
                body.get("name"),
                location=body.get("location", "us"),
                plan=body.get("plan", "premium"),
            )
        except ValueError as error:
            return self.answer({"error": str(error)}, 400)
        return self.answer({"organization_id": org_id}, 201)

    def on_tokens(self, request: Request) -> Response:
        """Mint a token reaching some organizations without consent (ttl null: never expires)."""
        try:
            body = control.body(request)
            orgs = list(body.get("organizations") or self.store.orgs)
            location = self.store.org(orgs[0]).location if orgs else "us"
            token = self.auth.issue(Grant(CLIENT_ID, location, orgs), ttl=body.get("ttl", 3600))
        except (ValueError, TypeError, Invalid) as error:
            return self.answer({"error": str(error)}, 400)
        return self.answer({**token, "api_domain": self.root(request, location)})

    def on_seed(self, request: Request) -> Response:
        try:
            body = control.body(request)
            org_id = body.pop("organization_id", None) or self.store.add_org()
            summary = seed(self.store, org_id, **body)
        except (TypeError, ValueError, Invalid) as error:
            return self.answer({"error": str(error)}, 400)
        return self.answer({"organization_id": org_id, **summary})

    def on_clock(self, request: Request) -> Response:
        try:
            seconds = float(control.body(request).get("advance_s", 0))
        except (TypeError, ValueError) as error:
            return self.answer({"error": str(error)}, 400)
        if seconds < 0:
            return self.answer({"error": "the clock only moves on"}, 400)
        self.store.skew += dt.timedelta(seconds=seconds)
        return self.answer({"now": self.store.now().isoformat()})
