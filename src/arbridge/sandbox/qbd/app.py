"""The sandbox's QuickBooks Desktop over HTTP: its qbXML request processor and control API.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/develop/communicating-with-quickbooks

    POST /qbxml               one qbXML request in, its answer out (what QBXMLRP2's
                              ProcessRequest does on the PC), faults applied
    POST /_sandbox/faults     switch faults on (sandbox/common/faults.py)
    GET  /_sandbox/stats      requests answered and faults injected

A "429", "500" or "503" fault answers at once and runs nothing; a "timeout"
runs the request, then answers 504, as a lost answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable

from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common import control
from arbridge.sandbox.common.faults import Faults
from arbridge.sandbox.common.limits import Chaos
from arbridge.sandbox.qbd.company import Company
from arbridge.sandbox.qbd.requests import Processor


class QuickBooksDesktopSandbox:
    """The WSGI app, with the company file and its request processor at hand."""

    def __init__(self, company: Company | None = None) -> None:
        self.company = company or Company()
        self.processor = Processor(self.company)
        self.chaos = Chaos(Faults())
        self.faults = 0
        self.lock = threading.Lock()

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.chaos.configure(faults)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/qbxml" and request.method == "POST":
            response = self.on_qbxml(request)
        elif request.path == "/_sandbox/faults" and request.method == "POST":
            try:
                response = self._json(200, control.switch_faults(self, request, lambda: 0))
            except ValueError as e:
                response = self._json(400, {"error": str(e)})
        elif request.path == "/_sandbox/stats":
            response = self._json(200, {"requests": self.processor.requests, "faults": self.faults})
        else:
            response = self._json(404, {"error": f"No route {request.path}"})
        return response(environ, start_response)

    def on_qbxml(self, request: Request) -> Response:
        with self.lock:
            fault = self.chaos.pick()
            if fault:
                self.faults += 1
        if fault in ("429", "500", "503"):
            return self._json(int(fault), {"error": "injected"})
        answer = self.processor.process(request.get_data(as_text=True))
        if fault == "timeout":
            return self._json(504, {"error": "Gateway Timeout"})
        return Response(answer, content_type="application/xml")

    def _json(self, status: int, body: object) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")


def create_app(company: Company | None = None) -> QuickBooksDesktopSandbox:
    return QuickBooksDesktopSandbox(company)
