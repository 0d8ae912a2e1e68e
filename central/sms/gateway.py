"""One interface to send an SMS, and its HTTP implementation.

The HTTP gateway posts ``{"from": sender, "to": phone, "text": text}`` as JSON to its URL,
with HTTP basic authentication when a user is set; any 2xx is "taken". A real gateway with
another wire format is one more class with the same ``send``.
"""

from __future__ import annotations

from typing import Protocol

import httpx


class SmsError(Exception):
    """The gateway did not take the message (down, refused, timed out)."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Hands the message over; returns the gateway's message id, or raises SmsError."""
        ...


class HttpSmsGateway:
    def __init__(self, url: str, *, user: str = "", password: str = "",
                 sender: str = "ODYSSEE", timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.url = url
        self.sender = sender
        self.auth: httpx.Auth | httpx._client.UseClientDefault = (
            httpx.BasicAuth(user, password) if user else httpx.USE_CLIENT_DEFAULT)
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, phone: str, text: str) -> str:
        try:
            response = self.client.post(
                self.url, json={"from": self.sender, "to": phone, "text": text}, auth=self.auth)
        except httpx.HTTPError as error:
            raise SmsError(f"passerelle SMS injoignable : {type(error).__name__}") from error
        if not response.is_success:
            raise SmsError(f"passerelle SMS : réponse {response.status_code}")
        try:
            return str(response.json().get("id", ""))
        except ValueError:
            return ""

    def close(self) -> None:
        self.client.close()
