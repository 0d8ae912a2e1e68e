"""Business vocabularies stored by value (English in code; the screens translate them)."""

from enum import StrEnum


class Energy(StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"


class PremiseCategory(StrEnum):
    """Use of a premise: estimates of never-read meters and tariffs' categories speak of it."""

    DOMESTIC = "domestic"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    PUBLIC = "public"


class MeterPayment(StrEnum):
    POSTPAID = "postpaid"
    PREPAID = "prepaid"


class MeterStatus(StrEnum):
    IN_STOCK = "in_stock"
    INSTALLED = "installed"
    REMOVED = "removed"


class CustomerKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class Civility(StrEnum):
    MR = "M."
    MRS = "Mme"
    MISS = "Mlle"
    COMPANY = "Sté"


class IdentityDocumentType(StrEnum):
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"
    RESIDENCE_PERMIT = "residence_permit"
    CONSULAR_CARD = "consular_card"
    DRIVING_LICENCE = "driving_licence"
    TRADE_REGISTER = "trade_register"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class PaymentMode(StrEnum):
    """How an account usually pays its invoices."""

    CASH = "cash"
    CHEQUE = "cheque"
    MOBILE_MONEY = "mobile_money"
    TRANSFER = "transfer"
    DIRECT_DEBIT = "direct_debit"


class PaymentMethod(StrEnum):
    """How one payment was made at the counter."""

    CASH = "cash"
    CHEQUE = "cheque"
    MOBILE_MONEY = "mobile_money"
    TRANSFER = "transfer"


class ConnectionStatus(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    CUT_OFF = "cut_off"
    REMOVED = "removed"


class ContractStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class ReadingSource(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    ESTIMATE = "estimate"


class ReadingKind(StrEnum):
    REGULAR = "regular"
    MOVE_IN = "move_in"
    MOVE_OUT = "move_out"
    METER_INSTALLED = "meter_installed"
    METER_REMOVED = "meter_removed"
    ROLLOVER = "rollover"


class InvoiceKind(StrEnum):
    CONSUMPTION = "consumption"
    WORKS = "works"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    CREDITED = "credited"


class InvoiceLineKind(StrEnum):
    CONSUMPTION = "consumption"
    FIXED_CHARGE = "fixed_charge"
    WORKS = "works"
    ADJUSTMENT = "adjustment"


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    APPROVED = "approved"
    REFUSED = "refused"
    EXPIRED = "expired"
    ORDERED = "ordered"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    #: Replaced by a revision (kept as it was).
    REVISED = "revised"


class ApprovalMethod(StrEnum):
    """How the customer approved a quote."""

    IN_PERSON = "in_person"
    SIGNED_PAPER = "signed_paper"


class InterventionType(StrEnum):
    """What is asked of the technicians. ``NEW_CONNECTION`` and ``PREPAID_TOKEN`` are kept for
    rows made before the kinds of issue 19; new requests take the others."""

    LEAK = "leak"  # on the network (a leak in the street)
    LEAK_AT_CUSTOMER = "leak_at_customer"
    BREAKDOWN = "breakdown"  # no supply
    LOW_PRESSURE = "low_pressure"  # low pressure (water) or voltage problem (electricity)
    METER_CHECK = "meter_check"  # reading check: a disputed index
    METER_INSTALL = "meter_install"
    METER_CHANGE = "meter_change"
    METER_REMOVAL = "meter_removal"
    DISCONNECTION = "disconnection"
    RECONNECTION = "reconnection"
    COMPLAINT = "complaint"  # quality complaint
    WORKS = "works"  # works ordered from an approved quote
    OTHER = "other"
    NEW_CONNECTION = "new_connection"
    PREPAID_TOKEN = "prepaid_token"


class InterventionPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class InterventionStatus(StrEnum):
    NEW = "new"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


class RequestChannel(StrEnum):
    COUNTER = "counter"
    PHONE = "phone"
    FIELD = "field"
    QUOTE = "quote"
    MAIL = "mail"
    TECHNICIAN = "technician"


class Skill(StrEnum):
    """What a technician can do; a request needs one or more of them."""

    WATER = "water"
    ELECTRICITY = "electricity"
    METERS = "meters"


class VendChannel(StrEnum):
    COUNTER = "counter"
    MOBILE_MONEY = "mobile_money"
    USSD = "ussd"
    API = "api"


class VendStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    REVERSED = "reversed"


class SmsStatus(StrEnum):
    NOT_REQUESTED = "not_requested"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"


class JournalOperation(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
