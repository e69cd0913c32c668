"""The WSGI app `arbridge serve` runs: Django, static files and mounted sandboxes."""

import pytest
from django.core.management import call_command
from werkzeug.test import Client

from arbridge import server

built = []


def echo_app():
    """A stand-in vendor sandbox: answers with the path it was given."""
    built.append(1)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['SCRIPT_NAME']} {environ['PATH_INFO']}".encode()]

    return app


@pytest.fixture
def sandboxes(monkeypatch):
    monkeypatch.setitem(server.OTHER_SANDBOXES, "/sandbox/echo", "tests.core.test_server.echo_app")
    built.clear()


def test_it_mounts_each_sandbox_under_its_kind_and_builds_it_once(db, sandboxes):
    client = Client(server.build_app())
    assert built == []

    first = client.get("/sandbox/echo/v3/company/1/invoice")
    second = client.get("/sandbox/echo/oauth2/token")

    assert first.text == "/sandbox/echo /v3/company/1/invoice"
    assert second.text == "/sandbox/echo /oauth2/token"
    assert built == [1]


def test_everything_else_goes_to_django(db, sandboxes):
    client = Client(server.build_app())

    response = client.get("/login/")

    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.text


def test_production_mounts_no_sandboxes(db, sandboxes, settings):
    settings.IS_PRODUCTION = True
    client = Client(server.build_app())

    response = client.get("/sandbox/echo/v3/company/1/invoice")

    assert response.status_code == 404
    assert built == []


def test_it_serves_collected_static_files_with_debug_off(db, settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client(server.build_app())

    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_every_built_connector_s_sandbox_is_mounted_where_its_package_says(db):
    client = Client(server.build_app())

    # Xero's sandbox declares /sandbox/xero in arbridge.sandbox.xero.demo; nothing else names it.
    response = client.get("/sandbox/xero/connections", headers={"Authorization": "Bearer x"})

    assert response.status_code == 401  # the sandbox's own answer to a token it never issued
