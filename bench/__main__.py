"""``python -m bench``: run the benchmark suite and write its results.

    python -m bench                 # ours against the ceilings
    python -m bench --peer          # ... and against jupyter_server (own venv)
    python -m bench --quick         # small counts, for a smoke test (< 1 min without --peer)
    python -m bench --workloads rest,kernel_ws

Prints the table (medians, min–max over trials, ratios) and the issue's
targets, met or missed; writes ``bench/results/<stamp>.json`` (raw samples)
and ``<stamp>.png`` (latency distributions), and copies both to
``latest.json`` / ``latest.png``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import sys
import time
import traceback
from pathlib import Path

from . import report
from .core import Bench
from .env import ALL_CPUS, CLIENT_CPUS, SERVER_CPUS, Sandbox, machine_busy_seconds, tree_cpu_seconds
from .peer import ensure_peer, peer_version
from .targets import make_targets
from .workloads import ORDER

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark jupyter_server_lite against jupyter_server and the ceilings."
    )
    parser.add_argument(
        "--peer", action="store_true", help="also run jupyter_server (installed into bench/.peer-venv on first use)"
    )
    parser.add_argument("--peer-refresh", action="store_true", help="rebuild the peer venv first")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not a measurement")
    parser.add_argument("--workloads", default=",".join(ORDER), help=f"comma-separated subset of: {','.join(ORDER)}")
    parser.add_argument(
        "--rounds", type=int, default=0, help="interleaved rounds per workload (default 5, 2 with --quick)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    args = parser.parse_args(argv)
    unknown = set(args.workloads.split(",")) - set(ORDER)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {ORDER}")
    args.rounds = args.rounds or (2 if args.quick else 5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    peer_python = str(ensure_peer(refresh=args.peer_refresh)) if (args.peer or args.peer_refresh) else None
    sandbox = Sandbox()
    os.environ.update(sandbox.env())  # the raw-ZMQ ceiling launches kernels from this process
    bench = Bench(sandbox, make_targets(peer_python), quick=args.quick, rounds=args.rounds)
    selected = [w for w in ORDER if w in args.workloads.split(",")]
    data: dict = {}
    others: dict[str, float] = {}  # per workload: share of the CPUs used by processes outside the bench
    started = time.time()
    try:
        for name in selected:
            bench.log(f"workload {name}")
            module = importlib.import_module(f"bench.workloads.{name}")
            t0, busy0, ours0 = time.perf_counter(), machine_busy_seconds(), tree_cpu_seconds()
            try:
                data[name] = module.run(bench)
            except Exception as err:
                bench.errors.append(f"workload {name}: {type(err).__name__}: {err}")
                traceback.print_exc(file=sys.stderr)
                continue
            elapsed = time.perf_counter() - t0
            foreign = (machine_busy_seconds() - busy0) - (tree_cpu_seconds() - ours0)
            others[name] = max(foreign, 0.0) / (elapsed * len(ALL_CPUS))
            bench.log(f"workload {name} done in {elapsed:.1f}s; other processes used {others[name]:.0%} of the CPUs")
    finally:
        bench.stop_servers()

    rows, checks, series = [], [], []
    for name, result in data.items():
        module = importlib.import_module(f"bench.workloads.{name}")
        rows += module.rows(result)
        checks += module.checks(result)
        series += module.series(result)
    table = report.table(rows)
    verdicts = report.targets(checks)
    print("\n" + table + "\n\n" + verdicts)
    if "importtime" in data:
        from .workloads.importtime import describe

        print("\nimport time:\n" + describe(data["importtime"]))
    busy = {name: share for name, share in others.items() if share > 0.05}
    if busy:
        print(
            "\nWARNING: the machine was not idle; other processes used "
            + ", ".join(f"{share:.0%} of the CPUs during {name}" for name, share in busy.items())
            + ". Ratios from those workloads are noisy."
        )
    if bench.errors:
        print("\nerrors (full text in the JSON):\n" + "\n".join(f"- {e.splitlines()[0][:300]}" for e in bench.errors))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    meta = {
        "started": stamp,
        "seconds": round(time.time() - started, 1),
        "quick": args.quick,
        "rounds": args.rounds,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": sorted(ALL_CPUS),
        "server_cpus": sorted(SERVER_CPUS),
        "client_cpus": sorted(CLIENT_CPUS),
        "peer": peer_version(Path(peer_python)) if peer_python else None,
        "loadgen": "bench.loadgen (separate Python process, asyncio keep-alive connections)",
        "other_processes_cpu_share": others,
    }
    json_path = args.out / f"{stamp}.json"
    report.write_json(
        json_path,
        {
            "meta": meta,
            "table": table,
            "targets": [vars(c) | {"met": c.met} for c in checks],
            "errors": bench.errors,
            "data": data,
        },
    )
    shutil.copyfile(json_path, args.out / "latest.json")
    png_path = args.out / f"{stamp}.png"
    if report.chart(png_path, series):
        shutil.copyfile(png_path, args.out / "latest.png")
        print(f"\nwrote {json_path} and {png_path}")
    else:
        print(f"\nwrote {json_path} (no chart: pip install -e '.[bench]' for matplotlib)")
    sandbox.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
