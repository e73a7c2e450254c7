"""Read models and their runner: SQL tables derived from the events on ``BERTH_EVENTS``."""
