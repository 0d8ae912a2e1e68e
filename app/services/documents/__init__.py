"""Documents the agency hands out (receipts, quotes, letters): made once, stored as issued."""
