"""Exceptions shared by every codec and backend."""

import json


class DecodeError(ValueError):
    """Raised by every decoder for input that is not a valid payload.

    The message names what was wrong and where (byte offset, field).  Both backends raise this
    same type with the same message for the same bad input.
    """


class PredictionError(RuntimeError):
    """The model answered ``{"error": ...}`` instead of predictions.

    ``str(exc)`` and ``exc.message`` are the error's text: the member itself when it is a string,
    its ``message`` field when it is an object that has one (Google API errors), else its JSON.
    ``exc.error`` is the member as decoded JSON.  ``exc.status`` is the HTTP status code or the
    gRPC status name of the answer when a :class:`tensorwire.Client` received it, else None.
    """

    def __init__(self, error, status=None):
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
