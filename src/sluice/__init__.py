"""Sluice: make government data safe, and make it flow."""

__version__ = "0.1.0"
