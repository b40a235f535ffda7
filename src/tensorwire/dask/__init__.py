"""Earth Engine images past one machine, on Dask (``pip install "tensorwire[dask]"``).

``import tensorwire`` never imports Dask; this package does.

- :func:`predict_image`: :meth:`tensorwire.ee.Model.predict_image` over Dask arrays, lazily, one
  task per chunk, one Client per worker process (:mod:`tensorwire.dask._predict`);
- :func:`read_ee_image_export`: an Earth Engine TFRecord export as a lazy ``(H, W, bands)``
  array, chunked by patches, read by the workers (:mod:`tensorwire.dask._export`);
- :func:`write_ee_image`: Dask arrays written as Earth Engine TFRecord patches + mixer, one file
  per strip of patch rows, in parallel (:mod:`tensorwire.dask._write`);
- :func:`worker_stats`: the Models (Clients) made and chunk tasks run by this process;
- :func:`worker_allocator`: the glibc setting a worker applies before its first request (also
  for a process that wants to compare with one).

docs/dask.md is the user's page.
"""

from __future__ import annotations

from ._export import read_ee_image_export
from ._predict import predict_image, worker_allocator, worker_stats
from ._write import write_ee_image

__all__ = ["predict_image", "read_ee_image_export", "worker_allocator", "write_ee_image", "worker_stats"]
