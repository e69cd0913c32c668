import json

import httpx
import pytest
import time_machine

from arbridge.connectors.base import AuthError, PermanentError, RetryableError
from arbridge.connectors.http import raise_for_status, request
from arbridge.connectors.ratelimit import InProcessLimiter, Limits

QBO_FAULT = {
    "Fault": {
        "Error": [
            {
                "Message": "Duplicate Document Number Error",
                "Detail": "Duplicate Document Number Error : You must specify a different number.",
                "code": "6140",
            }
        ],
        "type": "ValidationFault",
    }
}


class Vendor:
    """A vendor that answers with the queued responses, then 200s, and counts calls."""

    def __init__(self, *responses: tuple[int, dict[str, str], bytes]) -> None:
        self.responses = list(responses)
        self.calls: list[str] = []

    def __call__(self, environ, start_response):
        self.calls.append(environ["REQUEST_METHOD"])
        status, headers, body = self.responses.pop(0) if self.responses else (200, {}, b"{}")
        reason = httpx.codes.get_reason_phrase(status)
        start_response(f"{status} {reason}", list(headers.items()))
        return [body]

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.WSGITransport(app=self), base_url="https://vendor.test")


def respond(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Vendor:
    return Vendor((status, headers or {}, body))


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "retry_after"),
    [
        (429, {"Retry-After": "30"}, b"", RetryableError, 30),
        (429, {}, b"", RetryableError, None),
        (429, {"Retry-After": "Tue, 03 Mar 2026 12:02:00 GMT"}, b"", RetryableError, 120),
        (429, {"Retry-After": "Tue, 03 Mar 2026 11:00:00 GMT"}, b"", RetryableError, 0),
        (429, {"Retry-After": "soon"}, b"", RetryableError, None),
        (500, {}, b"", RetryableError, None),
        (503, {"Retry-After": "5"}, b"", RetryableError, 5),
        (401, {}, b'{"error": "invalid_token"}', AuthError, None),
        (403, {}, b"", PermanentError, None),
        (400, {}, json.dumps(QBO_FAULT).encode(), PermanentError, None),
        (404, {}, b"", PermanentError, None),
    ],
)
@time_machine.travel("2026-03-03 12:00:00Z", tick=False)
def test_it_maps_each_failure_to_one_error(status, headers, body, error, retry_after):
    response = respond(status, headers, body).client().get("/v3/company/1/invoice/7")
    with pytest.raises(error) as caught:
        raise_for_status(response)
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after


def test_a_success_is_no_error():
    raise_for_status(respond(204).client().delete("/invoices/7"))


def test_the_error_carries_the_vendors_own_words():
    vendor = respond(400, {"Content-Type": "application/json"}, json.dumps(QBO_FAULT).encode())
    with pytest.raises(PermanentError) as caught:
        raise_for_status(vendor.client().post("/v3/company/1/payment"))
    assert str(caught.value) == (
        "400 Bad Request: Duplicate Document Number Error; Duplicate Document Number Error :"
        " You must specify a different number."
    )


def test_a_plain_text_error_is_quoted_as_sent():
    vendor = respond(404, {"Content-Type": "text/plain"}, b"No company with that id")
    with pytest.raises(PermanentError, match="404 Not Found: No company with that id"):
        raise_for_status(vendor.client().get("/v3/company/9"))


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
def test_no_response_is_retryable(exc):
    def unreachable(request):
        raise exc

    client = httpx.Client(transport=httpx.MockTransport(unreachable))
    with pytest.raises(RetryableError) as caught:
        request(client, "GET", "https://vendor.test/invoices", retries=0)
    assert caught.value.__cause__ is exc


def test_a_url_of_no_http_kind_is_permanent():
    with pytest.raises(PermanentError, match="cannot reach the vendor"):
        request(httpx.Client(), "GET", "ftp://vendor.test/invoices")


# -- retries -----------------------------------------------------------------


def test_it_retries_until_the_vendor_answers():
    vendor = Vendor((503, {}, b""), (502, {}, b""))
    slept: list[float] = []
    response = request(vendor.client(), "GET", "/invoices", retries=3, sleep=slept.append)
    assert response.status_code == 200
    assert vendor.calls == ["GET"] * 3
    assert len(slept) == 2


def test_retries_stop_at_the_bound():
    vendor = Vendor(*[(503, {}, b"")] * 10)
    slept: list[float] = []
    with pytest.raises(RetryableError, match="503 Service Unavailable"):
        request(vendor.client(), "GET", "/invoices", retries=3, sleep=slept.append)
    assert len(vendor.calls) == 4
    # Exponential backoff with full jitter: 0.5 s, 1 s, 2 s at most.
    assert len(slept) == 3
    assert all(0 <= wait <= 0.5 * 2**n for n, wait in enumerate(slept))


def test_it_waits_as_long_as_retry_after_asks():
    vendor = Vendor((429, {"Retry-After": "7"}, b""))
    slept: list[float] = []
    request(vendor.client(), "GET", "/invoices", sleep=slept.append)
    assert len(slept) == 1
    assert 7 <= slept[0] <= 8


def test_a_retry_after_beyond_max_delay_is_left_to_the_job():
    vendor = Vendor((429, {"Retry-After": "3600"}, b""))
    slept: list[float] = []
    with pytest.raises(RetryableError) as caught:
        request(vendor.client(), "GET", "/invoices", max_delay=60, sleep=slept.append)
    assert caught.value.retry_after == 3600
    assert slept == []
    assert len(vendor.calls) == 1


def test_a_permanent_error_is_not_retried():
    vendor = Vendor((400, {}, b""), (400, {}, b""))
    with pytest.raises(PermanentError):
        request(vendor.client(), "GET", "/invoices", sleep=pytest.fail)
    assert len(vendor.calls) == 1


def test_a_post_the_vendor_may_have_acted_on_is_not_resent():
    vendor = Vendor((502, {}, b""))
    with pytest.raises(RetryableError):
        request(vendor.client(), "POST", "/payments", json={}, sleep=lambda s: None)
    assert vendor.calls == ["POST"]


def test_a_post_with_an_idempotency_key_is_resent():
    vendor = Vendor((502, {}, b""))
    response = request(
        vendor.client(),
        "POST",
        "/v3/company/1/payment",
        params={"requestid": "pay-42"},
        idempotent=True,
        sleep=lambda s: None,
    )
    assert response.status_code == 200
    assert vendor.calls == ["POST", "POST"]


def test_a_post_the_vendor_refused_unread_is_resent():
    vendor = Vendor((429, {"Retry-After": "1"}, b""))
    response = request(vendor.client(), "POST", "/payments", json={}, sleep=lambda s: None)
    assert response.status_code == 200
    assert vendor.calls == ["POST", "POST"]


def test_a_post_that_never_connected_is_resent():
    attempts = []

    def flaky(request):
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201)

    client = httpx.Client(transport=httpx.MockTransport(flaky))
    response = request(client, "POST", "https://vendor.test/payments", sleep=lambda s: None)
    assert response.status_code == 201
    assert len(attempts) == 2


def test_each_attempt_waits_for_the_rate_limiter(clock):
    vendor = Vendor((503, {}, b""))
    limiter = InProcessLimiter(Limits(1, 60), clock=clock, sleep=clock.sleep)
    response = request(
        vendor.client(), "GET", "/invoices", limiter=limiter, key="qbo:1", sleep=clock.sleep
    )
    assert response.status_code == 200
    # One backoff from request(), then the limiter's wait for the window to free.
    assert len(clock.slept) == 2
    assert sum(clock.slept) == pytest.approx(60)
