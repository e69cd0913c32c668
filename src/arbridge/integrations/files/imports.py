"""Receive a file for import: check it whole by the saved mapping, keep it, ask for a sync.

`receive` is the one way in, for an upload and a file found in the
connection's folder alike. A file is checked by its connector
(`read_file`) before anything is kept: a file with a wrong row is refused
with every row's error, and nothing of it is imported; a file already
imported is not taken again. An accepted file is imported by the sync it
requests, through the connector's `pull`, and a file read again there
changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from arbridge.connectors.base import Column, ConnectorError, FileImporter
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector
from arbridge.integrations.files.models import ColumnMapping, ImportFile
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import request_sync

# Larger files are refused before they are read.
MAX_BYTES = 100 * 1024 * 1024


def takes_files(connection: Connection) -> bool:
    capabilities = registry.capabilities(connection.kind)
    return capabilities is not None and capabilities.files


def importer(connection: Connection) -> FileImporter:
    """Return the connection's connector, which reads its files."""
    return build_connector(connection)  # type: ignore[return-value]


def columns(connection: Connection) -> tuple[Column, ...]:
    return registry.load(connection.kind).columns


@dataclass(frozen=True)
class Received:
    file: ImportFile
    duplicate: bool = False  # the same file was imported before: nothing changes


def receive(
    connection: Connection,
    name: str,
    data: bytes,
    *,
    source: str = ImportFile.Source.UPLOAD,
    user=None,
) -> Received:
    """Take a file for the connection: checked by the saved mapping if it fits, else unmapped."""
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = ImportFile.objects.filter(
        connection=connection, sha256=sha256, status=ImportFile.Status.ACCEPTED
    ).first()
    if earlier is not None:
        return Received(earlier, duplicate=True)
    file = ImportFile(
        partner_id=connection.partner_id,
        connection=connection,
        name=Path(name).name[:255] or "export.csv",
        sha256=sha256,
        size=len(data),
        content=data,
        source=source,
        uploaded_by=user,
        received_at=clock.now(),
    )
    if len(data) > MAX_BYTES:
        file.status = ImportFile.Status.REFUSED
        file.errors = [[0, "", f"The file is larger than {MAX_BYTES // 2**20} MB."]]
        file.content = b""
        file.save()
        return Received(file)
    try:
        file_headers = importer(connection).headers(data)
    except ConnectorError as e:
        file.status, file.errors = ImportFile.Status.REFUSED, [[1, "", str(e)]]
        file.save()
        return Received(file)
    saved = ColumnMapping.of(connection)
    required = [c.name for c in columns(connection) if c.required]
    fits = all(saved.get(name) for name in required) and set(saved.values()) <= set(file_headers)
    if not fits:
        file.save()  # unmapped: a person chooses its columns first
        return Received(file)
    return Received(check(file, saved))


def check(file: ImportFile, mapping: dict[str, str]) -> ImportFile:
    """Check the file whole by this mapping; keep it and request a sync, or refuse it."""
    file.mapping = mapping
    read = importer(file.connection).read_file(file.dropped_unsaved())
    file.rows = read.rows
    with transaction.atomic():
        if read.ok:
            duplicate = ImportFile.objects.filter(
                connection=file.connection, sha256=file.sha256, status=ImportFile.Status.ACCEPTED
            ).exclude(pk=file.pk)
            if duplicate.exists():
                file.status, file.errors = (
                    ImportFile.Status.REFUSED,
                    [[0, "", "This file was imported before; importing it again changes nothing."]],
                )
            else:
                file.status, file.errors = ImportFile.Status.ACCEPTED, []
        else:
            file.status = ImportFile.Status.REFUSED
            file.errors = [[e.row, e.column, e.message] for e in read.errors]
        file.save()
        if file.status == ImportFile.Status.ACCEPTED:
            request_sync(file.connection, SyncRun.Trigger.MANUAL)
    return file


# -- the connection's folder --------------------------------------------------------


def folder(connection: Connection) -> Path:
    """Return the connection's own folder on this server, where files may be placed."""
    return Path(settings.DATA_DIR) / "imports" / f"connection-{connection.pk}"


def watched_folder(connection: Connection) -> Path | None:
    """Return the connection's folder, made if need be, if its preferences say to watch it."""
    if not connection.preferences.get("watch_folder"):
        return None
    where = folder(connection)
    where.mkdir(parents=True, exist_ok=True)
    return where


def scan_folder(connection: Connection) -> list[Received]:
    """Receive the files placed in the connection's folder that it has not seen yet."""
    where = folder(connection)
    if not where.is_dir():
        return []
    seen = set(ImportFile.objects.filter(connection=connection).values_list("sha256", flat=True))
    found = []
    for path in sorted(where.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() in seen:
            continue
        found.append(receive(connection, path.name, data, source=ImportFile.Source.FOLDER))
    return found
