"""The DataGate connector: the partner's billing-export files, read into invoices.

DataGate publishes an API, but hands its keys out on request only, so
arbridge reads what every DataGate partner has: the invoice export
(connectors/datagate/export.py). The host hands over the files a partner
uploaded or placed in the connection's folder (`Runtime.files`), each with
the column mapping it was checked by; `pull` reads those its cursor does not
name yet, one file a checkpoint, so a file is applied whole, and a file read
again changes nothing. Nothing is written back: DataGate is reconciled from
arbridge's payments by a person (`write_back` is False).

# Reference: https://developer.datagate-i.com
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import httpx
from pydantic import Field

from arbridge.connectors import base
from arbridge.connectors.base import (
    DEFAULT_RUNTIME,
    FILES_READ,
    Capabilities,
    Change,
    Column,
    Command,
    Config,
    ContactScope,
    Cursor,
    DroppedFile,
    FileRead,
    Frequency,
    Item,
    PermanentError,
    Rejected,
    RemoteRef,
    Runtime,
)
from arbridge.connectors.datagate import export

STREAM = "datagate-files"
HOURLY, NONE = Frequency.HOURLY, Frequency.NONE
CAPABILITIES = Capabilities(
    category="specialized",
    # Files are read as they are uploaded; a watched folder is looked at hourly.
    frequencies={
        Item.INVOICE_DETAILS: HOURLY,
        Item.INVOICE_LINES: HOURLY,
        Item.CUSTOMERS: HOURLY,
        Item.PAYMENTS: HOURLY,  # paid and part-paid invoices, through the amount due
        Item.DEPOSITS: NONE,
        Item.ARCHIVE_INVOICES: HOURLY,  # voided in a later file
        Item.ARCHIVE_CUSTOMERS: NONE,
        Item.DELETE_PAYMENTS: NONE,
        Item.PDF_INVOICES: NONE,
    },
    native_pdf=False,
    deposits=False,
    archive_on_source_delete=False,
    contact_scope=ContactScope.BILLING,
    files=True,
    write_back=False,
)


class Preferences(base.Preferences):
    date_format: Literal["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY"] = Field(
        "YYYY-MM-DD", title="Dates in the files", description="How the export writes its dates."
    )
    currency: str = Field(
        "USD",
        title="Currency",
        description="The invoices' currency when the file has no currency column.",
        pattern=r"^[A-Z]{3}$",
    )
    watch_folder: bool = Field(
        False,
        title="Watch this connection's folder",
        description="Also import the files placed in the connection's folder on the server, "
        "checked every hour.",
    )


class Credentials(base.Credentials):
    """Nothing to type: DataGate's files are uploaded, not fetched."""


class DataGate:
    kind: ClassVar[str] = "datagate"
    display_name: ClassVar[str] = "DataGate"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    Preferences: ClassVar[type[base.Preferences]] = Preferences
    auth: ClassVar[base.AuthScheme] = Credentials
    api_base: ClassVar[str] = ""
    columns: ClassVar[tuple[Column, ...]] = export.COLUMNS

    def __init__(self, config: Config, http: httpx.Client, runtime: Runtime = DEFAULT_RUNTIME):
        self.config = config
        self.runtime = runtime
        self.preferences = Preferences.model_validate(config.preferences)

    def headers(self, data: bytes) -> list[str]:
        return export.headers(data)

    def read_file(self, file: DroppedFile) -> FileRead:
        reader = export.Reader(
            file.mapping, self.preferences.date_format, self.preferences.currency
        )
        return reader.read(file)

    def pull(self, cursor: Cursor | None) -> Iterator[Change | Rejected | Cursor]:
        read = list(cursor.value.get(FILES_READ, ())) if cursor is not None else []
        new = [file for file in self.runtime.files() if file.sha256 not in read]
        for file in new:
            result = self.read_file(file)
            if result.ok:
                yield from result.changes
            else:
                # The host checks files before handing them over; one wrong now is set aside whole.
                problems = "; ".join(f"line {e.row}: {e.message}" for e in result.errors[:20])
                yield Rejected("file", file.sha256, f"{file.name} not imported: {problems}")
            read.append(file.sha256)
            yield Cursor(STREAM, {FILES_READ: list(read)})
        if not new:
            yield Cursor(STREAM, {FILES_READ: read})

    def push(self, command: Command) -> RemoteRef:
        raise PermanentError(
            f"DataGate takes no writes from arbridge ({command.action}): "
            "its invoices are reconciled in DataGate"
        )
