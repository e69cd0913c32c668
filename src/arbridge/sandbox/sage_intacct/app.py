"""The Sage Intacct sandbox as a WSGI app (Werkzeug, no Django): the XML gateway.

# Reference: https://developer.intacct.com/web-services/requests/
# Reference: https://developer.intacct.com/web-services/responses/
# Reference: https://developer.intacct.com/web-services/sessions/
# Reference: https://developer.intacct.com/web-services/queries/
# Reference: https://developer.intacct.com/web-services/error-handling/

Routes (mounted at /sandbox/sage_intacct/ in the demo):

    POST /ia/xml/xmlgw.phtml     the gateway: <request> with <control> (sender id and
                                 password, controlid, uniqueid, dtdversion 3.0) and one
                                 <operation> (login or sessionid; <content> of functions)
    GET|POST /_sandbox/faults   GET /_sandbox/stats   POST /_sandbox/companies
    POST /_sandbox/seed   POST /_sandbox/clock {"advance_s": 60}

Functions: getAPISession; readByQuery (CUSTOMER, ARINVOICE, ARINVOICEITEM,
ARPYMT, DEPOSIT, BANKFEE, CHECKINGACCOUNT, GLACCOUNT, AUDITHISTORY; at most
2,000 a page) and readMore by resultId; create of ARPYMT and BANKFEE;
reverse_arpayment; record_deposit; retrievepdf of an ARINVOICE by RECORDNO.
An operation with transaction="true" is all or nothing. With uniqueid true,
a controlid the company has seen in a request that succeeded is refused as
XL03000009, and nothing is done.

Faults (/_sandbox/faults) answer 429, 500 or 503 before acting, or act and
then answer 504 ("timeout"). Calls are counted per company, a window of
`requests_per_minute`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.limits import Limiter
from arbridge.sandbox.common.wire import dumps
from arbridge.sandbox.sage_intacct import query
from arbridge.sandbox.sage_intacct.pdf import render_invoice
from arbridge.sandbox.sage_intacct.seed import seed
from arbridge.sandbox.sage_intacct.store import Company, Refused, Session, Store

# The sandbox's own Web Services sender: published, like any sandbox's test keys.
SENDER_ID = "arbridge-sandbox-sender"
SENDER_PASSWORD = "sandbox-sender-password"  # noqa: S105
MAX_PAGE = 2000
DUPLICATE = "XL03000009"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
OBJECT_TAGS = {"ARINVOICEITEM": "ARINVOICEITEM"}

URLS = Map(
    [
        Rule("/ia/xml/xmlgw.phtml", endpoint="gateway", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/stats", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/companies", endpoint="companies", methods=["POST"]),
        Rule("/_sandbox/seed", endpoint="seed", methods=["POST"]),
        Rule("/_sandbox/clock", endpoint="clock", methods=["POST"]),
    ]
)


def create_app(
    store: Store | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    requests_per_minute: int = 10_000,
) -> SageIntacctSandbox:
    store = store or Store(clock=clock)
    store.add_sender(SENDER_ID, SENDER_PASSWORD)
    limiter = Limiter(
        lambda: store.now().timestamp(), per_window=requests_per_minute, window_s=60.0
    )
    limiter.accounts = "companies"
    return SageIntacctSandbox(store, limiter)


def el(tag: str, value: Any = None, **attrs: str) -> etree._Element:
    node = etree.Element(tag, **{k: str(v) for k, v in attrs.items()})
    if value is not None:
        node.text = str(value)
    return node


def sub(parent: etree._Element, tag: str, value: Any = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    if value is not None:
        node.text = str(value)
    return node


def child_text(node: etree._Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def as_dict(node: etree._Element) -> dict[str, Any]:
    """Read a record's fields (a list of repeated children for ARPYMTDETAILS and the like)."""
    values: dict[str, Any] = {}
    for item in node:
        if len(item):
            if item.tag.endswith(("DETAILS", "ENTRIES")):
                values[item.tag] = [as_dict(row) for row in item]
            else:
                values[item.tag] = as_dict(item)
        else:
            values[item.tag] = (item.text or "").strip()
    return values


def get(record: dict[str, Any], name: str) -> Any:
    value: Any = record
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def record_xml(tag: str, record: dict[str, Any], fields: list[str]) -> etree._Element:
    node = el(tag)
    names = [k for k in record if k not in ("APPLIED", "RECEIPTS")] if fields == ["*"] else fields
    for name in names:
        value = get(record, name)
        if isinstance(value, dict):
            if fields == ["*"]:
                node.append(record_xml(name, value, ["*"]))
            continue
        target = node
        parts = name.split(".")
        for part in parts[:-1]:
            found = target.find(part)
            target = found if found is not None else sub(target, part)
        sub(target, parts[-1], "" if value is None else value)
    return node


class Gone(Exception):
    """A request for a result that is not there (readMore past its end, or unknown)."""


class SageIntacctSandbox:
    def __init__(self, store: Store, limiter: Limiter) -> None:
        self.store = store
        self.limiter = limiter
        self.results: dict[str, dict[str, Any]] = {}
        self.result_numbers = iter(range(1, 10**12))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        adapter = URLS.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except NotFound:
            response = Response("Not Found", status=404)
        except HTTPException as error:
            response = error.get_response()
        return response(environ, start_response)

    # -- the gateway --------------------------------------------------------------

    def _xml(self, root: etree._Element, status: int = 200) -> Response:
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return Response(body, status=status, content_type="text/xml; charset=UTF-8")

    def _failure(self, control_block: etree._Element, errors: list[Refused]) -> Response:
        root = el("response")
        root.append(control_block)
        root.append(self._errors(errors))
        return self._xml(root)

    def _errors(self, errors: list[Refused]) -> etree._Element:
        message = el("errormessage")
        for error in errors:
            node = sub(message, "error")
            sub(node, "errorno", error.number)
            sub(node, "description", error.description)
            sub(node, "description2", error.description2)
            sub(node, "correction", "")
        return message

    def on_gateway(self, request: Request) -> Response:
        try:
            root = etree.fromstring(request.get_data(), PARSER)
        except etree.XMLSyntaxError:
            root = None
        got = root.find("control") if root is not None and root.tag == "request" else None
        answer = el("control")
        sub(answer, "status", "failure")
        for name in ("senderid", "controlid", "uniqueid", "dtdversion"):
            sub(answer, name, child_text(got, name))
        if got is None:
            return self._failure(answer, [Refused("XL03000001", "The request is not XML")])
        if self.store.senders.get(child_text(got, "senderid")) != child_text(got, "password"):
            return self._failure(answer, [Refused("XL03000005", "Invalid Web Services sender")])
        if child_text(got, "dtdversion") != "3.0":
            return self._failure(answer, [Refused("XL03000002", "Use dtdversion 3.0")])
        operation = root.find("operation")
        auth = operation.find("authentication") if operation is not None else None
        try:
            session, login = self._authenticate(auth)
        except Refused as error:
            answer.find("status").text = "success"
            response = el("response")
            response.append(answer)
            op = sub(response, "operation")
            authentication = sub(op, "authentication")
            sub(authentication, "status", "failure")
            op.append(self._errors([error]))
            return self._xml(response)
        company = self.store.companies[session.company]
        wait = self.limiter.admit(company.id)
        if wait is not None:
            return Response("Too many requests", status=429, headers={"Retry-After": str(wait)})
        latency, injected = self.limiter.draw(company.id)
        if latency:
            time.sleep(latency)
        if injected == "429":
            return Response("Too many requests", status=429, headers={"Retry-After": "1"})
        if injected in ("500", "503"):
            return Response("Injected by the sandbox", status=int(injected))
        with self.store.lock:
            response = self._operate(answer, got, operation, company, session, login)
        if injected == "timeout":
            time.sleep(self.limiter.faults.timeout_ms / 1000)
            return Response("Gateway Timeout", status=504, content_type="text/plain")
        return response

    def _authenticate(self, auth: etree._Element | None) -> tuple[Session, bool]:
        if auth is None:
            raise Refused("XL03000006", "No authentication was given")
        session_id = child_text(auth, "sessionid")
        if session_id:
            session = self.store.sessions.get(session_id)
            if session is None:
                raise Refused("XL03000006", "Invalid session")
            return session, False
        login = auth.find("login")
        session = self.store.open_session(
            child_text(login, "companyid"),
            child_text(login, "userid"),
            child_text(login, "password"),
            child_text(login, "locationid"),
        )
        return session, True

    def _operate(
        self,
        answer: etree._Element,
        got: etree._Element,
        operation: etree._Element,
        company: Company,
        session: Session,
        login: bool,
    ) -> Response:
        controlid = child_text(got, "controlid")
        unique = child_text(got, "uniqueid") == "true"
        if unique and controlid in company.control_ids:
            refused = Refused(
                DUPLICATE,
                f"A request with the control ID {controlid} was already processed",
                "uniqueid is true: the request was not processed again",
            )
            return self._failure(answer, [refused])
        answer.find("status").text = "success"
        response = el("response")
        response.append(answer)
        op = sub(response, "operation")
        authentication = sub(op, "authentication")
        sub(authentication, "status", "success")
        sub(authentication, "userid", session.user)
        sub(authentication, "companyid", session.company)
        sub(authentication, "locationid", session.entity)
        sub(authentication, "sessiontimestamp", self.store.now().isoformat(timespec="seconds"))
        sub(
            authentication,
            "sessiontimeout",
            (self.store.now() + dt.timedelta(hours=1)).isoformat(timespec="seconds"),
        )
        transaction = operation.get("transaction") == "true"
        content = operation.find("content")
        functions = list(content) if content is not None else []
        snapshot = self._snapshot(company) if transaction else None
        results, failed = [], False
        for function in functions:
            result = el("result")
            inner = function[0] if len(function) else None
            name = inner.tag if inner is not None else ""
            sub(result, "status", "success")
            sub(result, "function", name)
            sub(result, "controlid", function.get("controlid", ""))
            try:
                if failed and transaction:
                    raise Refused("XL03000008", "Not processed: the transaction failed")
                for node in self._run(name, inner, company, session):
                    result.append(node)
            except Refused as error:
                result.find("status").text = "failure"
                result.append(self._errors([error]))
                failed = True
            except query.QueryError as error:
                result.find("status").text = "failure"
                result.append(self._errors([Refused("DL02000001", str(error))]))
                failed = True
            results.append(result)
        if failed and transaction:
            self._restore(company, snapshot)
            for result in results:
                if result.find("status").text == "success":
                    result.find("status").text = "aborted"
                    for data in result.findall("data"):
                        result.remove(data)
        for result in results:
            op.append(result)
        if unique and controlid and not failed:
            company.control_ids.add(controlid)
        return self._xml(response)

    def _snapshot(self, company: Company) -> dict[str, Any]:
        return copy.deepcopy(
            {
                name: getattr(company, name)
                for name in ("invoices", "payments", "deposits", "bank_fees")
            }
        )

    def _restore(self, company: Company, snapshot: dict[str, Any] | None) -> None:
        for name, value in (snapshot or {}).items():
            setattr(company, name, value)

    def _run(
        self, name: str, function: etree._Element | None, company: Company, session: Session
    ) -> list[etree._Element]:
        if function is None:
            raise Refused("XL03000003", "An empty function")
        if name == "getAPISession":
            data = el("data")
            api = sub(data, "api")
            sub(api, "sessionid", session.id)
            sub(api, "endpoint", "")
            sub(api, "locationid", session.entity)
            return [data]
        if name == "readByQuery":
            return [self._read_by_query(function, company, session)]
        if name == "readMore":
            return [self._read_more(child_text(function, "resultId"), session)]
        if name == "create":
            data = el("data", listtype="objects", count=str(len(function)))
            for record in function:
                fields = as_dict(record)
                if record.tag == "ARPYMT":
                    key = self.store.create_payment(company, session, fields)
                elif record.tag == "BANKFEE":
                    key = self.store.create_bank_fee(company, session, fields)
                else:
                    raise Refused("BL01001973", f"Cannot create {record.tag}")
                created = sub(data, record.tag.lower())
                sub(created, "RECORDNO", key)
            return [data]
        if name == "retrievepdf":
            return [self._pdf(function, company, session)]
        if name == "reverse_arpayment":
            self.store.reverse_payment(company, session, function.get("key", ""))
            return [el("key", function.get("key", ""))]
        if name == "record_deposit":
            day = function.find("depositdate")
            key = self.store.record_deposit(
                company,
                session,
                child_text(function, "bankaccountid"),
                dt.date(
                    int(child_text(day, "year")),
                    int(child_text(day, "month")),
                    int(child_text(day, "day")),
                ),
                child_text(function, "description"),
                [(r.text or "").strip() for r in function.iter("receiptkey")],
            )
            return [el("key", key)]
        raise Refused("XL03000003", f"Unknown function {name}")

    def _pdf(self, function: etree._Element, company: Company, session: Session) -> etree._Element:
        key = child_text(function, "ARINVOICE/RECORDNO")
        invoice = company.invoices.get(int(key)) if key.isdigit() else None
        if invoice is None or not self.store.visible(session, invoice):
            raise Refused("BL01001973", f"Invoice {key} does not exist")
        lines = [line for line in company.lines.values() if line["RECORDKEY"] == key]
        data = el("data")
        content = render_invoice(invoice, lines, company.name)
        sub(data, "pdfdata", base64.b64encode(content).decode())
        return data

    def _read_by_query(
        self, function: etree._Element, company: Company, session: Session
    ) -> etree._Element:
        object = child_text(function, "object").upper()
        fields = [f.strip() for f in child_text(function, "fields").split(",") if f.strip()]
        test = query.compile(child_text(function, "query"), get)
        size = int(child_text(function, "pagesize") or 100)
        if not 1 <= size <= MAX_PAGE:
            raise Refused("DL02000001", f"pagesize must be 1 to {MAX_PAGE}")
        rows = [row for row in self.store.rows(company, session, object) if test(row)]
        result_id = f"{session.id[:6]}-{next(self.result_numbers)}"
        self.results[result_id] = {
            "object": object,
            "fields": fields or ["*"],
            "rows": rows,
            "at": 0,
            "size": size,
            "session": session.id,
        }
        return self._page(result_id)

    def _read_more(self, result_id: str, session: Session) -> etree._Element:
        result = self.results.get(result_id)
        if result is None or result["session"] != session.id:
            raise Refused("DL02000001", f"There is no result {result_id}")
        return self._page(result_id)

    def _page(self, result_id: str) -> etree._Element:
        result = self.results[result_id]
        rows = result["rows"]
        page = rows[result["at"] : result["at"] + result["size"]]
        result["at"] += len(page)
        remaining = len(rows) - result["at"]
        data = el(
            "data",
            listtype=result["object"].lower(),
            count=str(len(page)),
            totalcount=str(len(rows)),
            numremaining=str(remaining),
            resultId=result_id if remaining else "",
        )
        tag = OBJECT_TAGS.get(result["object"], result["object"])
        for row in page:
            data.append(record_xml(tag, row, result["fields"]))
        if not remaining:
            del self.results[result_id]
        return data

    # -- control ------------------------------------------------------------------

    def _control(self, status: int, data: Any) -> Response:
        return Response(dumps(data), status=status, content_type="application/json")

    def on_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return self._control(200, self.limiter.faults.as_json())
        try:
            return self._control(200, control.switch_faults(self.limiter, request, lambda: 0))
        except ValueError as error:
            return self._control(400, {"error": str(error)})

    def on_stats(self, request: Request) -> Response:
        return self._control(200, self.limiter.report())

    def on_companies(self, request: Request) -> Response:
        body = control.body(request)
        company = self.store.add_company(
            str(body["company_id"]),
            str(body.get("name") or ""),
            users=body.get("users"),
            entities=body.get("entities"),
        )
        return self._control(201, {"company_id": company.id, "users": company.users})

    def on_seed(self, request: Request) -> Response:
        body = control.body(request)
        counts = seed(
            self.store,
            str(body["company_id"]),
            customers=int(body.get("customers", 10)),
            invoices=int(body.get("invoices", 30)),
            lines_per_invoice=int(body.get("lines_per_invoice", 3)),
            seed=body.get("seed", 1),
        )
        return self._control(200, counts)

    def on_clock(self, request: Request) -> Response:
        """Move the sandbox's clock on (limits and stamps follow it)."""
        try:
            seconds = float(control.body(request).get("advance_s", 0))
        except (TypeError, ValueError) as error:
            return self._control(400, {"error": str(error)})
        if seconds < 0:
            return self._control(400, {"error": "the clock only moves on"})
        self.store.skew += dt.timedelta(seconds=seconds)
        return self._control(200, {"now": self.store.now().isoformat()})
