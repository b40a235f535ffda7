"""The seam between the reference and the Cython twin, checked rather than trusted.

* Every public name of a reference codec (its ``__all__``) exists in the twin, with the same
  parameters (names, kinds, which have defaults) and the same docstring: the twin's text is
  written once more in the ``.pyx`` so that ``help()`` works on the compiled function, and this
  test is what keeps the two copies equal.
* No module of the package imports another module's underscore name: what both twins share is
  public in ``tensorwire.codecs.rules`` (read from the source, so the check holds for the
  ``.pyx`` files too).
* The constant tables each twin writes in C (``_wire.pxd``, the TensorProto field numbers in
  ``tensor.pyx``) equal the reference's, checked here and not only by import-time code that
  ``python -O`` could strip.
"""

import ast
import importlib
import inspect
import pathlib
import re

import pytest

import tensorwire
from tensorwire import _backend

SRC = pathlib.Path(tensorwire.__file__).parent


def reference(codec):
    return importlib.import_module(f"tensorwire.codecs.{codec}")


def twin(codec):
    return importlib.import_module(f"tensorwire._native.{codec}")


PUBLIC = [(codec, name) for codec in _backend.CODECS for name in getattr(reference(codec), "__all__", ())]


@pytest.mark.parametrize("codec", _backend.CODECS)
def test_each_reference_codec_declares_its_public_names(codec):
    public = getattr(reference(codec), "__all__", None)
    assert public, f"tensorwire.codecs.{codec} has no __all__"
    assert all(hasattr(reference(codec), name) for name in public)


def parameters_of(obj):
    """``[(name, kind, has_default)]`` of a Python callable, from ``inspect.signature``."""
    return [
        (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(obj).parameters.values()
    ]


def embedded_parameters(obj, name):
    """The same, read from the signature line Cython embeds at the head of a docstring
    (``embedsignature``), whose default values are source expressions rather than values."""
    head = (obj.__doc__ or "").split("\n", 1)[0]
    assert head.startswith(f"{name}("), f"no embedded signature on {name}: {head!r}"
    args = ast.parse(f"def {head}: pass").body[0].args
    out = []
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    for i, a in enumerate(positional):
        kind = "POSITIONAL_ONLY" if a in args.posonlyargs else "POSITIONAL_OR_KEYWORD"
        out.append((a.arg, kind, i >= first_default))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", False))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append((a.arg, "KEYWORD_ONLY", d is not None))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", False))
    return out


def doc_body(obj, name):
    """A docstring without Cython's embedded signature line, dedented."""
    doc = obj.__doc__ or ""
    if doc.startswith(f"{name}("):
        doc = doc.partition("\n")[2]
    return inspect.cleandoc(doc)


@pytest.mark.native
@pytest.mark.parametrize(("codec", "name"), PUBLIC, ids=[f"{c}.{n}" for c, n in PUBLIC])
def test_twin_has_the_reference_api_and_docs(codec, name):
    ref, nat = getattr(reference(codec), name), getattr(twin(codec), name, None)
    assert nat is not None, f"tensorwire._native.{codec} has no {name}"
    if nat is ref:
        return  # the twin re-exports the reference's own object (a rule with no hot path)
    if not callable(ref):
        assert nat == ref, f"{codec}.{name}: twin {nat!r} != reference {ref!r}"
        return
    assert doc_body(nat, name) == inspect.cleandoc(ref.__doc__ or ""), f"{codec}.{name}: docstrings differ"
    if inspect.isclass(ref):
        want, got = parameters_of(ref.__init__)[1:], parameters_of(nat.__init__)[1:]
    else:
        want, got = parameters_of(ref), embedded_parameters(nat, name)
    assert got == want, f"{codec}.{name}: parameters differ"


def sources():
    for path in sorted(SRC.rglob("*")):
        if path.suffix in (".py", ".pyx", ".pxd") and "__pycache__" not in path.parts:
            yield path


IMPORT_FROM = re.compile(r"^[ \t]*from[ \t]+(\S+)[ \t]+c?import[ \t]+(\([^)]*\)|[^\n]*)", re.M)


def ours(source):
    """Whether an import source names this package (relative, or tensorwire.*); C-API names such
    as ``cpython.bytes._PyBytes_Resize`` are not ours."""
    return source.startswith(".") or source == "tensorwire" or source.startswith("tensorwire.")


def package_module(path, source, name):
    """Whether ``from <source> import <name>`` in the file at ``path`` binds a module of ours."""
    dots = len(source) - len(source.lstrip("."))
    if dots:
        base = path.parent
        for _ in range(dots - 1):
            base = base.parent
        rest = source[dots:]
    elif source == "tensorwire" or source.startswith("tensorwire."):
        base, rest = SRC, source[len("tensorwire."):] if "." in source else ""
    else:
        return False
    where = base.joinpath(*rest.split(".")) if rest else base
    return any((where / f"{name}{suffix}").exists() for suffix in (".py", ".pyx", ".pxd")) or (where / name).is_dir()


def imported_private_names(path, text):
    """Private names of other modules that ``text`` (the file at ``path``) reaches: imported by
    ``from X import _name``, or read as ``alias._name`` through an alias bound to one of our modules."""
    found, aliases = [], []
    for m in IMPORT_FROM.finditer(text):
        source, names = m.group(1), m.group(2)
        for item in re.sub(r"#[^\n]*", "", names).strip("()").replace("\n", " ").split(","):
            parts = item.split(" as ")
            name = parts[0].strip()
            alias = parts[-1].strip()
            if not name:
                continue
            if package_module(path, source, name):
                aliases.append(alias)  # a module of this package, private or not, is fine to import
            elif ours(source) and name.startswith("_") and not name.startswith("__"):
                found.append(f"from {source} import {name}")
    for alias in aliases:
        for m in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.(_[a-z]\w*)", text):
            found.append(f"{alias}.{m.group(1)}")
    return sorted(set(found))


def test_no_module_imports_another_modules_private_name():
    offences = []
    for path in sources():
        for hit in imported_private_names(path, path.read_text()):
            offences.append(f"{path.relative_to(SRC)}: {hit}")
    assert not offences, "\n".join(offences)


def test_the_private_name_check_sees_an_offence():
    here = SRC / "_native" / "tfrecord.pyx"
    text = "from ..codecs.tfrecord import (\n  _target,  # x\n  public)\nfrom ..codecs import grpc as ref\nref._new_spec()\n"
    assert imported_private_names(here, text) == ["from ..codecs.tfrecord import _target", "ref._new_spec"]
    assert imported_private_names(SRC / "payload.py", "from . import _backend\nfrom .x import y as _y\n_backend.NAME\n") == []


def c_constants(filename):
    """``{NAME: value}`` of the ``cdef enum`` blocks of a ``.pyx``/``.pxd`` under ``_native/``, read
    from the source (the C twin's tables are not Python-visible, and reading them here keeps the
    check out of import-time ``assert``s)."""
    text = (SRC / "_native" / filename).read_text()
    values = {}
    for block in re.finditer(r"^cdef enum[^\n]*:\n((?:[ \t]+[^\n]*\n|[ \t]*\n)+)", text, re.M):
        for line in block.group(1).splitlines():
            m = re.match(r"\s+([A-Z_][A-Z0-9_]*)\s*=\s*([^#\n]+)", line)
            if m:
                expr = ast.parse(m.group(2).strip(), mode="eval")
                values[m.group(1)] = eval(compile(expr, filename, "eval"), {"__builtins__": {}}, dict(values))
    return values


def reference_tables():
    from tensorwire.codecs import numtext
    from tensorwire.codecs.rules import dtypes as D
    from tensorwire.codecs.rules import example
    from tensorwire.codecs.rules import tfrecord
    from tensorwire.codecs.rules import wire as W

    yield "_wire.pxd", {name: getattr(W, name) for name in (
        "WT_VARINT", "WT_FIXED64", "WT_LEN", "WT_START_GROUP", "WT_END_GROUP", "WT_FIXED32")}
    yield "_wire.pxd", {"WIRE_MAX_GROUP_DEPTH": W.MAX_GROUP_DEPTH}
    yield "tensor.pyx", {name: getattr(D, name) for name in (
        "MAX_RANK", "F_DTYPE", "F_SHAPE", "F_CONTENT", "F_FLOAT", "F_DOUBLE", "F_INT", "F_STRING", "F_SCOMPLEX",
        "F_INT64", "F_BOOL", "F_DCOMPLEX", "F_HALF", "F_UINT32", "F_UINT64",
        "DT_STRING", "DT_BOOL", "DT_BFLOAT16", "DT_HALF", "DT_UINT64")}
    yield "tensor.pyx", {"N_FIELDS": max(D.FIELD_NAMES) + 1}
    yield "_tensorhead.pxd", {"TENSORHEAD_F_DTYPE": D.F_DTYPE, "TENSORHEAD_F_SHAPE": D.F_SHAPE}
    yield "example.pyx", {name: getattr(example, name) for name in ("BYTES_LIST", "FLOAT_LIST", "INT64_LIST")}
    yield "tfrecord.pyx", {"HEADER": tfrecord.HEADER_BYTES, "FOOTER": tfrecord.FOOTER_BYTES,
                           "FRAME": tfrecord.HEADER_BYTES + tfrecord.FOOTER_BYTES, "BUF_BYTES": tfrecord.READ_CHUNK}
    yield "_numparse.pyx", {"MAX_CHARS": numtext.MAX_NUMBER_CHARS}


@pytest.mark.parametrize(("filename", "want"), list(reference_tables()), ids=lambda v: v if isinstance(v, str) else "")
def test_c_constant_tables_equal_the_reference(filename, want):
    have = c_constants(filename)
    assert {name: have.get(name) for name in want} == want


def test_the_table_reader_reads_expressions():
    tables = c_constants("tfrecord.pyx")
    assert tables["BUF_BYTES"] == 1 << 18 and tables["HEADER"] == 12
