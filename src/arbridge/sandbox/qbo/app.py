"""The QuickBooks Online sandbox as a WSGI app (Werkzeug, no Django).

Routes (mounted at /sandbox/qbo/ in the demo):

    GET|POST /v3/company/<realm>/query            ?query=... or a text/plain body
    POST     /v3/company/<realm>/batch            up to 30 items (batch.py)
    GET      /v3/company/<realm>/cdc              ?entities=Invoice,Customer&changedSince=...
    POST     /v3/company/<realm>/<entity>         create; update (Id + SyncToken, sparse or
                                                  full); ?operation=delete; ?operation=void
    GET      /v3/company/<realm>/<entity>/<id>    read
    GET      /v3/company/<realm>/invoice/<id>/pdf
    GET      /v3/company/<realm>/companyinfo/<realm>
    GET      /oauth2/authorize   POST /oauth2/token   POST /oauth2/revoke
    GET|POST /_sandbox/faults    GET /_sandbox/stats   GET|POST /_sandbox/realms
    POST     /_sandbox/tokens    POST /_sandbox/seed   POST /_sandbox/webhooks/flush

Entities: invoice, customer, payment, creditmemo, deposit, term, account, item.
Every POST under /v3/ takes `?requestid=`: the same id in the same company
returns the first response again and does nothing more. `minorversion` is
accepted and ignored. /_sandbox/ is the sandbox's own control API for tests
and the demo; see limits.py for the faults it switches on.
Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

import datetime as dt
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
from arbridge.sandbox.qbo import batch
from arbridge.sandbox.qbo.entities import Entity
from arbridge.sandbox.qbo.limits import Limiter
from arbridge.sandbox.qbo.oauth import SCOPE, OAuthError
from arbridge.sandbox.qbo.pdf import render_invoice
from arbridge.sandbox.qbo.seed import seed
from arbridge.sandbox.qbo.store import BY_PATH, Store
from arbridge.sandbox.qbo.webhooks import Notifier
from arbridge.sandbox.qbo.wire import (
    Fault,
    dumps,
    forbidden,
    invalid,
    loads,
    parse_timestamp,
    required,
    system_error,
    throttled,
    timestamp,
    unauthenticated,
)

JSON = "application/json;charset=UTF-8"
# The sandbox's own app credentials: published, like any sandbox's test keys.
CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
VERIFIER_TOKEN = "sandbox-verifier-token"  # noqa: S105
MAX_REQUEST_ID = 50

URLS = Map(
    [
        Rule("/v3/company/<realm>/query", endpoint="query", methods=["GET", "POST"]),
        Rule("/v3/company/<realm>/cdc", endpoint="cdc", methods=["GET"]),
        Rule("/v3/company/<realm>/batch", endpoint="batch", methods=["POST"]),
        Rule("/v3/company/<realm>/companyinfo/<id>", endpoint="companyinfo", methods=["GET"]),
        Rule("/v3/company/<realm>/invoice/<id>/pdf", endpoint="pdf", methods=["GET"]),
        Rule("/v3/company/<realm>/<entity>", endpoint="write", methods=["POST"]),
        Rule("/v3/company/<realm>/<entity>/<id>", endpoint="read", methods=["GET"]),
        Rule("/oauth2/authorize", endpoint="authorize", methods=["GET"]),
        Rule("/oauth2/token", endpoint="token", methods=["POST"]),
        Rule("/oauth2/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/realms", endpoint="realms", methods=["GET", "POST"]),
        Rule("/_sandbox/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
    ]
)
API = {"query", "cdc", "companyinfo", "pdf", "write", "read", "batch"}


def create_app(
    store: Store | None = None,
    *,
    verifier_token: str = VERIFIER_TOKEN,
    webhook_url: str | None = None,
    webhook_format: str = "cloudevents",
    webhook_interval: float | None = 0.5,
    http: httpx.Client | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    requests_per_minute: int = 500,
    concurrent_requests: int = 10,
    batches_per_minute: int = 40,
    batches_per_realm_minute: int = 120,
) -> QuickBooksSandbox:
    """Return a sandbox app; without a store, a new one (companies appear on first consent)."""
    store = store or Store(clock=clock)
    store.auth.register_client(client_id, client_secret)
    notifier = None
    if webhook_url:
        notifier = Notifier(
            webhook_url,
            verifier_token,
            format=webhook_format,
            interval=webhook_interval,
            http=http,
            source=f"intuit.{uuid.uuid5(uuid.NAMESPACE_URL, client_id).hex}",
        )
        store.listeners.append(notifier.add)
    limiter = Limiter(
        store.now,
        per_minute=requests_per_minute,
        concurrent=concurrent_requests,
        batches_per_minute=batches_per_minute,
        batches_per_realm_minute=batches_per_realm_minute,
    )
    return QuickBooksSandbox(store, limiter, notifier)


class QuickBooksSandbox:
    """The WSGI app, with its store, throttles and webhook notifier at hand."""

    def __init__(self, store: Store, limiter: Limiter, notifier: Notifier | None):
        self.store = store
        self.limiter = limiter
        self.notifier = notifier

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._fault(Fault("404", "Not Found", request.path, status=404))
        except MethodNotAllowed as error:
            response = error.get_response(environ)
        except HTTPException as error:  # e.g. a redirect to add a trailing slash
            response = error.get_response(environ)
        else:
            if endpoint in API:
                response = self._api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        """Send pending webhook batches now; return how many were delivered."""
        return self.notifier.flush() if self.notifier else 0

    def now_text(self) -> str:
        return timestamp(self.store.now(), fraction=True)

    def _json(self, status: int, text: str) -> Response:
        return Response(
            text, status=status, content_type=JSON, headers={"intuit_tid": uuid.uuid4().hex}
        )

    def _fault(self, fault: Fault) -> Response:
        return self._json(fault.status, dumps({**fault.body(), "time": self.now_text()}))

    def _wrap(self, key: str, text: str) -> str:
        return f'{{"{key}":{text},"time":"{self.now_text()}"}}'

    # -- the v3 API -----------------------------------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        """Authenticate, throttle and maybe fail a call, then answer it."""
        realm_id = args["realm"]
        token = request.headers.get("Authorization", "")
        if not token.lower().startswith("bearer "):
            return self._fault(unauthenticated("Authorization header is missing or not Bearer"))
        grant = self.store.auth.grant_of(token[7:].strip())
        if grant is None:
            return self._fault(unauthenticated("Token expired or invalid"))
        if grant.realm_id != realm_id:
            return self._fault(forbidden(f"The token is not authorized for company {realm_id}"))
        reason = self.limiter.enter(realm_id)
        if reason:
            return self._fault(throttled(reason))
        try:
            if endpoint == "batch" and (
                reason := self.limiter.enter_batch(realm_id, grant.client_id)
            ):
                return self._fault(throttled(reason))
            latency, injected = self.limiter.draw(realm_id)
            if latency:
                time.sleep(latency)
            if injected == "429":
                return self._fault(throttled("Injected by the sandbox"))
            if injected in ("500", "503"):
                return self._fault(system_error(int(injected)))
            try:
                response = getattr(self, f"on_{endpoint}")(request, **args)
            except Fault as fault:
                response = self._fault(fault)
            if injected == "timeout":
                time.sleep(self.limiter.faults.timeout_ms / 1000)
                return Response("Gateway Timeout", status=504, content_type="text/plain")
            return response
        finally:
            self.limiter.leave(realm_id)

    def on_query(self, request: Request, realm: str) -> Response:
        text = request.args.get("query")
        if request.method == "POST":
            text = request.get_data(as_text=True) or text
        if not text:
            raise required("query")
        return self._json(200, self._wrap("QueryResponse", self.store.query(realm, text)))

    def on_cdc(self, request: Request, realm: str) -> Response:
        entities, since = request.args.get("entities"), request.args.get("changedSince")
        if not entities:
            raise required("entities")
        if not since:
            raise required("changedSince")
        try:
            moment = parse_timestamp(since)
        except ValueError:
            raise invalid("changedSince", since) from None
        names = [name.strip() for name in entities.split(",") if name.strip()]
        return self._json(200, self._wrap("CDCResponse", self.store.cdc(realm, names, moment)))

    def on_read(self, request: Request, realm: str, entity: str, id: str) -> Response:
        kind = self._entity(entity)
        return self._json(200, self._wrap(kind.name, self.store.read(realm, kind.name, id)))

    def on_pdf(self, request: Request, realm: str, id: str) -> Response:
        invoice = self.store.document(realm, "Invoice", id)
        pdf = render_invoice(invoice, self.store.realm(realm).company_name)
        return Response(pdf, content_type="application/pdf")

    def on_companyinfo(self, request: Request, realm: str, id: str) -> Response:
        if id != realm:
            raise Fault("610", "Object Not Found", f"CompanyInfo {id}")
        company = self.store.realm(realm)
        info = {
            "CompanyName": company.company_name,
            "LegalName": company.company_name,
            "Country": "US",
            "DefaultTimeZone": "America/Los_Angeles",
            "Id": "1",
            "SyncToken": "0",
            "MetaData": {"CreateTime": timestamp(company.created)},
            "domain": "QBO",
            "sparse": False,
        }
        return self._json(200, self._wrap("CompanyInfo", dumps(info)))

    def on_write(self, request: Request, realm: str, entity: str) -> Response:
        """Create, update, delete or void; replay the first answer for a repeated requestid."""
        kind = self._entity(entity)
        request_id = request.args.get("requestid")
        if request_id is not None and not 0 < len(request_id) <= MAX_REQUEST_ID:
            raise invalid("requestid", request_id)
        with self.store.lock:  # The check and the write are one step for a repeated id.
            kept = self.store.replayed(realm, request_id) if request_id else None
            if kept:
                return self._json(*kept)
            try:
                status, text = 200, self._wrap(kind.name, self._write(request, realm, kind.name))
            except Fault as fault:
                status, text = fault.status, dumps({**fault.body(), "time": self.now_text()})
            if request_id:
                self.store.remember(realm, request_id, status, text)
        return self._json(status, text)

    def on_batch(self, request: Request, realm: str) -> Response:
        """Carry out a batch's items; replay the first answer for a repeated requestid."""
        request_id = request.args.get("requestid")
        if request_id is not None and not 0 < len(request_id) <= MAX_REQUEST_ID:
            raise invalid("requestid", request_id)
        with self.store.lock:  # The check and the writes are one step for a repeated id.
            kept = self.store.replayed(realm, request_id) if request_id else None
            if kept:
                return self._json(*kept)
            try:
                items = batch.answer(self.store, realm, request.get_data())
                status, text = 200, self._wrap("BatchItemResponse", items)
            except Fault as fault:
                status, text = fault.status, dumps({**fault.body(), "time": self.now_text()})
            if request_id:
                self.store.remember(realm, request_id, status, text)
        return self._json(status, text)

    def _write(self, request: Request, realm: str, entity: str) -> str:
        try:
            body = loads(request.get_data())
        except ValueError:
            raise invalid("body", "not JSON") from None
        if not isinstance(body, dict):
            raise invalid("body", "not an object")
        operation = request.args.get("operation", "")
        if operation == "delete":
            return self.store.delete(realm, entity, body)
        if operation == "void" or (operation == "update" and request.args.get("include") == "void"):
            return self.store.void(realm, entity, body)
        if operation not in ("", "create", "update"):
            raise Fault("500", "Unsupported Operation", f"Operation {operation} is not supported")
        if operation == "update" or body.get("Id") is not None:
            return self.store.update(realm, entity, body)
        return self.store.create(realm, entity, body)

    def _entity(self, path: str) -> Entity:
        kind = BY_PATH.get(path.lower())
        if kind is None:
            raise Fault("500", "Unsupported Operation", f"Operation {path} is not supported")
        return kind

    # -- OAuth 2.0 ------------------------------------------------------------

    def on_authorize(self, request: Request) -> Response:
        """Consent at once and send the browser back with a code, state and realmId."""
        args = request.args
        redirect_uri, client_id = args.get("redirect_uri"), args.get("client_id", "")
        if not redirect_uri or client_id not in self.store.auth.clients:
            return Response("Unknown client or missing redirect_uri", status=400)
        answer: dict[str, str] = {}
        if args.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif SCOPE not in args.get("scope", "").split():
            answer["error"] = "invalid_scope"
        else:
            # The sandbox's consent screen: pick the company named, or the first one.
            realm_id = args.get("realmId") or self.store.default_realm()
            if realm_id not in self.store.realms:
                self.store.add_realm(realm_id)
            answer["code"] = self.store.auth.authorize(client_id, redirect_uri, realm_id)
            answer["realmId"] = realm_id
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
            return self._oauth_error(error)
        return Response(dumps(token), content_type=JSON, headers={"Cache-Control": "no-store"})

    def on_revoke(self, request: Request) -> Response:
        try:
            client_id = self._client(request)
        except OAuthError as error:
            return self._oauth_error(error)
        token = request.form.get("token")
        if token is None and request.is_json:
            token = (request.get_json(silent=True) or {}).get("token")
        if not token:
            return self._oauth_error(OAuthError("invalid_request", "token is required"))
        self.store.auth.revoke(client_id, token)
        return Response(status=200)

    def _client(self, request: Request) -> str:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            raise OAuthError("invalid_client", "HTTP Basic client authentication required", 401)
        self.store.auth.check_client(auth.username or "", auth.password or "")
        return auth.username or ""

    def _oauth_error(self, error: OAuthError) -> Response:
        return Response(dumps(error.body()), status=error.status, content_type=JSON)

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
        if self.notifier:
            report["webhooks"] = control.webhook_stats(self.notifier)
        return self._control(200, report)

    def on_realms(self, request: Request) -> Response:
        if request.method == "GET":
            realms = [
                {"realmId": r.id, "companyName": r.company_name} for r in self.store.realms.values()
            ]
            return self._control(200, {"realms": realms})
        try:
            body = control.body(request)
            realm_id = self.store.add_realm(body.get("realm_id"), body.get("company_name"))
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, {"realmId": realm_id})

    def on_tokens(self, request: Request) -> Response:
        """Mint tokens for a company without the consent round trip (ttl null: never expire)."""
        try:
            body = control.body(request)
            realm_id = body.get("realm_id") or self.store.default_realm()
            token = self.store.issue_token(realm_id, ttl=body.get("ttl", 3600))
        except (ValueError, Fault) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, {**token, "realmId": realm_id})

    def on_seed(self, request: Request) -> Response:
        """Fill a company with realistic MSP data, straight into the store."""
        try:
            body = control.body(request)
            realm_id = body.pop("realm_id", None) or self.store.default_realm()
            summary = seed(self.store, realm_id, **body)
        except (TypeError, ValueError, Fault) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, {"realmId": realm_id, **summary})

    def on_flush(self, request: Request) -> Response:
        return self._control(200, {"delivered": self.flush_webhooks()})
