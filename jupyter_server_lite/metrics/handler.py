"""``GET /metrics``: the server's Prometheus metrics, a core route.

Authenticated like every route (``Authorization: token`` or ``Bearer``, or
the login cookie): an anonymous scrape is a JSON 403 unless
``ServerApp.authenticate_prometheus`` is false, jupyter_server's switch for
a scraper that cannot send a token.  Then an anonymous ``GET`` is served
(the Host check still applies); nothing else about the route changes.

Without prometheus_client the server starts and serves as usual and this
route answers a JSON 503 naming the ``[metrics]`` extra.
"""

from __future__ import annotations

from tornado import web

from ..web.handlers import APIHandler
from .recorder import MISSING


class MetricsHandler(APIHandler):
    """The scrape: the Prometheus text format (or OpenMetrics, if the ``Accept`` header asks)."""

    def refuse_anonymous(self) -> None:
        if self.request.method == "GET" and not self.serverapp.authenticate_prometheus:
            return  # ServerApp.authenticate_prometheus = False: an anonymous scraper may read
        super().refuse_anonymous()

    def get(self) -> None:
        metrics = self.serverapp.metrics
        if not metrics.available:
            raise web.HTTPError(503, MISSING)
        try:
            registry = metrics.registry(self.serverapp)
        except ImportError as err:  # installed, but broken
            raise web.HTTPError(503, f"{MISSING} (importing prometheus_client failed: {err})") from err
        from .exposition import render  # start-up cost: prometheus_client (imported by registry() already)

        body, content_type = render(registry, self.request.headers.get("Accept"))
        self.set_header("Content-Type", content_type)
        self.finish(body)


default_handlers = [(r"/metrics", MetricsHandler)]
