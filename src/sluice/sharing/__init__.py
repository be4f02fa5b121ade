"""Sharing: applications, grants as contracts, objections, working-day deadlines."""
