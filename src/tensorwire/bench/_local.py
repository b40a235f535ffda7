"""``bench --local``: the same calls with no network.

:class:`LocalTransport` stands where :class:`tensorwire.Client`'s HTTP or gRPC transport stands
and hands each request body to the server's own request handler (:class:`tensorwire._model.Model`
around :func:`~tensorwire.bench.echo`, what ``tensorwire serve`` runs for each request), in the
calling thread.  A call is then exactly a networked call minus the sockets and the server's
framework: the client encodes the request, the server side decodes it, echoes the inputs and
encodes the answer, the client decodes it; the report's latency is that codec work alone.

:func:`stage_times` times the four codec steps of one batch one by one, as ``demo`` times its
codecs (the fastest of a few calls, ``tensorwire._measure.best_time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import payload
from .._measure import best_time
from .._model import Failure, Model
from ..errors import PredictionError
from ..payload import GRPC_FORMATS, PayloadFormat
from ._workload import Inputs, echo, named
from .report import StageTimes

_HTTP_STATUS = {"bad_request": 400, "internal": 500, "abandoned": 503}
_GRPC_STATUS = {"bad_request": "INVALID_ARGUMENT", "internal": "INTERNAL", "abandoned": "CANCELLED"}


def local_model(fmt: PayloadFormat, tile: tuple[int, ...]) -> Model:
    """The echo model for ``fmt``, as ``tensorwire serve tensorwire.bench:echo --format FMT`` makes
    it (GRPC_SERIALIZED_TF_EXAMPLES: ``--example-shape HxWx1``, so bands come back as sent)."""
    shape = (*tile[:-1], 1) if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES else None
    return Model(echo, formats=[fmt], example_shape=shape)


class LocalTransport:
    """A :class:`tensorwire._transport.Transport` that answers in this thread (module docstring)."""

    def __init__(self, model: Model, fmt: PayloadFormat) -> None:
        self.model = model
        self.grpc = fmt in GRPC_FORMATS

    def send_once(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        try:
            return self.model.handle_grpc(body) if self.grpc else self.model.handle_json(body)
        except Failure as exc:
            status = (_GRPC_STATUS if self.grpc else _HTTP_STATUS)[exc.status]
            raise PredictionError(str(exc), status=status) from None

    def close(self) -> None:
        pass


def stage_times(fmt: PayloadFormat, inputs: Inputs, repeats: int = 10, budget: float = 0.25) -> StageTimes:
    """The four codec steps of one request and its echoed answer, each the fastest of up to
    ``repeats`` calls (fewer once ``budget`` seconds were spent on it)."""
    enc_req, body = best_time(lambda: payload.encode_request(inputs, fmt), repeats, budget)
    dec_req, decoded = best_time(lambda: payload.decode_request(body, fmt), repeats, budget)
    outputs: Any = echo(named(decoded))
    enc_resp, answer = best_time(lambda: payload.encode_response(outputs, fmt), repeats, budget)
    dec_resp, _ = best_time(lambda: payload.decode_response(answer, fmt), repeats, budget)
    return StageTimes(fmt.value, enc_req, dec_req, enc_resp, dec_resp, len(body), len(answer))
