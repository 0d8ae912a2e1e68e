"""The works module (AGT): quotes and works invoices."""
