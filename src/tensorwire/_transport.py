"""What :class:`tensorwire.Client` asks of a transport: one attempt at sending a request body.

A transport (:class:`~tensorwire._http_transport.HttpTransport` for the JSON formats,
:class:`~tensorwire._grpc_transport.GrpcTransport` for the gRPC formats) sends one body and
returns the answer's bytes.  It does not retry, decode or split: it raises :class:`Retry`
(carrying the :class:`tensorwire.PredictionError` to raise if no attempt is left) for a failure
another attempt may cure, and the PredictionError itself for one it would not.  The client
owns the retry loop and its backoff, the same for both transports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .errors import PredictionError


class Transport(Protocol):
    def send_once(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        """The answer's body for one attempt; raises :class:`Retry` or PredictionError."""

    def close(self) -> None:
        """Releases the connections; the transport is not used afterwards."""


class Retry(Exception):
    """An attempt failed in a way another attempt may cure (see the client's retry rules)."""

    def __init__(self, error: PredictionError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after  # seconds the server asked for (HTTP Retry-After), if any
