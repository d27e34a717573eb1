"""Benchmarks: scripts that print figures (ratios and counts), run with `make bench`."""
