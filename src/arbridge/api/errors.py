"""Errors: every failure the API answers is {"error": {"code": ..., "message": ...}}.

The code is stable and meant for programs; the message is for people and may
change. Ninja's own handlers (validation, 404, auth) are replaced here, and the
plain-text answers Django and ninja give outside an operation (405, unknown
paths) are rewritten in urls.py.
"""

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger(__name__)

# The code for each status when the raiser gave none.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


class ErrorDetail(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorDetail


class ApiError(HttpError):
    """An error with its own stable code, e.g. ApiError(409, "not_connected", "...")."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code, message)
        self.code = code


def error_response(status: int, message: str, code: str | None = None) -> JsonResponse:
    """Return the API's JSON error for a status."""
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    return JsonResponse(body, status=status)


def responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Return the error part of an operation's `response=` for the OpenAPI document."""
    return dict.fromkeys(statuses, ErrorOut)


def describe_validation_errors(errors: list[dict]) -> str:
    """Return ninja's validation errors as one line: "query.limit: Input should be ..."."""
    parts = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts) or "Invalid request."


def install_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default exception handlers with ones giving the JSON error."""

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = getattr(exc, "code", None)
        if isinstance(exc, AuthenticationError):
            response = error_response(
                401, "A valid API key is required: Authorization: Bearer <key>."
            )
            response["WWW-Authenticate"] = "Bearer"
            return response
        return error_response(exc.status_code, exc.message, code)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "Not found.")

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(422, describe_validation_errors(exc.errors))

    def on_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error.")

    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(Exception, on_exception)
