"""``serve --workers N`` (finding 8): a supervisor and N server processes sharing the socket,
each with the pool size it was given; they answer, and a SIGTERM ends them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from central.embedded import free_port
from tests.central.test_server_process import ROOT, wait_for


def test_several_workers_share_the_port_and_stop_together(central_pg_url: str,
                                                         tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    with open(tmp_path / "server.log", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "central", "--database-url", central_pg_url, "--data-dir",
             str(tmp_path), "serve", "--port", str(port), "--workers", "2", "--db-pool-size",
             "3", "--db-max-overflow", "1", "--db-pool-timeout", "30"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(base, process, timeout=120)
        children = psutil.Process(process.pid).children()
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2, [c.cmdline() for c in children]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _n: httpx.get(base + "/version", timeout=30)
                                    .status_code, range(40)))
        assert answers == [200] * 40
        log = (tmp_path / "logs" / "central.log").read_text()
        assert "2 worker(s), pool 3 + 1" in log
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        _gone, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], "every process of the server ends with it"
    finally:
        if process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait(10)
