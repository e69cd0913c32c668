"""A real HTTP server on 127.0.0.1 for the outer edge: vendor sandboxes and processors."""

import threading

from werkzeug.serving import make_server


class Loopback:
    """Serve whichever WSGI app is current (`app`) over HTTP on a free loopback port.

    Session fixtures keep one server; each test sets a fresh app on it.
    """

    def __init__(self) -> None:
        self.app = None
        self.server = make_server("127.0.0.1", 0, self.dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
