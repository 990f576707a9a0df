"""Synthetic horse faces."""
