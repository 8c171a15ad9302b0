"""The REST ceiling: a bare tornado app answering a small JSON.

``python -m bench.bare_tornado --port=N --token=T``.  It answers every path
(``/api/status``, ``/api/kernels``, ``/api/kernelspecs``) with the same small
JSON body after a constant-time token check, and imports nothing else: the
most requests per second any tornado server can serve here, and the shortest
possible cold start of one.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import signal

from tornado import web


class SmallJSON(web.RequestHandler):
    def get(self, _path: str) -> None:
        token = self.application.settings["token"]
        if not hmac.compare_digest(self.request.headers.get("Authorization", ""), f"token {token}"):
            raise web.HTTPError(403)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok", "kernels": 0, "connections": 0}))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    app = web.Application([(r"/(.*)", SmallJSON)], token=args.token, log_function=lambda handler: None)
    app.listen(args.port, "127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
