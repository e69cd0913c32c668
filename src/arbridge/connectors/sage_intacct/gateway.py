"""The Sage Intacct XML gateway: one POST per request, sender credentials and a session.

# Reference: https://developer.intacct.com/web-services/requests/
# Reference: https://developer.intacct.com/web-services/responses/
# Reference: https://developer.intacct.com/web-services/sessions/
# Reference: https://developer.intacct.com/web-services/error-handling/

Every request is `<request>` with a `<control>` block (the sender's id and
password, a `controlid`, `uniqueid`, `dtdversion` 3.0) and one
`<operation>`: its `<authentication>` (a user's login, or a `sessionid`) and
`<content>` of `<function controlid="...">` elements. A company user's login
is spent once, on `getAPISession` for the chosen entity (location id); every
later request carries the session id, against the endpoint the session names.

With `uniqueid` true Intacct refuses a request whose `controlid` it has seen
before (error XL03000009), so a write sent again after its answer was lost is
refused rather than applied twice; the caller then looks up what it wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
from lxml import etree

from arbridge.connectors.base import AuthError, ConnectorError, PermanentError, RetryableError
from arbridge.connectors.http import request

PATH = "/ia/xml/xmlgw.phtml"
DTD_VERSION = "3.0"
# Intacct's answer to a control id already used with uniqueid true.
DUPLICATE = "XL03000009"
# Errors of a login or session Intacct refused.
AUTH_ERRORS = frozenset({"XL03000006", "XL03000003", "XL03000005", "PL04000055"})
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class SessionRefused(AuthError):
    """The operation's login or session was refused: nothing in it was done."""


class Duplicate(PermanentError):
    """The control id was used before, with uniqueid true: the request was not applied again."""


@dataclass(frozen=True)
class Sender:
    id: str
    password: str


@dataclass(frozen=True)
class Login:
    company_id: str
    user_id: str
    password: str
    entity_id: str = ""


@dataclass(frozen=True)
class Result:
    """One function's result: its status, data element and errors."""

    function: str
    controlid: str
    status: str
    data: etree._Element | None
    errors: tuple[tuple[str, str], ...] = ()
    key: str = ""  # what a legacy (2.1) function answers: the key of what it made

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def attr(self, name: str) -> str:
        return "" if self.data is None else str(self.data.get(name) or "")


@dataclass(frozen=True)
class Answer:
    results: tuple[Result, ...]
    timestamp: str = ""  # the session's timestamp: the server's clock when it answered


def element(tag: str, *children: Any, **attrs: str) -> etree._Element:
    """Return an element with children: elements, (tag, text) pairs, or text."""
    node = etree.Element(tag, **attrs)
    for child in children:
        if child is None:
            continue
        if isinstance(child, etree._Element):
            node.append(child)
        elif isinstance(child, tuple):
            name, value = child
            if value is None:
                continue
            sub = etree.SubElement(node, name)
            sub.text = str(value)
        else:
            node.text = str(child)
    return node


def text(node: etree._Element | None, path: str, default: str = "") -> str:
    if node is None:
        return default
    found = node.find(path)
    return (found.text or "").strip() if found is not None and found.text else default


def errors_of(node: etree._Element | None) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    return tuple(
        (
            text(error, "errorno"),
            "; ".join(
                part for part in (text(error, "description"), text(error, "description2")) if part
            ),
        )
        for error in node.iter("error")
    )


def fail(errors: Sequence[tuple[str, str]], where: str) -> ConnectorError:
    message = f"Sage Intacct refused the {where}: " + (
        "; ".join(f"{no} {words}".strip() for no, words in errors) or "no reason given"
    )
    numbers = {no for no, _ in errors}
    if DUPLICATE in numbers:
        return Duplicate(message)
    if numbers & AUTH_ERRORS:
        return AuthError(message, status=401)
    return PermanentError(message)


class Gateway:
    """Requests to one company's entity, through one session opened on first use."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        sender: Sender,
        login: Login,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}{PATH}"
        self.sender = sender
        self.login = login
        self.sleep = sleep
        self.session_id = ""

    def session(self) -> str:
        """Open the session (getAPISession for the entity) if not yet open; return its id."""
        # Reference: https://developer.intacct.com/api/company-console/api-sessions/
        if not self.session_id:
            login = element(
                "login",
                ("userid", self.login.user_id),
                ("companyid", self.login.company_id),
                ("password", self.login.password),
                ("locationid", self.login.entity_id or None),
            )
            function = element("getAPISession", ("locationid", self.login.entity_id or None))
            answer = self._send(login, [function], controlid=f"session-{uuid4()}", unique=False)
            api = answer.results[0].data.find("api") if answer.results[0].data is not None else None
            self.session_id = text(api, "sessionid")
            endpoint = text(api, "endpoint")
            if not self.session_id:
                raise AuthError("Sage Intacct gave no session id", status=401)
            if endpoint and endpoint.startswith(self.base_url):
                self.endpoint = endpoint
        return self.session_id

    def call(
        self,
        functions: Sequence[etree._Element],
        *,
        controlid: str = "",
        unique: bool = False,
        transaction: bool = False,
    ) -> Answer:
        """Send functions in one request with the session; raise if any failed.

        A session Intacct no longer knows (it timed out) is opened again, once.
        """
        controlid = controlid or f"read-{uuid4()}"
        try:
            answer = self._send(
                element("sessionid", self.session()),
                functions,
                controlid=controlid,
                unique=unique,
                transaction=transaction,
            )
        except SessionRefused:
            self.session_id = ""
            answer = self._send(
                element("sessionid", self.session()),
                functions,
                controlid=controlid,
                unique=unique,
                transaction=transaction,
            )
        for result in answer.results:
            if not result.ok:
                raise fail(result.errors, f"{result.function} call")
        return answer

    def _send(
        self,
        auth: etree._Element,
        functions: Sequence[etree._Element],
        *,
        controlid: str,
        unique: bool,
        transaction: bool = False,
    ) -> Answer:
        content = element("content")
        for index, function in enumerate(functions):
            content.append(element("function", function, controlid=f"{controlid}:{index}"))
        operation = element("operation", element("authentication", auth), content)
        if transaction:
            operation.set("transaction", "true")
        body = element(
            "request",
            element(
                "control",
                ("senderid", self.sender.id),
                ("password", self.sender.password),
                ("controlid", controlid),
                ("uniqueid", "true" if unique else "false"),
                ("dtdversion", DTD_VERSION),
                ("includewhitespace", "false"),
            ),
            operation,
        )
        payload = etree.tostring(body, xml_declaration=True, encoding="UTF-8")
        # A read may be sent again; a write only when its control id is unique (Intacct
        # then refuses the second) or when it surely was not sent.
        response = request(
            self.http,
            "POST",
            self.endpoint,
            content=payload,
            headers={"Content-Type": "application/xml"},
            idempotent=unique or controlid.startswith(("read-", "session-")),
            sleep=self.sleep,
        )
        return parse(response.content)


def parse(content: bytes) -> Answer:
    """Return a response's results; raise for a refused control block or login."""
    try:
        root = etree.fromstring(content, PARSER)
    except etree.XMLSyntaxError as e:
        raise RetryableError(f"Sage Intacct answered with no XML: {e}") from e
    control = root.find("control")
    if text(control, "status") != "success":
        errors = errors_of(root.find("errormessage"))
        raise fail(errors, "request")
    operation = root.find("operation")
    authentication = operation.find("authentication") if operation is not None else None
    if text(authentication, "status") != "success":
        raise SessionRefused(
            str(
                fail(
                    errors_of(operation.find("errormessage") if operation is not None else None),
                    "login",
                )
            ),
            status=401,
        )
    if (
        operation is not None
        and operation.find("errormessage") is not None
        and not operation.findall("result")
    ):
        raise fail(errors_of(operation.find("errormessage")), "operation")
    results = tuple(
        Result(
            function=text(result, "function"),
            controlid=text(result, "controlid"),
            status=text(result, "status"),
            data=result.find("data"),
            errors=errors_of(result.find("errormessage")),
            key=text(result, "key"),
        )
        for result in (operation.findall("result") if operation is not None else [])
    )
    return Answer(results=results, timestamp=text(authentication, "sessiontimestamp"))
