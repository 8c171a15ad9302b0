"""Frontends in a real browser: start -> JupyterLab usable, and "new notebook" -> kernel idle.

Each trial spawns a fresh server, loads ``/lab?token=...`` in a fresh
browser context (empty cache and cookies, as a first visit) the moment
``/api/status`` answers, and waits until JupyterLab is usable: the launcher
shown and the file browser listing the root folder.  *Time to usable Lab*
runs from the spawn to that moment, so it holds the server's start, every
request of the page (bundle, settings, workspaces, translations, prebuilt
extensions) and the browser's own work.  Then it clicks the launcher's
notebook card for the bench kernel and waits for the status bar to say
``Idle``: *new notebook -> kernel idle* (a file created, a session and a
kernel started, the websocket connected).

The browser is Debian's ``chromium`` driven by Playwright, pinned to the
client core; the servers to the server core.  ``ours`` serves the
jupyterlab-js assets; ``peer`` is jupyter_server 2.21.1 with jupyterlab 4.6
and notebook 7.6 (``bench/.peer-venv``), the same JupyterLab build line and
the same prebuilt extensions.  Without Playwright or chromium the workload
is reported as an error and the rest of the run goes on.
"""

from __future__ import annotations

import json
import os
import shutil
import time

from ..core import Bench, Check, Row
from ..env import CLIENT_CPUS, SERVER_CPUS
from ..stats import ratio, summary
from ..targets import start_server

NAMES = ("ours", "peer")
CHROMIUM = os.environ.get("JSL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 120_000
#: A notebook in the root folder: JupyterLab is usable once its file browser lists it.
LISTED = "frontends-bench.ipynb"


def run(bench: Bench) -> dict:
    from playwright.sync_api import sync_playwright  # the test extra; only this workload needs it

    if not shutil.which(CHROMIUM) and not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    names = [n for n in NAMES if n in bench.targets]
    listed = bench.sandbox.notebooks / LISTED
    listed.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, CLIENT_CPUS)  # the browser inherits the client core
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:

                def trial(name: str, _round: int) -> dict:
                    return _journey(bench, name, browser)

                for name in names:  # warm-up: bytecode compiled, files in the page cache
                    trial(name, -1)
                results = bench.interleave(names, trial, rounds=bench.pick(bench.rounds, 2))
            finally:
                browser.close()
    finally:
        os.sched_setaffinity(0, saved)
        listed.unlink()
    return {
        name: {key: [t[key] for t in trials] for key in ("usable_s", "startup_s", "kernel_idle_s")}
        for name, trials in results.items()
    }


def _journey(bench: Bench, name: str, browser) -> dict:
    t0 = time.perf_counter()
    server = start_server(bench.targets[name], bench.sandbox, label="lab", cpus=SERVER_CPUS)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            page.goto(f"{server.base}/lab?token={server.token}")
            page.locator(".jp-Launcher").wait_for()
            page.locator(".jp-DirListing-content .jp-DirListing-item", has_text=LISTED).wait_for()
            usable = time.perf_counter() - t0
            start = time.perf_counter()
            page.locator(".jp-LauncherCard[data-category='Notebook']", has_text="Python (bench)").click()
            page.locator("#jp-main-statusbar", has_text="Python (bench) | Idle").wait_for()
            idle = time.perf_counter() - start
        finally:
            context.close()
        return {"usable_s": usable, "startup_s": server.startup_s, "kernel_idle_s": idle}
    finally:
        server.stop()
        for path in bench.sandbox.notebooks.glob("Untitled*.ipynb"):
            path.unlink()
        # Both keep JupyterLab's layout below the config folder: the next trial starts on the launcher again.
        shutil.rmtree(bench.sandbox.config / "lab" / "workspaces", ignore_errors=True)


def rows(data: dict) -> list[Row]:
    return [
        Row(
            "JupyterLab usable",
            "spawn -> launcher and file list shown (fresh browser context)",
            "ms",
            {n: summary([s * 1000 for s in d["usable_s"]]) for n, d in data.items()},
        ),
        Row(
            "new notebook",
            "launcher click -> kernel Idle in the status bar",
            "ms",
            {n: summary([s * 1000 for s in d["kernel_idle_s"]]) for n, d in data.items()},
        ),
    ]


def checks(data: dict) -> list[Check]:
    if "peer" not in data:
        return []
    usable = {n: summary(d["usable_s"])["median"] for n, d in data.items()}
    return [
        Check("time to usable Lab <= 0.5x jupyter_server", ratio(usable.get("ours"), usable.get("peer")), 0.5, "<=")
    ]


def series(data: dict) -> list[tuple[str, str, dict[str, list[float]]]]:
    return [("JupyterLab usable", "ms", {n: [s * 1000 for s in d["usable_s"]] for n, d in data.items()})]
