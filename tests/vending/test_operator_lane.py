"""The purchases' lane past the framework (``central/api/operator_lane.py``): a well-formed
purchase by a known operator is sold without reaching the framework, answered as the route
answers; anything else reaches the framework with its body unchanged."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from central.api.operator_credentials import OperatorCredentials
from central.api.operator_lane import PATH, OperatorLane

from .world import DRN_A, VendingWorld

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Framework:
    """Stands for the framework behind the lane: records what reached it, answers 299."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"framework"})


async def test_a_plain_purchase_skips_the_framework_and_the_rest_reaches_it(
        world: VendingWorld) -> None:
    _moov, secret = world.operator()
    framework = Framework()
    lane = OperatorLane(framework, world.platform(), OperatorCredentials(world.db))
    auth = {"Authorization": f"Bearer {secret}"}
    body = {"reference": "L1", "meter": DRN_A, "amount": 2000, "phone": "0701020304"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lane),
                                 base_url="http://central") as client:
        sold = await client.post(PATH, json=body, headers=auth)
        assert sold.status_code == 201, sold.text
        assert sold.json()["token"] and sold.json()["receipt"].endswith("000001")
        again = await client.post(PATH, json=body, headers=auth)
        assert again.status_code == 200 and again.json()["replayed"]
        refused = await client.post(PATH, json={**body, "reference": "L2", "amount": 10**11},
                                    headers=auth)
        assert refused.status_code == 422 and refused.json()["error"] == "amount_above_maximum"
        assert framework.bodies == []
        others = [
            (await client.post(PATH, json={**body, "extra": 1}, headers=auth)),
            (await client.post(PATH, json=body)),
            (await client.post(PATH, json=body, headers={"Authorization": "Bearer gop1.x"})),
            (await client.post(PATH, content=json.dumps(body), headers=auth)),
            (await client.get(PATH, headers=auth)),
        ]
    assert [o.status_code for o in others] == [299] * 5
    assert json.loads(framework.bodies[0]) == {**body, "extra": 1}
    assert json.loads(framework.bodies[1]) == body
