"""The `arbridge` console script."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arbridge.settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    from django.core.management import execute_from_command_line

    if argv[:1] == ["manage"]:
        execute_from_command_line(["arbridge manage", *argv[1:]])
    else:
        execute_from_command_line(["arbridge", *argv])


if __name__ == "__main__":
    main()
