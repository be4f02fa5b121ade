"""The audit log: every event that moves data or changes a right."""
