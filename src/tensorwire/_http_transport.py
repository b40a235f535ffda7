"""The HTTP transport of :class:`tensorwire.Client`: JSON bodies POSTed through one
``urllib3.PoolManager`` (keep-alive connections, safe to share between threads).

Which failures are retried, and how errors are worded, is in :mod:`tensorwire.client`'s docstring.
"""

from __future__ import annotations

from collections.abc import Mapping

import urllib3

from .errors import PredictionError
from .payload import PayloadFormat, decode_response
from ._transport import Retry

_RETRY_HTTP = frozenset({429, 502, 503, 504})


class HttpTransport:
    def __init__(self, url: str, *, timeout: float, connect_timeout: float, connections: int) -> None:
        self.url = url
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=connections, block=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=timeout),
        )

    def send_once(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        e = urllib3.exceptions
        try:
            r = self._pool.request("POST", self.url, body=body, headers={"Content-Type": "application/json", **headers},
                                   preload_content=True)
        except (e.NewConnectionError, e.ProtocolError, e.ConnectTimeoutError) as exc:
            raise Retry(PredictionError(f"cannot reach {self.url}: {exc}", status="UNAVAILABLE")) from None
        except (e.ReadTimeoutError, e.TimeoutError) as exc:
            raise PredictionError(f"no answer from {self.url} in time: {exc}", status="DEADLINE_EXCEEDED") from None
        except e.HTTPError as exc:  # TLS, proxy, ...: not worth retrying
            raise PredictionError(f"cannot reach {self.url}: {exc}", status="UNAVAILABLE") from None
        if r.status == 200:
            return r.data
        error = http_error(r.status, r.data)
        if r.status in _RETRY_HTTP:
            raise Retry(error, retry_after(r.headers.get("Retry-After")))
        raise error

    def close(self) -> None:
        self._pool.clear()


def retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header, or None (absent, or an HTTP date: the backoff applies)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def http_error(status: int, data: bytes) -> PredictionError:
    """PredictionError for a non-200 answer, with the server's own message when it sent one."""
    try:
        decode_response(data, PayloadFormat.SERIALIZED_TF_TENSORS)
    except PredictionError as exc:
        return PredictionError(exc.error, status=status)
    except (ValueError, TypeError):
        pass
    text = bytes(data[:500]).decode("utf-8", "replace").strip()
    return PredictionError(f"HTTP {status}" + (f": {text}" if text else ""), status=status)
