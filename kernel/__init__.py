"""Shared domain rules of the desk and central: money, pricing, numbering, identifiers,
errors, the unit of work, the wire protocol. Depends only on app.models and libraries."""
