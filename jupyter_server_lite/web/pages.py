"""The core's own landing page."""

from __future__ import annotations

from .handlers import JupyterHandler


class LandingHandler(JupyterHandler):
    """``/``: what this server is and where its APIs are."""

    def get(self) -> None:
        app = self.serverapp
        self.finish(self.render_template("index.html", extension_links=app.extension_links()))


default_handlers = [(r"/?", LandingHandler)]
