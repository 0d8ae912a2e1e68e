"""Guichet: the desktop back-office of a utility's regional agencies."""

__version__ = "0.1.0"
