"""The sandbox's QuickBooks Web Connector: polls a SOAP service as the real one does.

# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBWC_proguide.pdf
# Reference: ../shared/specs/qbd/QBWebConnectorSvc.wsdl

One `poll()` is one scheduled run: serverVersion, clientVersion,
authenticate, then sendRequestXML -> the company answers the qbXML ->
receiveResponseXML, until the service says 100 (or a negative number, then
getLastError), and closeConnection. What the real PC does wrong can be
switched on: `offline` (the PC is off: no call at all), `drop_after(test)`
(the session dies once the company has run a request the test picks,
before its answer is posted back), `quickbooks_closed` (connectionError).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from lxml import etree

from arbridge.sandbox.qbd.requests import Processor

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
INTUIT = "http://developer.intuit.com/"
CLIENT_VERSION = "2.3.0.215"


@dataclass
class Poll:
    """How one run of the Web Connector went."""

    outcome: str  # "done", "dropped", "offline", "nvu", "failed", "closed"
    round_trips: int = 0  # sendRequestXML / receiveResponseXML pairs
    calls: int = 0  # SOAP calls in all
    requests: list[str] = field(default_factory=list)  # the qbXML request names run
    quickbooks_s: float = 0.0  # the time the company spent answering them
    error: str = ""


class WebConnector:
    """A Web Connector on the partner's PC, with the company file open in QuickBooks."""

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        username: str,
        password: str,
        processor: Processor,
        *,
        company_file: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Harbor IT.qbw",
    ) -> None:
        self.http, self.url = http, url
        self.username, self.password = username, password
        self.processor = processor
        self.company_file = company_file
        self.offline = False
        self.quickbooks_closed = False
        self.drop: Callable[[str], bool] | None = None

    def drop_after(self, test: Callable[[str], bool] | None) -> None:
        """Die, once, right after the company runs a request this test picks (None: never)."""
        self.drop = test

    def call(self, poll: Poll, method: str, **params: str | int) -> list[str] | str:
        poll.calls += 1
        root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap": SOAP})
        body = etree.SubElement(root, f"{{{SOAP}}}Body")
        node = etree.SubElement(body, f"{{{INTUIT}}}{method}", nsmap={None: INTUIT})
        for name, value in params.items():
            etree.SubElement(node, f"{{{INTUIT}}}{name}").text = str(value)
        response = self.http.post(
            self.url,
            content=etree.tostring(root, xml_declaration=True, encoding="utf-8"),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{INTUIT}{method}"',
            },
        )
        response.raise_for_status()
        answer = etree.fromstring(response.content)
        result = answer.find(f".//{{{INTUIT}}}{method}Result")
        if result is None:
            raise ValueError(f"{method} answered without a result")
        if len(result):
            return [item.text or "" for item in result]
        return result.text or ""

    def poll(self) -> Poll:
        """Run one scheduled session; return how it went."""
        if self.offline:
            return Poll("offline")
        poll = Poll("done")
        self.call(poll, "serverVersion", strVersion="")
        self.call(poll, "clientVersion", strVersion=CLIENT_VERSION)
        ticket, status, *_ = self.call(
            poll, "authenticate", strUserName=self.username, strPassword=self.password
        )
        if status == "nvu":
            poll.outcome = "nvu"
            return poll
        if status == "none":
            self.call(poll, "closeConnection", ticket=ticket)
            return poll
        if self.quickbooks_closed:
            self.call(
                poll,
                "connectionError",
                ticket=ticket,
                hresult="0x80040408",
                message="Could not start QuickBooks.",
            )
            self.call(poll, "closeConnection", ticket=ticket)
            poll.outcome = "closed"
            return poll
        try:
            self.session(poll, ticket)
        finally:
            self.processor.end_session()
        return poll

    def session(self, poll: Poll, ticket: str) -> None:
        while True:
            request = self.call(
                poll,
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse="",
                strCompanyFileName=self.company_file,
                qbXMLCountry="US",
                qbXMLMajorVers=7,
                qbXMLMinorVers=0,
            )
            if not request:
                poll.error = str(self.call(poll, "getLastError", ticket=ticket))
                poll.outcome = "failed"
                self.call(poll, "closeConnection", ticket=ticket)
                return
            started = time.perf_counter()
            answer = self.processor.process(request)
            poll.quickbooks_s += time.perf_counter() - started
            poll.requests.append(name_of(request))
            if self.drop is not None and self.drop(request):
                self.drop = None
                poll.outcome = "dropped"
                return  # the PC went away: no answer, no closeConnection
            done = int(
                self.call(
                    poll,
                    "receiveResponseXML",
                    ticket=ticket,
                    response=answer,
                    hresult="",
                    message="",
                )
            )
            poll.round_trips += 1
            if done < 0:
                poll.error = str(self.call(poll, "getLastError", ticket=ticket))
                poll.outcome = "failed"
                self.call(poll, "closeConnection", ticket=ticket)
                return
            if done >= 100:
                self.call(poll, "closeConnection", ticket=ticket)
                return


def name_of(request: str) -> str:
    """Return a qbXML request's name ("InvoiceQueryRq")."""
    root = etree.fromstring(request.encode())
    return root.find("QBXMLMsgsRq")[0].tag
