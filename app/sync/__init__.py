"""Nightly synchronisation between a desk and the central server (docs/architecture.md, docs/sync.md).

``wire`` is shared with the server: the form rows and journal entries take on the line, the
canonical bytes that are hashed, and the checksums of reconciliation.
"""
