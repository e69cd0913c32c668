"""Invoice PDFs as their source renders them: which connection does, and its file, cached.

Used by the dashboard and the portal alike; a connector renders only where
Capabilities.native_pdf says so (elsewhere arbridge renders its own, portal/pdf.py).
"""

import re
from pathlib import Path

from django.conf import settings

from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Invoice


def native_pdf_ref(invoice: Invoice) -> ExternalRef | None:
    """Return the invoice's record in a connected system that renders its own PDFs."""
    refs = (
        ExternalRef.objects.for_partner(invoice.partner_id)
        .filter(
            entity=ExternalRef.Entity.INVOICE,
            local_id=invoice.pk,
            deleted_at__isnull=True,
            connection__status=Connection.Status.CONNECTED,
        )
        .select_related("connection")
        .order_by("connection__role", "connection_id")
    )
    # The invoice's own source first, then by role.
    for ref in sorted(refs, key=lambda ref: ref.connection_id != invoice.connection_id):
        try:
            if registry.load(ref.connection.kind).capabilities.native_pdf:
                return ref
        except (ImportError, LookupError):
            continue
    return None


def cached_pdf(ref: ExternalRef) -> Path:
    """Return the file of the record's PDF, fetched from its system once per remote version."""
    folder = Path(settings.DATA_DIR) / "invoice-pdfs"
    prefix = f"{ref.local_id}-{ref.connection_id}-{safe(ref.remote_id)}-"
    version = ref.remote_version or (
        ref.remote_updated_at.strftime("%Y%m%dT%H%M%S") if ref.remote_updated_at else "0"
    )
    path = folder / f"{prefix}{safe(version)}.pdf"
    if path.exists():
        return path
    with http_client() as http:
        content = build_connector(ref.connection, http).pdf(ref.remote_id)
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed, so a reader never sees half a file.
    partial = path.with_suffix(".part")
    partial.write_bytes(content)
    partial.replace(path)
    for older in folder.glob(f"{prefix}*.pdf"):
        if older != path:
            older.unlink(missing_ok=True)
    return path


def safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)
