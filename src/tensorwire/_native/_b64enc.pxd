# cython: language_level=3
"""Base64 encoding into a caller's buffer (RFC 4648), shared by the Cython codecs.

``b64_encoded_size(n, pad)`` is the number of characters the encoding of ``n`` bytes takes
(``4 * ceil(n / 3)`` with padding, ``ceil(4 * n / 3)`` without), or -1 when ``n`` is negative or
that number does not fit in a ``Py_ssize_t``.

``b64_encode_into(src, n, out, urlsafe, pad)`` writes the base64 text of ``src[0:n]`` at ``out``
(no NUL) and returns the number of bytes written, ``b64_encoded_size(n, pad)``; the caller sizes
the buffer.  ``urlsafe`` picks the alphabet (``-_`` instead of ``+/``), ``pad`` the trailing
``=``.  It reads nothing outside ``src[0:n]`` and writes nothing outside
``out[0:b64_encoded_size(n, pad)]``; ``n`` must be non-negative with a size that fits (for
``n <= 0`` it writes nothing and returns 0).  With AVX2 (checked once, at import) it runs a
vector loop, 24 bytes at a time; a scalar loop does the rest, and everything on other CPUs.
Both give the same bytes.  Implemented in ``_b64enc.pyx``; shared through Cython's cross-module
C-API: ``from ._b64enc cimport b64_encode_into, b64_encoded_size``.  The module's only state is
two lookup tables and the AVX2 flag, written once while the module is imported and read-only
afterwards.
"""

cdef Py_ssize_t b64_encoded_size(Py_ssize_t n, bint pad) noexcept nogil
cdef Py_ssize_t b64_encode_into(const unsigned char* src, Py_ssize_t n, char* out, bint urlsafe, bint pad) noexcept nogil
