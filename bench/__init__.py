"""Benchmarks that print their figures (`make bench`). They measure; they do not assert."""
