"""Serve the web app (dashboard, portal, API, webhooks) with waitress."""

import os

from django.core.management.base import BaseCommand

from arbridge import server


class Command(BaseCommand):
    help = "Serve the dashboard, portal, API and webhooks with waitress."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.getenv("ARBRIDGE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.getenv("ARBRIDGE_PORT", "8000")))
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.getenv("ARBRIDGE_WEB_THREADS", "8")),
            help="Requests served at once (default: ARBRIDGE_WEB_THREADS or 8).",
        )

    def handle(self, *, host: str, port: int, threads: int, **options) -> None:
        web = server.bind(host, port, threads)
        self.stdout.write(f"Serving on http://{web.effective_host}:{web.effective_port}/")
        self.stdout.flush()
        server.run(web)
