import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from arbridge.core import crypto
from arbridge.core.models import Connection

SECRET = {"access_token": "tok-live-7f3a9c", "refresh_token": "ref-live-51be02"}


def raw_credentials(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM core_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    """Switch to a fresh encryption key; yield a function that switches again."""

    def use(value: str) -> None:
        settings.ENCRYPTION_KEY = value
        crypto.fernet.cache_clear()

    yield use
    crypto.fernet.cache_clear()


def test_the_database_holds_ciphertext_only(partner):
    saved = Connection.objects.create(partner=partner, kind="qbo", credentials=SECRET)

    raw = raw_credentials(saved.pk)
    for value in ("tok-live-7f3a9c", "ref-live-51be02", "access_token"):
        assert value not in raw
    assert json.loads(crypto.decrypt(raw)) == SECRET
    assert Connection.objects.get(pk=saved.pk).credentials == SECRET


def test_the_same_secret_encrypts_differently_each_time(partner):
    first = Connection.objects.create(partner=partner, kind="qbo", credentials=SECRET)
    second = Connection.objects.create(partner=partner, kind="xero", credentials=SECRET)

    assert raw_credentials(first.pk) != raw_credentials(second.pk)


def test_an_old_key_still_decrypts_after_rotation(partner, keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys(old)
    saved = Connection.objects.create(partner=partner, kind="qbo", credentials=SECRET)

    keys(f"{new},{old}")
    assert Connection.objects.get(pk=saved.pk).credentials == SECRET

    keys(new)
    with pytest.raises(InvalidToken):
        Connection.objects.get(pk=saved.pk)
