"""Encryption at rest for credentials and tokens (Fernet, keyed by ARBRIDGE_ENCRYPTION_KEY)."""

import json
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@cache
def fernet() -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    keys = [k.strip() for k in settings.ENCRYPTION_KEY.split(",") if k.strip()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


class EncryptedJSONField(models.TextField):
    """A JSON value stored encrypted; the database only ever sees ciphertext."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict | list) or value is None:
            return value
        return json.loads(decrypt(value))

    def get_prep_value(self, value):
        return encrypt(json.dumps(value if value is not None else {}))
