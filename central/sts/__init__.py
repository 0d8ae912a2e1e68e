"""STS token engine (IEC 62055-41)."""
