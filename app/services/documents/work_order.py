"""What a work order and a day sheet print (the PDFs are made by ``work_order_pdf``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkOrderData:
    number: str
    kind: str
    priority: str
    status: str
    requested_at: str
    due_at: str
    overdue: bool
    customer: str
    account_number: str
    address: str
    meter_serial: str
    contact: str
    technician: str
    scheduled_for: str
    duration: str
    description: str
    tasks: list[tuple[str, str]]
    disputed_index: str
    quote_number: str


@dataclass(frozen=True)
class DaySheetData:
    technician: str
    day: str
    jobs: list[WorkOrderData]
