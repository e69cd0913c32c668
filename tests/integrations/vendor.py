"""A small vendor API and its connector, the outer edge the job tests drive.

The vendor takes writes keyed by an Idempotency-Key header, as Xero does: a
repeated key gets the first write's id back and writes nothing. Its faults are
switches a test flips: fail the next requests, lose a response after the write
is made, or stall a request until the test lets it go.
"""

import itertools
import json
import threading
from collections.abc import Iterator

import httpx
from werkzeug.wrappers import Request, Response

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Capabilities,
    Change,
    Command,
    Config,
    Credentials,
    Cursor,
    CustomerRecord,
    Frequency,
    Item,
    Op,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.http import raise_for_status, transport_error
from tests.loopback import Loopback

TOKEN = "vendor-token"


class Vendor:
    """The vendor's API as a WSGI app: POST /writes, GET /customers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: dict[str, dict] = {}  # idempotency key -> the write
        self.requests: list[str] = []  # the idempotency key of every POST, in order
        self.customers: list[dict] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.lose_responses = 0
        self.ids = itertools.count(1001)
        # When set: the first write is made, then its response waits for `release`.
        self.stall_first = False
        self.stalled = threading.Event()
        self.release = threading.Event()

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.failures.extend([(status, headers)] * times)

    def lose_next_response(self) -> None:
        """Make the next write, then answer 504 as if the response were lost on the way."""
        self.lose_responses += 1

    def __call__(self, environ, start_response):
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response('{"message": "invalid token"}', 401, mimetype="application/json")
        if request.method == "GET" and request.path == "/customers":
            return json_response({"customers": self.customers})
        if request.method == "POST" and request.path == "/writes":
            return self.write(request)
        return Response(status=404)

    def write(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        with self.lock:
            self.requests.append(key)
            is_first = len(self.requests) == 1
            if self.failures:
                status, headers = self.failures.pop(0)
                return json_response({"message": f"failure {status}"}, status, headers)
            if key not in self.writes:
                self.writes[key] = {"id": str(next(self.ids)), **request.get_json()}
            write = self.writes[key]
            lose = self.lose_responses > 0
            self.lose_responses -= lose
        if lose:
            return json_response({"message": "gateway timeout"}, 504)
        if self.stall_first and is_first:
            self.stalled.set()
            self.release.wait(timeout=60)
        return json_response({"id": write["id"]}, 201)


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status, headers, mimetype="application/json")


class FakeVendorConnector:
    """The connector for Vendor, registered as kind "fakevendor" in the tests."""

    kind = "fakevendor"
    capabilities = Capabilities(
        category="accounting", frequencies={Item.CUSTOMERS: Frequency.HOURLY}
    )

    auth = Credentials
    api_base = ""

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.config = config
        self.http = http

    def send(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.config.credentials.get('token', '')}"}
        try:
            response = self.http.request(
                method,
                self.config.base_url + path,
                headers=headers | kwargs.pop("headers", {}),
                **kwargs,
            )
        except httpx.TransportError as e:
            raise transport_error(e) from e
        raise_for_status(response)
        return response

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Cursor]:
        for customer in self.send("GET", "/customers").json()["customers"]:
            record = CustomerRecord(name=customer["name"], email=customer.get("email", ""))
            yield Change("customer", customer["id"], Op.UPSERT, record)

    def push(self, command: Command) -> RemoteRef:
        response = self.send(
            "POST",
            "/writes",
            json={"action": command.action, "payload": dict(command.payload)},
            headers={"Idempotency-Key": command.idempotency_key},
        )
        return RemoteRef(response.json()["id"])


class LoopbackServer(Loopback):
    """Serve whichever Vendor is current over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.vendor = Vendor()
        super().__init__()

    def dispatch(self, environ, start_response):
        return self.vendor(environ, start_response)

    def stop(self) -> None:
        self.vendor.release.set()
        super().stop()
