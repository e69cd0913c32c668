"""Assert that card and bank account numbers reached arbridge nowhere.

Numbers are typed on the processor's own page; arbridge must only ever see
tokens. These helpers look in every table of arbridge's database (sessions
decoded, since their data is encoded) and in the requests a browser sent.
"""

import re

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def spellings(number: str) -> set[str]:
    """The ways a number may be written: as typed, bare digits, in groups of four."""
    bare = digits(number)
    grouped = " ".join(bare[i : i + 4] for i in range(0, len(bare), 4))
    return {number, bare, grouped, grouped.replace(" ", "-")}


def found_in(text: str, numbers: tuple[str, ...]) -> list[str]:
    return [s for n in numbers for s in spellings(n) if s in text]


def assert_nowhere_in_database(*numbers: str) -> None:
    """Fail if any row of any table (or any session) holds one of the numbers."""
    leaks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # Table names come from the database itself.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                if hits := found_in(" ".join(map(str, row)), numbers):
                    leaks.append((table, hits))
    for session in Session.objects.all():
        if hits := found_in(str(SessionStore().decode(session.session_data)), numbers):
            leaks.append(("session", hits))
    assert leaks == [], f"card or account numbers stored: {leaks}"


def assert_not_sent(requests: list[tuple[str, str]], *numbers: str) -> None:
    """Fail if any (url, body) a browser sent to arbridge carries one of the numbers."""
    leaks = [url for url, body in requests if found_in(f"{url} {body}", numbers)]
    assert leaks == [], f"card or account numbers sent to arbridge: {leaks}"
