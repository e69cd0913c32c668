"""The web server: Django, its static files and the vendor sandboxes in one WSGI app.

`arbridge serve` and `arbridge demo` run this app under waitress. Paths under
/sandbox/<kind>/ go to that vendor's simulator, a framework-free WSGI app
built on its first request; everything else goes to Django, whose static
files WhiteNoise serves. Production (ARBRIDGE_ENV=production) mounts no
sandboxes; other WSGI servers can serve plain Django from arbridge.wsgi.
"""

import signal
import threading
from collections.abc import Iterable

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string
from waitress.server import BaseWSGIServer, create_server
from werkzeug.middleware.dispatcher import DispatcherMiddleware

# Vendor sandboxes: kind -> dotted path of a factory that returns a WSGI app.
SANDBOXES: dict[str, str] = {
    "qbo": "arbridge.integrations.qbo_demo.sandbox",
    "halopsa": "arbridge.integrations.psa_demo.halopsa_sandbox",
    "connectwise": "arbridge.integrations.psa_demo.connectwise_sandbox",
    "autotask": "arbridge.integrations.psa_demo.autotask_sandbox",
    "processor": "arbridge.payments.processors.sandbox.demo_app",
}


class LazyApp:
    """A WSGI app imported and built on its first request, once, whatever the threads."""

    def __init__(self, factory_path: str):
        self.factory_path = factory_path
        self.app = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if self.app is None:
            with self.lock:
                if self.app is None:
                    self.app = import_string(self.factory_path)()
        return self.app(environ, start_response)


def build_app(sandboxes: dict[str, str] | None = None):
    """Return Django with the sandboxes mounted beside it (none in production)."""
    if sandboxes is None:
        sandboxes = {} if settings.IS_PRODUCTION else SANDBOXES
    mounts = {f"/sandbox/{kind}": LazyApp(path) for kind, path in sandboxes.items()}
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
