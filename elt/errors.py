"""The one exception type the CLI turns into a single actionable line instead of a traceback."""


class EltError(Exception):
    """An expected failure: the message says what is wrong and how to fix it, in one line."""
