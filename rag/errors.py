"""The one exception type users see.

The CLI and the UI catch `RagError` and print its message as it is, so every message says what happened
and what to do about it; anything else is a bug and keeps its traceback.
"""


class RagError(Exception):
    """A problem the user can act on (bad input, missing key, unreachable server, stale index)."""
