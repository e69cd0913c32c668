"""Run the demo: migrate, seed Northwind MSP, serve it with a worker beside it."""

import logging
import os
import signal
import subprocess
import sys
import threading

from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from arbridge import server
from arbridge.demo import partner as demo


class Command(BaseCommand):
    help = "Migrate, seed a demo partner, and serve it with a Huey consumer until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="0 picks a free port.")
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *, port: int, host: str, **options) -> None:
        # Nothing may reach stdout before the three lines a user (or a script) reads first.
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        web = server.bind(host, port, threads=8)
        url = f"http://{web.effective_host}:{web.effective_port}/"
        if "ARBRIDGE_BASE_URL" not in os.environ:
            # Links the app builds (portal links, the sandboxes' URLs) must point at this port.
            os.environ["ARBRIDGE_BASE_URL"] = settings.BASE_URL = url.rstrip("/")
            settings.CSRF_TRUSTED_ORIGINS = [settings.BASE_URL]
        self.stderr.write("Seeding the demo partner (first run only)…")
        login = demo.start()

        self.stdout.write(f"Dashboard: {url}")
        self.stdout.write(f"Login: {login.username} {login.password}")
        self.stdout.write(f"API key: {login.api_key}")
        for label, value in login.printed:
            self.stdout.write(f"{label}: {value}")
        self.stdout.flush()
        # Payments need the server answering, and a portal link needs the first sync.
        threading.Thread(target=self.open_payments, daemon=True).start()

        worker = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "arbridge.cli", "worker"], stdout=sys.stderr
        )
        try:
            server.run(web)
        finally:
            self.stop(worker)

    def open_payments(self) -> None:
        """Set up the sandbox processor and print a portal link a customer would get."""
        try:
            link = demo.open_payments()
        except Exception:  # the demo still serves without payments; say why on stderr
            logging.getLogger(__name__).exception("The demo could not set up payments")
            return
        finally:
            db.connection.close()
        if link:
            self.stdout.write(f"Portal link (pay as a customer): {link}")
            self.stdout.flush()

    def stop(self, worker: subprocess.Popen) -> None:
        """Stop the consumer, letting it finish the tasks it is running."""
        self.stderr.write("Stopping the worker…")
        worker.send_signal(signal.SIGINT)  # Huey's graceful shutdown
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
