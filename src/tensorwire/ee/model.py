"""Earth Engine's side of an image prediction, run locally: :class:`Model`.

``Model(target, ...)`` mirrors ``ee.Model.fromVertexAi`` (arguments in snake_case, a target
instead of an endpoint name); :meth:`Model.predict_image` cuts an image into the instances Earth
Engine would send, sends them in requests of at most ``max_payload_bytes`` through a
:class:`tensorwire.Client`, checks each answer as Earth Engine does and stitches the blocks
back; :meth:`Model.predict_properties` does the same for a table (one instance per row).
docs/ee-model.md is the user's page.

What Earth Engine's documentation says, and what tensorwire decided
-------------------------------------------------------------------

Sources (read 2026-12-05):

* the ``ee.Model.fromVertexAi`` reference,
  https://developers.google.com/earth-engine/apidocs/ee-model-fromvertexai;
* the image-prediction guide,
  https://developers.google.com/earth-engine/guides/ee-vertex-image-predictions;
* the TFRecord guide (exports' ``kernelSize``),
  https://developers.google.com/earth-engine/guides/tfrecord;
* this repository's docs/payload-formats.md ("How Earth Engine cuts an image into requests").

The reference describes ``inputTileSize`` as the rectangular size of the pixel tiles handed to
prediction instances, ``inputOverlapSize`` as the X/Y overlap between adjacent tiles along each
edge (default ``[0, 0]``), ``outputTileSize`` as the size of the tiles coming back (default: the
input tile size), ``inputProperties`` as properties copied into every tile instance, and
``outputBands`` as a map from band name to ``type`` (a PixelType) and optional ``dimensions``.
On its own that wording does not say whether the overlap is per edge or in total.  The guide
settles it: its "Tile Sizes" section says that for a buffer of N pixels around the image (the
patch sent) the overlap is ``[2N, 2N]``.  (Only excerpts of the guide could be read here, in a
search index, not the whole page; that sentence is quoted in them.)  docs/payload-formats.md
already gave the same arithmetic (a ``[192, 192]`` tile with a ``[64, 64]`` overlap reaches the
model as 256 × 256).  So:

* **Decided: the overlap is the total added per axis**, half of it on each edge.  An instance
  is ``input_tile_size + input_overlap_size`` pixels on a side (128 + 16 = 144 for a
  ``(128, 128)`` tile and ``(16, 16)`` overlap), i.e. ``tile + 2 * margin`` with
  ``margin = overlap / 2`` neighbouring pixels on every edge.  Issue 13 read the overlap as per
  edge (``tile + 2 * overlap``); the guide's sentence contradicts that reading, and the guide is
  the more specific source.  An odd overlap is refused (ValueError): the documents do not say
  on which edge Earth Engine puts the odd pixel, and guessing would silently shift the model's
  view by one pixel.
* Tiles advance by ``input_tile_size`` (the instances overlap by the margins, the tiles do
  not); the answer for an instance is the ``output_tile_size`` block predicting its tile (not
  its margin); blocks are mosaicked; a block size different from the tile is a scale change
  (2× for a super-resolution model).  Earth Engine samples real pixels around the edges of the
  region asked for; tensorwire has only the array given, so outside it the instances hold
  ``fill`` (default 0, as Earth Engine sends masked pixels), and the mosaic is cropped to the
  image size × scale (rounded up).
* **Sizes are ``[x, y]``, width first**, as in Earth Engine's lists, so a ``fromVertexAi`` call
  copies over unchanged; one int means a square.  Arrays are numpy's ``(H, W)`` = ``(y, x)``.
* Every band travels as ``(h, w, 1)`` per instance (Earth Engine always sends 3-D tensors), an
  array band ``(H, W, k)`` as ``(h, w, k)``; values keep the array's dtype unless
  ``input_type_override`` names another; properties are replicated into every instance.
* ``output_bands`` takes ``{name: dtype}`` or ``{name: (dtype, dimensions)}`` (numpy dtypes in
  place of ``ee.PixelType``); the checks are :mod:`tensorwire.ee._answers`'.

Not modelled: projections (``proj``, ``fixInputProj``: tensorwire has pixels, not geography),
masks, and ``outputMultiplier`` (a hint to Earth Engine's own request sizing).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ..errors import DecodeError, PredictionError
from ..payload import AnyFormat, PayloadFormat, encode_request, sizes_alike
from ._answers import Checker, OutputSpec, outputs
from ._tiling import SizeXY, Tiling, rows_cols

if TYPE_CHECKING:
    from ..client import Client

#: A property value sent with every instance.
PropertyValue = Union[int, float, bool, str, np.generic]


class Model:
    """A hosted model called the way Earth Engine calls it; see the module docstring.

    ``target``: a predict URL (JSON formats), ``host:port`` (gRPC formats) or an existing
    :class:`tensorwire.Client` (whose format must be ``payload_format``; its transport, retries
    and request options are used, its own ``max_payload_bytes`` and ``concurrency`` are not:
    the Model's are).  ``client_options`` go to the Client made otherwise (``timeout``,
    ``retries``, ``headers``, ``model_name``, ...), with the Model's ``max_payload_bytes`` and
    ``concurrency``.

    ``input_tile_size``, ``input_overlap_size``, ``output_tile_size``: ``[x, y]`` or one int;
    the overlap is the total added per axis (half on each edge, so it must be even).
    ``output_bands`` / ``output_properties``: ``{name: dtype}`` or ``{name: (dtype, dimensions)}``.
    ``input_properties``: the names of the properties sent (None: every one given).
    ``input_shapes``: ``{band: [k]}``, the length an array band must have.
    ``input_type_override``: ``{band or property: dtype}`` to convert to before sending.
    ``max_payload_bytes``: the request limit (Earth Engine's ``maxPayloadBytes``), split by the
    Client's rules; ``concurrency``: requests in flight.  ``fill``: the value of pixels outside
    the image.  ``progress``: a tqdm bar (None: when stderr is a terminal).
    """

    def __init__(self, target: str | Client, payload_format: AnyFormat = "SERIALIZED_TF_TENSORS", *,
                 input_tile_size: SizeXY | None = None, input_overlap_size: SizeXY = 0,
                 output_tile_size: SizeXY | None = None, output_bands: Mapping[str, OutputSpec] | None = None,
                 input_properties: Sequence[str] | None = None,
                 output_properties: Mapping[str, OutputSpec] | None = None,
                 input_shapes: Mapping[str, Sequence[int]] | None = None,
                 input_type_override: Mapping[str, DTypeLike] | None = None, max_payload_bytes: int = 1_500_000,
                 concurrency: int = 4, fill: Any = 0, progress: bool | None = None,
                 **client_options: Any) -> None:
        from .._batcher import Batcher
        from ..client import Client  # noqa: F811 (the runtime import; the client stack is an extra)

        self.format = PayloadFormat.of(payload_format)
        self._owns_client = not isinstance(target, Client)
        if isinstance(target, Client):
            if client_options:
                raise TypeError(f"client options {sorted(client_options)} given with an existing Client")
            if target.format is not self.format:
                raise ValueError(f"the Client speaks {target.format.value}, payload_format is {self.format.value}")
            self.client = target
        elif isinstance(target, str):
            self.client = Client(target, self.format, max_payload_bytes=max_payload_bytes, concurrency=concurrency,
                                 **client_options)
        else:
            raise TypeError(f"target: a predict URL, host:port or a tensorwire.Client, not {type(target).__name__}")
        self.batcher = Batcher(max_payload_bytes, concurrency)
        self.tile = None if input_tile_size is None else rows_cols(input_tile_size, "input_tile_size")
        overlap = rows_cols(input_overlap_size, "input_overlap_size", minimum=0)
        if overlap[0] % 2 or overlap[1] % 2:
            raise ValueError(f"input_overlap_size {[overlap[1], overlap[0]]}: the overlap is split evenly between "
                             "the two edges of each axis, so it must be even (see tensorwire.ee.model)")
        self.margin = (overlap[0] // 2, overlap[1] // 2)
        self.out_tile = None if output_tile_size is None else rows_cols(output_tile_size, "output_tile_size")
        self.output_bands = None if output_bands is None else outputs(output_bands, "output_bands")
        self.output_properties = None if output_properties is None else outputs(output_properties,
                                                                               "output_properties")
        self.input_properties = None if input_properties is None else [str(p) for p in input_properties]
        self.input_shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
        self.input_type_override = {k: np.dtype(v) for k, v in (input_type_override or {}).items()}
        self.fill = fill
        self.progress = progress
        #: The arguments this Model was made with, to make the same Model elsewhere (``Model(**arguments)``:
        #: ``tensorwire.dask`` does, once per worker process); None when it was given a Client.
        self.arguments: dict[str, Any] | None = None if not self._owns_client else dict(
            target=target, payload_format=self.format.value, input_tile_size=input_tile_size,
            input_overlap_size=input_overlap_size, output_tile_size=output_tile_size, output_bands=output_bands,
            input_properties=input_properties, output_properties=output_properties, input_shapes=input_shapes,
            input_type_override=input_type_override, max_payload_bytes=max_payload_bytes, concurrency=concurrency,
            fill=fill, progress=progress, **client_options)

    def close(self) -> None:
        """Closes the Client this Model made (not one it was given)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---------------------------------------------------------------------------------- images

    def predict_image(self, bands: Mapping[str, ArrayLike], properties: Mapping[str, PropertyValue] | None = None,
                      progress: bool | None = None) -> dict[str, NDArray[Any]]:
        """``{output band: mosaic}`` for an image given as ``{band: (H, W) or (H, W, k) array}``:
        each mosaic ``(H', W')`` for a scalar band, ``(H', W', ...)`` for an array band, in the
        declared dtype, ``(H', W')`` the image size × ``output_tile_size / input_tile_size``.

        Raises PredictionError (naming the tiles, the output and what was wrong) for an answer
        that fails a check or a request that keeps failing; no partial mosaic is returned."""
        if self.tile is None or self.output_bands is None:
            raise ValueError("predict_image needs input_tile_size and output_bands")
        arrays = self._bands(bands)
        shape = next(iter(arrays.values())).shape[:2]
        tiling = Tiling(shape, self.tile, self.margin, self.out_tile or self.tile)
        return self._predict_tiles(arrays, tiling, properties, progress)

    def _predict_tiles(self, arrays: dict[str, NDArray[Any]], tiling: Tiling,
                       properties: Mapping[str, PropertyValue] | None, progress: bool | None) -> dict[str, NDArray[Any]]:
        """:meth:`predict_image` over ``tiling`` (the whole image, or one chunk of it with its
        margins: ``tensorwire.dask``), ``arrays`` as :meth:`_bands` gives them."""
        assert self.output_bands is not None
        props = self._properties(properties)
        self._check_names(list(arrays) + list(props))
        dtypes = {name: self.input_type_override.get(name, a.dtype) for name, a in arrays.items()}

        def columns(start: int, stop: int) -> dict[str, NDArray[Any]]:
            cols = {name: tiling.cut(a, start, stop, dtypes[name], self.fill) for name, a in arrays.items()}
            cols.update(replicated(props, stop - start))
            return cols

        def where(start: int, stop: int) -> str:
            first, last = tiling.label(start), tiling.label(stop - 1)
            return f"tile {first}" if stop - start == 1 else f"tiles {first} to {last} (row, column)"

        checker = Checker(self.output_bands, tiling.out, self.format)
        mosaics: dict[str, NDArray[Any]] = {}
        for start, answer in self._run(tiling.count, columns, where, checker, progress, "tile"):
            for name, blocks in answer.items():
                if name not in mosaics:
                    mosaics[name] = np.empty(tiling.out_shape + blocks.shape[3:], blocks.dtype)
                tiling.paste(mosaics[name], start, blocks)
        return mosaics

    def _bands(self, bands: Mapping[str, ArrayLike]) -> dict[str, NDArray[Any]]:
        if not bands:
            raise ValueError("predict_image: no bands given")
        arrays: dict[str, NDArray[Any]] = {}
        for name, value in bands.items():
            a = np.asarray(value)
            if a.ndim == 2:
                a = a[:, :, None]  # a scalar band travels as (h, w, 1)
            if a.ndim != 3:
                raise ValueError(f"band {name!r}: shape {a.shape}; expected (H, W) or (H, W, k)")
            want = self.input_shapes.get(name)
            if want is not None and a.shape[2:] != want:
                raise ValueError(f"band {name!r}: array length {a.shape[2:]}, input_shapes says {want}")
            arrays[str(name)] = a
        shapes = {name: a.shape[:2] for name, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"bands of different sizes: {shapes}")
        return arrays

    # ------------------------------------------------------------------------------ properties

    def predict_properties(self, columns: Mapping[str, ArrayLike],
                           progress: bool | None = None) -> dict[str, NDArray[Any]]:
        """``{output property: (N, ...) array}`` for a table of N rows given as ``{property:
        (N,) or (N, k) array}``: one instance per row, the names in ``input_properties`` (None:
        every column) sent, ``output_properties`` checked as for images."""
        if self.output_properties is None:
            raise ValueError("predict_properties needs output_properties")
        if not columns:
            raise ValueError("predict_properties: no columns given")
        names = self._input_names(columns, "the columns")
        table = {}
        for name in names:
            a = np.asarray(columns[name])
            if a.ndim == 0:
                raise ValueError(f"column {name!r} is a scalar; expected one value per row")
            dtype = self.input_type_override.get(name)
            table[name] = a if dtype is None else a.astype(dtype)
        counts = {name: len(a) for name, a in table.items()}
        if len(set(counts.values())) != 1:
            raise ValueError(f"columns of different lengths: {counts}")
        self._check_names(names)
        n = next(iter(counts.values()))

        def rows(start: int, stop: int) -> dict[str, NDArray[Any]]:
            return {name: a[start:stop] for name, a in table.items()}

        def where(start: int, stop: int) -> str:
            return f"row {start}" if stop - start == 1 else f"rows {start} to {stop - 1}"

        checker = Checker(self.output_properties, (), self.format)
        result: dict[str, NDArray[Any]] = {}
        for start, answer in self._run(n, rows, where, checker, progress, "row"):
            for name, values in answer.items():
                if name not in result:
                    result[name] = np.empty((n,) + values.shape[1:], values.dtype)
                result[name][start:start + len(values)] = values
        return result

    # ---------------------------------------------------------------------------------- common

    def _input_names(self, given: Mapping[str, Any], what: str) -> list[str]:
        """The names sent: ``input_properties``, each checked to be in ``given``; None: all of ``given``."""
        names = list(given) if self.input_properties is None else self.input_properties
        missing = [n for n in names if n not in given]
        if missing:
            raise ValueError(f"input_properties {missing} not among {what} {list(given)}")
        return names

    def _check_names(self, names: list[str]) -> None:
        if self.format is PayloadFormat.ND_ARRAYS and len(names) != 1:
            raise ValueError(f"ND_ARRAYS instances carry one unnamed array; got {len(names)} inputs {names}: give "
                             "one band (an array band for several values per pixel) and no properties")

    def _properties(self, properties: Mapping[str, PropertyValue] | None) -> dict[str, NDArray[Any]]:
        given = dict(properties or {})
        names = self._input_names(given, "the properties given")
        out = {}
        for name in names:
            value = np.asarray(given[name])
            if value.ndim != 0:
                raise ValueError(f"property {name!r}: a scalar (number, string or bool), not shape {value.shape}")
            if value.dtype.kind in "SU":
                value = np.asarray(given[name], dtype=object)
            dtype = self.input_type_override.get(name)
            out[name] = value if dtype is None else value.astype(dtype)
        return out

    def _send(self, body: bytes, instances: int) -> dict[str, NDArray[Any]]:
        """Sends one request through the Client (with its retries); ``tensorwire.dask`` bounds it
        per worker process."""
        return self.client._send(body, instances)

    def _run(self, n: int, columns: Any, where: Any, checker: Checker, progress: bool | None,
             unit: str) -> Iterator[tuple[int, dict[str, NDArray[Any]]]]:
        """``(start, checked answer)`` per request, in order, for instances ``0:n`` made by
        ``columns(start, stop)``; errors re-raised naming ``where(start, stop)``."""
        options = self.client.request_options
        bare = self.format is PayloadFormat.ND_ARRAYS

        encoding = [0, 0]  # the instances last encoded: those an encoding error is about

        def encode(start: int, stop: int) -> bytes:
            encoding[:] = start, stop
            cols = columns(start, stop)
            body: bytes = encode_request(next(iter(cols.values())) if bare else cols, self.format, **options)
            return body

        bar = _progress_bar(self.progress if progress is None else progress, n, unit)
        alike = sizes_alike(self.format, columns(0, 1).values())  # one instance's columns: the dtypes
        answers = self.batcher.stream(n, encode, self._send, alike)
        with contextlib.closing(answers), bar:
            while True:
                try:  # makes (encodes) the next request: its errors name the instances
                    start, stop, future = next(answers)
                except StopIteration:
                    break
                except (ValueError, TypeError) as exc:
                    raise type(exc)(f"{where(*encoding)}: {exc}") from exc
                try:
                    answer = future.result()
                except PredictionError as exc:
                    raise PredictionError(f"{where(start, stop)}: {exc.message}", status=exc.status) from exc
                except DecodeError as exc:
                    raise PredictionError(f"{where(start, stop)}: the answer does not decode: {exc}") from exc
                checked = checker.check(answer, where(start, stop))
                del answer
                yield start, checked
                bar.update(stop - start)


def replicated(props: Mapping[str, NDArray[Any]], n: int) -> dict[str, NDArray[Any]]:
    """Each property repeated for ``n`` instances (also what tensorwire.conformance sends)."""
    out = {}
    for name, value in props.items():
        a = np.empty(n, dtype=value.dtype)
        a[...] = value
        out[name] = a
    return out


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress_bar(wanted: bool | None, total: int, unit: str) -> Any:
    """A tqdm bar over ``total`` units when ``wanted`` (None: when stderr is a terminal)."""
    if wanted is None:
        wanted = sys.stderr.isatty()
    if not wanted:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        raise ImportError("progress=True needs tqdm: pip install 'tensorwire[ee]' (or tqdm)") from None
    return tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
