"""CSV exports of a partner's tables: invoices, payments, aging and reminders sent.

Money is written as a plain decimal string beside its currency, dates as ISO
8601, so a spreadsheet or a script reads back exactly what is stored. Rows
stream in chunks: an export of 200,000 invoices never sits in memory whole.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from arbridge.collections.models import Reminder
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.ledger.models import Invoice, Payment
from arbridge.metrics import figures
from arbridge.metrics.figures import BUCKETS

CHUNK = 2000


def text(value: object) -> str:
    """Return a cell: dates as ISO 8601, decimals as written, None as empty."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class Echo:
    """A file whose write() hands the line back, for csv.writer over a stream."""

    def write(self, value: str) -> str:
        return value


def invoices(partner: Partner) -> tuple[list[str], Iterable[Iterable]]:
    header = [
        "number",
        "customer",
        "currency",
        "issue_date",
        "due_date",
        "total",
        "balance",
        "status",
        "archived",
    ]
    rows = (
        Invoice.objects.for_partner(partner)
        .order_by("id")
        .values_list(
            "number",
            "customer__name",
            "currency",
            "issue_date",
            "due_date",
            "total",
            "balance",
            "status",
            "archived",
        )
    )
    return header, rows.iterator(chunk_size=CHUNK)


def payments(partner: Partner) -> tuple[list[str], Iterable[Iterable]]:
    header = [
        "id",
        "date",
        "customer",
        "currency",
        "amount",
        "method",
        "status",
        "origin",
        "reference",
    ]
    rows = (
        Payment.objects.for_partner(partner)
        .order_by("id")
        .values_list(
            "id",
            "date",
            "customer__name",
            "currency",
            "amount",
            "method",
            "status",
            "origin",
            "reference",
        )
    )
    return header, rows.iterator(chunk_size=CHUNK)


def aging(partner: Partner) -> tuple[list[str], Iterable[Iterable]]:
    header = ["customer", "currency", *BUCKETS, "total", "invoices"]
    rows = (
        [r.customer_name, r.currency, *(r.amounts[b] for b in BUCKETS), r.total, r.count]
        for r in figures.aging_by_customer(partner)
    )
    return header, rows


def reminders(partner: Partner) -> tuple[list[str], Iterable[Iterable]]:
    header = ["sent_on", "invoice", "customer", "step_days", "status", "recipients", "subject"]
    rows: QuerySet = (
        Reminder.objects.for_partner(partner)
        .order_by("id")
        .values_list(
            "email__send_date",
            "invoice__number",
            "email__customer__name",
            "offset_days",
            "email__status",
            "email__recipients",
            "email__subject",
        )
    )
    return header, rows.iterator(chunk_size=CHUNK)


TABLES: dict[str, Callable[[Partner], tuple[list[str], Iterable[Iterable]]]] = {
    "invoices": invoices,
    "payments": payments,
    "aging": aging,
    "reminders": reminders,
}


def lines(partner: Partner, table: str) -> Iterator[str]:
    """Yield the CSV of one table, a line at a time, header first."""
    writer = csv.writer(Echo())
    header, rows = TABLES[table](partner)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([text(value) for value in row])


def response(partner: Partner, table: str) -> StreamingHttpResponse:
    found = StreamingHttpResponse(lines(partner, table), content_type="text/csv; charset=utf-8")
    name = f"{partner.slug}-{table}-{clock.today().isoformat()}.csv"
    found["Content-Disposition"] = f'attachment; filename="{name}"'
    return found
