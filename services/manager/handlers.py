"""What every command handler shares: the typed refusal and the request-id check.

A handler validates, lets aggregates decide, and saves; a refusal raises
:class:`CommandRefused` with a stable code and a precise message, and writes nothing.
"""

from __future__ import annotations

import re

MAX_REQUEST_ID = 128
#: names of sessions, users and the like: 1-64 letters, digits, '.', '_' or '-'
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CommandRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > MAX_REQUEST_ID:
        raise CommandRefused(
            "invalid-request-id", f"request_id must be 1..{MAX_REQUEST_ID} characters"
        )
