"""The operator API's purchases without the framework's layers: a well-formed purchase by a
recognised operator goes straight from the request middlewares to its sale writer.

``POST /operator/v1/purchases`` is the request made most often, and FastAPI 0.165 wraps every
request in its own middlewares (exception telemetry, body limit, exit stack), matches the
route, solves its dependencies and validates the body again. Here, inside the API's own
middlewares (request id and log line, body size limit), a purchase whose JSON body validates
(:class:`PurchaseIn`, pydantic's parser) and whose bearer credential is a known operator's is
sold and answered as the route answers it: the same sale (``Platform.purchase``, every rule of
it), the same JSON, the same refusals (``{"error", "message", "request_id"}``). Anything else —
no or unknown credential, a body the model refuses, another content type — goes on to the
framework with its body, which answers it as before (401, 422 with the fields).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as ModelError
from starlette.responses import JSONResponse

from app.models.enums import VendChannel
from central.api.errors import business_error_response, error_response
from central.api.middleware import ASGIApp, Message, Receive, Scope, Send
from central.api.operator_credentials import OperatorCredentials
from central.api.routes.operator import PurchaseIn, _in_sale_thread, sale_json
from central.vending.errors import VendingError
from central.vending.operators import OperatorInfo
from central.vending.platform import Platform
from kernel.errors import GuichetError

PATH = "/operator/v1/purchases"


class OperatorLane:
    def __init__(self, app: ASGIApp, platform: Platform | None,
                 credentials: OperatorCredentials) -> None:
        self.app = app
        self.platform = platform
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST"
                or self.platform is None):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        body = await _body(receive)
        operator = None
        if headers.get(b"content-type", b"").startswith(b"application/json"):
            operator = await self.credentials.bearer(
                headers.get(b"authorization", b"").decode("latin-1"))
        order = None
        if operator is not None:
            try:
                order = PurchaseIn.model_validate_json(body)
            except ModelError:
                order = None
        if operator is None or order is None:
            await self.app(scope, _replay(body, receive), send)
            return
        scope.setdefault("state", {})["operator"] = operator.code
        response = await self._sell(operator, order)
        await response(scope, receive, send)

    async def _sell(self, operator: OperatorInfo, order: PurchaseIn) -> JSONResponse:
        vending = self.platform
        assert vending is not None
        try:
            sale, replayed = await _in_sale_thread(
                vending.purchase, operator, reference=order.reference, meter=order.meter,
                amount_minor=order.amount, phone=order.phone,
                channel=VendChannel(order.channel))
        except VendingError as error:
            return error_response(error.status, error.code, error.message)
        except GuichetError as error:
            return business_error_response(error)
        return JSONResponse(sale_json(sale, vending, replayed=replayed),
                            status_code=200 if replayed else 201)


async def _body(receive: Receive) -> bytes:
    """The whole request body (the size limit's ``receive`` refuses past its limit)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then what the client sends next."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return again
