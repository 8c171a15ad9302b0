"""What the server counts while it runs, in plain Python (no prometheus_client here).

:class:`ServerMetrics` holds the numbers only the moment of an event knows:

* the latency of every finished request, by method, route pattern and
  status (:class:`RequestHistogram`, fed by tornado's ``log_function``,
  where exactly one call marks the end of each request);
* the kernel events of the kernel manager's stream (``started``,
  ``restarting``, ``autorestarting``, ``restarted``, ``dead``,
  ``shutdown``);
* the contents operations announced by the contents manager (``get``,
  ``save``, ``rename``, ``copy``, ``delete``).

Everything else (kernels by state, connections, terminals, extensions) is
read from the server when ``/metrics`` is scraped (:mod:`.exposition`), so
it costs nothing between scrapes and can never drift from the truth.

Counting here rather than in prometheus_client's own metric objects keeps
prometheus_client off the start path (it is imported at the first scrape)
and keeps the per-request cost to one dict lookup and a bisection; all of it
runs on the event loop's thread, so it needs no lock.  Every label value is
from a bounded set: an HTTP method tornado knows (any other is ``other``),
a route pattern, a status code, a known event or action.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from tornado import web

from ..services.kernels.manager import KERNEL_EVENTS
from .routes import RouteLabels

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from ..bundled.contents.base import ContentsManager
    from ..services.kernels.manager import MappingKernelManager

#: Upper bounds (seconds) of the request-latency buckets: prometheus_client's
#: defaults, which jupyter_server uses, with 1 ms and 2.5 ms in front (most
#: requests here take less than 5 ms).  ``+Inf`` follows.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

#: The ``method`` label's values; any other method (tornado answers it 405) is ``other``.
METHODS = frozenset(web.RequestHandler.SUPPORTED_METHODS)

#: What ``/metrics`` answers when prometheus_client is missing.
MISSING = "Metrics need prometheus_client: pip install 'jupyter_server_lite[metrics]', then restart the server"

#: ``(method, handler, status_code)``; the status stays an int until the scrape writes it.
RequestKey = tuple[str, str, int]


class RequestHistogram:
    """Request latencies by ``(method, handler, status_code)``: a count per bucket and a sum.

    ``series[key]`` is ``[n_0, ..., n_k, n_inf, sum]``: how many requests took
    at most ``BUCKETS[i]`` seconds but more than the bound before (not
    cumulative: the exposition adds them up), then the total seconds.
    """

    __slots__ = ("series",)

    def __init__(self) -> None:
        self.series: dict[RequestKey, list[float]] = {}

    def observe(self, key: RequestKey, seconds: float) -> None:
        row = self.series.get(key)
        if row is None:
            row = self.series[key] = [0] * (len(BUCKETS) + 2)
        row[bisect_left(BUCKETS, seconds)] += 1  # the first bound >= seconds: Prometheus' "le"
        row[-1] += seconds


class ServerMetrics:
    """One server's counters (see the module docstring) and, once scraped, its registry.

    ``available`` says whether prometheus_client is installed (looked up at
    start without importing it); without it nothing is counted and
    ``/metrics`` answers 503 with :data:`MISSING`.  ``record_requests``
    (``ServerApp.record_http_request_metrics``) switches the request
    histogram off on its own.
    """

    def __init__(self, *, record_requests: bool = True) -> None:
        self.available = find_spec("prometheus_client") is not None
        self.record_requests = record_requests and self.available
        self.requests = RequestHistogram()
        self.kernel_events: dict[str, int] = dict.fromkeys(KERNEL_EVENTS, 0)
        #: By action, once a contents manager is followed: its announced actions, and ``other``.
        self.contents_operations: dict[str, int] = {}
        self._routes: RouteLabels | None = None
        self._registry: CollectorRegistry | None = None

    # -- wiring --------------------------------------------------------------------

    def follow(self, kernel_manager: MappingKernelManager, contents_manager: ContentsManager | None) -> None:
        """Count the kernel manager's events and the contents manager's announcements (a
        contents manager that is not a :class:`ContentsManager` announces nothing)."""
        if not self.available:
            return
        kernel_manager.add_kernel_listener(self.count_kernel_event)
        if contents_manager is None:
            return
        # cycle: metrics.recorder <-> bundled.contents (through extension.mount and web.application)
        from ..bundled.contents.base import ACTIONS, ContentsManager

        if isinstance(contents_manager, ContentsManager):
            self.contents_operations = dict.fromkeys((*ACTIONS, "other"), 0)
            contents_manager.add_listener(self.count_contents_operation)

    def log_function(self, log_request: Callable[[web.RequestHandler], None]) -> Callable[[web.RequestHandler], None]:
        """Tornado's ``log_function``: ``log_request`` itself when requests are not recorded,
        else a function that records the request, then logs it."""
        if not self.record_requests:
            return log_request

        def log_and_record(handler: web.RequestHandler) -> None:
            self.observe(handler)
            log_request(handler)

        return log_and_record

    # -- counting ------------------------------------------------------------------

    def observe(self, handler: web.RequestHandler) -> None:
        """Record one finished request: its method, route pattern, status and duration."""
        request = handler.request
        routes = self._routes
        if routes is None or routes.app is not handler.application:  # built on first use, for this app
            routes = self._routes = RouteLabels(handler.application)
        method = request.method if request.method in METHODS else "other"
        key = (method or "other", routes.label(handler), handler.get_status())
        self.requests.observe(key, request.request_time())

    def count_kernel_event(self, event: str, kernel_id: str) -> None:
        if event in self.kernel_events:
            self.kernel_events[event] += 1

    def count_contents_operation(self, event: dict[str, str]) -> None:
        action = event.get("action", "")
        self.contents_operations[action if action in self.contents_operations else "other"] += 1

    # -- exposition ----------------------------------------------------------------

    def registry(self, serverapp: Any) -> CollectorRegistry:
        """This server's own prometheus_client registry (never the global one), built at
        the first scrape: importing prometheus_client happens here, not at start."""
        if self._registry is None:
            # start-up cost: prometheus_client, tens of ms, paid by the first scrape
            from .exposition import build_registry

            self._registry = build_registry(serverapp, self)
        return self._registry
