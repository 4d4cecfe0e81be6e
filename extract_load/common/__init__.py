"""Helpers shared by every pipeline."""
