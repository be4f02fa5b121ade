"""Benchmarks against peers and physical limits. Never part of the test run; `make bench` runs them."""
