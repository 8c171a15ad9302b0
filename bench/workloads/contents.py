"""Contents and files: a 10 MB notebook, a 5,000-file listing, a 100 MB ``/files/`` download.

The fixtures live in the sandbox's root folder (``bench-contents/``), made
once per run and served by both servers:

* ``big.ipynb``: a valid notebook of about 10 MB (code cells with stream
  outputs), fetched with ``GET /api/contents/bench-contents/big.ipynb``;
* ``many/``: 5,000 small files, listed with ``GET /api/contents/bench-contents/many``;
* ``blob.bin``: 100 MB of random bytes, downloaded from ``/files/bench-contents/blob.bin``.

Each request is timed from the bench process over one keep-alive
connection with the server pinned to the server core; every response is
checked (status, size of the listing, length of the body) so a fast error
never counts as a fast answer.  The download's memory cost is the growth of
the server's peak RSS (``VmHWM``) over one download on a fresh server, so
nothing earlier in its life hides it.

The same workload times a cold start of ours with the contents and files
services disabled, next to the default start with them on (the cold-start
workload's number), to show what the two services cost at start-up.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import uuid
from pathlib import Path

from ..core import Bench, Check, Row
from ..env import CLIENT_CPUS, SERVER_CPUS, pinned
from ..stats import ratio, summary
from ..targets import Target, start_server

FOLDER = "bench-contents"
NOTEBOOK_BYTES = 10 * 1024 * 1024
LISTING_FILES = 5000
BLOB_BYTES = 100 * 1024 * 1024
DISABLED = (
    "--ServerApp.jpserver_extensions=jupyter_server_lite.bundled.contents=False",
    "--ServerApp.jpserver_extensions=jupyter_server_lite.bundled.files=False",
)


def make_fixtures(root: Path, quick: bool) -> dict[str, int]:
    """Write the three fixtures (smaller with --quick); return their sizes."""
    folder = root / FOLDER
    many = folder / "many"
    many.mkdir(parents=True, exist_ok=True)
    files = 500 if quick else LISTING_FILES
    for i in range(files):
        (many / f"file-{i:05d}.txt").write_text(f"{i}\n")
    target = NOTEBOOK_BYTES // (10 if quick else 1)
    cells, size = [], 0
    while size < target:
        text = [f"line {len(cells)} {uuid.uuid4().hex}\n" for _ in range(100)]
        cells.append(
            {
                "cell_type": "code",
                "execution_count": len(cells) + 1,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": text}],
                "source": ["for i in range(100):\n", "    print(i)"],
            }
        )
        size += len(json.dumps(cells[-1], indent=1)) + 2 * 100  # as written below, nesting indent included
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "big.ipynb").write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n")
    blob = folder / "blob.bin"
    blob_size = BLOB_BYTES // (10 if quick else 1)
    with open(blob, "wb") as f:
        for _ in range(blob_size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    return {"notebook": (folder / "big.ipynb").stat().st_size, "files": files, "blob": blob.stat().st_size}


def timed_get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int, bytes]:
    """One GET over ``conn``: (seconds, status, body); the body is read whole by the client."""
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"token {token}"})
    resp = conn.getresponse()
    body = resp.read()
    return time.perf_counter() - t0, resp.status, body


def download(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int]:
    """A streamed GET read in 1 MiB blocks (the bench never holds 100 MB): (seconds, bytes)."""
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"token {token}"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status} {resp.read()[:200]!r}")
    total = 0
    while block := resp.read(1 << 20):
        total += len(block)
    return time.perf_counter() - t0, total


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM for pid {pid}")


def run(bench: Bench) -> dict:
    sizes = make_fixtures(bench.sandbox.notebooks, bench.quick)
    names = bench.server_names
    data: dict = {"sizes": sizes}
    repeats = bench.pick(5, 2)
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, CLIENT_CPUS)
    try:
        for label, path, check in (
            ("notebook", f"/api/contents/{FOLDER}/big.ipynb", lambda body: json.loads(body)["type"] == "notebook"),
            (
                "listing",
                f"/api/contents/{FOLDER}/many",
                lambda body: len(json.loads(body)["content"]) == sizes["files"],
            ),
        ):

            def trial(name: str, _round: int, path=path, check=check) -> list[float]:
                server = bench.server(name)
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                try:
                    with pinned([server.pid], SERVER_CPUS):
                        timed_get(conn, path, server.token)  # warm: caches, first imports
                        times = []
                        for _ in range(repeats):
                            seconds, status, body = timed_get(conn, path, server.token)
                            if status != 200 or not check(body):
                                raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
                            times.append(seconds)
                    return times
                finally:
                    conn.close()

            bench.log(f"contents: {label}")
            results = bench.interleave(names, trial, label=f"contents {label}")
            data[label] = {n: [t for trial_times in r for t in trial_times] for n, r in results.items() if r}

        blob_path = f"/files/{FOLDER}/blob.bin"

        def download_trial(name: str, _round: int) -> dict:
            server = start_server(bench.targets[name], bench.sandbox, label="files")
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
            try:
                with pinned([server.pid], SERVER_CPUS):
                    before = peak_rss_mib(server.pid)
                    seconds, total = download(conn, blob_path, server.token)
                    if total != sizes["blob"]:
                        raise RuntimeError(f"{blob_path}: {total} bytes, expected {sizes['blob']}")
                    return {"seconds": seconds, "peak_growth_mib": peak_rss_mib(server.pid) - before}
            finally:
                conn.close()
                server.stop()

        bench.log("contents: /files/ download")
        results = bench.interleave(names, download_trial, rounds=bench.pick(3, 1), label="files download")
        data["download"] = {
            n: {k: [t[k] for t in r] for k in ("seconds", "peak_growth_mib")} for n, r in results.items() if r
        }

        def cold(name: str, _round: int) -> float:
            target = bench.targets["ours"]
            if name == "ours-without":
                target = Target("ours", target.python, target.module, extra=DISABLED)
            server = start_server(target, bench.sandbox, label="cold-contents", cpus=SERVER_CPUS)
            server.stop()
            return server.startup_s

        bench.log("contents: cold start with and without the services")
        cold_results = bench.interleave(
            ["ours", "ours-without"], cold, rounds=bench.pick(2 * bench.rounds, 2), label="contents cold start"
        )
        data["cold_start"] = cold_results
    finally:
        os.sched_setaffinity(0, saved)
    return data


def _ms(values: list[float]) -> dict[str, float]:
    return summary([v * 1000 for v in values])


def rows(data: dict) -> list[Row]:
    sizes = data["sizes"]
    out = [
        Row(
            "contents",
            f"GET a {sizes['notebook'] / 2**20:.0f} MB notebook",
            "ms",
            {n: _ms(v) for n, v in data.get("notebook", {}).items()},
        ),
        Row(
            "contents",
            f"GET a listing of {sizes['files']} files",
            "ms",
            {n: _ms(v) for n, v in data.get("listing", {}).items()},
        ),
        Row(
            "contents",
            f"/files/ download of {sizes['blob'] / 2**20:.0f} MB",
            "ms",
            {n: _ms(d["seconds"]) for n, d in data.get("download", {}).items()},
        ),
        Row(
            "contents",
            "peak RSS growth during the download",
            "MiB",
            {n: summary(d["peak_growth_mib"]) for n, d in data.get("download", {}).items()},
        ),
    ]
    cold = data.get("cold_start", {})
    if cold:
        out.append(
            Row(
                "cold start",
                "spawn -> first 200, contents and files on (ceiling: off)",
                "ms",
                {n: _ms(v) for n, v in cold.items()},
                ceiling="ours-without",
            )
        )
    return out


def checks(data: dict) -> list[Check]:
    def med(section: str, name: str) -> float | None:
        values = data.get(section, {}).get(name)
        if isinstance(values, dict):
            values = values["seconds"]
        return summary(values)["median"] if values else None

    out = []
    if "peer" in data.get("notebook", {}):
        for section, what in (
            ("notebook", "GET 10 MB notebook"),
            ("listing", "listing of 5,000 files"),
            ("download", "100 MB /files/ download"),
        ):
            out.append(
                Check(
                    f"contents: {what} faster than jupyter_server",
                    ratio(med(section, "ours"), med(section, "peer")),
                    1.0,
                    "<=",
                )
            )
    download = data.get("download", {}).get("ours")
    if download:
        out.append(
            Check(
                "contents: 100 MB download grows peak RSS < 20 MiB",
                summary(download["peak_growth_mib"])["median"],
                20.0,
                "<=",
            )
        )
    return out


def series(data: dict) -> list:
    return [
        (f"contents {label}", "ms", {n: [v * 1000 for v in values] for n, values in data.get(label, {}).items()})
        for label in ("notebook", "listing")
    ]
