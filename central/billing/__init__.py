"""Central's billing: consumption invoices from readings and tariffs (``engine``), corrections
by credit note (``corrections``), agencies' works invoices (``works``), account balances
(``balances``)."""
