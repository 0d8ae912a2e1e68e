"""Central's side of the nightly synchronisation (docs/sync.md): batches received from the
desks and applied, the commit numbering the downloads follow, snapshots, reconciliation and
file bundles."""
