"""Exceptions shared by every codec and backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class DecodeError(ValueError):
    """Raised by every decoder for input that is not a valid payload.

    The message names what was wrong and where (byte offset, field).  Both backends raise this
    same type with the same message for the same bad input.

    One position per message.  ``DecodeError(head, offset, tail)`` reads
    ``"{head} at offset {offset}{tail}"``; ``offset`` (None for a message without a position)
    is a byte offset into the input of the decoder that raised it.  A decoder that decodes a
    piece of its own input with another decoder (a base64 string inside a JSON body, a
    TensorProto inside a PredictRequest) does not append its own position to the inner
    message: it re-raises with :meth:`within`, which rebases the inner offset onto its own input
    when the piece lies there byte for byte, or else replaces it with the piece's own position
    (the inner detail is kept, its position dropped).
    """

    head: str
    offset: int | None
    tail: str

    def __init__(self, head: str, offset: int | None = None, tail: str = "") -> None:
        super().__init__(head if offset is None else f"{head} at offset {offset}{tail}")
        self.head = head
        self.offset = offset
        self.tail = tail

    def within(self, prefix: str, offset: int | None,
               rebase: Callable[[int], int] | None = None) -> DecodeError:
        """This error as the outer decoder words it: ``prefix`` before the inner message, one
        position.  ``rebase``: a function from an offset in the inner decoder's input to the
        outer input's offset of the same byte, when the inner input lies in the outer one (the
        inner position is then kept, rebased); else, and for an inner message without a
        position, the position is ``offset`` (where the piece is in the outer input)."""
        if self.offset is not None and rebase is not None:
            return DecodeError(prefix + self.head, rebase(self.offset), self.tail)
        return DecodeError(prefix + self.head + self.tail, offset)

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, int | None, str]]:
        return type(self), (self.head, self.offset, self.tail)


class PredictionError(RuntimeError):
    """The model answered ``{"error": ...}`` instead of predictions.

    ``str(exc)`` and ``exc.message`` are the error's text: the member itself when it is a string,
    its ``message`` field when it is an object that has one (Google API errors), else its JSON.
    ``exc.error`` is the member as decoded JSON.  ``exc.status`` is the HTTP status code or the
    gRPC status name of the answer when a :class:`tensorwire.Client` received it, else None.
    """

    message: str
    error: Any
    status: int | str | None

    def __init__(self, error: Any, status: int | str | None = None) -> None:
        if isinstance(error, str):
            message = error
        elif isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        else:
            message = json.dumps(error)
        super().__init__(message)
        self.message = message
        self.error = error
        self.status = status
