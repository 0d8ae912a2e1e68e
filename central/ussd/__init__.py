"""The simulated mobile-money operator: its wallet service (payers, balances, PINs, debits
reversed when a purchase fails), its USSD dialogue (server side, as a real USSD gateway
runs it), and the phone in a terminal: ``python -m central.ussd --operator moov --phone …``.
It talks to the vending platform over HTTP with the operator's credential, like a real one."""
