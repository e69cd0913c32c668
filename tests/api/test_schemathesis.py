"""Fuzz every operation in the OpenAPI document with schemathesis' checks.

All of them run: no 5xx; status codes, content types and bodies as documented;
malformed input refused; wrong methods 405; requests without the key 401.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from arbridge.api.models import IdempotentRequest

# Loaded at collection, as schemathesis parametrizes by operation; the document
# reads no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
schema.config.generation.update(max_examples=15)
# A cursor is opaque: one that fits the schema but that the API never issued is a
# 400, not a schema-valid request wrongly refused.
accepted = schema.config.checks.positive_data_acceptance
accepted.expected_statuses = [*accepted.expected_statuses, "400"]


@pytest.fixture
def rows(own_rows, outsider_rows):
    """Seed both partners' rows, and keep the test's transaction open across requests."""
    # The WSGI handler closes the connection after each request, which would end the
    # transaction the test runs in; Django's test client disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, rows, api_key):
    # Generated cases reuse keys ("0") with other bodies, which is rightly a 422:
    # each case starts with no key held (tests/api/test_idempotency.py tries reuse).
    IdempotentRequest.objects.all().delete()
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
