"""Organisations, accounts, roles, API tokens, passwords and the separation of duties."""
