"""The files handed over for import and the column mapping each connection keeps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from arbridge.connectors.base import FILES_READ, DroppedFile, RowError
from arbridge.core import clock
from arbridge.core.models import Connection, PartnerOwned
from arbridge.integrations.models import SyncCursor


class ColumnMapping(PartnerOwned):
    """A connection's saved mapping: each of its connector's columns -> the files' header."""

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, related_name="column_mapping"
    )
    columns = models.JSONField(default=dict)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=clock.now)

    @classmethod
    def of(cls, connection: Connection) -> dict[str, str]:
        """Return the connection's saved mapping, empty if none was saved."""
        saved = cls.objects.filter(connection=connection).values_list("columns", flat=True).first()
        return dict(saved or {})

    @classmethod
    def save_for(cls, connection: Connection, columns: dict[str, str], user=None) -> None:
        cls.objects.update_or_create(
            connection=connection,
            defaults={
                "partner_id": connection.partner_id,
                "columns": {name: header for name, header in columns.items() if header},
                "updated_by": user,
                "updated_at": clock.now(),
            },
        )


class ImportFile(PartnerOwned):
    """One file handed over: kept to be imported, refused with its errors, or awaiting a mapping."""

    class Status(models.TextChoices):
        UNMAPPED = "unmapped", "Columns to choose"
        ACCEPTED = "accepted"
        REFUSED = "refused"

    class Source(models.TextChoices):
        UPLOAD = "upload"
        FOLDER = "folder"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.UPLOAD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNMAPPED)
    # The mapping the file was checked by; the import reads it by the same.
    mapping = models.JSONField(default=dict)
    rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [[line, column, message], ...]
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # The same file is imported once per connection; a refused one may come again.
            models.UniqueConstraint(
                fields=["connection", "sha256"],
                condition=Q(status="accepted"),
                name="one_accepted_file_per_hash",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def row_errors(self) -> list[RowError]:
        return [RowError(*error) for error in self.errors]

    def dropped_unsaved(self) -> DroppedFile:
        """Return the file as its connector reads it, from the content held here."""
        content = self.content if isinstance(self.content, bytes) else bytes(self.content)
        return DroppedFile(
            self.name, self.sha256, self.received_at, dict(self.mapping), lambda: content
        )

    def dropped(self) -> DroppedFile:
        """Return the file as its connector reads it, its content read when needed."""
        pk = self.pk
        return DroppedFile(
            name=self.name,
            sha256=self.sha256,
            received_at=self.received_at,
            mapping=dict(self.mapping),
            read=lambda: bytes(ImportFile.objects.values_list("content", flat=True).get(pk=pk)),
        )

    @classmethod
    def handed_over(cls, connection: Connection) -> list[DroppedFile]:
        """Return the connection's accepted files, oldest first: its connector's Runtime.files."""
        accepted = cls.objects.filter(connection=connection, status=cls.Status.ACCEPTED)
        return [f.dropped() for f in accepted.defer("content").order_by("received_at", "id")]


def imported_hashes(connection: Connection) -> set[str]:
    """Return the hashes of the files the connection's syncs have imported."""
    read: set[str] = set()
    for value in SyncCursor.objects.filter(connection=connection).values_list("value", flat=True):
        read.update(value.get(FILES_READ, ()) if isinstance(value, dict) else ())
    return read
