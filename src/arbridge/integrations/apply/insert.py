"""Insert many new rows fast, for an initial sync's thousands of invoices.

Django's bulk_create builds a model instance per row and prepares every value
through its field, which costs several times the insert itself. The rows a
sync creates hold plain values, already checked and quantized, so only dates
and times need the backend's adaptation; everything else goes to the driver
as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models

# Fields whose values the drivers take as they are (decimals: Django's own
# adaptation is the identity; SQLite stores them through its Decimal adapter).
PLAIN = (
    models.BooleanField,
    models.CharField,
    models.DecimalField,
    models.ForeignKey,
    models.IntegerField,
    models.TextField,
)


STATEMENT_SIZE = 3500  # characters of VALUES per statement


def adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """Return how to turn a field's value into a driver's parameter (None: as it is)."""
    # A batch stamps its rows with one moment, and invoices share dates: each
    # value is adapted once per statement batch.
    if isinstance(field, models.DateTimeField):
        return lru_cache(maxsize=256)(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return lru_cache(maxsize=256)(connection.ops.adapt_datefield_value)
    if isinstance(field, PLAIN):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows (attname -> value) of one model; return their new ids, in order.

    A field a row leaves out takes its default, evaluated once for all rows.
    """
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    adapters = [(f.attname, adapter(f)) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # SQLite builds may refuse more than 999 parameters, and psycopg parses a
    # statement's placeholders again on every call unless it is short enough
    # to cache (4 KB): a few dozen rows per statement suit both.
    max_params = connection.features.max_query_params or 65535
    per_statement = max(1, min(max_params // len(fields), STATEMENT_SIZE // len(placeholder)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = []
            for row in chunk:
                for attname, adapt in adapters:
                    value = row.get(attname, defaults[attname])
                    params.append(value if adapt is None or value is None else adapt(value))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([placeholder] * len(chunk))} "
                f"RETURNING {quote(model._meta.pk.column)}",
                params,
            )
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def insert_objects(objects: Sequence[models.Model]) -> None:
    """Insert new model instances of one model and give them their ids."""
    if not objects:
        return
    ids = insert(type(objects[0]), [vars(obj) for obj in objects])
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
