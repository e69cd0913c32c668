"""Acme's QuickBooks Desktop in the tests: a company file on a PC whose Web Connector polls us.

Connecting goes the partner's way: the dashboard's Connect form (a password
for the Web Connector), then the .qwc file. The Web Connector is the
sandbox's, posting its SOAP calls to arbridge's own URL through Django's
test client, so each call is a request of its own, as from the PC.
"""

from decimal import Decimal

import httpx
import pytest
from django.test import Client

from arbridge.core.models import Connection
from arbridge.sandbox.qbd import Company, Processor, WebConnector

PASSWORD = "correct horse battery staple"
SERVICE = "http://testserver/poll/qbd/"


def through(django_client: Client) -> httpx.Client:
    """Return an HTTP client whose requests are served by arbridge (Django's test client)."""

    def send(request: httpx.Request) -> httpx.Response:
        answer = django_client.generic(
            request.method,
            request.url.raw_path.decode(),
            request.content,
            content_type=request.headers.get("content-type", ""),
            headers={"SOAPAction": request.headers.get("soapaction", "")},
        )
        return httpx.Response(
            answer.status_code, content=answer.content, headers=dict(answer.items())
        )

    return httpx.Client(transport=httpx.MockTransport(send))


class Office:
    """A partner's PC: a QuickBooks company file open, and the Web Connector set up for arbridge."""

    def __init__(self, connection: Connection, company: Company | None = None) -> None:
        self.connection = connection
        self.company = company or Company()
        self.processor = Processor(self.company)
        self.web_connector = WebConnector(
            through(Client()), SERVICE, connection.remote_account, PASSWORD, self.processor
        )

    def poll(self):
        return self.web_connector.poll()

    def customer(self, name: str) -> str:
        return self.company.add_customer(
            name, f"ap@{name.split()[0].lower()}.example", contact="Pat Doe"
        )

    def invoice(self, customer: str, amount: str) -> str:
        return self.company.add_invoice(customer, [("Managed services", Decimal(amount))])


def connect(client, user, password: str = PASSWORD) -> Connection:
    client.force_login(user)
    response = client.post("/integrations/qbd/connect/", {"password": password, "role": "primary"})
    assert response.status_code == 302, response.content.decode()
    return Connection.objects.get(partner=user.memberships.get().partner, kind="qbd")


@pytest.fixture
def connected(client, alice) -> Connection:
    """Acme's QuickBooks Desktop, connected through the dashboard."""
    return connect(client, alice)


@pytest.fixture
def office(connected) -> Office:
    return Office(connected)
