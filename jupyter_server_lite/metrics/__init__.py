"""Prometheus metrics: ``GET /metrics`` (see docs/metrics.md).

Three parts, so that metrics cost nothing at start and next to nothing per
request:

* :mod:`.recorder` -- :class:`ServerMetrics`, the counting done while the
  server runs, in plain Python: request latencies (from tornado's
  ``log_function``), kernel events, contents operations;
* :mod:`.exposition` -- imported at the first scrape, with
  prometheus_client: a registry per server whose collector turns those
  counts, and what the server holds at that moment (kernels, connections,
  terminals, extensions), into metric families;
* :mod:`.handler` -- the route, authenticated unless
  ``ServerApp.authenticate_prometheus`` is false, and a JSON 503 naming the
  ``[metrics]`` extra when prometheus_client is not installed.

At start the server only looks prometheus_client up
(``importlib.util.find_spec``, no import); when it is missing nothing is
counted and the server starts as usual.
"""

from __future__ import annotations

from .recorder import ServerMetrics

__all__ = ["ServerMetrics"]
