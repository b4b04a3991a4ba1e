"""Custody register models."""
