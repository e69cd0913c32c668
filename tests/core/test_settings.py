"""Settings from the environment: production needs its keys; the embedded default makes them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

SHOW_KEYS = """
from django.conf import settings
print(settings.SECRET_KEY)
print(settings.ENCRYPTION_KEY)
print(settings.EMAIL_HOST_PASSWORD)
"""
ARBRIDGE = Path(sys.executable).with_name("arbridge")


def run(args: list, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command in a fresh process with only the given arbridge variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ARBRIDGE_")}
    clean.pop("DATABASE_URL", None)
    clean.update(DJANGO_SETTINGS_MODULE="arbridge.settings", ARBRIDGE_DATA_DIR=str(data_dir), **env)
    return subprocess.run(args, env=clean, capture_output=True, text=True, timeout=60)


def show_keys(data_dir: Path, **env: str) -> list[str]:
    result = run([sys.executable, "-c", SHOW_KEYS], data_dir, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("missing", ["ARBRIDGE_SECRET_KEY", "ARBRIDGE_ENCRYPTION_KEY"])
def test_production_without_a_key_fails_clearly(tmp_path, missing):
    keys = {"ARBRIDGE_SECRET_KEY": "s" * 50, "ARBRIDGE_ENCRYPTION_KEY": Fernet.generate_key()}
    del keys[missing]

    result = run([ARBRIDGE, "manage", "check"], tmp_path, ARBRIDGE_ENV="production", **keys)

    assert result.returncode != 0
    assert f"{missing} is required when ARBRIDGE_ENV=production" in result.stderr
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "encryption_key").exists()


def test_the_embedded_default_generates_keys_once_and_keeps_them(tmp_path):
    first = show_keys(tmp_path)
    second = show_keys(tmp_path)

    assert first == second
    secret_key, encryption_key, _ = first
    assert len(secret_key) >= 50
    assert Fernet(encryption_key).decrypt(Fernet(encryption_key).encrypt(b"token")) == b"token"
    for name in ("secret_key", "encryption_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_file_variants_are_read_and_nothing_is_generated(tmp_path):
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    encryption_key = Fernet.generate_key().decode()
    (secrets_dir / "secret").write_text("from-a-file-" + "x" * 40 + "\n")
    (secrets_dir / "fernet").write_text(encryption_key + "\n")
    (secrets_dir / "smtp").write_text("smtp-password\n")
    data_dir = tmp_path / "data"

    keys = show_keys(
        data_dir,
        ARBRIDGE_ENV="production",
        ARBRIDGE_SECRET_KEY_FILE=str(secrets_dir / "secret"),
        ARBRIDGE_ENCRYPTION_KEY_FILE=str(secrets_dir / "fernet"),
        ARBRIDGE_EMAIL_PASSWORD_FILE=str(secrets_dir / "smtp"),
    )

    assert keys == ["from-a-file-" + "x" * 40, encryption_key, "smtp-password"]
    assert not (data_dir / "secret_key").exists()
