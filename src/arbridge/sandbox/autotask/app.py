"""The Autotask sandbox as a WSGI app (Werkzeug, no Django).

Routes (mounted at /sandbox/autotask/ in the demo; paths are case-insensitive, as Autotask's):

    GET          /atservicesrest/v1.0/ZoneInformation?user=   the zone `url`, database `ci`
    under the zone, /zone1/atservicesrest/v1.0/, with the three auth headers:
    GET|POST     <Entity>/query            (GET takes ?search=<the same JSON>)
    GET          <Entity>/query/next?paging=   the pages after the first
    GET|POST     <Entity>/query/count      GET <Entity>/<id>
    POST|PATCH   Companies, Contacts       PATCH Invoices (paidDate, comments)
    GET|POST     /_sandbox/faults   GET /_sandbox/stats
    POST         /_sandbox/invoices, /_sandbox/billingitems
    PATCH|DELETE /_sandbox/<entity>/<id>

<Entity> is Companies, Contacts, Invoices or BillingItems (an invoice's lines,
each naming its invoiceID). Queries answer {"items": [...],
"pageDetails": {"count", "requestCount", "prevPageUrl", "nextPageUrl"}},
at most 500 items a page (MaxRecords lowers it); a query that names
IncludeFields must name id, since later pages are found by id. Invoices and
billing items are made by Autotask's billing (approve and post, then
invoicing), not its API, so /_sandbox/ stands in for the person who runs
billing (and who deletes records in Autotask's screens).
Reference: ../shared/specs/autotask/autotask-rest-v1-invoices-partial-transcription.json
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/General_Topics/REST_Zones.htm
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/API_Calls/REST_Paging.htm
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/BillingItemsEntity.htm
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.autotask.limits import Faults, Limiter
from arbridge.sandbox.autotask.store import INVOICE_WRITABLE, QueryError, Store, validate
from arbridge.sandbox.common.wire import dumps

# The sandbox's own API user: published, like any sandbox's test keys.
USERNAME = "arbridge@sandbox.example"
SECRET = "sandbox-secret"  # noqa: S105
INTEGRATION_CODE = "SANDBOXINTEGRATIONCODE"
ZONE = "zone1/atservicesrest/"
PAGE_SIZE = 500
ENTITY_NAMES = {"companies": "Companies", "contacts": "Contacts", "invoices": "Invoices",
                "billingitems": "BillingItems"}  # fmt: skip
# Made by Autotask's billing, never through the API.
BILLED = {"invoices", "billingitems"}

URLS = Map(
    [
        Rule("/atservicesrest/v1.0/zoneinformation", endpoint="zone", methods=["GET"]),
        Rule(f"/{ZONE}v1.0/<entity>/query", endpoint="query", methods=["GET", "POST"]),
        Rule(f"/{ZONE}v1.0/<entity>/query/next", endpoint="next", methods=["GET"]),
        Rule(f"/{ZONE}v1.0/<entity>/query/count", endpoint="count", methods=["GET", "POST"]),
        Rule(f"/{ZONE}v1.0/<entity>/<int:id>", endpoint="item", methods=["GET"]),
        Rule(f"/{ZONE}v1.0/<entity>", endpoint="write", methods=["POST", "PATCH"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/invoices", endpoint="new_invoice", methods=["POST"]),
        Rule("/_sandbox/billingitems", endpoint="new_billing_item", methods=["POST"]),
        Rule("/_sandbox/<entity>/<int:id>", endpoint="person", methods=["PATCH", "DELETE"]),
    ]
)
API = {"query", "next", "count", "item", "write"}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(
    store: Store | None = None,
    *,
    requests_per_hour: int = 10_000,
    added_latency: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> AutotaskSandbox:
    """Return a sandbox of one database with the sandbox's API user in it."""
    store = store or Store()
    store.add_user(USERNAME, SECRET, INTEGRATION_CODE)
    limiter = Limiter(store.clock, per_hour=requests_per_hour, added_latency=added_latency)
    if sleep is not None:
        limiter.sleep = sleep
    return AutotaskSandbox(store, limiter)


class AutotaskSandbox:
    """The WSGI app, with its store and limiter at hand."""

    def __init__(self, store: Store, limiter: Limiter) -> None:
        self.store = store
        self.limiter = limiter

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match(
                request.path.lower(), method=request.method
            )
            if endpoint in API:
                response = self._api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        except NotFound:
            response = errors(404, f"No route for {request.path}")
        except HTTPException as error:
            response = error.get_response(environ)
        except ApiError as error:
            response = errors(error.status, error.message)
        return response(environ, start_response)

    def _api(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        """Authenticate, limit and maybe fail a call, then answer it."""
        headers = request.headers
        if not self.store.is_user(
            headers.get("UserName", ""), headers.get("Secret", ""),
            headers.get("ApiIntegrationCode", ""),
        ):  # fmt: skip
            return errors(401, "Unauthorized")
        if not self.limiter.admit():
            # Reference: https://www.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm
            return errors(429, f"The database exceeded {self.limiter.per_hour} requests an hour")
        injected = self.limiter.draw()
        if injected == "429":
            return errors(429, "The sandbox throttled this call on purpose")
        if injected in ("500", "503"):
            return errors(int(injected), "The sandbox failed this call on purpose")
        entity = ENTITY_NAMES.get(args.pop("entity"))
        if entity is None:
            return errors(404, f"No route for {request.path}")
        try:
            response = getattr(self, f"on_{endpoint}")(request, entity.lower(), **args)
        except QueryError as error:
            response = errors(500, str(error))
        if injected == "timeout":
            # The call was carried out; its answer is lost, as behind a gateway giving up.
            return errors(504, "Gateway Timeout")
        return response

    # -- zones ----------------------------------------------------------------

    def on_zone(self, request: Request) -> Response:
        """Say which zone serves a user; no auth headers are needed for this one."""
        user = request.args.get("user", "")
        if user.lower() not in self.store.users:
            return errors(404, f"No zone for user {user!r}")
        # Real zones answer e.g. https://webservices5.autotask.net/ATServicesRest/.
        return as_json(
            200,
            {"zoneName": "Sandbox", "url": f"{request.host_url}{ZONE}",
             "webUrl": request.host_url, "ci": self.store.database},
        )  # fmt: skip

    # -- queries --------------------------------------------------------------

    def on_query(self, request: Request, entity: str) -> Response:
        if request.method == "GET":
            query = parse_json(request.args.get("search", ""))
        else:
            query = parse_json(request.get_data(as_text=True))
        if not isinstance(query, dict):
            raise ApiError(500, "the query is a JSON object")
        query = {key.lower(): value for key, value in query.items()}
        filters = query.get("filter")
        validate(filters)
        include = query.get("includefields") or []
        if include and "id" not in {str(name).lower() for name in include}:
            raise ApiError(500, "IncludeFields must include id, which paging needs")
        size = query.get("maxrecords") or PAGE_SIZE
        if not isinstance(size, int) or not 1 <= size <= PAGE_SIZE:
            raise ApiError(500, f"MaxRecords is between 1 and {PAGE_SIZE}")
        state = {"filter": filters, "include": include, "size": size, "after": 0, "page": 1}
        return self._page(request, entity, state)

    def on_next(self, request: Request, entity: str) -> Response:
        try:
            state = json.loads(base64.urlsafe_b64decode(request.args.get("paging", "")))
        except ValueError:
            raise ApiError(500, "the paging token is not one this API gave") from None
        return self._page(request, entity, state)

    def _page(self, request: Request, entity: str, state: dict[str, Any]) -> Response:
        items, more = self.store.query(
            entity, state["filter"], after=state["after"], limit=state["size"]
        )
        if state["include"]:
            wanted = {str(name).lower() for name in state["include"]}
            items = [{k: v for k, v in item.items() if k.lower() in wanted} for item in items]
        base = f"{request.host_url}{ZONE}V1.0/{ENTITY_NAMES[entity]}/query/next"
        current = {k: v for k, v in state.items() if k != "previous"}
        next_url = prev_url = None
        if more:
            following = {**current, "after": items[-1]["id"], "page": state["page"] + 1}
            next_url = f"{base}?paging={token({**following, 'previous': current})}"
        if state.get("previous") is not None:
            prev_url = f"{base}?paging={token(state['previous'])}"
        details = {"count": len(items), "requestCount": state["size"],
                   "prevPageUrl": prev_url, "nextPageUrl": next_url}  # fmt: skip
        return as_json(200, {"items": items, "pageDetails": details})

    def on_count(self, request: Request, entity: str) -> Response:
        raw = request.args.get("search", "") if request.method == "GET" else request.get_data()
        query = parse_json(raw)
        if not isinstance(query, dict):
            raise ApiError(500, "the query is a JSON object")
        filters = {k.lower(): v for k, v in query.items()}.get("filter")
        validate(filters)
        return as_json(200, {"queryCount": self.store.count(entity, filters)})

    def on_item(self, request: Request, entity: str, id: int) -> Response:
        # Autotask answers an id it does not hold with {"item": null}, not a 404.
        return as_json(200, {"item": self.store.get(entity, id)})

    # -- writes ---------------------------------------------------------------

    def on_write(self, request: Request, entity: str) -> Response:
        body = parse_json(request.get_data(as_text=True))
        if not isinstance(body, dict):
            raise ApiError(500, "the body is a JSON object")
        if request.method == "POST":
            if entity in BILLED:
                raise ApiError(405, f"{entity} are made by Autotask's billing, not the API")
            return as_json(200, {"itemId": self.store.create(entity, body)["id"]})
        record_id = body.get("id")
        if not isinstance(record_id, int) or self.store.get(entity, record_id) is None:
            raise ApiError(404, f"no {ENTITY_NAMES[entity]} record with id {record_id!r}")
        changes = {k: v for k, v in body.items() if k != "id"}
        if entity == "billingitems":
            raise ApiError(405, "billing items are made by Autotask's billing, not the API")
        if entity == "invoices" and set(changes) - INVOICE_WRITABLE:
            refused = ", ".join(sorted(set(changes) - INVOICE_WRITABLE))
            raise ApiError(500, f"read-only invoice fields: {refused}")
        self.store.update(entity, record_id, changes)
        return as_json(200, {"itemId": record_id})

    # -- the sandbox's own control API ----------------------------------------

    def on_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.limiter.configure(Faults.from_json(parse_json(request.get_data())))
            except (ValueError, TypeError, AttributeError) as error:
                raise ApiError(400, str(error)) from None
        return as_json(200, self.limiter.faults.as_json())

    def on_stats(self, request: Request) -> Response:
        return as_json(200, self.limiter.report())

    def on_new_invoice(self, request: Request) -> Response:
        """Make an invoice, as a billing run in Autotask does."""
        body = parse_json(request.get_data())
        if not isinstance(body, dict) or not self.store.get("companies", body.get("companyID")):
            raise ApiError(400, "an invoice needs the id of a company")
        return as_json(201, self.store.create("invoices", body))

    def on_new_billing_item(self, request: Request) -> Response:
        """Post a billing item to an invoice, as approving and invoicing work does."""
        body = parse_json(request.get_data())
        if not isinstance(body, dict) or not self.store.get("invoices", body.get("invoiceID")):
            raise ApiError(400, "a billing item here needs the id of an invoice")
        quantity, rate = Decimal(str(body.get("quantity", 1))), Decimal(str(body.get("rate", 0)))
        price = (quantity * rate).quantize(Decimal("0.01"))
        tax = Decimal(str(body.get("taxDollars", "0.00")))
        invoice = self.store.get("invoices", body["invoiceID"])
        fields = {**body, "companyID": invoice["companyID"], "quantity": quantity,
                  "rate": rate, "extendedPrice": price, "taxDollars": tax,
                  "totalAmount": price + tax}  # fmt: skip
        return as_json(201, self.store.create("billingitems", fields))

    def on_person(self, request: Request, entity: str, id: int) -> Response:
        """Change or delete a record as a person does in Autotask's screens."""
        if entity not in ENTITY_NAMES or self.store.get(entity, id) is None:
            raise ApiError(404, f"no {entity} record {id}")
        if request.method == "DELETE":
            self.store.delete(entity, id)
            return as_json(200, {"itemId": id})
        return as_json(200, self.store.update(entity, id, parse_json(request.get_data())))


def token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, default=str).encode()).decode()


def parse_json(data: str | bytes) -> Any:
    """Read a body with every number with a point as a Decimal, as amounts must be."""
    try:
        return json.loads(data or "{}", parse_float=Decimal)
    except ValueError:
        raise ApiError(500, "the body is not JSON") from None


def as_json(status: int, data: Any) -> Response:
    return Response(dumps(data, ensure_ascii=True), status=status, content_type="application/json")


def errors(status: int, message: str) -> Response:
    """Answer a failure as Autotask does: {"errors": [message]}."""
    return as_json(status, {"errors": [message]})
