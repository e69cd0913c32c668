"""A partner's endpoint: a real HTTP server on loopback that keeps what it is sent."""

import threading
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from arbridge.hooks.models import EVENT_TYPES, Endpoint, new_secret
from tests.portal.fixtures import inbox  # noqa: F401 (a fixture: a real SMTP server)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What a partner's system answers, and every request it got."""

    url: str = ""
    status: int = 200
    requests: list[Received] = field(default_factory=list)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(Received(dict(request.headers), request.get_data()))
        return Response("ok", status=self.status)(environ, start_response)


@pytest.fixture
def receiver():
    app = Receiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.port}/hooks/arbridge"
    yield app
    server.shutdown()


@pytest.fixture
def endpoint(partner, receiver) -> Endpoint:
    return Endpoint.objects.create(
        partner=partner,
        url=receiver.url,
        events=list(EVENT_TYPES),
        secrets={"current": new_secret()},
    )
