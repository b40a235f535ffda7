"""Exceptions shared by every codec and backend."""


class DecodeError(ValueError):
    """Raised by every decoder for input that is not a valid payload.

    The message names what was wrong and where (byte offset, field).  Both backends raise this
    same type with the same message for the same bad input.
    """
