"""Benchmarks: ``python -m tests.bench NAME`` (``./dev bench NAME``).

They print figures and never fail on time.
"""
