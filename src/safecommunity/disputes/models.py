"""Disputes models."""
