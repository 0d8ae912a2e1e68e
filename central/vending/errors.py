"""Refusals of the vending platform: a stable code for the operator's system, an HTTP status,
and a French message short enough for a USSD screen."""

from __future__ import annotations


class VendingError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def refused(code: str, message: str, status: int = 409) -> VendingError:
    return VendingError(status, code, message)
