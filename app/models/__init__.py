"""The one schema, shared by the desktops and the central server."""

from app.models.base import SCHEMA_VERSION, Base, Synced
from app.models.billing import Invoice, InvoiceLine, Payment
from app.models.customers import Account, Customer, Premise
from app.models.documents import Document, Letter, LetterTemplate
from app.models.interventions import (
    InterventionAttachment,
    InterventionDeadline,
    InterventionEvent,
    InterventionLine,
    InterventionRequest,
    PublicHoliday,
    Technician,
    TechnicianAbsence,
    TechnicianTeam,
    WorkingHours,
)
from app.models.journal import (
    AuditEntry,
    InstallationSetting,
    NumberSeries,
    SyncJournalEntry,
    SyncState,
)
from app.models.network import (
    Contract,
    Meter,
    MeterReading,
    ServiceConnection,
    Tariff,
    TariffBand,
)
from app.models.prepaid import CashDay, PendingVendSale, VendTransaction
from app.models.reference import Agency, Commune, Street
from app.models.suppliers import SupplierInvoice, SupplierInvoiceLine
from app.models.sync import SyncConflict, SyncOutboxBatch, SyncParked, SyncRun
from app.models.users import SignInThrottle, User
from app.models.works import WorksCatalogueItem, WorksQuote, WorksQuoteLine

__all__ = [
    "SCHEMA_VERSION",
    "Account",
    "Agency",
    "AuditEntry",
    "Base",
    "Commune",
    "Contract",
    "Customer",
    "Document",
    "InstallationSetting",
    "Invoice",
    "InvoiceLine",
    "InterventionAttachment",
    "InterventionDeadline",
    "InterventionEvent",
    "InterventionLine",
    "InterventionRequest",
    "Letter",
    "LetterTemplate",
    "Meter",
    "MeterReading",
    "NumberSeries",
    "Payment",
    "Premise",
    "PublicHoliday",
    "ServiceConnection",
    "SignInThrottle",
    "Street",
    "SupplierInvoice",
    "SupplierInvoiceLine",
    "SyncConflict",
    "SyncJournalEntry",
    "SyncOutboxBatch",
    "SyncParked",
    "SyncRun",
    "SyncState",
    "Synced",
    "Tariff",
    "TariffBand",
    "Technician",
    "TechnicianAbsence",
    "TechnicianTeam",
    "User",
    "PendingVendSale",
    "CashDay",
    "VendTransaction",
    "WorkingHours",
    "WorksCatalogueItem",
    "WorksQuote",
    "WorksQuoteLine",
]
