"""The demo government: departments, enterprises, accounts — and, as later capabilities plug in, its data."""
