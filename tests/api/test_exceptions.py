from arbridge.integrations.models import ExceptionItem


def test_it_lists_exceptions_filtered(api_client, partner, connection):
    conflict = ExceptionItem.objects.create(
        partner=partner, connection=connection, kind="conflict", title="INV-7 differs"
    )
    resolved = ExceptionItem.objects.create(
        partner=partner, kind="other", title="Old", status=ExceptionItem.Status.RESOLVED
    )

    def ids(query: str = "") -> list[int]:
        return [e["id"] for e in api_client.get(f"/api/v1/exceptions{query}").json()["items"]]

    assert ids() == [resolved.id, conflict.id]
    assert ids("?status=open") == [conflict.id]
    assert ids("?kind=other") == [resolved.id]
    assert ids(f"?connection={connection.id}") == [conflict.id]


def test_it_gets_an_exception_with_its_raw_record(api_client, partner, connection):
    item = ExceptionItem.objects.create(
        partner=partner,
        connection=connection,
        kind=ExceptionItem.Kind.MALFORMED_RECORD,
        title="Invoice without a date",
        reason="TxnDate is missing",
        raw_payload='{"Id": "42"}',
        entity="invoice",
        remote_id="42",
    )

    body = api_client.get(f"/api/v1/exceptions/{item.id}").json()

    assert body["kind"] == "malformed_record"
    assert body["raw_payload"] == '{"Id": "42"}'
    assert body["remote_id"] == "42"
    assert body["connection"]["id"] == connection.id
    assert body["resolved_at"] is None
