"""The prepaid vending platform: mobile-money operators buy STS tokens for their payers
(``/operator/v1``), the HES pushes them to the meters, the payer gets them by SMS.
See ``docs/vending.md``."""
