"""The DataGate sandbox's web face: the account's export files, to download and upload in arbridge.

DataGate hands its partners invoice exports as files; this app serves a
seeded account's, as a partner would download them from DataGate:

    GET /exports/                   the files, one link each
    GET /exports/<name>.csv         one file (text/csv, an attachment)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response


@dataclass
class ExportSandbox:
    """A WSGI app serving named export files."""

    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.urls = Map(
            [Rule("/exports/", endpoint="index"), Rule("/exports/<name>", endpoint="file")]
        )

    def __call__(self, environ, start_response):
        try:
            endpoint, args = self.urls.bind_to_environ(environ).match()
        except NotFound as e:
            return e(environ, start_response)
        if endpoint == "index":
            links = "".join(f'<li><a href="{escape(n)}">{escape(n)}</a></li>' for n in self.files)
            response = Response(f"<h1>DataGate exports</h1><ul>{links}</ul>", mimetype="text/html")
        elif (data := self.files.get(args["name"])) is None:
            response = Response("No such export.", status=404)
        else:
            response = Response(data, mimetype="text/csv")
            response.headers["Content-Disposition"] = f'attachment; filename="{args["name"]}"'
        return response(environ, start_response)
