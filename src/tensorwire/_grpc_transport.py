"""The gRPC transport of :class:`tensorwire.Client`: one channel, calling
``/tensorflow.serving.PredictionService/Predict`` with bytes in and out (tensorwire's codec writes
and reads the messages; no generated stubs are involved).

Which failures are retried is in :mod:`tensorwire.client`'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from .errors import PredictionError
from ._transport import Retry

PREDICT = "/tensorflow.serving.PredictionService/Predict"
_RETRY = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
# RESOURCE_EXHAUSTED details of gRPC's own that another attempt would meet again
_FINAL_DETAILS = ("larger than max", "metadata size exceeds")


class GrpcTransport:
    def __init__(self, target: str, *, timeout: float) -> None:
        """``target``: ``host:port`` or ``grpc://host:port`` (plain text), ``grpcs://host:port`` (TLS)."""
        self.timeout = timeout
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        if target.startswith("grpcs://"):
            self._channel = grpc.secure_channel(target[8:], grpc.ssl_channel_credentials(), options=options)
        else:
            self._channel = grpc.insecure_channel(target.removeprefix("grpc://"), options=options)
        # no serializers: bytes in, bytes out
        self._call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = self._channel.unary_unary(PREDICT)

    def send_once(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        metadata = tuple((k.lower(), v) for k, v in headers.items())
        try:
            return self._call(body, timeout=self.timeout, metadata=metadata or None)
        except grpc.RpcError as exc:
            code = exc.code()
            details = exc.details() or code.name
            error = PredictionError(details, status=code.name)
            if code in _RETRY and not any(s in details for s in _FINAL_DETAILS):
                raise Retry(error) from None
            raise error from None

    def close(self) -> None:
        self._channel.close()
