"""Pieces the benchmarks share; kept in a package so that `make bench` (bench/*.py) does not run them."""
