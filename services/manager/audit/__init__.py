"""Audit and replay: read, export, import and verify the event log.

The logic behind ``berth events …``, kept out of the CLI so that it can be
called (and tested) directly: :mod:`.export` and :mod:`.replay` move the
notification log to and from JSON Lines, :mod:`.stream_reader` and :mod:`.tail`
read ``BERTH_EVENTS``, :mod:`.history` reads one aggregate, and :mod:`.verify`
checks that the store and the stream hold the same events in the same order.
"""
