"""Numba kernels: pure functions over numpy arrays (no I/O, no dbt, no pandas, nothing of the project)."""
