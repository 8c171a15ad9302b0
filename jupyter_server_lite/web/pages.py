"""``/``: the way in -- a frontend's landing page when there is one, else the core's page.

Also ``/static/favicons/``: the icons Jupyter frontends ask for by that path
(Notebook 7's scripts hard-code ``static/favicons/favicon-notebook.ico`` and
the busy icon), served from the core's static folder as jupyter_server does.
"""

from __future__ import annotations

import os

from .handlers import JupyterHandler, StaticHandler, url_path_join

FAVICONS_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "favicons")


class LandingHandler(JupyterHandler):
    """``/``: redirects to ``ServerApp.default_url`` when that is another page, else the core's page.

    ``default_url`` is what the user configured, or else the landing page of
    the starter or of the loaded frontend with the highest
    ``frontend_priority`` (see ``extension/manager.py``); ``/`` when none of
    these, which shows what this server is and where its APIs are.  The
    query string goes along with the redirect, as jupyter_server does.
    """

    def get(self) -> None:
        app = self.serverapp
        target = app.default_url
        if target.strip("/"):
            url = url_path_join(self.base_url, target)
            self.redirect(f"{url}?{self.request.query}" if self.request.query else url)
            return
        not_installed = [
            (record.name, record.missing_assets)
            for record in app.extension_manager.records
            if record.state == "loaded" and record.missing_assets
        ]
        self.finish(
            self.render_template("index.html", extension_links=app.extension_links(), not_installed=not_installed)
        )


default_handlers: list[tuple[str, type] | tuple[str, type, dict[str, str]]] = [
    (r"/?", LandingHandler),
    (r"/static/favicons/(.*)", StaticHandler, {"path": FAVICONS_PATH}),
]
