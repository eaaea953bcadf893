"""Errors that end a command with one clear sentence instead of a traceback."""


class AllimiError(Exception):
    """A problem the operator can fix; the message says what is wrong and what to do."""
