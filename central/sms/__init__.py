"""SMS to the payers: one gateway interface (an HTTP gateway from the settings, or the local
test gateway ``python -m central.sms serve``), an outbox that never blocks or loses a sale,
and the French texts (≤ 160 GSM-7 characters)."""
