"""Scheduling: the pure decision core used by the ResourceGroup aggregate.

Nothing here does I/O or reads the clock; every input (time included) is passed in.
"""
