from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, path, re_path

from arbridge.api import figures  # noqa: F401  (adds the /figures operations to `api`)
from arbridge.api.errors import error_response
from arbridge.api.idempotency import idempotent
from arbridge.api.views import api


def json_405(view):
    """Give ninja's plain-text 405 (a method a path does not take) the JSON error shape."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(405, f"{request.method} is not allowed here; use {allowed}.")
            response["Allow"] = allowed
        return response

    return wrapped


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return error_response(404, f"No API endpoint at {request.path}.")


api_patterns, api_app_name, api_namespace = api.urls
for pattern in api_patterns:
    if isinstance(pattern, URLPattern):
        pattern.callback = json_405(idempotent(pattern.callback))

urlpatterns = [
    path("", (api_patterns, api_app_name, api_namespace)),
    # Anything else under /api/v1/ answers in JSON too, not with Django's HTML 404.
    re_path(r"^(?P<rest>.*)$", not_found),
]
