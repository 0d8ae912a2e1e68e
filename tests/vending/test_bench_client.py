"""The vending bench's lean load client (``bench/bench_vending.py``): every answer counted by
its status, a 2xx without a token counted apart, a closed connection opened again, and one
latency per request — against a small local server that answers in turn."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_vending.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_vending_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _answer(status: int, body: dict[str, object], *, close: bool = False) -> bytes:
    payload = json.dumps(body).encode()
    return (f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n"
            f"{'connection: close' + chr(13) + chr(10) if close else ''}\r\n").encode() + payload


def test_the_lean_client_counts_every_answer_and_reconnects() -> None:
    bench = _bench()
    answers = [_answer(201, {"token": "1234"}), _answer(201, {"token": ""}),
               _answer(409, {"error": "reference_reused"}),
               _answer(201, {"token": "5678"}, close=True)]
    seen: list[bytes] = []
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                seen.append(head + await reader.readexactly(length))
                answer = answers[(len(seen) - 1) % len(answers)]
                writer.write(answer)
                if b"connection: close" in answer:
                    await writer.drain()
                    writer.close()
                    return
        except asyncio.IncompleteReadError:
            writer.close()

    async def run() -> Any:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await bench.load(f"http://127.0.0.1:{port}", "gop1.moov.s3cret", 50, 0.5,
                                    1, "t")

    result = asyncio.run(run())
    total = sum(result.statuses.values())
    assert total == len(seen) == len(result.latencies) >= 4
    assert result.statuses[409] >= 1 and result.statuses["sans jeton"] >= 1
    assert result.statuses[201] == total - result.statuses[409] - result.statuses["sans jeton"]
    assert connections >= 2, "opened again after the server closed it"
    request = seen[0]
    assert request.startswith(b"POST /operator/v1/purchases HTTP/1.1\r\n")
    assert b"Authorization: Bearer gop1.moov.s3cret\r\n" in request
    body = json.loads(request.split(b"\r\n\r\n", 1)[1])
    assert set(body) == {"reference", "meter", "amount", "phone"}
    assert body["reference"] == "t-0" and body["amount"] == 2000
    assert str(bench.luhn_check_digit(body["meter"][:-1])) == body["meter"][-1]


def test_the_open_loop_starts_on_schedule_whatever_the_answers() -> None:
    """Every scheduled purchase is sent even while earlier ones wait (connections opened as
    needed), and each latency counts from its scheduled start (the server's 300 ms too)."""
    bench = _bench()
    served = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                await asyncio.sleep(0.3)
                served += 1
                writer.write(_answer(201, {"token": "1234"}))
        except asyncio.IncompleteReadError:
            writer.close()

    async def run() -> Any:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            seen = await bench.load_open(f"http://127.0.0.1:{port}", "gop1.moov.s3cret", 50,
                                         0.3, 100, "o")
            await asyncio.sleep(0.1)  # the handlers see their connections closed
            return seen

    result = asyncio.run(run())
    assert served == result.statuses[201] == len(result.latencies) == 30
    assert min(result.latencies) >= 300
    assert result.opened > 10, "more connections than the 10 opened beforehand: none held back"
    assert result.span < 1.2, "30 requests of 300 ms each in 0.3 s + 0.3 s: sent in parallel"
