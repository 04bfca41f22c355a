"""Insight: what customers talk about, how the brand stands, who its customers are and what
answering them is worth (docs/insight.md). Counting happens where interactions and cases are
written (store/figures.py, in their transactions); reading, rolling up and reporting happen here."""
