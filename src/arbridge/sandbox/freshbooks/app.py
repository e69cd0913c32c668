"""The FreshBooks sandbox as a WSGI app (Werkzeug, no Django).

# Reference: https://www.freshbooks.com/api/start
# Reference: https://www.freshbooks.com/api/authentication
# Reference: https://www.freshbooks.com/api/me_endpoint
# Reference: https://www.freshbooks.com/api/parameters
# Reference: https://www.freshbooks.com/api/webhooks
# Reference: ../shared/specs/freshbooks/freshbooks-openapi.ballerina-community.yaml

Routes (mounted at /sandbox/freshbooks/ in the demo):

    GET      /accounting/account/<id>/users/clients         ?page=&per_page= (at most 100),
    GET      /accounting/account/<id>/invoices/invoices      search[updated_min]=, search[<field>]=,
    GET      /accounting/account/<id>/payments/payments      include[]=contacts / lines
    POST     the same three                                  create
    GET|PUT  .../<resource>/<id>                             read, update (vis_state 1 deletes)
    GET|POST /events/account/<id>/events/callbacks           webhook callbacks
    PUT|DELETE /events/account/<id>/events/callbacks/<cb>    verify ({"callback": {"verifier"}})
    GET      /service/auth/oauth/authorize   POST /auth/oauth/token   POST /auth/oauth/revoke
    GET      /auth/api/v1/users/me
    GET|POST /_sandbox/faults   GET /_sandbox/stats   POST /_sandbox/accounts
    POST     /_sandbox/tokens   POST /_sandbox/seed   POST /_sandbox/webhooks/flush
    POST     /_sandbox/clock {"advance_s": 60}

Every API call needs a Bearer token whose grant reaches the account. Each
account may make `requests_per_minute` calls in any 60 seconds (FreshBooks
publishes no figure; 300 by default); past that a 429 with Retry-After.
Answers carry a Date header from the sandbox's clock. /_sandbox/ is the
sandbox's own control API for tests and the demo.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.limits import Limiter
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.freshbooks.oauth import OAuthError
from arbridge.sandbox.freshbooks.seed import seed
from arbridge.sandbox.freshbooks.store import SINGULAR, Invalid, Store, parse_stamp
from arbridge.sandbox.freshbooks.webhooks import Notifier

JSON = "application/json; charset=utf-8"
# The sandbox's own app credentials: published, like any sandbox's test keys.
CLIENT_ID = "sandbox-freshbooks-client-id"
CLIENT_SECRET = "sandbox-freshbooks-client-secret"  # noqa: S105
MAX_PER_PAGE = 100
# The path of each resource under /accounting/account/<id>/.
PATHS = {
    "users/clients": "clients",
    "invoices/invoices": "invoices",
    "payments/payments": "payments",
}
ACCOUNTING = "/accounting/account/<account>/<group>/<name>"
CALLBACKS = "/events/account/<account>/events/callbacks"

URLS = Map(
    [
        Rule(ACCOUNTING, endpoint="collection", methods=["GET", "POST"]),
        Rule(f"{ACCOUNTING}/<int:id>", endpoint="item", methods=["GET", "PUT"]),
        Rule(CALLBACKS, endpoint="callbacks", methods=["GET", "POST"]),
        Rule(f"{CALLBACKS}/<int:id>", endpoint="callback", methods=["GET", "PUT", "DELETE"]),
        Rule("/service/auth/oauth/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/auth/oauth/token", endpoint="token", methods=["POST"]),
        Rule("/auth/oauth/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/auth/api/v1/users/me", endpoint="me", methods=["GET"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/accounts", endpoint="accounts", methods=["POST"]),
        Rule("/_sandbox/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
        Rule("/_sandbox/clock", endpoint="clock", methods=["POST"]),
    ]
)
API_ENDPOINTS = {"collection", "item", "callbacks", "callback"}


def create_app(
    store: Store | None = None,
    *,
    webhook_interval: float | None = 0.5,
    http: httpx.Client | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    requests_per_minute: int = 300,
) -> FreshBooksSandbox:
    """Return a sandbox app; without a store, a new one (an account appears on first consent).

    Callbacks registered through the API are posted to (through `http`) as
    they fall due, every `webhook_interval` seconds (None: only when flushed).
    """
    store = store or Store(clock=clock)
    store.auth.register_client(client_id, client_secret)
    notifier = Notifier(store, interval=webhook_interval, http=http)
    store.listeners.append(notifier.add)
    limiter = Limiter(
        lambda: store.now().timestamp(), per_window=requests_per_minute, window_s=60.0
    )
    return FreshBooksSandbox(store, limiter, notifier)


class FreshBooksSandbox:
    """The WSGI app, with its store, limits and webhook notifier at hand."""

    def __init__(self, store: Store, limiter: Limiter, notifier: Notifier) -> None:
        self.store = store
        self.limiter = limiter
        self.notifier = notifier

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._error(404, f"No route {request.path}", 1012)
        except (MethodNotAllowed, HTTPException) as error:
            response = error.get_response(environ)
        else:
            if endpoint in API_ENDPOINTS:
                response = self._api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        response.headers["Date"] = email.utils.format_datetime(self.store.now(), usegmt=True)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        return self.notifier.flush()

    # -- answers --------------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(dumps(body), status=status, content_type=JSON, headers=headers or {})

    def _result(self, result: dict[str, Any]) -> Response:
        return self._json(200, {"response": {"result": result}})

    def _error(self, status: int, message: str, errno: int = 1001) -> Response:
        return self._json(status, Invalid(message, status=status, errno=errno).body())

    # -- the API ----------------------------------------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it."""
        grant = self._grant(request)
        if grant is None:
            return self._json(
                401,
                {"error": "invalid_token", "error_description": "The access token is invalid"},
            )
        account_id = args.pop("account")
        if account_id not in grant.accounts or account_id not in self.store.accounts:
            return self._error(403, "The token does not reach this account.", 1003)
        wait = self.limiter.admit(account_id)
        if wait is not None:
            return self._throttled(wait)
        latency, injected = self.limiter.draw(account_id)
        if latency:
            time.sleep(latency)
        if injected == "429":
            return self._throttled(1)
        if injected in ("500", "503"):
            return self._error(int(injected), "Injected by the sandbox")
        try:
            response = getattr(self, f"on_{endpoint}")(request, account_id, **args)
        except Invalid as error:
            response = self._json(error.status, error.body())
        if injected == "timeout":
            time.sleep(self.limiter.faults.timeout_ms / 1000)
            return Response("Gateway Timeout", status=504, content_type="text/plain")
        return response

    def _throttled(self, retry_after: int) -> Response:
        return self._json(
            429,
            {"response": {"errors": [{"errno": 429, "message": "Too many requests."}]}},
            {"Retry-After": str(retry_after)},
        )

    def _resource(self, group: str, name: str) -> str:
        resource = PATHS.get(f"{group}/{name}")
        if resource is None:
            raise Invalid(f"No resource {group}/{name}", status=404, errno=1012)
        return resource

    def _body(self, request: Request, key: str) -> dict[str, Any]:
        try:
            body = loads(request.get_data())
        except ValueError:
            raise Invalid("The request body is not JSON.") from None
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise Invalid(f"The request body holds no {key}.", field=key)
        return body[key]

    def on_collection(self, request: Request, account_id: str, group: str, name: str) -> Response:
        resource = self._resource(group, name)
        if request.method == "POST":
            fields = self._body(request, SINGULAR[resource])
            if resource == "clients":
                record = self.store.save_client(account_id, fields)
            elif resource == "invoices":
                record = self.store.save_invoice(account_id, fields)
            else:
                record = self.store.create_payment(account_id, fields)
            return self._result({SINGULAR[resource]: record})
        args = request.args
        try:
            page = max(1, int(args.get("page", 1)))
            per_page = min(MAX_PER_PAGE, max(1, int(args.get("per_page", 15))))
        except ValueError:
            raise Invalid("page and per_page are numbers.") from None
        since = None
        search = {}
        for key, value in args.items(multi=True):
            if key == "search[updated_min]":
                try:
                    since = parse_stamp(value)
                except ValueError:
                    raise Invalid(f"updated_min is not a time: {value}") from None
            elif key.startswith("search[") and key.endswith("]"):
                search[key[7:-1]] = value
        include = frozenset(args.getlist("include[]"))
        records, total = self.store.list(
            account_id,
            resource,
            since=since,
            search=search,
            include=include,
            page=page,
            per_page=per_page,
        )
        return self._result(
            {
                resource: records,
                "page": page,
                "pages": max(1, -(-total // per_page)),
                "per_page": per_page,
                "total": total,
            }
        )

    def on_item(
        self, request: Request, account_id: str, group: str, name: str, id: int
    ) -> Response:
        resource = self._resource(group, name)
        key = SINGULAR[resource]
        if request.method == "GET":
            include = frozenset(request.args.getlist("include[]"))
            return self._result({key: self.store.get(account_id, resource, id, include)})
        fields = self._body(request, key)
        if resource == "clients":
            record = self.store.save_client(account_id, fields, id)
        elif resource == "invoices":
            record = self.store.save_invoice(account_id, fields, id)
        else:
            record = self.store.update_payment(account_id, id, fields)
        return self._result({key: record})

    def on_callbacks(self, request: Request, account_id: str) -> Response:
        if request.method == "POST":
            fields = self._body(request, "callback")
            callback = self.store.create_callback(
                account_id, str(fields.get("event") or ""), str(fields.get("uri") or "")
            )
            return self._result({"callback": callback})
        callbacks = list(self.store.account(account_id).callbacks.values())
        return self._result(
            {
                "callbacks": callbacks,
                "page": 1,
                "pages": 1,
                "per_page": MAX_PER_PAGE,
                "total": len(callbacks),
            }
        )

    def on_callback(self, request: Request, account_id: str, id: int) -> Response:
        account = self.store.account(account_id)
        if request.method == "DELETE":
            self.store.delete_callback(account_id, id)
            return Response(status=204)
        if request.method == "PUT":
            fields = self._body(request, "callback")
            callback = self.store.verify_callback(account_id, id, str(fields.get("verifier")))
            return self._result({"callback": callback})
        if id not in account.callbacks:
            raise Invalid(f"No callback {id}", status=404, errno=1012)
        return self._result({"callback": account.callbacks[id]})

    # -- OAuth 2.0 and identity ---------------------------------------------------

    def on_authorize(self, request: Request) -> Response:
        """Consent at once, for the accounts named (?account=a,b) or every one there is."""
        args = request.args
        redirect_uri, client_id = args.get("redirect_uri"), args.get("client_id", "")
        if not redirect_uri or client_id not in self.store.auth.clients:
            return Response("Unknown client or missing redirect_uri", status=400)
        answer: dict[str, str] = {}
        if args.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        else:
            accounts = [a for a in args.get("account", "").split(",") if a]
            accounts = accounts or list(self.store.accounts) or [self.store.add_account()]
            for account in accounts:
                self.store.add_account(account)
            answer["code"] = self.store.auth.authorize(client_id, redirect_uri, accounts)
        if "state" in args:
            answer["state"] = args["state"]
        parts = urlsplit(redirect_uri)
        query = "&".join(filter(None, (parts.query, urlencode(answer))))
        return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})

    def _form(self, request: Request) -> dict[str, str]:
        """The token endpoint's fields: JSON (as FreshBooks documents) or a form."""
        if request.mimetype == "application/json":
            try:
                body = loads(request.get_data())
            except ValueError:
                raise OAuthError("invalid_request", "The body is not JSON") from None
            return {k: str(v) for k, v in (body or {}).items()}
        return dict(request.form.items())

    def _client(self, request: Request, form: dict[str, str]) -> str:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username or "", auth.password or ""
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        self.store.auth.check_client(client_id, secret)
        return client_id

    def on_token(self, request: Request) -> Response:
        try:
            form = self._form(request)
            client_id = self._client(request, form)
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
            return self._json(error.status, error.body())
        return self._json(200, token, {"Cache-Control": "no-store"})

    def on_revoke(self, request: Request) -> Response:
        try:
            form = self._form(request)
            client_id = self._client(request, form)
        except OAuthError as error:
            return self._json(error.status, error.body())
        self.store.auth.revoke(client_id, form.get("token", ""))
        return Response(status=200)

    def _grant(self, request: Request):
        token = request.headers.get("Authorization", "")
        if not token.lower().startswith("bearer "):
            return None
        return self.store.auth.grant_of(token[7:].strip())

    def on_me(self, request: Request) -> Response:
        grant = self._grant(request)
        if grant is None:
            return self._json(401, {"error": "invalid_token"})
        memberships = [
            {
                "id": n,
                "role": "owner",
                "business": {
                    "id": account.business_id,
                    "name": account.name,
                    "account_id": account.id,
                },
            }
            for n, account in enumerate(
                (self.store.accounts[a] for a in grant.accounts if a in self.store.accounts),
                start=1,
            )
        ]
        return self._json(
            200,
            {
                "response": {
                    "id": 1,
                    "first_name": "Sandbox",
                    "last_name": "Owner",
                    "email": "owner@sandbox.example",
                    "business_memberships": memberships,
                }
            },
        )

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
        report["webhooks"] = control.webhook_stats(self.notifier)
        return self._control(200, report)

    def on_accounts(self, request: Request) -> Response:
        try:
            body = control.body(request)
            account_id = self.store.add_account(body.get("account_id"), body.get("name"))
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, {"account_id": account_id})

    def on_tokens(self, request: Request) -> Response:
        """Mint tokens reaching some accounts without consent (ttl null: never expire)."""
        try:
            body = control.body(request)
            accounts = body.get("accounts") or list(self.store.accounts)
            client_id = body.get("client_id", CLIENT_ID)
            token = self.store.auth.issue(client_id, accounts, ttl=body.get("ttl", 43_200))
        except (ValueError, TypeError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, token)

    def on_seed(self, request: Request) -> Response:
        try:
            body = control.body(request)
            account_id = body.pop("account_id", None) or self.store.add_account()
            self.store.add_account(account_id)
            summary = seed(self.store, account_id, **body)
        except (TypeError, ValueError, Invalid) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, {"account_id": account_id, **summary})

    def on_flush(self, request: Request) -> Response:
        return self._control(200, {"delivered": self.flush_webhooks()})

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
