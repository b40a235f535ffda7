"""Pure-Python reference codecs: the definition of the bytes.

Each module here has a Cython twin in ``tensorwire._native`` with the same function names and
signatures that produces byte-identical output and the same results and errors.  The public API
(``tensorwire.encode_tensor`` etc.) picks one of the two in ``tensorwire._backend``.
"""
