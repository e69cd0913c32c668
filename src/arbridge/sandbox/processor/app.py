"""The sandbox payment processor as a WSGI app (Werkzeug, no Django).

Routes (mounted at /sandbox/processor/ in the demo):

    GET|POST /tokenize/<account>?kind=card|ach&return_url=   the hosted form; answers 303 to
                                                   return_url with `token=` added
    GET|POST /authenticate/<payment>               the bank's step: Approve or Fail, then
                                                   303 to the payment's return_url with
                                                   `payment=` and `status=` added
    POST     /v1/tokens                            the form's fields as JSON: a one-time token
    GET      /v1/methods/<id>                      a token or saved method: kind, brand,
                                                   last4, funding
    POST     /v1/methods                           {token, customer_name, email}: save it
    POST     /v1/payments                          {amount, currency, method, description,
                                                   metadata, return_url, save_method,
                                                   customer, off_session}
    GET      /v1/payments/<id>
    POST     /v1/payments/<id>/refunds             {amount} (all that is left when absent)
    POST     /v1/payments/<id>/cancel              only a payment awaiting authentication
    GET      /v1/events?after=<event id>&limit=    oldest first; `has_more`
    GET      /v1/payouts?since=YYYY-MM-DD          with items: gross, fee and net per payment
    GET      /v1/account
    GET|POST /_sandbox/accounts                    POST {name, webhook_url, <settings>}: the
                                                   new account with its api_key and
                                                   webhook_secret
    POST     /_sandbox/accounts/<id>               change webhook_url or settings
    POST     /_sandbox/accounts/<id>/funds         {amount, currency, memo, sender}: money
                                                   received without a payment
    POST     /_sandbox/webhooks/flush   GET|POST /_sandbox/faults   GET /_sandbox/stats

The API takes `Authorization: Bearer <api_key>` and JSON bodies with amounts
as exact numbers. POSTs that move money (payments, refunds) need an
`Idempotency-Key`; every /v1/ POST honours one as Stripe does: the same key
with the same request answers the first response again (with
`Idempotent-Replayed: true`), with a different request a 400
idempotency_error; keys last 24 hours. A declined card answers 402 with the
failed payment in the error. Each account may make `requests_per_second`
calls (Stripe's live-mode limit, 100, by default); past it, 429. Faults
(../common/faults.py) apply to /v1/ calls; a "timeout" is carried out, then
answered 504 after timeout_ms, so a retry with the same key finds the result.
Settings per account (records.Config): card_fee_percent (2.9),
card_fee_fixed (0.30), ach_fee_percent (0), ach_fee_fixed (0),
payout_delay_days (2) and ach_settlement_days (2), in business days. The
test numbers are in numbers.py; the time model in store.py.
Reference: https://docs.stripe.com/api (the shapes are simplified from Stripe's)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control, limits
from arbridge.sandbox.common.wire import dumps, loads
from arbridge.sandbox.processor import numbers, pages
from arbridge.sandbox.processor.records import Account
from arbridge.sandbox.processor.store import ApiError, Store
from arbridge.sandbox.processor.webhooks import Notifier

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
REQUESTS_PER_SECOND = 100
MAX_EVENTS = 1000

URLS = Map(
    [
        Rule("/tokenize/<account_id>", endpoint="tokenize", methods=["GET", "POST"]),
        Rule("/authenticate/<payment_id>", endpoint="authenticate", methods=["GET", "POST"]),
        Rule("/v1/tokens", endpoint="tokens", methods=["POST"]),
        Rule("/v1/methods", endpoint="save", methods=["POST"]),
        Rule("/v1/methods/<id>", endpoint="method", methods=["GET"]),
        Rule("/v1/payments", endpoint="payments", methods=["POST"]),
        Rule("/v1/payments/<id>", endpoint="payment", methods=["GET"]),
        Rule("/v1/payments/<id>/refunds", endpoint="refund", methods=["POST"]),
        Rule("/v1/payments/<id>/cancel", endpoint="cancel", methods=["POST"]),
        Rule("/v1/events", endpoint="events", methods=["GET"]),
        Rule("/v1/payouts", endpoint="payouts", methods=["GET"]),
        Rule("/v1/account", endpoint="account", methods=["GET"]),
        Rule("/_sandbox/accounts", endpoint="accounts", methods=["GET", "POST"]),
        Rule("/_sandbox/accounts/<account_id>", endpoint="configure", methods=["POST"]),
        Rule("/_sandbox/accounts/<account_id>/funds", endpoint="funds", methods=["POST"]),
        Rule("/_sandbox/webhooks/flush", endpoint="flush", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
    ]
)
API = {"tokens", "save", "method", "payments", "payment", "refund", "cancel", "events"}
API |= {"payouts", "account"}
KEY_REQUIRED = {"payments", "refund"}


def create_app(
    store: Store | None = None,
    *,
    http: httpx.Client | None = None,
    webhook_interval: float | None = 1.0,
    clock: Callable[[], dt.datetime] | None = None,
    requests_per_second: int = REQUESTS_PER_SECOND,
) -> ProcessorSandbox:
    """Return a sandbox processor; accounts are opened through /_sandbox/accounts."""
    store = store or Store(clock=clock)
    notifier = Notifier(store.now, interval=webhook_interval, http=http)
    store.listeners.append(notifier.add)
    limiter = limits.Limiter(time.monotonic, per_window=requests_per_second, window_s=1.0)
    return ProcessorSandbox(store, limiter, notifier)


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, (parts.query, urlencode(params))))
    return urlunsplit(parts._replace(query=query))


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class ProcessorSandbox:
    """The WSGI app, with its store, limiter and webhook notifier at hand."""

    def __init__(self, store: Store, limiter: limits.Limiter, notifier: Notifier):
        self.store = store
        self.limiter = limiter
        self.notifier = notifier

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except NotFound:
            response = self._error(ApiError(404, "not_found", f"No route for {request.path}"))
        except MethodNotAllowed as error:
            response = error.get_response(environ)
        except HTTPException as error:
            response = error.get_response(environ)
        else:
            try:
                if endpoint in API:
                    response = self._api(request, endpoint, args)
                else:
                    response = getattr(self, f"on_{endpoint}")(request, **args)
            except ApiError as error:
                response = self._error(error)
        return response(environ, start_response)

    def flush_webhooks(self) -> int:
        """Bring every account up to now, then send its pending events; return how many went."""
        self.store.advance_all()
        return self.notifier.flush()

    def _json(self, status: int, data: Any, **headers: str) -> Response:
        return Response(dumps(data), status=status, content_type=JSON, headers=headers)

    def _error(self, error: ApiError, **headers: str) -> Response:
        return self._json(error.status, error.body(), **headers)

    def _html(self, text: str, status: int = 200) -> Response:
        return Response(text, status=status, content_type=HTML)

    # -- the API ----------------------------------------------------------------

    def _api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it (once per idempotency key)."""
        header = request.headers.get("Authorization", "")
        account = None
        if header.lower().startswith("bearer "):
            account = self.store.account_of(header[7:].strip())
        if account is None:
            raise ApiError(401, "invalid_api_key", "Invalid API key", type="authentication_error")
        wait = self.limiter.admit(account.id)
        if wait is not None:
            error = ApiError(429, "rate_limit", "Too many requests", type="rate_limit_error")
            return self._error(error, **{"Retry-After": str(wait)})
        latency, injected = self.limiter.draw(account.id)
        if latency:
            time.sleep(latency)
        if injected == "429":
            error = ApiError(429, "rate_limit", "Injected by the sandbox", type="rate_limit_error")
            return self._error(error, **{"Retry-After": "1"})
        if injected in ("500", "503"):
            message = "The sandbox failed this call on purpose"
            return self._error(ApiError(int(injected), "api_error", message, type="api_error"))
        response = self._once(request, account, endpoint, args)
        if injected == "timeout":
            time.sleep(self.limiter.faults.timeout_ms / 1000)
            return Response("Gateway Timeout", status=504, content_type="text/plain")
        return response

    def _once(
        self, request: Request, account: Account, endpoint: str, args: dict[str, str]
    ) -> Response:
        """Answer a call; a POST with an Idempotency-Key is carried out at most once."""
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            if endpoint in KEY_REQUIRED:
                raise ApiError(400, "idempotency_key_missing", "Send an Idempotency-Key header")
            return self._answer(request, account, endpoint, args)
        fingerprint = self.store.fingerprint(request.method, request.path, request.get_data())
        with self.store.lock:  # The check and the work are one step for a repeated key.
            kept = self.store.replayed(account, key, fingerprint)
            if kept:
                return Response(
                    kept.body,
                    status=kept.status,
                    content_type=JSON,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = self._answer(request, account, endpoint, args)
            # As Stripe: a request refused before it began (a 400) is not kept.
            if response.status_code in (200, 402):
                self.store.keep(account, key, fingerprint, response.status_code, response.data)
            return response

    def _answer(
        self, request: Request, account: Account, endpoint: str, args: dict[str, str]
    ) -> Response:
        try:
            status, data = getattr(self, f"on_{endpoint}")(request, account, **args)
        except ApiError as error:
            return self._error(error)
        return self._json(status, data)

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = loads(request.get_data()) if request.get_data() else {}
        except ValueError:
            raise ApiError(400, "parameter_invalid", "The body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "parameter_invalid", "The body is not a JSON object")
        return body

    def on_tokens(self, request: Request, account: Account) -> tuple[int, Any]:
        body = self._body(request)
        try:
            token = self.store.tokenize(account, str(body.get("kind") or ""), body)
        except numbers.Invalid as error:
            raise ApiError(400, "invalid_method", str(error), param=error.param) from None
        return 200, token.as_json()

    def on_method(self, request: Request, account: Account, id: str) -> tuple[int, Any]:
        return 200, self.store.method(account, id).as_json()

    def on_save(self, request: Request, account: Account) -> tuple[int, Any]:
        body = self._body(request)
        method = self.store.save_method(
            account,
            str(body.get("token") or ""),
            str(body.get("customer_name") or ""),
            str(body.get("email") or ""),
            str(body.get("customer") or ""),
        )
        return 200, method.as_json()

    def on_payments(self, request: Request, account: Account) -> tuple[int, Any]:
        payment = self.store.create_payment(account, self._body(request), request.url_root[:-1])
        if payment.status == "failed":
            raise ApiError(
                402, "card_declined", payment.error_message, type="card_error", payment=payment
            )
        return 200, payment.as_json()

    def on_payment(self, request: Request, account: Account, id: str) -> tuple[int, Any]:
        return 200, self.store.payment(account, id).as_json()

    def on_refund(self, request: Request, account: Account, id: str) -> tuple[int, Any]:
        refund = self.store.refund(account, id, self._body(request).get("amount"))
        return 200, refund.as_json()

    def on_cancel(self, request: Request, account: Account, id: str) -> tuple[int, Any]:
        return 200, self.store.cancel(account, id).as_json()

    def on_events(self, request: Request, account: Account) -> tuple[int, Any]:
        limit = request.args.get("limit", "100")
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_EVENTS:
            raise ApiError(400, "parameter_invalid", f"limit is 1 to {MAX_EVENTS}", param="limit")
        page, more = self.store.events_after(account, request.args.get("after", ""), int(limit))
        return 200, {"object": "list", "data": page, "has_more": more}

    def on_payouts(self, request: Request, account: Account) -> tuple[int, Any]:
        try:
            since = dt.date.fromisoformat(request.args.get("since", "1970-01-01"))
        except ValueError:
            raise ApiError(400, "parameter_invalid", "since is YYYY-MM-DD", param="since") from None
        payouts = self.store.payouts_since(account, since)
        return 200, {"object": "list", "data": [payout.as_json() for payout in payouts]}

    def on_account(self, request: Request, account: Account) -> tuple[int, Any]:
        return 200, account.as_json()

    # -- the pages a customer sees ----------------------------------------------

    def on_tokenize(self, request: Request, account_id: str) -> Response:
        """Show the form; on a valid POST, send the browser back with a token."""
        account = self.store.account(account_id)
        source = request.form if request.method == "POST" else request.args
        kind, return_url = source.get("kind", "card"), source.get("return_url", "")
        if kind not in ("card", "ach") or not is_web_url(return_url):
            text = "kind is card or ach, and return_url an http(s) URL"
            return self._html(pages.page("Cannot take a payment method", f"<p>{text}</p>"), 400)
        if request.method == "GET":
            return self._html(pages.tokenize_form(account.name, kind, return_url, {}))
        try:
            token = self.store.tokenize(account, kind, request.form.to_dict())
        except numbers.Invalid as error:
            form = pages.tokenize_form(account.name, kind, return_url, request.form, str(error))
            return self._html(form, 400)
        return Response(status=303, headers={"Location": with_query(return_url, token=token.id)})

    def on_authenticate(self, request: Request, payment_id: str) -> Response:
        """Show the bank's step; on a POST, carry out the decision and send the customer back."""
        payment = self.store.payment_anywhere(payment_id)
        merchant = self.store.accounts[payment.account_id].name
        if request.method == "POST":
            decision = request.form.get("decision")
            if decision not in ("approve", "fail"):
                return self._html(pages.page("Authentication", "<p>Approve or Fail.</p>"), 400)
            payment = self.store.authenticate(payment_id, decision == "approve")
            if payment.return_url:
                back = with_query(payment.return_url, payment=payment.id, status=payment.status)
                return Response(status=303, headers={"Location": back})
        return self._html(pages.authentication(payment, merchant))

    # -- the sandbox's control API ----------------------------------------------

    def _control(self, status: int, data: Any) -> Response:
        return self._json(status, data)

    def on_accounts(self, request: Request) -> Response:
        if request.method == "GET":
            accounts = [account.as_json() for account in self.store.accounts.values()]
            return self._control(200, {"data": accounts})
        try:
            body = control.body(request)
            name, url = str(body.pop("name", "") or ""), str(body.pop("webhook_url", "") or "")
            account = self.store.create_account(name, url, **body)
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, account.as_json(keys=True))

    def on_configure(self, request: Request, account_id: str) -> Response:
        account = self.store.account(account_id)
        try:
            self.store.configure(account, control.body(request))
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, account.as_json())

    def on_funds(self, request: Request, account_id: str) -> Response:
        account = self.store.account(account_id)
        try:
            body = control.body(request)
            funds = self.store.receive_funds(
                account,
                body.get("amount"),
                str(body.get("currency") or "USD"),
                str(body.get("memo") or ""),
                str(body.get("sender") or ""),
            )
        except ValueError as error:
            return self._control(400, {"error": str(error)})
        return self._control(201, funds.as_json())

    def on_flush(self, request: Request) -> Response:
        return self._control(200, {"delivered": self.flush_webhooks()})

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._control(200, self.limiter.faults.as_json())
        try:
            answer = control.switch_faults(self.limiter, request, lambda: 0)
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        return self._control(200, answer)

    def on_stats(self, request: Request) -> Response:
        return self._control(
            200, {**self.limiter.report(), "webhooks": control.webhook_stats(self.notifier)}
        )
