"""Central's memory and responsiveness while it refuses an oversized batch.

Starts ``python -m central serve`` (SQLite central in a temporary folder, agency 101), then
posts, three times, a batch of ~50 KB gzip that inflates to ``--megabytes`` (50 MB by
default) while another client asks ``/health`` in a loop. Prints central's resident memory
before and at its peak, the answers, and the slowest ``/health``. Run it once with the default
limit (32 MiB: refused while inflating) and once with the limit raised above the batch
(``--limit-mib 128``: inflated and parsed, then refused because its row count is wrong) to see
what the limit saves.

Run: ``python bench/bench_limits.py`` ; ``python bench/bench_limits.py --limit-mib 128``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench.bench_sync import ROOT, PeakMemory  # noqa: E402
from central.embedded import free_port  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--limit-mib", type=int, default=0, help="0: the server's default")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    base = [sys.executable, "-m", "central", "--data-dir", str(folder)]
    subprocess.run([*base, "agency", "add", "101", "Agence", "--credential-file",
                    str(folder / "credential")], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    credential = (folder / "credential").read_text().strip()
    port = free_port()
    extra = ["--max-batch-uncompressed-bytes", str(args.limit_mib << 20)] if args.limit_mib \
        else []
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen([*base, "--log-level", "WARNING", "serve", "--port",
                                    str(port), *extra], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(1.0)
        before = psutil.Process(process.pid).memory_info().rss / 2**20
        payload = {"agency": "101", "number": 1, "kind": "changes", "protocol": 1,
                   "schema": 2, "entries": [{
                       "seq": 1, "tx": "00000000-0000-0000-0000-000000000001",
                       "table": "customer", "row": "00000000-0000-0000-0000-000000000002",
                       "op": "update", "base": 1, "new": 2,
                       "changes": {"notes": [None, " " * (args.megabytes * 10**6)]}}]}
        data = json.dumps(payload, separators=(",", ":")).encode()
        body = gzip.compress(data, compresslevel=9)
        headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/gzip",
                   "X-Batch-Sha256": hashlib.sha256(data).hexdigest(), "X-Batch-Rows": "2"}
        memory = PeakMemory(process.pid)
        slowest = [0.0]
        checks = [0]
        stop = threading.Event()

        def watch() -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    started = time.perf_counter()
                    client.get(url + "/health")
                    slowest[0] = max(slowest[0], time.perf_counter() - started)
                    checks[0] += 1
                    time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        answers = []
        started = time.perf_counter()
        for _ in range(3):
            answer = httpx.post(url + "/agencies/101/sync/batches/1", content=body,
                                headers=headers, timeout=120)
            answers.append((answer.status_code, answer.json().get("message", "")[:70]))
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        stop.set()
        watcher.join()
        peak = memory.stop()
        limit = f"{args.limit_mib} MiB" if args.limit_mib else "default (32 MiB)"
        print(f"batch: {len(body) / 1024:.0f} KiB gzip -> {len(data) / 10**6:.0f} MB inflated; "
              f"limit {limit}")
        print(f"  answers: {answers}")
        print(f"  3 refusals in {seconds:.2f} s; central RSS before {before:.0f} MiB, "
              f"peak {peak:.0f} MiB; /health answered {checks[0]} times meanwhile, slowest "
              f"{slowest[0] * 1000:.0f} ms")
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
