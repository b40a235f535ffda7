# cython: language_level=3
"""The fields of a serialized TensorProto that come before its values (docs/tensor-proto.md):
``dtype`` (field 1, varint) and ``tensor_shape`` (field 2: one ``dim`` message per axis, each
``size`` as field 1, an empty ``dim`` for a size of 0, as protobuf leaves out a zero).  Shared by
``tensor.encode_tensor`` and the SERIALIZED_TF_TENSORS writer in ``jsonbody``, which writes the
same header before each instance's ``tensor_content``.

``tensor_header_size(dt, dims, ndim)`` is the number of bytes; ``tensor_header_write(out, dt,
dims, ndim)`` writes them at ``out`` (sized by the caller) and returns the pointer past them.
Sizes are non-negative (numpy shapes).
"""

from libc.stdint cimport uint64_t

from ._wire cimport WT_VARINT, wire_len_field_size, wire_varint_size, wire_write_len_prefix, wire_write_tag, wire_write_varint


cdef enum:
    TENSORHEAD_F_DTYPE = 1
    TENSORHEAD_F_SHAPE = 2
    TENSORHEAD_F_DIM = 2  # TensorShapeProto.dim
    TENSORHEAD_F_DIM_SIZE = 1  # TensorShapeProto.Dim.size


cdef inline Py_ssize_t _tensorhead_dim_len(Py_ssize_t d) noexcept nogil:
    return 1 + wire_varint_size(<uint64_t>d) if d else 0


cdef inline Py_ssize_t _tensorhead_shape_len(const Py_ssize_t* dims, int ndim) noexcept nogil:
    cdef Py_ssize_t total = 0
    cdef int k
    for k in range(ndim):
        total += wire_len_field_size(TENSORHEAD_F_DIM, _tensorhead_dim_len(dims[k]))
    return total


cdef inline Py_ssize_t tensor_header_size(int dt, const Py_ssize_t* dims, int ndim) noexcept nogil:
    return 1 + wire_varint_size(<uint64_t>dt) + wire_len_field_size(TENSORHEAD_F_SHAPE, _tensorhead_shape_len(dims, ndim))


cdef inline unsigned char* tensor_header_write(unsigned char* p, int dt, const Py_ssize_t* dims,
                                               int ndim) noexcept nogil:
    cdef int k
    p = wire_write_tag(p, TENSORHEAD_F_DTYPE, WT_VARINT)
    p = wire_write_varint(p, <uint64_t>dt)
    p = wire_write_len_prefix(p, TENSORHEAD_F_SHAPE, _tensorhead_shape_len(dims, ndim))
    for k in range(ndim):
        p = wire_write_len_prefix(p, TENSORHEAD_F_DIM, _tensorhead_dim_len(dims[k]))
        if dims[k]:
            p = wire_write_tag(p, TENSORHEAD_F_DIM_SIZE, WT_VARINT)
            p = wire_write_varint(p, <uint64_t>dims[k])
    return p
