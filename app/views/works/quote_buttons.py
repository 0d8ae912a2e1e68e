"""The quote editor's buttons: which ones move the quote along its workflow, what they do (their
tips), and which can be pressed at each status."""

from __future__ import annotations

from app.models.enums import QuoteStatus
from app.services.works.quotes import QuoteView

TIPS = {
    "approve": "Enregistrer l'accord du client (qui a signé, quand, comment)",
    "refuse": "Enregistrer le refus du client et son motif",
    "revise": "Nouvelle révision (DV…-2) ; ce devis reste tel quel",
    "order": "Commander les travaux (demande d'intervention « travaux »)",
    "connect": "Travaux faits : créer le branchement, le compteur et l'abonnement",
}

#: The buttons that move the quote along its workflow (the others act on the document).
WORKFLOW = ("send", "approve", "refuse", "revise", "order", "invoice", "connect")


def button_states(quote: QuoteView | None) -> dict[str, bool]:
    """Which buttons work for this quote (None: a new quote, not saved yet)."""
    status = quote.status if quote else QuoteStatus.DRAFT
    editable = quote is None or quote.editable
    return {
        "save": editable,
        "send": quote is not None and status is QuoteStatus.DRAFT,
        "approve": status is QuoteStatus.SENT,
        "refuse": status is QuoteStatus.SENT,
        "revise": status in (QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.REFUSED,
                             QuoteStatus.EXPIRED),
        "order": status is QuoteStatus.APPROVED,
        "invoice": status in (QuoteStatus.APPROVED, QuoteStatus.ORDERED),
        "connect": quote is not None and quote.tariff_id is not None
        and status in (QuoteStatus.ORDERED, QuoteStatus.INVOICED),
        "print": quote is not None,
        "letter": quote is not None and quote.customer_id is not None,
        "back": True,
    }
