"""Cython twins of ``tensorwire.codecs``: same functions, same signatures, same bytes and errors."""
