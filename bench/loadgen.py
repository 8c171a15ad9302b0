"""HTTP load generator: a separate process, raw asyncio, keep-alive connections.

``python -m bench.loadgen --port=N --path=/api/status --token=T
--concurrency=16 --duration=3`` opens ``concurrency`` HTTP/1.1 keep-alive
connections, each sending one GET after another for ``duration`` seconds
(after a short warm-up), and prints one JSON object: requests, errors,
elapsed seconds, the client's own CPU use, and every latency in
microseconds.

It runs in its own process, pinned by the bench to a different core than
the server, so it never competes with the server for a CPU; a client CPU
share near 1.0 in the results means the client, not the server, was the
limit.  Requests are pre-encoded bytes and responses are parsed by
Content-Length (chunked bodies are handled too), so the client spends as
little as possible per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length > 0:
        await reader.readexactly(length)
    return status


async def _worker(
    port: int, request: bytes, stop_at: list[float], record_from: float, latencies: list[int], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        while True:
            start = clock()
            if start >= stop_at[0]:
                break
            writer.write(request)
            status = await _read_response(reader)
            end = clock()
            if start >= record_from:
                if status == 200:
                    latencies.append(int((end - start) * 1e6))
                else:
                    errors.append(status)
    finally:
        writer.close()


async def run(port: int, path: str, token: str, concurrency: int, duration: float, warmup: float) -> dict:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n"
        "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    latencies: list[int] = []
    errors: list[int] = []
    t0 = time.perf_counter()
    record_from = t0 + warmup
    stop_at = [record_from + duration]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(_worker(port, request, stop_at, record_from, latencies, errors) for _ in range(concurrency)))
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.perf_counter() - t0
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    # The last requests in flight when the clock ran out finish a little late;
    # measure the window actually covered by recorded requests.
    window = max(elapsed - warmup, 1e-9)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_statuses": sorted(set(errors))[:5],
        "seconds": window,
        "client_cpu_share": cpu / elapsed,
        "latencies_us": latencies,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.port, args.path, args.token, args.concurrency, args.duration, args.warmup))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
