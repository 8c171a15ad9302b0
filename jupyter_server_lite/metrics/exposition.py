"""The ``/metrics`` answer: one server's numbers in the Prometheus text format.

Imported at the first scrape, never at start: it imports prometheus_client
(about 12 ms on the project's machine, more under load; see
docs/benchmarks.md).  :func:`build_registry` gives
each server a registry of its own -- two servers in one process (a test
suite, a program serving two) never share a counter -- holding

* :class:`ServerCollector`: what :class:`~.recorder.ServerMetrics` counted
  (requests, kernel events, contents operations) and what the server holds
  at the moment of the scrape (kernels by type and state, websocket
  connections, terminals, extensions, activity), read then and there;
* prometheus_client's process, platform and garbage-collector collectors
  (``process_resident_memory_bytes``...), which jupyter_server's global
  registry has too.

Metric and label names are jupyter_server's where the concept is the same
(``http_request_duration_seconds``, ``kernel_currently_running_total``,
``terminal_currently_running_total``, ``jupyter_server_info``,
``jupyter_server_extension_info``, the three activity gauges), so existing
dashboards keep working; the others start with ``jupyter_server_``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.utils import floatToGoString

from .._version import __version__
from .recorder import BUCKETS

if TYPE_CHECKING:
    from ..serverapp import ServerApp
    from .recorder import ServerMetrics

#: The ``execution_state`` values always reported (0 when no kernel is in it); a kernel
#: reporting anything else counts as ``other``.
KERNEL_STATES = ("starting", "idle", "busy", "restarting", "autorestarting", "dead")

_LE = [floatToGoString(bound) for bound in BUCKETS]  # as prometheus_client writes "le"


def build_registry(serverapp: ServerApp, metrics: ServerMetrics) -> CollectorRegistry:
    """A registry of its own for ``serverapp``: its collector, then the process-wide ones."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(serverapp, metrics))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The scrape's body and content type: the OpenMetrics format if ``accept`` asks for
    it (as Prometheus does), else the Prometheus text format 0.0.4."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class ServerCollector:
    """Reads one server at scrape time (see the module docstring).

    It reads ``serverapp.kernel_manager``, ``extension_manager``,
    ``activity`` and the provider of the ``terminals`` service, and the
    counters of ``metrics``; it changes nothing.
    """

    def __init__(self, serverapp: ServerApp, metrics: ServerMetrics) -> None:
        self.serverapp = serverapp
        self.metrics = metrics
        #: Kernelspec names a scrape has seen running: reported, at 0 if need be, from then on
        #: (as jupyter_server's gauge keeps its labels), without reading every kernelspec.
        self._kernel_types: set[str] = set()

    def collect(self) -> Iterator[Metric]:
        yield from self._server()
        yield self._requests()
        yield from self._kernels()
        yield from self._terminals()
        yield from self._extensions()
        if self.metrics.contents_operations:
            contents = CounterMetricFamily(
                "jupyter_server_contents_operations",
                "Contents operations that succeeded, by action (get, save, rename, copy, delete)",
                labels=["action"],
            )
            for action, count in self.metrics.contents_operations.items():
                contents.add_metric([action], count)
            yield contents

    def _server(self) -> Iterator[Metric]:
        yield InfoMetricFamily(
            "jupyter_server",
            "The server's version",
            value={"version": __version__, "implementation": "jupyter_server_lite"},
        )
        activity = self.serverapp.activity
        started, last = activity.started, activity.last_activity
        yield GaugeMetricFamily(
            "jupyter_server_started_timestamp_seconds",
            "When the server started serving (Unix time)",
            started.timestamp(),
        )
        yield GaugeMetricFamily(
            "jupyter_server_last_activity_timestamp_seconds",
            "Last real use: a state-changing request, a kernel event or message (Unix time)",
            last.timestamp(),
        )
        yield GaugeMetricFamily(
            "jupyter_server_active_duration_seconds",
            "Seconds from the start to the last activity",
            (last - started).total_seconds(),
        )

    def _requests(self) -> Metric:
        histogram = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Duration of finished HTTP requests, by method, route pattern (handler) and status code",
            labels=["method", "handler", "status_code"],
        )
        for (method, handler, status), row in list(self.metrics.requests.series.items()):
            cumulative, buckets = 0.0, []
            for le, count in zip([*_LE, "+Inf"], row[:-1]):
                cumulative += count
                buckets.append((le, cumulative))
            histogram.add_metric([method, handler, str(status)], buckets, sum_value=row[-1])
        return histogram

    def _kernels(self) -> Iterator[Metric]:
        kernel_manager = self.serverapp.kernel_manager
        models = kernel_manager.list_kernels()
        self._kernel_types.update(model["name"] for model in models)
        by_type = dict.fromkeys(self._kernel_types, 0)
        by_state = dict.fromkeys(KERNEL_STATES, 0)
        for model in models:
            by_type[model["name"]] += 1
            state = model["execution_state"] if model["execution_state"] in by_state else "other"
            by_state[state] = by_state.get(state, 0) + 1
        running = GaugeMetricFamily(
            "kernel_currently_running_total", "Running kernels by kernelspec name (type)", labels=["type"]
        )
        for name, count in sorted(by_type.items()):
            running.add_metric([name], count)
        yield running
        states = GaugeMetricFamily(
            "jupyter_server_kernels", "Running kernels by their last execution state", labels=["execution_state"]
        )
        for state, count in by_state.items():
            states.add_metric([state], count)
        yield states
        events = CounterMetricFamily(
            "jupyter_server_kernel_events",
            "Kernel events since the start: started, restarting, autorestarting, restarted, dead, shutdown",
            labels=["event"],
        )
        for event, count in self.metrics.kernel_events.items():
            events.add_metric([event], count)
        yield events
        connections = GaugeMetricFamily(
            "jupyter_server_websocket_connections", "Open websocket connections, by service", labels=["service"]
        )
        connections.add_metric(["kernels"], kernel_manager.total_connections)
        terminals = self._terminal_manager()
        if terminals is not None:
            connections.add_metric(["terminals"], terminals.connections)
        yield connections

    def _terminals(self) -> Iterator[Metric]:
        terminals = self._terminal_manager()
        if terminals is not None:
            yield GaugeMetricFamily("terminal_currently_running_total", "Running terminals", len(terminals))

    def _terminal_manager(self) -> Any:
        """The bundled terminals service's TerminalManager, if it is loaded (another provider's has none)."""
        for record in self.serverapp.extension_manager.records:
            if record.state == "loaded" and "terminals" in record.provides:
                for app in record.apps:
                    if "terminals" in type(app).provides:
                        return getattr(app, "terminal_manager", None)
        return None

    def _extensions(self) -> Iterator[Metric]:
        records = self.serverapp.extension_manager.records
        info = InfoMetricFamily(
            "jupyter_server_extension",
            "Every extension enabled, by name and version",
            labels=["name", "version", "enabled"],
        )
        state = GaugeMetricFamily(
            "jupyter_server_extension_state",
            "1 for the state each extension is in (loaded, failed, replaced...)",
            labels=["name", "module", "state"],
        )
        load = GaugeMetricFamily(
            "jupyter_server_extension_load_seconds",
            "Seconds each extension spent in each phase of its load (import, configure, load)",
            labels=["name", "module", "phase"],
        )
        for record in records:
            info.add_metric([record.name, record.version, "true"], {})
            state.add_metric([record.name, record.module, record.state], 1)
            for phase, seconds in record.timings.items():
                load.add_metric([record.name, record.module, phase], seconds)
        yield info
        yield state
        yield load
