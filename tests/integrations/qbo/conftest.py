"""A QuickBooks sandbox on loopback HTTP, a company in it, and Acme connected to it.

The sandbox serves arbridge's jobs over real HTTP, as Intuit would; its
webhooks are delivered to Django in this thread, so they land in the test's
transaction. Each test gets a fresh sandbox and a company id of its own, so
that the rate limit (500 requests a minute per company) is never shared.
"""

import itertools
import os
import threading
from collections.abc import Callable

import httpx
import pytest
from authlib.oauth2.rfc6749 import OAuth2Token
from django.test import Client
from werkzeug.serving import make_server

from arbridge.integrations.models import Connection, SyncRun
from arbridge.integrations.qbo import sandbox_urls
from arbridge.integrations.tasks import perform_sync, request_sync
from arbridge.sandbox.qbo import QuickBooksSandbox, create_app
from tests.integrations.qbo.company import Company

REALMS = itertools.count(1)


class DjangoTransport(httpx.BaseTransport):
    """Hand requests to Django's test client: the view runs in this thread and transaction."""

    def __init__(self) -> None:
        self.client = Client()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name not in ("host", "content-length", "content-type")
        }
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.read(),
            content_type=request.headers.get("content-type", ""),
            headers=headers,
        )
        return httpx.Response(response.status_code, content=response.content)


class SandboxServer:
    """Serve whichever sandbox is current over HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.app: QuickBooksSandbox | None = None
        self.server = make_server("127.0.0.1", 0, self.dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings) -> QuickBooksSandbox:
    """A fresh sandbox, posting its webhooks to arbridge's endpoint when flushed."""
    django = httpx.Client(transport=DjangoTransport())
    app = create_app(
        webhook_url="http://testserver/webhooks/qbo", webhook_interval=None, http=django
    )
    sandbox_server.app = app
    urls = sandbox_urls(sandbox_server.url)
    settings.QBO_AUTH_URL, settings.QBO_TOKEN_URL = urls["auth_url"], urls["token_url"]
    settings.QBO_REVOKE_URL, settings.QBO_API_BASE = urls["revoke_url"], urls["api_base"]
    yield app
    app.notifier.close()


@pytest.fixture
def company(sandbox) -> Company:
    realm = sandbox.store.add_realm(f"93{os.getpid():07d}{next(REALMS):05d}", "Acme IT Books")
    return Company(sandbox, realm)


@pytest.fixture
def qbo(partner, company) -> Connection:
    """Acme's primary connection to the company, holding a token that does not expire."""
    token = company.sandbox.store.issue_token(company.realm, ttl=None)
    return Connection.objects.create(
        partner=partner,
        kind="qbo",
        role=Connection.Role.PRIMARY,
        status=Connection.Status.CONNECTED,
        remote_account=company.realm,
        credentials={"token": dict(OAuth2Token(token))},
    )


@pytest.fixture
def sync() -> Callable[[Connection], SyncRun]:
    """Return a function that syncs a connection now, as its job would."""

    def sync(connection: Connection) -> SyncRun:
        run = perform_sync(request_sync(connection).pk)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        return run

    return sync


@pytest.fixture
def deliver(sandbox, django_capture_on_commit_callbacks) -> Callable[[], int]:
    """Return a function that sends the sandbox's pending webhooks and runs their jobs."""

    def deliver() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return sandbox.flush_webhooks()

    return deliver
