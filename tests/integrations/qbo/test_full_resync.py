"""A full re-sync after more than CDC's 30 days archives what QuickBooks deleted meanwhile.

CDC reports deletes for 30 days only; after a longer gap the connector reads
everything again, and an invoice arbridge holds that no page answered is gone.
Only a full sync that read every page judges, and only the Id ranges it read.
"""

import datetime as dt
import json

import pytest
from werkzeug.wrappers import Response

from arbridge.core import clock
from arbridge.integrations.models import ExternalRef, SyncCursor, SyncRun
from arbridge.integrations.tasks import perform_sync, request_sync
from arbridge.ledger.models import Invoice


@pytest.fixture
def books(qbo, company, sync) -> dict:
    """Three invoices of Globex's, synced; the middle one is then deleted in QuickBooks."""
    globex = company.customer("Globex", "ap@globex.example")
    first, doomed, last = (company.invoice(globex, f"{n}00.00") for n in (1, 2, 3))
    sync(qbo)
    # Deleted while arbridge was away: its webhook never arrives.
    company.delete("Invoice", doomed["Id"])
    return {"first": first, "doomed": doomed, "last": last}


def local_invoice(remote: dict) -> Invoice:
    ref = ExternalRef.objects.get(entity="invoice", remote_id=remote["Id"])
    return Invoice.objects.get(pk=ref.local_id)


def away(qbo, days: int = 31, **resume: str) -> None:
    """Put the connection's cursor `days` back, as if nothing synced since (or mid-way)."""
    since = (clock.now() - dt.timedelta(days=days)).isoformat()
    SyncCursor.objects.filter(connection=qbo).update(value={"since": since, **resume})


def test_a_full_resync_after_a_long_gap_archives_invoices_quickbooks_deleted(qbo, books, sync):
    away(qbo)

    sync(qbo)

    doomed = local_invoice(books["doomed"])
    assert doomed.archived and doomed.source_deleted_at is not None
    assert not local_invoice(books["first"]).archived
    assert not local_invoice(books["last"]).archived


def test_within_cdcs_window_the_delete_comes_from_cdc(qbo, books, sync):
    # CDC itself reports the delete inside 30 days; a plain incremental sync archives it.
    away(qbo, days=29)

    sync(qbo)

    assert local_invoice(books["doomed"]).archived
    assert not local_invoice(books["first"]).archived


def test_a_resumed_full_sync_judges_only_the_ids_it_read(qbo, books, sync):
    # A full sync stopped after the doomed invoice's page; this run reads on from there.
    away(qbo, entity="Invoice", after=books["doomed"]["Id"])

    sync(qbo)

    assert not local_invoice(books["doomed"]).archived
    # The next full sync reads it all, and judges.
    away(qbo)
    sync(qbo)
    assert local_invoice(books["doomed"]).archived


def test_a_full_sync_cut_short_archives_nothing(qbo, books, sandbox_server):
    away(qbo)
    app = sandbox_server.app

    def payments_refused(environ, start_response):
        if "from Payment" in environ.get("QUERY_STRING", "").replace("+", " "):
            fault = {"Fault": {"Error": [{"Message": "Refused", "code": "4000"}]}}
            return Response(json.dumps(fault), 400, content_type="application/json")(
                environ, start_response
            )
        return app(environ, start_response)

    sandbox_server.app = payments_refused
    try:
        run = perform_sync(request_sync(qbo).pk)
    finally:
        sandbox_server.app = app

    # Every invoice page was read, but the sync did not finish: nothing is judged.
    assert run.status == SyncRun.Status.FAILED
    assert not local_invoice(books["doomed"]).archived
