import pytest
from authlib.oauth2.rfc6749 import OAuth2Token
from django.db import connection as db
from django.db import transaction

from arbridge.core.models import Connection
from arbridge.integrations.models import SyncRun
from arbridge.integrations.tasks import perform_sync, request_sync
from arbridge.integrations.tokens import ConnectionTokenStore
from arbridge.sandbox.qbo.app import CLIENT_ID


def raw_credentials(connection: Connection) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM core_connection WHERE id = %s", [connection.pk])
        return cursor.fetchone()[0]


def test_the_token_is_stored_encrypted(qbo):
    token = qbo.credentials["token"]

    raw = raw_credentials(qbo)

    assert token["access_token"] not in raw
    assert token["refresh_token"] not in raw
    assert "access_token" not in raw


def test_an_expired_token_is_refreshed_and_the_rotated_one_kept(partner, company, sync):
    token = dict(OAuth2Token(company.sandbox.store.auth.issue(company.realm, CLIENT_ID)))
    qbo = Connection.objects.create(
        partner=partner,
        kind="qbo",
        status=Connection.Status.CONNECTED,
        remote_account=company.realm,
        credentials={"token": token},
    )
    company.invoice(company.customer("Globex"), "10.00")
    company.sandbox.store.auth.expire_access_tokens()  # QuickBooks ends the hour early

    sync(qbo)

    qbo.refresh_from_db()
    kept = qbo.credentials["token"]
    assert kept["access_token"] != token["access_token"]
    assert kept["refresh_token"] != token["refresh_token"]
    assert company.sandbox.store.auth.realm_of(kept["access_token"]) == company.realm
    assert kept["refresh_token"] not in raw_credentials(qbo)


def test_a_token_is_saved_in_a_transaction_of_its_own(qbo):
    # Inside another transaction, a rollback could lose a token the vendor has
    # already rotated the last one away for; the store refuses rather than risk it.
    store = ConnectionTokenStore(qbo.pk)

    with transaction.atomic(), pytest.raises(RuntimeError):
        store.save({"access_token": "new", "refresh_token": "newer"})

    store.save({"access_token": "new", "refresh_token": "newer"})
    assert store.load() == {"access_token": "new", "refresh_token": "newer"}


def test_a_refused_refresh_puts_the_connection_in_error_with_a_reason(partner, company):
    token = dict(OAuth2Token(company.sandbox.store.auth.issue(company.realm, CLIENT_ID)))
    qbo = Connection.objects.create(
        partner=partner,
        kind="qbo",
        status=Connection.Status.CONNECTED,
        remote_account=company.realm,
        credentials={"token": token},
    )
    # The company's admin disconnects arbridge in QuickBooks: the grant ends.
    company.sandbox.store.auth.revoke(CLIENT_ID, token["refresh_token"])

    run = perform_sync(request_sync(qbo).pk)

    assert run.status == SyncRun.Status.FAILED
    qbo.refresh_from_db()
    assert qbo.status == Connection.Status.ERROR
    assert "invalid_grant" in qbo.status_detail
    assert qbo.status_detail.endswith("Reconnect to resume syncing and write-back.")
