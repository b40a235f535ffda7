"""Type stub of the Cython twin ``tensorwire._native.base64``: the reference's signatures
(``tensorwire.codecs.base64``), whose module docstring defines the behaviour."""

from .._types import Alphabet, BytesLike

def b64encode(data: BytesLike, *, urlsafe: bool = False, pad: bool = True) -> bytes: ...
def b64decode(text: BytesLike | str, *, alphabet: Alphabet = "any") -> bytes: ...
