"""``check_endpoint``: does an endpoint answer Earth Engine correctly, format by format?

For each payload format the check makes, in order (docs/check.md is the user's page):

1. valid ``"one tile"``: an image of exactly one tile, one instance in one request;
2. valid ``"N tiles ..."``: an image of as many tiles as one request of ``max_payload_bytes``
   holds plus one (at most ``max_tiles``), with edge tiles, cut into requests as Earth Engine
   cuts them (:mod:`tensorwire.conformance._valid`);
3. the hostile probes (:mod:`tensorwire.conformance._probes`);
4. valid ``"one tile, after the probes"``: the endpoint still answers.

Decisions:

* Valid requests stop at the first failure in a format (the rest are reported as not run):
  the first failing request is the one named, and a hanging endpoint costs one timeout, not
  one per request.  The probes are sent even when the valid requests failed (an endpoint can
  answer its model wrong and still refuse garbage well), and stop after one gets no answer in
  time.
* ``retries`` defaults to 0: a check reports what the endpoint answered, a 503 included.  Every
  request has ``timeout`` seconds (and a connect timeout of at most 10 s).
* Targets: a URL starting ``http://`` or ``https://`` carries the JSON formats, anything else
  (``host:port``, ``grpc://``, ``grpcs://``) the gRPC formats; give both to check both.  With no
  ``formats``, the six Earth Engine formats (JSON, the general predict body, is not one of them)
  whose transport has a target are checked, and a format the inputs cannot be sent in
  (ND_ARRAYS with more than one band or any property; a string property in RAW_JSON or
  GRPC_SERIALIZED_TF_EXAMPLES) is reported as skipped with the reason; named in ``formats``,
  that is a ValueError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ..ee._answers import OutputSpec, dtype_and_count
from ..ee._tiling import SizeXY, rows_cols
from ..ee.model import Model, PropertyValue, replicated
from ..errors import PredictionError
from ..payload import GRPC_FORMATS, AnyFormat, PayloadFormat
from ._probes import GrpcProber, HttpProber, probes
from ._report import FormatReport, Outcome, Report
from ._valid import BandSpec, Case, grid_shape, image

#: A band to send: its dtype (a scalar band, sent as ``(h, w, 1)``) or ``(dtype, k)`` (an
#: array band, sent as ``(h, w, k)``).
BandInput = Union[DTypeLike, tuple[DTypeLike, int]]

#: Earth Engine's payload formats (``JSON``, the general predict body, is not one).
EE_FORMATS = (PayloadFormat.SERIALIZED_TF_TENSORS, PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS,
              PayloadFormat.GRPC_TF_TENSORS, PayloadFormat.GRPC_SERIALIZED_TF_TENSORS,
              PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES)


def check_endpoint(target: str | Sequence[str], formats: Sequence[AnyFormat] | None = None, *,
                   bands: Mapping[str, BandInput], tile: SizeXY, output_bands: Mapping[str, OutputSpec],
                   overlap: SizeXY = 0, output_tile: SizeXY | None = None,
                   properties: Mapping[str, PropertyValue] | None = None, max_payload_bytes: int = 1_500_000,
                   max_tiles: int = 64, concurrency: int = 1, timeout: float = 30.0, retries: int = 0,
                   headers: Mapping[str, str] | None = None, allow_nan: bool = False, seed: int = 0,
                   **request_options: Any) -> Report:
    """Checks ``target`` (a predict URL, ``host:port``, or a list of both) in ``formats`` (None:
    the Earth Engine formats its transports carry) as Earth Engine would call it; see the module
    docstring for what is sent and checked.

    ``bands``: ``{name: dtype or (dtype, k)}``, the model's input bands; ``tile``, ``overlap``,
    ``output_tile``: Earth Engine's ``inputTileSize``, ``inputOverlapSize`` (total per axis),
    ``outputTileSize`` (``[x, y]`` or one int); ``output_bands``: ``{name: dtype or (dtype,
    dimensions)}`` as for :class:`tensorwire.ee.Model`; ``properties``: ``{name: scalar}``
    replicated into every instance.  ``max_payload_bytes``, ``concurrency``: as Earth Engine's
    ``maxPayloadBytes`` and requests in flight; ``max_tiles``: the most tiles of one image;
    ``timeout``: seconds per request; ``headers``: sent with every request (auth);
    ``allow_nan``: NaN is a valid value of float outputs; ``request_options``: the Client's
    (``model_name``, ``signature_name``, ...).

    Returns a :class:`Report` (``report.passed``, ``report.table()``).  Raises ValueError for
    arguments that cannot make a check (no target for a format asked for, a malformed band or
    output, an odd overlap, ND_ARRAYS asked for with several inputs)."""
    http, grpc = _targets(target)
    if not bands:
        raise ValueError("bands: give at least one input band, {name: dtype or (dtype, k)}")
    band_specs = {str(name): _band(name, spec) for name, spec in bands.items()}
    props = dict(properties or {})
    both = sorted(set(band_specs) & set(props))
    if both:
        raise ValueError(f"{both}: a name is a band or a property, not both")
    if timeout <= 0 or max_tiles < 2 or concurrency < 1:
        raise ValueError("timeout must be positive, max_tiles at least 2 and concurrency at least 1")
    explicit = formats is not None
    if formats is None:
        chosen = [f for f in EE_FORMATS if (grpc if f in GRPC_FORMATS else http) is not None]
    else:
        chosen = list(dict.fromkeys(PayloadFormat.of(f) for f in formats))
    if not chosen:
        raise ValueError("no format to check: give a predict URL (JSON formats) or host:port (gRPC formats)")
    options = dict(timeout=timeout, connect_timeout=min(timeout, 10.0), retries=retries,
                   headers=dict(headers or {}), **request_options)
    report = Report([], _settings(band_specs, props, tile, overlap, output_tile, output_bands,
                                  max_payload_bytes, timeout))
    for fmt in chosen:
        where = grpc if fmt in GRPC_FORMATS else http
        if where is None:
            raise ValueError(f"{fmt.value} needs a {'host:port' if fmt in GRPC_FORMATS else 'predict URL'} target")
        reason = _unsendable(fmt, band_specs, props)
        if reason is not None:
            if explicit:
                raise ValueError(f"{fmt.value}: {reason}")
            report.formats.append(FormatReport(fmt, where, skipped=reason))
            continue
        model = Model(where, fmt, input_tile_size=tile, input_overlap_size=overlap, output_tile_size=output_tile,
                      output_bands=output_bands, max_payload_bytes=max_payload_bytes, concurrency=concurrency,
                      progress=False, **options)
        with model:
            report.formats.append(_check_format(model, where, band_specs, props, allow_nan, max_tiles, timeout,
                                                dict(headers or {}), seed))
    return report


def _check_format(model: Model, target: str, bands: Mapping[str, BandSpec], props: Mapping[str, Any],
                  allow_nan: bool, max_tiles: int, timeout: float, headers: Mapping[str, str],
                  seed: int) -> FormatReport:
    fmt = model.format
    result = FormatReport(fmt, target)
    case = Case(model, bands, props, allow_nan)
    assert model.tile is not None
    th, tw = model.tile
    try:
        fit = case.tiles_that_fit(seed)
    except (ValueError, TypeError) as exc:
        result.outcomes.append(Outcome("valid", "one tile", False, f"cannot be sent: {exc}"))
        return result
    shape, count = grid_shape(min(max(fit, 1) + 1, max_tiles), (th, tw))
    big = f"{count} tiles, about {fit} per request" + ("" if fit + 1 <= max_tiles else " (max_tiles)")
    valid = [("one tile", (th, tw)), (big, shape)]
    failed = False
    for i, (label, shape) in enumerate(valid):
        if failed:
            result.outcomes.append(Outcome("valid", label, None))
            continue
        outcome = _valid(case, label, shape, seed + i)
        failed = outcome.ok is False
        result.outcomes.append(outcome)

    prober = (GrpcProber if fmt in GRPC_FORMATS else HttpProber)(target, timeout, headers)
    try:
        hung = False
        for label, body in probes(fmt, _probe_columns(model, bands, props, seed), model.client.request_options):
            if hung:
                result.outcomes.append(Outcome("hostile", label, None))
                continue
            ok, detail, hung = prober.send(body)
            result.outcomes.append(Outcome("hostile", label, ok, detail))
    finally:
        prober.close()
    after = "one tile, after the probes"
    if failed or hung:
        result.outcomes.append(Outcome("valid", after, None))
    else:
        result.outcomes.append(_valid(case, after, (th, tw), seed))
    return result


def _valid(case: Case, label: str, shape: tuple[int, int], seed: int) -> Outcome:
    try:
        requests, instances = case.run(shape, seed)
    except PredictionError as exc:
        status = "" if exc.status is None else f" [status {exc.status}]"
        return Outcome("valid", label, False, exc.message + status)
    except (ValueError, TypeError) as exc:
        return Outcome("valid", label, False, f"cannot be sent: {exc}")
    except Exception as exc:  # a check reports; it does not stop at what it did not foresee
        return Outcome("valid", label, False, f"unexpected {type(exc).__name__}: {exc}")
    return Outcome("valid", label, True, f"{instances} instance(s) in {requests} request(s)")


def _probe_columns(model: Model, bands: Mapping[str, BandSpec], props: Mapping[str, Any],
                   seed: int) -> Any:
    """``columns(n, grow)`` for the probes: ``n`` instances of the inputs, each ``grow`` pixels taller."""
    assert model.tile is not None
    ih, iw = model.tile[0] + 2 * model.margin[0], model.tile[1] + 2 * model.margin[1]
    scalars = model._properties(props)

    def columns(n: int, grow: int) -> dict[str, NDArray[Any]]:
        pixels = image(bands, (ih + grow, iw), seed)
        cols: dict[str, NDArray[Any]] = {}
        for name, a in pixels.items():
            one = a[None, :, :, None] if a.ndim == 2 else a[None]
            cols[name] = np.repeat(one, n, axis=0)
        cols.update(replicated(scalars, n))
        return cols

    return columns


def _targets(target: str | Sequence[str]) -> tuple[str | None, str | None]:
    """``(predict URL, gRPC target)`` from one target or several."""
    given = [target] if isinstance(target, str) else list(target)
    http = [t for t in given if t.startswith(("http://", "https://"))]
    grpc = [t for t in given if not t.startswith(("http://", "https://"))]
    if not given or len(http) > 1 or len(grpc) > 1:
        raise ValueError(f"target: one predict URL and/or one host:port, not {given!r}")
    return (http[0] if http else None), (grpc[0] if grpc else None)


def _band(name: str, spec: BandInput) -> BandSpec:
    return dtype_and_count(spec, f"bands[{name!r}]", "k", 1, "iuf")


def _unsendable(fmt: PayloadFormat, bands: Mapping[str, BandSpec], props: Mapping[str, Any]) -> str | None:
    if fmt is PayloadFormat.ND_ARRAYS and len(bands) + len(props) != 1:
        return (f"ND_ARRAYS instances carry one unnamed array; {len(bands)} band(s) and {len(props)} "
                "property(ies) given")
    texts = [n for n, v in props.items() if isinstance(v, (str, bytes))]
    if texts and fmt in (PayloadFormat.RAW_JSON, PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES):
        return f"{fmt.value} carries numbers only; string properties {texts}"
    return None


def _settings(bands: Mapping[str, BandSpec], props: Mapping[str, Any], tile: SizeXY, overlap: SizeXY,
              output_tile: SizeXY | None, output_bands: Mapping[str, OutputSpec], max_payload_bytes: int,
              timeout: float) -> str:
    def size(s: SizeXY) -> str:
        y, x = rows_cols(s, "size", minimum=0)
        return f"{x}x{y}"

    names = ", ".join(f"{n}:{d}" + ("" if k is None else f"[{k}]") for n, (d, k) in bands.items())
    outs = ", ".join(str(n) for n in output_bands)
    text = f"bands {names}; tile {size(tile)} + overlap {size(overlap)}"
    if output_tile is not None:
        text += f", output tile {size(output_tile)}"
    if props:
        text += f"; properties {', '.join(props)}"
    return text + f"; outputs {outs}; max_payload_bytes {max_payload_bytes:,}; timeout {timeout:g} s"
