"""The customer relations module (ODYSSEE Région): search, customer files, counter actions."""
