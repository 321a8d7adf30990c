"""Aggregated signals."""
