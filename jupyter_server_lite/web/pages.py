"""``/``: the way in -- a frontend's landing page when there is one, else the core's page."""

from __future__ import annotations

from .handlers import JupyterHandler, url_path_join


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
        self.finish(self.render_template("index.html", extension_links=app.extension_links()))


default_handlers = [(r"/?", LandingHandler)]
