"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live_server.

They skip, saying why, only where /usr/bin/chromium is missing
(`apt-get install chromium` provides it).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

# Playwright's sync API runs an event loop in the test's thread, so Django
# would refuse the ORM calls the tests make to set up their rows.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; install it with `apt-get install chromium`")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # A common laptop screen.
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}}
