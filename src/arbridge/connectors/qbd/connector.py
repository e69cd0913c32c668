"""The QuickBooks Desktop connector: polled by the Web Connector, speaking qbXML.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/get-started/get-started-with-quickbooks-web-connector
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop

QuickBooks Desktop runs on the partner's PC and cannot be called. The Web
Connector there polls arbridge every N minutes (the `.qwc` file a person
downloads says where and how often) and runs the qbXML arbridge hands it:
`serve(body, host)` answers its calls (service.py), the work is in work.py.
"Real time" is therefore "at the next poll".

`pull` and `push` run the same work against a qbXML request processor
reached over HTTP at the connection's base URL, one request per POST: what a
program on the PC (the SDK's QBXMLRP2 ProcessRequest) or the sandbox's
`/qbxml` answers. arbridge's own runtime never calls them for a polled
connection; the contract suites and benchmarks do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Iterator
from typing import ClassVar

import httpx
from pydantic import Field, SecretStr

from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    Capabilities,
    Change,
    Checked,
    Command,
    Config,
    ConnectorError,
    ContactScope,
    Credentials,
    Cursor,
    Frequency,
    Item,
    Preferences,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.http import request
from arbridge.connectors.polled import Host
from arbridge.connectors.qbd import service, work

PASSWORD_ITERATIONS = 200_000


def hash_password(password: str, salt: str | None = None) -> str:
    """Return `pbkdf2_sha256$<iterations>$<salt>$<hex>` of a Web Connector password."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), PASSWORD_ITERATIONS)
    return f"pbkdf2_sha256${PASSWORD_ITERATIONS}${salt}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        algorithm, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if algorithm != "pbkdf2_sha256":
        return False
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(again.hex(), digest)


class QuickBooksDesktopCredentials(Credentials):
    """The password the Web Connector will be given; only its hash is kept."""

    password: SecretStr = Field(
        title="Web Connector password",
        description="At least 12 characters. You type it once into the QuickBooks Web "
        "Connector after adding the .qwc file; arbridge keeps only its hash.",
        min_length=12,
    )

    def stored(self) -> dict[str, str]:
        return {"password_hash": hash_password(self.password.get_secret_value())}


class QuickBooksDesktopPreferences(Preferences):
    """How often the Web Connector polls, and where payments and payouts go (account names)."""

    poll_minutes: int = Field(
        15, ge=1, le=1440, title="Run every (minutes)", description="Written into the .qwc file."
    )
    payment_account_id: str | None = Field(
        None,
        title="Account payments go to",
        description="Full name of the account, as in the chart of accounts; blank: "
        "Undeposited Funds when deposits are on, else QuickBooks' default.",
    )
    create_deposits: bool = Field(
        False,
        title="Create Deposits",
        description="Record each payout as a deposit of its payments from Undeposited Funds to "
        "the bank account, its fees a line of their own. Off by default.",
    )
    deposit_account_id: str | None = Field(None, title="Bank account for deposits (full name)")
    fee_account_id: str | None = Field(None, title="Processing fee account (full name)")
    surcharge_income_account_id: str | None = Field(
        None, title="Surcharge income account (full name)"
    )


class QuickBooksDesktop:
    kind: ClassVar[str] = "qbd"
    display_name: ClassVar[str] = "QuickBooks Desktop"
    capabilities: ClassVar[Capabilities] = Capabilities(
        category="accounting",
        # Every item moves at the Web Connector's next poll.
        frequencies={
            Item.INVOICE_DETAILS: Frequency.REAL_TIME,
            Item.INVOICE_LINES: Frequency.REAL_TIME,
            Item.CUSTOMERS: Frequency.REAL_TIME,
            Item.PAYMENTS: Frequency.REAL_TIME,
            Item.DEPOSITS: Frequency.REAL_TIME,
            Item.ARCHIVE_INVOICES: Frequency.REAL_TIME,
            Item.ARCHIVE_CUSTOMERS: Frequency.REAL_TIME,
            Item.DELETE_PAYMENTS: Frequency.REAL_TIME,
            Item.PDF_INVOICES: Frequency.NONE,
        },
        native_pdf=False,
        deposits=True,
        archive_on_source_delete=True,
        contact_scope=ContactScope.BILLING,
        check=True,
        polled=True,
    )
    Preferences: ClassVar[type[QuickBooksDesktopPreferences]] = QuickBooksDesktopPreferences
    auth: ClassVar[type[QuickBooksDesktopCredentials]] = QuickBooksDesktopCredentials
    api_base: ClassVar[str] = ""

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.config = config
        self.preferences = QuickBooksDesktopPreferences.model_validate(config.preferences)
        self.http = http
        self.runtime = runtime

    # -- the Web Connector service ---------------------------------------------

    @classmethod
    def serve(cls, body: bytes, host: Host) -> tuple[int, bytes]:
        return service.serve(body, host)

    @classmethod
    def setup_file(cls, *, url: str, username: str, name: str, minutes: int, ids: str) -> bytes:
        """Return the `.qwc` file: the app's name, URL, username and how often to run.

        `ids` seeds the OwnerID and FileID GUIDs, which must stay the same for
        the same connection so that a downloaded-again file replaces the app.
        """
        # Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBWC_proguide.pdf
        owner = uuid.uuid5(uuid.NAMESPACE_URL, f"{ids}:owner")
        file_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{ids}:file")
        support = url.split("/poll/")[0] + "/"
        text = (
            '<?xml version="1.0"?>\n'
            "<QBWCXML>\n"
            f"  <AppName>{escape(name)}</AppName>\n"
            f"  <AppID></AppID>\n"
            f"  <AppURL>{escape(url)}</AppURL>\n"
            f"  <AppDescription>arbridge: invoices, customers and payments</AppDescription>\n"
            f"  <AppSupport>{escape(support)}</AppSupport>\n"
            f"  <UserName>{escape(username)}</UserName>\n"
            f"  <OwnerID>{{{owner}}}</OwnerID>\n"
            f"  <FileID>{{{file_id}}}</FileID>\n"
            "  <QBType>QBFS</QBType>\n"
            f"  <Scheduler><RunEveryNMinutes>{int(minutes)}</RunEveryNMinutes></Scheduler>\n"
            "  <IsReadOnly>false</IsReadOnly>\n"
            "</QBWCXML>\n"
        )
        return text.encode()

    @staticmethod
    def password_matches(password: str, credentials: dict) -> bool:
        return check_password(password, str(credentials.get("password_hash") or ""))

    def check(self) -> Checked:
        """Name the Web Connector user: the username the .qwc file carries."""
        username = self.config.remote_account or f"arbridge-{secrets.token_hex(6)}"
        return Checked(credentials={"username": username}, remote_account=username)

    def accounts_for_writes(self) -> work.Accounts:
        prefs = self.preferences
        payments_to = prefs.payment_account_id or (
            "Undeposited Funds" if prefs.create_deposits else None
        )
        return work.Accounts(
            payments_to=payments_to, bank=prefs.deposit_account_id, fees=prefs.fee_account_id
        )

    def known(self, entity: str) -> Iterable[str]:
        return self.runtime.known(entity)

    def clock(self) -> dt.datetime:
        return self.runtime.clock()

    # -- a request processor reached directly ---------------------------------

    def exchange(self, qbxml: str) -> str:
        """Run one qbXML request at the connection's request processor; return its answer."""
        response = request(
            self.http,
            "POST",
            self.config.base_url,
            content=qbxml.encode(),
            headers={"Content-Type": "application/xml"},
        )
        return response.text

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        state = work.reads(cursor)
        while (qbxml := work.read_request(state, self.clock())) is not None:
            yield from work.read_answer(state, self.exchange(qbxml), self.known)

    def push(self, command: Command) -> RemoteRef:
        state = work.writes(command)
        accounts = self.accounts_for_writes()
        while True:
            result = work.write_answer(state, self.exchange(work.write_request(state, accounts)))
            if isinstance(result, ConnectorError):
                raise result
            if isinstance(result, RemoteRef):
                return result


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
