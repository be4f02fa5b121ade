"""The REST API: routers parse, call a use case, serialise — nothing more."""
