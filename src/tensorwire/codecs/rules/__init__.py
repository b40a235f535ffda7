"""The rules each format's two twins share: the declared seam between the reference and the Cython twin.

Every codec exists twice, the pure-Python reference in ``tensorwire.codecs.<format>`` and the
Cython twin in ``tensorwire._native.<format>``.  Whatever both must apply identically and that is
not on a hot path (argument checks, option validation, dtype resolution, error wording, constant
tables) is written once, here, one module per format, and imported by both twins.  A rule lives
here rather than in the reference so that neither twin reaches into the other's private names:
the reference codec modules and the twins import ``tensorwire.codecs.rules.*``, and the rules
modules import only each other, ``tensorwire.errors``, the standard library and numpy.

* ``dtypes``: the TensorProto DataType table (numbers, numpy dtypes, which typed field carries them).
* ``wire``: protobuf wire-format primitives (varints, tags, wire types) of the reference; the
  twins' C-level counterparts are in ``_native/_wire.pxd`` and are checked equal by a test.
* ``tensor``, ``example``, ``tfrecord``, ``jsonbody``, ``grpc``: per format, see each module.
"""
