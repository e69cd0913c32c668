"""The QuickBooks Web Connector service arbridge serves: one session's calls, in order.

# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBWC_proguide.pdf
# Reference: ../shared/specs/qbd/QBWebConnectorSvc.wsdl

The Web Connector on the partner's PC runs, every N minutes:

    serverVersion, clientVersion
    authenticate(user, password)       -> [ticket, ""] (work, in the open company file)
                                          or [.., "nvu"] (not a valid user)
    sendRequestXML(ticket)             -> one qbXML request
    receiveResponseXML(ticket, answer) -> percent done; under 100: ask again
    ... until 100, or a negative number: then getLastError(ticket)
    connectionError(ticket, hresult)   when QuickBooks could not be opened
    closeConnection(ticket)

A session drains the connection's owed writes first (each looked up before
it is added, work.py) and then reads what changed since its cursor. Each
request is worked out when the previous answer is read and kept in the
session's state, so sendRequestXML hands out exactly what the next answer
will be read as, whichever process serves it.
"""

from __future__ import annotations

import secrets
from typing import Any

from arbridge.connectors.base import ConnectorError, PermanentError, RetryableError
from arbridge.connectors.polled import Host
from arbridge.connectors.qbd import soap, work

SERVER_VERSION = "arbridge 1.0"
# Web Connector 2.1 and later speak the WSDL above; older ones are refused.
MIN_CLIENT = (2, 1)
DONE = 100


def serve(body: bytes, host: Host) -> tuple[int, bytes]:
    """Answer one Web Connector call: (HTTP status, SOAP envelope)."""
    try:
        call = soap.read(body)
    except soap.BadCall as e:
        return 500, soap.fault(str(e))
    result = HANDLERS[call.method](call.params, host)
    return 200, soap.answer(call.method, result)


def server_version(params: dict[str, str], host: Host) -> str:
    return SERVER_VERSION


def client_version(params: dict[str, str], host: Host) -> str:
    """Accept 2.1 and later; "E:" refuses an older Web Connector with a reason."""
    try:
        version = tuple(int(p) for p in params.get("strVersion", "").split(".")[:2])
    except ValueError:
        return ""
    if version and version < MIN_CLIENT:
        return "E:arbridge needs QuickBooks Web Connector 2.1 or later."
    return ""


def authenticate(params: dict[str, str], host: Host) -> list[str]:
    ticket = host.open(params.get("strUserName", ""), params.get("strPassword", ""))
    if ticket is None:
        return [secrets.token_hex(16), "nvu"]
    return [ticket, ""]


def send_request(params: dict[str, str], host: Host) -> str:
    """Return the request worked out after the last answer (or the first of the session)."""
    ticket = params.get("ticket", "")
    session = Session.of(host, ticket)
    if session is None:
        return ""
    if "next" not in session.state:
        session.plan()
    request = session.state.get("next") or ""
    session.save()
    return request


def receive_response(params: dict[str, str], host: Host) -> int:
    """Read an answer; return how far the session is (100: done, negative: failed)."""
    ticket = params.get("ticket", "")
    session = Session.of(host, ticket)
    if session is None:
        return -1
    hresult, message = params.get("hresult", ""), params.get("message", "")
    if hresult:
        # QuickBooks could not run the request: nothing it asked was done.
        session.abandon(f"QuickBooks could not run a request ({hresult}): {message}")
        return -1
    try:
        session.receive(params.get("response", ""))
    except ConnectorError as e:
        session.abandon(str(e))
        return -1
    session.plan()
    session.save()
    return session.progress()


def connection_error(params: dict[str, str], host: Host) -> str:
    message = f"The Web Connector could not open QuickBooks ({params.get('hresult', '')}): "
    host.failed(params.get("ticket", ""), message + params.get("message", ""))
    return "done"


def last_error(params: dict[str, str], host: Host) -> str:
    session = Session.of(host, params.get("ticket", ""))
    if session is None:
        return "The session is unknown or has ended; the next poll starts a new one."
    return str(session.state.get("error") or "")


def close_connection(params: dict[str, str], host: Host) -> str:
    host.close(params.get("ticket", ""))
    return "OK"


HANDLERS = {
    "serverVersion": server_version,
    "clientVersion": client_version,
    "authenticate": authenticate,
    "sendRequestXML": send_request,
    "receiveResponseXML": receive_response,
    "connectionError": connection_error,
    "getLastError": last_error,
    "closeConnection": close_connection,
}


class Session:
    """One Web Connector session's work: owed writes, then reads; state kept by the host."""

    def __init__(self, host: Host, ticket: str, connector: Any, state: dict[str, Any]):
        self.host, self.ticket, self.connector, self.state = host, ticket, connector, state

    @classmethod
    def of(cls, host: Host, ticket: str) -> Session | None:
        connector = host.connector(ticket) if ticket else None
        if connector is None:
            return None
        return cls(host, ticket, connector, dict(host.state(ticket)))

    def save(self) -> None:
        self.host.save(self.ticket, self.state)

    def plan(self) -> None:
        """Work out the next request: the next owed write's stage, else the next read."""
        self.state["next"] = None
        tried = self.state.setdefault("tried", [])
        while self.state.get("write") is None:
            command = next(
                (c for c in self.host.owed(self.ticket) if c.idempotency_key not in tried), None
            )
            if command is None:
                break
            try:
                self.state["write"] = work.writes(command)
            except PermanentError as e:
                self.finish_write(command.idempotency_key, e)
        if self.state.get("write") is not None:
            try:
                self.state["next"] = work.write_request(
                    self.state["write"], self.connector.accounts_for_writes()
                )
                self.state["asked"] = "write"
                return
            except PermanentError as e:
                self.finish_write(self.state["write"]["command"]["key"], e)
                return self.plan()
        if "read" not in self.state:
            cursors = self.host.cursors(self.ticket)
            self.state["read"] = work.reads(cursors[0] if cursors else None)
        self.state["next"] = work.read_request(self.state["read"], self.connector.clock())
        self.state["asked"] = "read"

    def receive(self, response: str) -> None:
        if self.state.get("asked") == "write":
            write = self.state["write"]
            result = work.write_answer(write, response)
            if result is not None:
                self.finish_write(write["command"]["key"], result)
            return
        try:
            items = work.read_answer(self.state["read"], response, self.connector.known)
        except RetryableError as e:
            # The rest of the reads wait for the next session, from the stored cursor.
            self.state["read"]["entity"] = None
            self.state["read"]["stopped"] = str(e)
            self.failed(str(e))
            return
        self.host.apply(self.ticket, items)

    def finish_write(self, key: str, result: Any) -> None:
        self.state["write"] = None
        self.state["tried"].append(key)
        if isinstance(result, ConnectorError):
            self.failed(str(result))
        self.host.written(self.ticket, key, result)

    def failed(self, message: str) -> None:
        self.state["error"] = message
        self.host.failed(self.ticket, message)

    def abandon(self, message: str) -> None:
        """Stop the session's work: an owed write waits for the next session."""
        if write := self.state.get("write"):
            self.finish_write(write["command"]["key"], RetryableError(message))
        self.state["next"] = None
        self.failed(message)
        self.save()

    def progress(self) -> int:
        if not self.state.get("next"):
            return DONE
        entity = (self.state.get("read") or {}).get("entity")
        if entity is None:
            return 10
        return max(1, min(99, 10 + 90 * work.ENTITIES.index(entity) // len(work.ENTITIES)))
