"""The whole chain as real processes on 127.0.0.1 (free ports): central with the vending
platform, the virtual meter fleet, the test SMS gateway, the operator's wallet service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from central.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    env.update(extra)
    return env


def wait_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} stopped:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()}")


@dataclass
class Service:
    name: str
    command: list[str]
    port: int
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Service:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT, env=self.env)
        wait_up(self.url, self.process, self.log)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclass
class Stack:
    workdir: Path
    database_url: str
    credential_file: Path
    services: dict[str, Service] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    def central_command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "central", "--database-url", self.database_url,
                               "--data-dir", str(self.workdir), *args], cwd=ROOT,
                              env=clean_env(), capture_output=True, text=True, timeout=120)

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, *args], cwd=ROOT, env=clean_env(), input=stdin,
                              capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()


def start_stack(workdir: Path, database_url: str, credential_file: Path,
                operator: str = "moov") -> Stack:
    stack = Stack(workdir, database_url, credential_file)
    ports = {name: free_port() for name in ("central", "meters", "sms", "wallet")}
    env = clean_env()
    stack.services["meters"] = Service(
        "meters", [PY, "-m", "central.meters", "--data-dir", str(workdir), "serve",
                   "--database-url", database_url, "--test-keys", "--consumption-w", "0",
                   "--port", str(ports["meters"])], ports["meters"], workdir, env)
    stack.services["sms"] = Service(
        "sms", [PY, "-m", "central.sms", "--data-dir", str(workdir), "serve", "--port",
                str(ports["sms"])], ports["sms"], workdir, env)
    central_env = clean_env(
        GUICHET_CENTRAL_VENDING_TEST_KEYS="1",
        GUICHET_CENTRAL_HES_METERS_URL=f"http://127.0.0.1:{ports['meters']}",
        GUICHET_CENTRAL_HES_MAX_ATTEMPTS="3", GUICHET_CENTRAL_SMS_MAX_ATTEMPTS="12",
        GUICHET_CENTRAL_SMS_GATEWAY_URL=f"http://127.0.0.1:{ports['sms']}/messages",
        GUICHET_CENTRAL_RETRY_BASE_SECONDS="0.2")
    stack.services["central"] = Service(
        "central", [PY, "-m", "central", "--database-url", database_url, "--data-dir",
                    str(workdir), "serve", "--port", str(ports["central"])], ports["central"],
        workdir, central_env)
    stack.services["wallet"] = Service(
        "wallet", [PY, "-m", "central.ussd", "wallet", "--operator", operator, "--data-dir",
                   str(workdir), "serve", "--platform", f"http://127.0.0.1:{ports['central']}",
                   "--credential-file", str(credential_file), "--timeout", "3",
                   "--port", str(ports["wallet"])], ports["wallet"], workdir, env)
    try:
        for name in ("meters", "sms", "central", "wallet"):
            stack.services[name].start()
    except BaseException:
        stack.stop()
        raise
    return stack
