"""The web server: Django, its static files and the vendor sandboxes in one WSGI app.

`arbridge serve` and `arbridge demo` run this app under waitress. Paths under
/sandbox/<kind>/ go to that vendor's simulator, a framework-free WSGI app
built on its first request; everything else goes to Django, whose static
files WhiteNoise serves. Production (ARBRIDGE_ENV=production) mounts no
sandboxes; other WSGI servers can serve plain Django from arbridge.wsgi.
"""

import signal
import threading
from collections.abc import Callable, Iterable
from functools import partial

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import reverse
from django.utils.module_loading import import_string
from waitress.server import BaseWSGIServer, create_server
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from arbridge.integrations import registry
from arbridge.integrations.vendors import vendor_app

# Sandboxes that are not a connector's: mount point -> dotted path of a WSGI app factory.
OTHER_SANDBOXES: dict[str, str] = {
    "/sandbox/processor": "arbridge.sandbox.processor.create_app",
}


def connector_sandbox(kind: str):
    """Return the kind's sandbox, sending app-wide webhooks to arbridge's URL for the kind."""
    demo = registry.sandbox_demo(kind)
    app_wide = registry.load(kind).capabilities.webhooks == "app"
    url = settings.BASE_URL + reverse("webhook", args=[kind]) if app_wide else None
    return demo.sandbox(webhook_url=url, webhook_key=vendor_app(kind).webhook_key)


def sandboxes() -> dict[str, Callable[[], object]]:
    """Return every sandbox by mount point: each built connector's that declares one, and others."""
    mounts: dict[str, Callable[[], object]] = {
        mount: partial(_call, path) for mount, path in OTHER_SANDBOXES.items()
    }
    for kind in registry.built():
        if (demo := registry.sandbox_demo(kind)) is not None:
            mounts[demo.MOUNT] = partial(connector_sandbox, kind)
    return mounts


def _call(path: str):
    return import_string(path)()


class LazyApp:
    """A WSGI app imported and built on its first request, once, whatever the threads."""

    def __init__(self, factory: Callable[[], object]):
        self.factory = factory
        self.app = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if self.app is None:
            with self.lock:
                if self.app is None:
                    self.app = self.factory()
        return self.app(environ, start_response)


def build_app(mounted: dict[str, Callable[[], object]] | None = None):
    """Return Django with the sandboxes mounted beside it (none in production)."""
    if mounted is None:
        mounted = {} if settings.IS_PRODUCTION else sandboxes()
    mounts = {mount: LazyApp(factory) for mount, factory in mounted.items()}
    return DispatcherMiddleware(get_wsgi_application(), mounts)


def bind(host: str, port: int, threads: int) -> BaseWSGIServer:
    """Return a waitress server listening on host:port (port 0 picks a free one)."""
    return create_server(build_app(), host=host, port=port, threads=threads, ident="arbridge")


def run(server: BaseWSGIServer) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the listening socket."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # waitress stops cleanly on KeyboardInterrupt; a service manager sends SIGTERM.
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
