"""HTTP benchmark on loopback: requests/s and latency of POST /v1/classify.

Starts `crisis-nlp serve` on 127.0.0.1 (a free port), sends a bounded number of requests
from a few client threads (gold notes in turn), prints numbers, stops the server.
Needs the [serve] extra and httpx.   python bench/bench_http.py [--requests 2000 --clients 4]

The /healthz latency while batches of hostile notes run is printed by
``bench/bench_pathological.py --http`` (it starts the server with :func:`server`).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def server() -> Iterator[str]:
    """`crisis-nlp serve` on a free loopback port, ready; yields its base URL and stops it.
    It runs ``python -m crisis_nlp.cli``, which imports crisis_nlp from the current folder
    first: run the bench from the checkout whose code you mean to serve."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "crisis_nlp.cli", "serve", "--port", str(port), "--quiet"])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    notes = [json.loads(x)["text"] for x in (ROOT / "tests/data/gold.jsonl").read_text().splitlines() if x.strip()]
    with server() as base:
        per_client = args.requests // args.clients

        def worker(k: int) -> list[float]:
            lat = []
            with httpx.Client(base_url=base, timeout=10) as c:
                for i in range(per_client):
                    t = time.perf_counter()
                    r = c.post("/v1/classify", json={"text": notes[(k * per_client + i) % len(notes)]})
                    lat.append(time.perf_counter() - t)
                    r.raise_for_status()
            return lat

        worker(0)  # warm up
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            lat = sorted(x for part in pool.map(worker, range(args.clients)) for x in part)
        dt = time.perf_counter() - t0
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
        print(f"HTTP POST /v1/classify, {len(lat)} requests, {args.clients} client threads on loopback "
              f"(server and load generator share the machine's 2 cores)")
        print(f"  {len(lat) / dt:,.0f} requests/s; latency p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
