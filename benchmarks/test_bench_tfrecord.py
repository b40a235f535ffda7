"""TFRecord read of a file of tf.Example records (12 bands of 256x256 float32 each): tensorwire's
twins against ``tf.data.TFRecordDataset``.  Timed runs read the 201 MB file that report.py reads;
the smoke run (``--benchmark-disable``) reads a 3-record file, so CI stays fast."""

import pytest

import cases
from harness import measure, params


@pytest.mark.parametrize(*params(cases.TFRECORD_READ))
def test_tfrecord_read(benchmark, payloads, case, payload):
    if benchmark.disabled:
        payload = cases.smoke_payload(case.group, payload)
    measure(benchmark, case, payloads[payload])
