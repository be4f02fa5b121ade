"""Compatibility layers: other platforms' APIs over Sluice's own use cases."""
