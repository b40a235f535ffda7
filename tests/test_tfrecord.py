"""TFRecord: golden TensorFlow files, TensorFlow itself in both directions, pinned corruption and
truncation messages, the two backends against each other, and the reader's memory guards.

Tests taking ``codecs`` run once per backend; tests taking ``both`` cross them.  Expected bytes
and messages are computed here from docs/tfrecord.md (with a bitwise CRC-32C written here), not
taken from the code under test.  TensorFlow is a plain import: the oracle is never skipped.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import array  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import struct  # noqa: E402
import tracemalloc  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import strategies as S  # noqa: E402
from common import outcome  # noqa: E402
from tensorwire import DecodeError  # noqa: E402

DATA = Path(__file__).parent / "data"
GOLDEN_JSON = json.loads((DATA / "tfrecord.json").read_text())
GOLDEN = [bytes.fromhex(h) for h in GOLDEN_JSON["records_hex"]]
GOLDEN_FILES = {None: "records.tfrecord", "gzip": "records.tfrecord.gz", "zlib": "records.tfrecord.zlib"}
TF_NAMES = {None: "", "gzip": "GZIP", "zlib": "ZLIB"}
HINT = " (not a TFRecord file, or a compressed one: name its compression)"
BIG = 300_000  # above the twin's 256 KiB read buffer


# --------------------------------------------------------------------------------------------
# an independent writer of the format (docs/tfrecord.md)


def slow_crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def slow_masked(data):
    crc = slow_crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record):
    """One record as docs/tfrecord.md frames it (bitwise CRC: for small records only)."""
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", slow_masked(length)) + record + struct.pack("<I", slow_masked(record))


def positions(records):
    """(offset, length) of every record of a plain file."""
    out, pos = [], 0
    for r in records:
        out.append((pos, len(r)))
        pos += 16 + len(r)
    return out


def truncation_outcome(records, cut):
    """What reading the first ``cut`` bytes of the plain file of ``records`` must give."""
    for i, (pos, n) in enumerate(positions(records)):
        k = cut - pos
        if k == 0:
            return "ok", records[:i]
        if k < 12:
            return DecodeError, f"TFRecord: record {i} at offset {pos}: truncated header ({k} of 12 bytes)"
        if k < 12 + n:
            return DecodeError, f"TFRecord: record {i} at offset {pos}: truncated data ({k - 12} of {n} bytes)"
        if k < 16 + n:
            return DecodeError, f"TFRecord: record {i} at offset {pos}: truncated data CRC ({k - 12 - n} of 4 bytes)"
    return "ok", list(records)


def compress(data, compression):
    if compression is None:
        return data
    c = zlib.compressobj(-1, zlib.DEFLATED, 31 if compression == "gzip" else 15, 9)
    return c.compress(data) + c.flush()


def read_all(tfr, source, **kwargs):
    return outcome(lambda: list(tfr.read_tfrecord(source, **kwargs)))


def written(tfr, records, compression=None):
    sink = io.BytesIO()
    tfr.write_tfrecord(sink, records, compression=compression)
    return sink.getvalue()


def seeded(n, seed=0):
    return random.Random(seed).randbytes(n)


class ShortReader:
    """A binary file object whose reads return at most the next of ``sizes`` bytes (cycled)."""

    def __init__(self, data, sizes):
        self._data = data
        self._pos = 0
        self._sizes = sizes
        self._i = 0

    def read(self, n=-1):
        size = self._sizes[self._i % len(self._sizes)]
        self._i += 1
        if n is None or n < 0:
            n = len(self._data)
        chunk = self._data[self._pos:self._pos + min(n, size)]
        self._pos += len(chunk)
        return chunk


class ShortWriter:
    """A raw binary sink that takes at most 1000 bytes a write and keeps a copy of what it got."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        chunk = bytes(memoryview(b)[:1000])
        self.data += chunk
        return len(chunk)


# --------------------------------------------------------------------------------------------
# golden files (TensorFlow 2.21) and the bytes docs/tfrecord.md pins


def test_golden_json_lists_the_files():
    assert sorted(GOLDEN_JSON["files"]) == sorted(GOLDEN_FILES.values())
    assert len(GOLDEN) == 4 and b"" in GOLDEN


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_golden_files_read(codecs, compression):
    tfr = codecs.tfrecord
    path = DATA / GOLDEN_FILES[compression]
    for name in {None: [None, "", "auto"], "gzip": ["gzip", "GZIP", "Gzip", "auto"], "zlib": ["zlib", "ZLIB"]}[compression]:
        assert list(tfr.read_tfrecord(path, compression=name)) == GOLDEN
        assert list(tfr.read_tfrecord(str(path), compression=name)) == GOLDEN
        with open(path, "rb") as f:
            assert list(tfr.read_tfrecord(f, compression=name)) == GOLDEN


def test_golden_plain_file_is_the_spec_framing():
    assert (DATA / GOLDEN_FILES[None]).read_bytes() == b"".join(frame(r) for r in GOLDEN)


def test_crc32c_check_value_and_mask(codecs):
    tfr = codecs.tfrecord
    assert tfr.crc32c(b"123456789") == 0xE3069283 == slow_crc32c(b"123456789")
    assert tfr.crc32c(bytearray(b"123456789")) == 0xE3069283
    assert tfr.crc32c(memoryview(b"xx123456789")[2:]) == 0xE3069283
    assert tfr.crc32c(b"") == 0
    assert tfr.masked_crc32c(b"") == 0xA282EAD8
    for n in (1, 7, 8, 9, 63, 64, 65, 1000):
        data = seeded(n, n)
        assert tfr.crc32c(data) == slow_crc32c(data)
        assert tfr.masked_crc32c(data) == slow_masked(data)


def test_empty_record_bytes(codecs):
    expected = bytes.fromhex("0000000000000000" "29039807" "d8ea82a2")
    assert written(codecs.tfrecord, [b""]) == expected
    assert list(codecs.tfrecord.read_tfrecord(io.BytesIO(expected))) == [b""]


def test_plain_write_is_the_golden_file(codecs):
    assert written(codecs.tfrecord, GOLDEN) == (DATA / GOLDEN_FILES[None]).read_bytes()


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_writes_are_byte_identical_between_backends(both, compression):
    ref, nat = (b.tfrecord for b in both)
    records = GOLDEN + [seeded(BIG, 1), b"x" * 70_000, bytearray(b"abc"), np.arange(10, dtype=np.float32)]
    out = written(ref, records, compression)
    assert written(nat, records, compression) == out
    plain = written(ref, records)
    if compression is not None:
        assert zlib.decompress(out, 31 if compression == "gzip" else 15) == plain
        assert out != plain


def test_constants_match(both):
    ref, nat = (b.tfrecord for b in both)
    for name in ("WHAT", "HEADER_BYTES", "FOOTER_BYTES", "MASK_DELTA", "DEFAULT_MAX_RECORD_BYTES", "READ_CHUNK",
                 "PIECE_BYTES", "MAX_READ", "GZIP_MAGIC", "ZLIB_LEVEL", "ZLIB_MEM_LEVEL"):
        assert getattr(ref, name) == getattr(nat, name), name
    assert ref.DEFAULT_MAX_RECORD_BYTES == 2**31 and ref.READ_CHUNK == S.TFRECORD_BUFFER


# --------------------------------------------------------------------------------------------
# TensorFlow in both directions

ORACLE_RECORDS = [b"", b"a", seeded(BIG, 2), bytes(range(256)) * 3, b"\x00" * 1000, seeded(17, 3)]


@pytest.mark.oracle
@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_tensorflow_reads_our_files(codecs, tmp_path, compression):
    path = tmp_path / "ours.tfrecord"
    assert codecs.tfrecord.write_tfrecord(path, ORACLE_RECORDS, compression=compression) == len(ORACLE_RECORDS)
    got = [t.numpy() for t in tf.data.TFRecordDataset(str(path), compression_type=TF_NAMES[compression])]
    assert got == ORACLE_RECORDS


@pytest.mark.oracle
@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_we_read_tensorflow_files(codecs, tmp_path, compression):
    path = tmp_path / "theirs.tfrecord"
    with tf.io.TFRecordWriter(str(path), options=tf.io.TFRecordOptions(compression_type=TF_NAMES[compression])) as w:
        for r in ORACLE_RECORDS:
            w.write(r)
    tfr = codecs.tfrecord
    assert list(tfr.read_tfrecord(path, compression=TF_NAMES[compression])) == ORACLE_RECORDS
    if compression != "zlib":
        assert list(tfr.read_tfrecord(path)) == ORACLE_RECORDS  # "auto"
    if compression is None:  # and TensorFlow's plain bytes are ours
        assert path.read_bytes() == written(tfr, ORACLE_RECORDS)


# --------------------------------------------------------------------------------------------
# corruption and truncation: the record index and offset, the same message from both backends


def _golden_plain():
    return (DATA / GOLDEN_FILES[None]).read_bytes()


def _regions(records):
    """(byte position, record index, record offset, region) for every byte of a plain file."""
    for i, (pos, n) in enumerate(positions(records)):
        for b in range(16 + n):
            region = "length" if b < 8 else "length_crc" if b < 12 else "data" if b < 12 + n else "data_crc"
            yield pos + b, i, pos, region


@pytest.mark.parametrize("flip", [0xFF, 0x01, 0x80])
def test_flipped_byte_in_every_region(codecs, flip):
    tfr = codecs.tfrecord
    data = _golden_plain()
    seen = set()
    for at, i, pos, region in _regions(GOLDEN):
        seen.add(region)
        bad = bytearray(data)
        bad[at] ^= flip
        stored_len_crc = struct.unpack_from("<I", bad, pos + 8)[0]
        if region in ("length", "length_crc"):
            computed = slow_masked(bytes(bad[pos:pos + 8]))
            expected = (DecodeError, f"TFRecord: record {i} at offset {pos}: length CRC mismatch "
                        f"(stored 0x{stored_len_crc:08x}, computed 0x{computed:08x})" + (HINT if i == 0 else ""))
            assert read_all(tfr, io.BytesIO(bytes(bad))) == expected
            assert read_all(tfr, io.BytesIO(bytes(bad)), verify=False) == expected
        else:
            n = len(GOLDEN[i])
            payload = bytes(bad[pos + 12:pos + 12 + n])
            stored = struct.unpack_from("<I", bad, pos + 12 + n)[0]
            expected = (DecodeError, f"TFRecord: record {i} at offset {pos}: data CRC mismatch "
                        f"(stored 0x{stored:08x}, computed 0x{slow_masked(payload):08x})")
            assert read_all(tfr, io.BytesIO(bytes(bad))) == expected
            lenient = GOLDEN[:i] + [payload] + GOLDEN[i + 1:]
            assert read_all(tfr, io.BytesIO(bytes(bad)), verify=False) == ("ok", lenient)
    assert seen == {"length", "length_crc", "data", "data_crc"}


def test_truncated_at_every_offset(codecs, tmp_path):
    tfr = codecs.tfrecord
    data = _golden_plain()
    path = tmp_path / "cut.tfrecord"
    for cut in range(len(data) + 1):
        expected = truncation_outcome(GOLDEN, cut)
        assert read_all(tfr, io.BytesIO(data[:cut])) == expected, cut
        assert read_all(tfr, io.BytesIO(data[:cut]), verify=False) == expected, cut
        path.write_bytes(data[:cut])
        assert read_all(tfr, path) == expected, cut


def test_trailing_bytes_too_few_for_a_header(codecs):
    # TensorFlow silently ignores these; we refuse them (a truncated final record).
    data = _golden_plain() + b"\x00" * 5
    assert read_all(codecs.tfrecord, io.BytesIO(data)) == (
        DecodeError, f"TFRecord: record 4 at offset {len(data) - 5}: truncated header (5 of 12 bytes)")


def _inflated_prefix(stream, compression):
    return zlib.decompressobj(31 if compression == "gzip" else 15).decompress(stream)


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_compressed_truncated_at_every_offset(codecs, compression):
    tfr = codecs.tfrecord
    stream = (DATA / GOLDEN_FILES[compression]).read_bytes()
    for cut in range(len(stream) + 1):
        got = read_all(tfr, io.BytesIO(stream[:cut]), compression=compression)
        if cut in (0, len(stream)):
            assert got == ("ok", GOLDEN if cut else [])
            continue
        # the first record not complete in what the cut stream inflates to
        have = len(_inflated_prefix(stream[:cut], compression))
        end = sum(16 + len(r) for r in GOLDEN)
        i, pos = next(((i, p) for i, (p, n) in enumerate(positions(GOLDEN)) if p + 16 + n > have), (len(GOLDEN), end))
        assert got == (DecodeError, f"TFRecord: record {i} at offset {pos}: truncated {compression} stream "
                       "(it ends before its end-of-stream marker)"), cut


@pytest.mark.parametrize("compression", ["gzip", "zlib"])
def test_corrupt_compressed_stream(both, compression):
    ref, nat = (b.tfrecord for b in both)
    # 2 MB of 2-bit symbols: Huffman-coded blocks, inflated in several 1 MiB pieces
    records = [np.random.default_rng(s).integers(97, 101, 50_000, dtype=np.uint8).tobytes() for s in range(40)]
    stream = written(ref, records, compression)
    assert len(stream) < 700_000
    errors = 0
    for at in list(range(0, 40)) + list(range(40, len(stream), 9973)) + [len(stream) - 5, len(stream) - 1]:
        bad = bytearray(stream)
        bad[at] ^= 0x55
        got = read_all(ref, io.BytesIO(bytes(bad)), compression=compression)
        assert read_all(nat, io.BytesIO(bytes(bad)), compression=compression) == got, at
        if got[0] is DecodeError:
            errors += 1
            assert got[1].startswith("TFRecord: record "), got
        else:  # a flip that changed nothing (e.g. in the gzip header's OS byte)
            assert got == ("ok", records)
    assert errors > 30


def test_big_record_truncations(codecs, tmp_path):
    """Cuts in and around a record bigger than the twin's buffer, from every kind of source."""
    tfr = codecs.tfrecord
    records = [b"head", seeded(BIG, 5), b"tail"]
    data = written(tfr, records)
    (p0, _), (p1, n1), (p2, _) = positions(records)
    cuts = [p1 + 5, p1 + 12, p1 + 13, p1 + 12 + 1000, p1 + 12 + S.TFRECORD_BUFFER, p1 + 12 + n1 - 1,
            p1 + 12 + n1, p1 + 12 + n1 + 3, p2, p2 + 7, len(data)]
    path = tmp_path / "big.tfrecord"
    for cut in cuts:
        expected = truncation_outcome(records, cut)
        path.write_bytes(data[:cut])
        assert read_all(tfr, path) == expected, cut
        with open(path, "rb") as f:
            assert read_all(tfr, f) == expected, cut
        with open(path, "rb", buffering=0) as f:
            assert read_all(tfr, f) == expected, cut
        assert read_all(tfr, io.BytesIO(data[:cut])) == expected, cut
        assert read_all(tfr, ShortReader(data[:cut], [7, 70_000, 1])) == expected, cut
        for compression in ("gzip", "zlib"):  # a plain cut inside a complete stream: the record's message
            assert read_all(tfr, io.BytesIO(compress(data[:cut], compression)), compression=compression) == expected, cut


def test_big_record_damage(codecs, tmp_path):
    """Flips in a record bigger than the twin's buffer, from every kind of source."""
    tfr = codecs.tfrecord
    records = [b"head", seeded(BIG, 9), b"tail"]
    data = written(tfr, records)
    p1, n1 = positions(records)[1]
    path = tmp_path / "big.tfrecord"
    for at in (p1 + 12, p1 + 12 + 100_000, p1 + 12 + n1 - 1, p1 + 12 + n1 + 2):
        bad = bytearray(data)
        bad[at] ^= 0x10
        payload = bytes(bad[p1 + 12:p1 + 12 + n1])
        stored = struct.unpack_from("<I", bad, p1 + 12 + n1)[0]
        computed = tfr.masked_crc32c(payload)
        assert stored != computed
        expected = (DecodeError, f"TFRecord: record 1 at offset {p1}: data CRC mismatch "
                    f"(stored 0x{stored:08x}, computed 0x{computed:08x})")
        path.write_bytes(bad)
        with open(path, "rb") as f:
            sources = [path, f, io.BytesIO(bytes(bad)), ShortReader(bytes(bad), [3, 100_000]),
                       io.BytesIO(compress(bytes(bad), "gzip"))]
            for source in sources:
                assert read_all(tfr, source) == expected, (at, source)
                if hasattr(source, "seek"):
                    source.seek(0)
            assert read_all(tfr, path, verify=False) == ("ok", [b"head", payload, b"tail"])


def test_record_over_16_mib_from_a_stream(both, tmp_path):
    """A record bigger than the twin's first allocation for streams of unknown size."""
    ref, nat = (b.tfrecord for b in both)
    big = b"\x00" * (17 << 20) + seeded(1000, 6)
    data = written(ref, [b"a", big, b"b"])
    path = tmp_path / "huge.tfrecord"
    path.write_bytes(data)
    for tfr in (ref, nat):
        assert list(tfr.read_tfrecord(io.BytesIO(data))) == [b"a", big, b"b"]
        with open(path, "rb") as f:
            assert list(tfr.read_tfrecord(f)) == [b"a", big, b"b"]
    cut = data[:len(data) - 1000]
    expected = truncation_outcome([b"a", big, b"b"], len(cut))
    assert read_all(ref, io.BytesIO(cut)) == read_all(nat, io.BytesIO(cut)) == expected


# --------------------------------------------------------------------------------------------
# lengths: max_record_bytes, forged huge lengths, memory


def forged_header(length):
    head = struct.pack("<Q", length)
    return head + struct.pack("<I", slow_masked(head))


def test_max_record_bytes(codecs):
    tfr = codecs.tfrecord
    data = _golden_plain()
    pos = positions(GOLDEN)[3][0]
    assert read_all(tfr, io.BytesIO(data), max_record_bytes=256) == ("ok", GOLDEN)
    assert read_all(tfr, io.BytesIO(data), max_record_bytes=255) == (
        DecodeError, f"TFRecord: record 3 at offset {pos}: length 256 is over max_record_bytes=255")
    assert read_all(tfr, io.BytesIO(frame(b"")), max_record_bytes=0) == ("ok", [b""])
    over = forged_header(3 << 30)
    assert read_all(tfr, io.BytesIO(over)) == (
        DecodeError, "TFRecord: record 0 at offset 0: length 3221225472 is over max_record_bytes=2147483648")


@pytest.mark.parametrize("length", [3 << 29, 2**64 - 1])
def test_forged_huge_length_allocates_nothing_big(codecs, tmp_path, length):
    tfr = codecs.tfrecord
    data = frame(b"ok") + forged_header(length) + b"0123456789"
    expected = (DecodeError, f"TFRecord: record 1 at offset 18: truncated data (10 of {length} bytes)")
    path = tmp_path / "forged.tfrecord"
    path.write_bytes(data)
    sources = [lambda: path, lambda: io.BytesIO(data), lambda: io.BytesIO(compress(data, "gzip"))]
    for make in sources:
        tracemalloc.start()
        try:
            got = read_all(tfr, make(), max_record_bytes=2**70)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert got == expected
        assert peak < 48 << 20, peak


def test_max_record_bytes_argument(both):
    ref, nat = (b.tfrecord for b in both)
    for bad in (-1, 1.5, "10", None, True):
        got = outcome(ref.read_tfrecord, io.BytesIO(b""), max_record_bytes=bad)
        assert got[0] in (TypeError, ValueError)
        assert outcome(nat.read_tfrecord, io.BytesIO(b""), max_record_bytes=bad) == got


# --------------------------------------------------------------------------------------------
# compression: names, detection, TensorFlow's leniencies we refuse


def test_compression_argument(both):
    ref, nat = (b.tfrecord for b in both)
    def errors_only(o):  # results (a generator, a writer) differ in type; errors must not
        return "ok" if o[0] == "ok" else o

    accepted = {None, "", "gzip", "GZIP", "zLiB", "auto", "AUTO"}
    for name in (None, "", "gzip", "GZIP", "zLiB", "auto", "AUTO", "bz2", "none", 1, b"gzip"):
        r = errors_only(outcome(ref.read_tfrecord, io.BytesIO(b""), compression=name))
        assert errors_only(outcome(nat.read_tfrecord, io.BytesIO(b""), compression=name)) == r
        assert (r == "ok") == (name in accepted)
        w = errors_only(outcome(ref.TFRecordWriter, io.BytesIO(), compression=name))
        assert errors_only(outcome(nat.TFRecordWriter, io.BytesIO(), compression=name)) == w
        assert (w == "ok") == (name in accepted - {"auto", "AUTO"})
    assert outcome(ref.read_tfrecord, io.BytesIO(b""), compression="bz2") == (
        ValueError, "TFRecord: compression must be None, '', 'gzip', 'zlib' or 'auto' (any case), not 'bz2'")
    assert outcome(ref.TFRecordWriter, io.BytesIO(), compression="auto") == (
        ValueError, "TFRecord: compression must be None, '', 'gzip' or 'zlib' (any case), not 'auto'")
    assert outcome(ref.read_tfrecord, io.BytesIO(b""), compression=1) == (
        TypeError, "TFRecord: compression must be a str or None, not int")


@pytest.mark.parametrize("length", [0x8B1F, 0x088B1F])
def test_auto_reads_a_plain_file_that_starts_like_gzip(codecs, length):
    tfr = codecs.tfrecord
    records = [seeded(length, 7), b"next"]
    data = written(tfr, records)
    assert data[:2] == b"\x1f\x8b"
    assert list(tfr.read_tfrecord(io.BytesIO(data))) == records


def test_auto_does_not_detect_zlib(codecs):
    stream = (DATA / GOLDEN_FILES["zlib"]).read_bytes()
    got = read_all(codecs.tfrecord, io.BytesIO(stream))
    assert got[0] is DecodeError and got[1].endswith(HINT)


def test_concatenated_gzip_members(codecs):
    tfr = codecs.tfrecord
    gz = (DATA / GOLDEN_FILES["gzip"]).read_bytes()
    more = written(tfr, [b"third member"], "gzip")
    for comp in ("gzip", "auto"):
        assert list(tfr.read_tfrecord(io.BytesIO(gz + gz + more), compression=comp)) == GOLDEN + GOLDEN + [b"third member"]


def test_stream_endings(codecs):
    tfr = codecs.tfrecord
    gz = (DATA / GOLDEN_FILES["gzip"]).read_bytes()
    zl = (DATA / GOLDEN_FILES["zlib"]).read_bytes()
    end = sum(16 + len(r) for r in GOLDEN)
    at_end = f"TFRecord: record 4 at offset {end}: "
    # TensorFlow: an error (as here) for bytes after a gzip member
    assert read_all(tfr, io.BytesIO(gz + b"\x00" * 8), compression="gzip") == (
        DecodeError, at_end + "corrupt gzip stream (Error -3 while decompressing data: incorrect header check)")
    # TensorFlow ignores these three; we refuse them
    assert read_all(tfr, io.BytesIO(zl + b"abc"), compression="zlib") == (
        DecodeError, at_end + "trailing data after the end of the zlib stream")
    assert read_all(tfr, io.BytesIO(zl + zl), compression="zlib") == (
        DecodeError, at_end + "trailing data after the end of the zlib stream")
    assert read_all(tfr, io.BytesIO(gz[:-4]), compression="gzip") == (
        DecodeError, at_end + "truncated gzip stream (it ends before its end-of-stream marker)")
    # like TensorFlow: an empty file has no records, whatever the compression
    for comp in (None, "gzip", "zlib", "auto"):
        assert list(tfr.read_tfrecord(io.BytesIO(b""), compression=comp)) == []


def test_wrong_compression_named(codecs):
    tfr = codecs.tfrecord
    plain = _golden_plain()
    assert read_all(tfr, io.BytesIO(plain), compression="gzip") == (
        DecodeError, "TFRecord: record 0 at offset 0: corrupt gzip stream "
        "(Error -3 while decompressing data: incorrect header check)")
    got = read_all(tfr, io.BytesIO((DATA / GOLDEN_FILES["gzip"]).read_bytes()), compression=None)
    assert got[0] is DecodeError and got[1].startswith("TFRecord: record 0 at offset 0: length CRC mismatch")


# --------------------------------------------------------------------------------------------
# sources and sinks


def test_paths_and_file_objects(codecs, tmp_path):
    tfr = codecs.tfrecord
    records = [b"one", seeded(BIG, 8), b"", b"three"]
    path = tmp_path / "f.tfrecord"
    assert tfr.write_tfrecord(str(path), records) == 4
    expected = path.read_bytes()
    assert list(tfr.read_tfrecord(path)) == records
    assert list(tfr.read_tfrecord(str(path))) == records
    with open(path, "rb") as f:
        assert list(tfr.read_tfrecord(f)) == records
        assert not f.closed  # never closes the caller's file
    with open(path, "rb", buffering=0) as f:
        assert list(tfr.read_tfrecord(f)) == records
    assert list(tfr.read_tfrecord(io.BytesIO(expected))) == records
    assert list(tfr.read_tfrecord(ShortReader(expected, [1, 5, 100_000]))) == records
    with open(tmp_path / "g.tfrecord", "wb") as f:
        tfr.write_tfrecord(f, records)
        assert not f.closed
    assert (tmp_path / "g.tfrecord").read_bytes() == expected
    sink = ShortWriter()  # a raw file object that takes a few bytes a write
    tfr.write_tfrecord(sink, records)
    assert bytes(sink.data) == expected


def test_file_object_offsets_count_from_its_position(codecs):
    tfr = codecs.tfrecord
    pos = positions(GOLDEN)[3][0]
    data = bytearray(b"JUNK" + _golden_plain())
    data[4 + pos + 12 + 1] ^= 1  # the data of record 3
    f = io.BytesIO(bytes(data))
    f.seek(4)
    got = read_all(tfr, f)
    assert got[0] is DecodeError and got[1].startswith(f"TFRecord: record 3 at offset {pos}: data CRC mismatch")


def test_bad_targets(both):
    ref, nat = (b.tfrecord for b in both)
    for bad in (b"/tmp/x.tfrecord", 3, None, [b"record"]):
        r = outcome(ref.read_tfrecord, bad)
        assert r == (TypeError, "TFRecord: expected a path (str or os.PathLike) or a binary file object with "
                     f"read(), not {type(bad).__name__}")
        assert outcome(nat.read_tfrecord, bad) == r
        w = outcome(ref.TFRecordWriter, bad)
        assert w[0] is TypeError and w[1].endswith(f"with write(), not {type(bad).__name__}")
        assert outcome(nat.TFRecordWriter, bad) == w
    # text file objects: caught on the first read, and by the file on the first write
    assert outcome(written, ref, [b"x"]) == outcome(written, nat, [b"x"]) == ("ok", frame(b"x"))
    assert outcome(ref.write_tfrecord, io.StringIO(), [b"x"]) == outcome(nat.write_tfrecord, io.StringIO(), [b"x"])
    assert outcome(ref.write_tfrecord, io.StringIO(), [b"x"])[0] is TypeError
    # a text file object: caught on read
    assert read_all(ref, io.StringIO("abc")) == read_all(nat, io.StringIO("abc")) == (
        TypeError, "TFRecord: file.read() returned str, not bytes (open the file in binary mode, and blocking)")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc/self/fd")
def test_opened_lazily_and_closed(codecs, tmp_path):
    tfr = codecs.tfrecord
    it = tfr.read_tfrecord(tmp_path / "missing.tfrecord")  # arguments checked, nothing opened
    with pytest.raises(FileNotFoundError):
        next(it)
    path = tmp_path / "f.tfrecord"
    tfr.write_tfrecord(path, [b"a", b"b", b"c"])
    fds = set(os.listdir("/proc/self/fd"))
    it = tfr.read_tfrecord(path)
    assert next(it) == b"a"
    assert len(set(os.listdir("/proc/self/fd")) - fds) == 1
    it.close()
    assert set(os.listdir("/proc/self/fd")) - fds == set()
    assert list(tfr.read_tfrecord(path)) == [b"a", b"b", b"c"]
    assert set(os.listdir("/proc/self/fd")) - fds == set()


def test_record_types(both):
    ref, nat = (b.tfrecord for b in both)
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    good = [b"bytes", bytearray(b"ba"), memoryview(b"mv"), arr, array.array("i", [1, 2, 3]), np.float64(2.5)]
    out = written(ref, good)
    assert written(nat, good) == out
    assert list(ref.read_tfrecord(io.BytesIO(out))) == [bytes(memoryview(g)) for g in good]
    for bad in ("text", 7, None, arr[:, ::2], [b"a"]):
        r = outcome(written, ref, [bad])
        assert r[0] is TypeError and r[1].startswith("TFRecord: expected a")
        assert outcome(written, nat, [bad]) == r
        assert outcome(nat.crc32c, bad) == outcome(ref.crc32c, bad)
    assert outcome(ref.crc32c, arr[:, ::2]) == (TypeError, "TFRecord: expected a C-contiguous buffer")


# --------------------------------------------------------------------------------------------
# the streaming writer


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_writer_context_manager(codecs, tmp_path, compression):
    tfr = codecs.tfrecord
    path = tmp_path / "w.tfrecord"
    with tfr.TFRecordWriter(path, compression=compression) as w:
        assert not w.closed
        for r in GOLDEN:
            w.write(r)
    assert w.closed
    assert path.read_bytes() == compress(_golden_plain(), compression)
    assert outcome(w.write, b"x") == (ValueError, "TFRecord: the writer is closed")
    assert outcome(w.flush) == (ValueError, "TFRecord: the writer is closed")
    w.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        with w:
            pass
    with pytest.raises(RuntimeError):  # an error in the body still finishes the stream
        with tfr.TFRecordWriter(path, compression=compression) as w:
            w.write(b"kept")
            raise RuntimeError
    assert list(tfr.read_tfrecord(path, compression=compression)) == [b"kept"]


@pytest.mark.parametrize("compression", [None, "gzip", "zlib"], ids=["plain", "gzip", "zlib"])
def test_writer_flush_makes_records_readable(codecs, compression):
    tfr = codecs.tfrecord
    sink = io.BytesIO()
    w = tfr.TFRecordWriter(sink, compression=compression)
    for r in GOLDEN:
        w.write(r)
    w.flush()
    so_far = sink.getvalue()
    if compression is not None:
        so_far = _inflated_prefix(so_far, compression)
    assert so_far == _golden_plain()
    w.write(b"after")
    w.close()
    assert not sink.closed
    assert list(tfr.read_tfrecord(io.BytesIO(sink.getvalue()), compression=compression)) == GOLDEN + [b"after"]


# --------------------------------------------------------------------------------------------
# property tests, crossed between the backends


@settings(max_examples=40)
@given(records=S.tfrecord_record_lists(), compression=st.sampled_from(S.TFRECORD_COMPRESSIONS))
def test_round_trip_crossed(both, records, compression):
    ref, nat = (b.tfrecord for b in both)
    out = written(ref, records, compression)
    assert written(nat, records, compression) == out
    for tfr in (ref, nat):
        assert list(tfr.read_tfrecord(io.BytesIO(out), compression=compression)) == records
        if compression != "zlib":
            assert list(tfr.read_tfrecord(io.BytesIO(out))) == records


@settings(max_examples=40)
@given(records=S.tfrecord_record_lists(), compression=st.sampled_from(S.TFRECORD_COMPRESSIONS),
       sizes=S.tfrecord_read_sizes())
def test_short_reads(both, records, compression, sizes):
    ref, nat = (b.tfrecord for b in both)
    out = written(ref, records, compression)
    for tfr in (ref, nat):
        assert list(tfr.read_tfrecord(ShortReader(out, sizes), compression=compression)) == records


@settings(max_examples=60)
@given(records=S.tfrecord_record_lists(max_records=6, big=False), compression=st.sampled_from(S.TFRECORD_COMPRESSIONS),
       data=st.data())
def test_damaged_files_same_outcome(both, records, compression, data):
    ref, nat = (b.tfrecord for b in both)
    out = bytearray(written(ref, records, compression))
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = data.draw(st.integers(0, len(out)))
        if action == "flip" and at < len(out):
            out[at] ^= data.draw(st.integers(1, 255))
        elif action == "truncate":
            del out[at:]
        elif action == "insert":
            out[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        elif at < len(out):
            del out[at:at + data.draw(st.integers(1, 16))]
    for verify in (True, False):
        got = read_all(ref, io.BytesIO(bytes(out)), compression=compression, verify=verify)
        assert read_all(nat, io.BytesIO(bytes(out)), compression=compression, verify=verify) == got
        assert got[0] in ("ok", DecodeError)
        if got[0] is DecodeError:
            assert got[1].startswith("TFRecord: record ")



# --------------------------------------------------------------------------------------------
# the seam between the twins (the private-name check for every module: test_twin_seam.py)

def test_native_writer_is_its_own_class(both):
    ref, nat = (b.tfrecord for b in both)
    assert not issubclass(nat.TFRecordWriter, ref.TFRecordWriter)
