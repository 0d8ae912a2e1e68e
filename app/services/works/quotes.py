"""Works quotes (devis de travaux) and their workflow:

draft → sent → approved (date, signer, how) / refused (reason) / expired (validity passed, found
by ``expire_overdue``) → works ordered (``order_works``) → invoiced (``app.services.works.invoicing``).

Every step keeps who and when on the quote (and the write path audits it). A quote is edited only
as a draft; once sent it is changed by a revision (``DV101-2026-000042-2``) that replaces it, the
old one being kept as it was. Numbers come from the agency's series at creation (never reused).

The code is in three modules, by concern: ``quote_drafts`` (writing a draft),
``quote_workflow`` (the steps) and ``quote_views`` (reading a quote); this module is the one
name the rest of the program imports them by.
"""

from __future__ import annotations

from app.services.works.quote_drafts import (
    DEFAULT_VALIDITY,
    EDITABLE,
    EXPIRING_SOON,
    INVOICEABLE,
    REVISABLE,
    Prospect,
    QuoteInput,
    SavedQuote,
    create_quote,
    update_quote,
)
from app.services.works.quote_views import (
    QuoteLineView,
    QuoteView,
    Step,
    line_input,
    load_quote,
    party_of,
)
from app.services.works.quote_workflow import (
    WORKS_ORDER_HOOKS,
    OrderedWorks,
    WorksOrderHook,
    approve_quote,
    cancel_quote,
    expire_overdue,
    order_works,
    refuse_quote,
    revise_quote,
    revision_number,
    send_quote,
)

__all__ = [
    "DEFAULT_VALIDITY", "EDITABLE", "EXPIRING_SOON", "INVOICEABLE", "REVISABLE",
    "WORKS_ORDER_HOOKS", "OrderedWorks", "Prospect", "QuoteInput", "QuoteLineView", "QuoteView",
    "SavedQuote", "Step", "WorksOrderHook", "approve_quote", "cancel_quote", "create_quote",
    "expire_overdue", "line_input", "load_quote", "order_works", "party_of", "refuse_quote",
    "revise_quote", "revision_number", "send_quote", "update_quote",
]
