"""Notices: what the platform tells an organisation or a role that needs its attention."""
