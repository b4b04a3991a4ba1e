"""Residents' requests models."""
