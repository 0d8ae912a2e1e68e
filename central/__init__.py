"""Guichet central server."""
