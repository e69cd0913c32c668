"""The `arbridge` console script.

arbridge demo [--port N]     migrate, seed a demo partner, serve it with a worker
arbridge serve [--port N]    the web server (dashboard, portal, API, webhooks)
arbridge worker              a Huey consumer
arbridge createpartner ...   a partner and its owner
arbridge manage ...          any Django management command
"""

import os
import sys

from django.core.management import execute_from_command_line

# Sub-commands that are Django management commands under another name.
ALIASES = {"worker": "run_huey"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arbridge.settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    if argv[0] == "manage":
        execute_from_command_line(["arbridge manage", *argv[1:]])
        return
    execute_from_command_line(["arbridge", ALIASES.get(argv[0], argv[0]), *argv[1:]])


if __name__ == "__main__":
    main()
