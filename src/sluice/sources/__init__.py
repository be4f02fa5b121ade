"""Linked sources: a resource whose data stays in the department's own database (PostgreSQL, MySQL, SQLite)."""
