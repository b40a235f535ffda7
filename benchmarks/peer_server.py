"""The baseline the serving benchmarks compare tensorwire with: a model server and a client written
the way a user would write them today, with protobuf and the stdlib's json/base64.

``python benchmarks/peer_server.py MODULE:FUNCTION [--format F ...] [--host H] [--http-port P]
[--grpc-port P] [--example-shape 256x256x1] [--input-name NAME]`` serves ``FUNCTION`` like
``python -m tensorwire serve`` does, on the same stack and conventions, so that a round trip
differs only in the codec work:

* HTTP: Starlette on uvicorn (one server thread, ``lifespan="off"``, warnings only, no access
  log), ``POST /predict`` and ``GET /health``; the handler's decoding, predict call and encoding
  run in Starlette's thread pool (``run_in_threadpool``); errors are ``{"error": ...}``.
* gRPC: grpcio with a pool of 8 worker threads and a 64 MiB receive limit, serving
  ``tensorflow.serving.PredictionService/Predict`` through the generated
  ``prediction_service_pb2_grpc`` servicer (so grpcio parses ``predict_pb2.PredictRequest`` and
  serializes ``PredictResponse`` with protobuf's own runtime).
* Ports 0 pick free ones; once both listen it prints one line like tensorwire's::

      peer_server: serving MODULE:FUNCTION (FORMATS) on HTTP http://127.0.0.1:PORT/predict; gRPC on 127.0.0.1:PORT

  and it stops on SIGTERM or Ctrl-C.

The codec work, on both ends (:class:`PeerClient` is the client), is plain library code:

=============================  =================================================================
format                         request and response bodies
=============================  =================================================================
SERIALIZED_TF_TENSORS          ``json.dumps``/``json.loads``; per instance and band
                               ``base64.urlsafe_b64encode(TensorProto(...).SerializeToString())``
                               and back with ``urlsafe_b64decode`` + ``TensorProto.FromString`` +
                               ``np.frombuffer(tensor_content)``
RAW_JSON                       ``json.dumps`` of ``x[i].astype(str).tolist()`` (numbers as JSON
                               strings, docs/payload-formats.md); ``np.asarray(json.loads(...), float32)``
ND_ARRAYS                      ``json.dumps(x.tolist())``; ``np.asarray(json.loads(...), float32)``
GRPC_TF_TENSORS                ``predict_pb2`` with one TensorProto (``tensor_content``) per band
GRPC_SERIALIZED_TF_TENSORS     one DT_STRING ``[N]`` TensorProto per band whose ``string_val`` are
                               the SERIALIZED_TF_TENSORS base64 texts; the response is read as
                               whatever it carries (numeric tensors, or DT_STRING base64 texts)
GRPC_SERIALIZED_TF_EXAMPLES    one DT_STRING ``[N]`` input ``input`` of serialized
                               ``example_pb2.Example``, one ``float_list`` per band
                               (``value.extend(x[i].ravel().tolist())``: 5x faster than extending
                               from the ndarray itself); read with ``np.asarray(value, float32)``
=============================  =================================================================

Responses are written in the shapes tensorwire's server writes (checked by roundtrip.py, which
crosses the two clients and servers): one output bare, several as ``{name: value}`` (JSON);
every gRPC response as numeric TensorProtos with ``tensor_content``, except GRPC_SERIALIZED_TF_TENSORS
(a DT_STRING ``[N]`` of base64 texts per output, as its request), a single unnamed output under
``"output"``.  JSON numbers decode into float32, as tensorwire's do.  With several formats
of a transport configured, each request's format is told from its first instance (JSON) or
its first input (gRPC: DT_STRING whose first element starts with byte 0x0A is a tf.Example).
"""

import argparse
import base64
import json
import os
import signal
import socket
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

JSON_FORMATS = ("SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS")
GRPC_FORMATS = ("GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES")
FORMATS = JSON_FORMATS + GRPC_FORMATS
ALIASES = {"GRPC_TF_EXAMPLES": "GRPC_SERIALIZED_TF_EXAMPLES"}
MAX_MESSAGE_BYTES = 64 << 20


class _Protos:
    """The generated protobuf modules, imported on first use (they import TensorFlow: seconds)."""

    def __getattr__(self, name):
        from tensorflow.core.example import example_pb2
        from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        for module in (example_pb2, tensor_pb2, tensor_shape_pb2, types_pb2, predict_pb2,
                       prediction_service_pb2_grpc):
            setattr(self, module.__name__.rsplit(".", 1)[1], module)
        return self.__dict__[name]


pb = _Protos()


def format_of(name):
    name = ALIASES.get(name, name)
    if name not in FORMATS:
        raise ValueError(f"unknown payload format {name!r}; one of {', '.join(FORMATS)}")
    return name


# ------------------------------------------------------------------------------------------
# TensorProto <-> ndarray, base64, the way a user writes it with the generated classes


def _dtypes():
    t = pb.types_pb2
    return {np.dtype(np.float32): t.DT_FLOAT, np.dtype(np.float64): t.DT_DOUBLE, np.dtype(np.int32): t.DT_INT32,
            np.dtype(np.int64): t.DT_INT64, np.dtype(np.uint8): t.DT_UINT8}


_DT = None


def _dt_of(dtype):
    global _DT
    if _DT is None:
        _DT = _dtypes()
    return _DT[np.dtype(dtype)]


def _np_of(dt):
    if _DT is None:
        _dt_of(np.float32)
    for dtype, code in _DT.items():
        if code == dt:
            return dtype
    raise ValueError(f"TensorProto dtype {dt} is not handled by the baseline")


def to_proto(a):
    """A ``TensorProto`` holding ``a`` in ``tensor_content`` (what ``tf.io.serialize_tensor`` writes)."""
    a = np.ascontiguousarray(a)
    shape = pb.tensor_shape_pb2.TensorShapeProto(dim=[pb.tensor_shape_pb2.TensorShapeProto.Dim(size=d)
                                                      for d in a.shape])
    return pb.tensor_pb2.TensorProto(dtype=_dt_of(a.dtype), tensor_shape=shape, tensor_content=a.tobytes())


def from_proto(t):
    """The ndarray a numeric ``TensorProto`` holds (``tensor_content`` or its typed ``*_val`` field)."""
    dtype = _np_of(t.dtype)
    shape = tuple(d.size for d in t.tensor_shape.dim)
    if t.tensor_content:
        return np.frombuffer(t.tensor_content, dtype=dtype).reshape(shape)
    field = {np.float32: "float_val", np.float64: "double_val", np.int64: "int64_val"}.get(dtype.type, "int_val")
    values = np.asarray(getattr(t, field), dtype=dtype)
    out = np.zeros(shape, dtype=dtype)
    if values.size:  # TensorFlow's rule: the last value repeats
        flat = out.reshape(-1)
        flat[: values.size] = values[: flat.size]
        flat[values.size:] = values[-1]
    return out


def b64_text(data):
    """URL-safe base64 with padding (what tensorwire writes; ``tf.io.decode_base64`` reads it)."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64_bytes(text):
    """URL-safe base64, padded or not (tensorwire pads; TensorFlow does not); ``{"b64": standard}``."""
    if isinstance(text, dict):
        return base64.b64decode(text["b64"])
    missing = -len(text) % 4
    return base64.urlsafe_b64decode(text + ("=" if isinstance(text, str) else b"=") * missing if missing else text)


def serialize_instance(a):
    """The base64 text of one instance's serialized TensorProto (SERIALIZED_TF_TENSORS)."""
    return b64_text(to_proto(a).SerializeToString())


def parse_instance(text):
    return from_proto(pb.tensor_pb2.TensorProto.FromString(b64_bytes(text)))


def _string_tensor(values):
    t = pb.tensor_pb2.TensorProto(dtype=pb.types_pb2.DT_STRING)
    t.tensor_shape.dim.add(size=len(values))
    t.string_val.extend(values)
    return t


def _read_tensor(t):
    """A gRPC input/output: numeric as it is; a DT_STRING ``[N]`` of base64 TensorProtos stacked."""
    if t.dtype == pb.types_pb2.DT_STRING:
        return np.stack([parse_instance(s) for s in t.string_val])
    return from_proto(t)


# ------------------------------------------------------------------------------------------
# request and response bodies


def _columns(inputs, fmt):
    if fmt == "ND_ARRAYS":
        if isinstance(inputs, dict):
            (inputs,) = inputs.values()
        return {"instances": np.asarray(inputs)}
    return {name: np.asarray(a) for name, a in inputs.items()}


def _json_value(a, fmt):
    """One instance's value in a JSON body."""
    if fmt == "SERIALIZED_TF_TENSORS":
        return serialize_instance(a)
    if fmt == "RAW_JSON":
        return a.astype(str).tolist()
    return a.tolist()


def _json_instances(columns, fmt, bare):
    names = list(columns)
    n = len(columns[names[0]])
    if bare:
        (a,) = columns.values()
        if fmt == "ND_ARRAYS":
            return a.tolist()
        return [_json_value(a[i], fmt) for i in range(n)]
    return [{name: _json_value(columns[name][i], fmt) for name in names} for i in range(n)]


def _json_arrays(values, fmt, bare_name):
    """``{name: batch-first array}`` from a list of instances/predictions."""
    if not isinstance(values, list) or not values:
        raise ValueError("expected a non-empty list of instances")
    if fmt == "ND_ARRAYS" or not isinstance(values[0], dict) or (len(values[0]) == 1 and "b64" in values[0]):
        values = [{bare_name: v} for v in values]
    names = list(values[0])
    if fmt == "SERIALIZED_TF_TENSORS":
        return {name: np.stack([parse_instance(v[name]) for v in values]) for name in names}
    return {name: np.asarray([v[name] for v in values], dtype=np.float32) for name in names}


def sniff_json(instances, formats):
    if len(formats) == 1:
        return formats[0]
    first = instances[0] if isinstance(instances, list) and instances else None
    if not isinstance(first, dict):
        fmt = "ND_ARRAYS"
    else:
        value = next(iter(first.values()), None)
        fmt = "SERIALIZED_TF_TENSORS" if isinstance(value, (str, dict)) else "RAW_JSON"
    if fmt not in formats:
        raise ValueError(f"the request looks like {fmt}, which this server does not take")
    return fmt


def sniff_grpc(request, formats):
    if len(formats) == 1:
        return formats[0]
    first = next(iter(request.inputs.values()), None)
    if first is None or first.dtype != pb.types_pb2.DT_STRING:
        fmt = "GRPC_TF_TENSORS"
    elif first.string_val and first.string_val[0][:1] == b"\n":
        fmt = "GRPC_SERIALIZED_TF_EXAMPLES"
    else:
        fmt = "GRPC_SERIALIZED_TF_TENSORS"
    if fmt not in formats:
        raise ValueError(f"the request looks like {fmt}, which this server does not take")
    return fmt


def encode_grpc_request(inputs, fmt, *, input_name="input", model_name=""):
    request = pb.predict_pb2.PredictRequest()
    if model_name:
        request.model_spec.name = model_name
    columns = _columns(inputs, fmt)
    if fmt == "GRPC_TF_TENSORS":
        for name, a in columns.items():
            request.inputs[name].CopyFrom(to_proto(a))
    elif fmt == "GRPC_SERIALIZED_TF_TENSORS":
        for name, a in columns.items():
            request.inputs[name].CopyFrom(_string_tensor([serialize_instance(x).encode("ascii") for x in a]))
    else:
        n = len(next(iter(columns.values())))
        examples = []
        for i in range(n):
            example = pb.example_pb2.Example()
            for name, a in columns.items():
                example.features.feature[name].float_list.value.extend(a[i].ravel().tolist())
            examples.append(example.SerializeToString())
        request.inputs[input_name].CopyFrom(_string_tensor(examples))
    return request


def encode_request(inputs, fmt, *, input_name="input", model_name=""):
    """The request: JSON body bytes, or a ``PredictRequest`` message (gRPC formats)."""
    fmt = format_of(fmt)
    if fmt in GRPC_FORMATS:
        return encode_grpc_request(inputs, fmt, input_name=input_name, model_name=model_name)
    columns = _columns(inputs, fmt)
    return json.dumps({"instances": _json_instances(columns, fmt, bare=fmt == "ND_ARRAYS")}).encode()


def request_bytes(inputs, fmt, **options):
    """The size of the request body or serialized ``PredictRequest``."""
    request = encode_request(inputs, fmt, **options)
    return len(request) if isinstance(request, bytes) else request.ByteSize()


def decode_grpc_request(request, fmt, example_shape=None):
    if fmt == "GRPC_TF_TENSORS":
        return {name: from_proto(t) for name, t in request.inputs.items()}
    if fmt == "GRPC_SERIALIZED_TF_TENSORS":
        return {name: np.stack([parse_instance(s) for s in t.string_val]) for name, t in request.inputs.items()}
    if len(request.inputs) != 1:
        raise ValueError(f"{fmt} carries one input, not {len(request.inputs)}")
    (t,) = request.inputs.values()
    examples = [pb.example_pb2.Example.FromString(s) for s in t.string_val]
    names = sorted(examples[0].features.feature)
    inputs = {}
    for name in names:
        a = np.stack([np.asarray(ex.features.feature[name].float_list.value, dtype=np.float32) for ex in examples])
        inputs[name] = a.reshape((len(a), *example_shape)) if example_shape else a
    return inputs


def encode_grpc_response(outputs, fmt, model_name=""):
    """GRPC_SERIALIZED_TF_TENSORS answers as it asks (a DT_STRING ``[N]`` of per-instance base64
    TensorProtos per output, as tensorwire's server and a TF Serving-hosted Earth Engine model
    do); the other formats with numeric ``tensor_content`` TensorProtos."""
    response = pb.predict_pb2.PredictResponse()
    if model_name:
        response.model_spec.name = model_name
    if not isinstance(outputs, dict):
        outputs = {"output": outputs}
    for name, a in outputs.items():
        a = np.asarray(a)
        if fmt == "GRPC_SERIALIZED_TF_TENSORS":
            response.outputs[name].CopyFrom(_string_tensor([serialize_instance(x).encode("ascii") for x in a]))
        else:
            response.outputs[name].CopyFrom(to_proto(a))
    return response


# ------------------------------------------------------------------------------------------
# the server


class Handler:
    """Request -> predict_fn -> response, for both transports (any number of threads at once)."""

    def __init__(self, predict_fn, formats, example_shape=None):
        self.predict_fn = predict_fn
        self.json_formats = [f for f in formats if f in JSON_FORMATS]
        self.grpc_formats = [f for f in formats if f in GRPC_FORMATS]
        self.example_shape = example_shape

    def _predict(self, inputs):
        outputs = self.predict_fn(inputs)
        if isinstance(outputs, dict):
            return {name: np.asarray(a) for name, a in outputs.items()}
        return np.asarray(outputs)

    def handle_json(self, body):
        doc = json.loads(body)
        instances = doc["instances"]
        fmt = sniff_json(instances, self.json_formats)
        inputs = _json_arrays(instances, fmt, "instances")
        outputs = self._predict(inputs)
        if not isinstance(outputs, dict):
            outputs = {"output": outputs}
        predictions = _json_instances(outputs, fmt, bare=len(outputs) == 1)
        return json.dumps({"predictions": predictions}).encode()

    def handle_grpc(self, request):
        fmt = sniff_grpc(request, self.grpc_formats)
        inputs = decode_grpc_request(request, fmt, self.example_shape)
        return encode_grpc_response(self._predict(inputs), fmt, request.model_spec.name)


def make_app(handler):
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from starlette.routing import Route

    def error(status, message):
        return Response(json.dumps({"error": message}), status_code=status, media_type="application/json")

    async def predict(request):
        if not handler.json_formats:
            return error(400, "this server takes gRPC payload formats only")
        body = await request.body()
        if len(body) > MAX_MESSAGE_BYTES:
            return error(413, f"the request body is over the server's limit of {MAX_MESSAGE_BYTES:,} bytes")
        try:
            answer = await run_in_threadpool(handler.handle_json, body)
        except (ValueError, KeyError, TypeError) as exc:
            return error(400, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the model failed
            return error(500, f"{type(exc).__name__}: {exc}")
        return Response(answer, media_type="application/json")

    async def health(request):
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health, methods=["GET"])])


def start_grpc(handler, host, port, workers=8):
    import grpc
    from concurrent import futures

    class Servicer(pb.prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 - the generated name
            try:
                return handler.handle_grpc(request)
            except (ValueError, KeyError, TypeError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001
                context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="peer-grpc"),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", -1)],
    )
    pb.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"gRPC: cannot listen on {host}:{port}")
    server.start()
    return server, bound


def serve(predict_fn, formats, host, http_port, grpc_port, example_shape, announce):
    import uvicorn

    handler = Handler(predict_fn, formats, example_shape)
    _ = pb.predict_pb2  # import the protobuf modules (TensorFlow) before announcing
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, http_port))
    sock.listen(2048)
    grpc_server = grpc_target = None
    if handler.grpc_formats:
        grpc_server, bound = start_grpc(handler, host, grpc_port)
        grpc_target = f"{host}:{bound}"
    config = uvicorn.Config(make_app(handler), lifespan="off", access_log=False, log_level="warning",
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="peer-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.01)
    url = f"http://{host}:{sock.getsockname()[1]}/predict"
    grpc_text = f"; gRPC on {grpc_target}" if grpc_target else ""
    print(f"peer_server: serving {announce} ({', '.join(formats)}) on HTTP {url}{grpc_text}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while thread.is_alive() and not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    server.should_exit = True
    if grpc_server is not None:
        grpc_server.stop(5).wait()
    thread.join(10)
    sock.close()


# ------------------------------------------------------------------------------------------
# the client


class PeerClient:
    """``PeerClient(target, format).predict(inputs) -> {name: ndarray}``, like ``tensorwire.Client``
    (a single output under ``"output"``), with urllib3 (HTTP, the same pool settings) or the
    generated ``PredictionServiceStub`` (gRPC).  One request per call, no retries."""

    def __init__(self, target, format, *, timeout=60.0, input_name="input", model_name=""):
        self.format = format_of(str(getattr(format, "value", format)))
        self.target = target
        self.timeout = timeout
        self.input_name = input_name
        self.model_name = model_name
        if self.format in GRPC_FORMATS:
            import grpc

            options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
            self._channel = grpc.insecure_channel(target, options=options)
            self._stub = pb.prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        else:
            import urllib3

            self._pool = urllib3.PoolManager(num_pools=4, maxsize=1, block=False, retries=False,
                                             timeout=urllib3.Timeout(connect=10.0, read=timeout))

    def predict(self, inputs):
        request = encode_request(inputs, self.format, input_name=self.input_name, model_name=self.model_name)
        if self.format in GRPC_FORMATS:
            response = self._stub.Predict(request, timeout=self.timeout)
            return {name: _read_tensor(t) for name, t in response.outputs.items()}
        r = self._pool.request("POST", self.target, body=request, headers={"Content-Type": "application/json"})
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {r.data[:300]!r}")
        doc = json.loads(r.data)
        if "error" in doc:
            raise RuntimeError(doc["error"])
        return _json_arrays(doc["predictions"], self.format, "output")

    def close(self):
        if self.format in GRPC_FORMATS:
            self._channel.close()
        else:
            self._pool.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------------------------------


def _load(target):
    import importlib

    module, sep, name = target.partition(":")
    if not sep:
        raise SystemExit(f"peer_server: expected MODULE:FUNCTION, not {target!r}")
    sys.path.insert(0, "")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # serve_models
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", metavar="MODULE:FUNCTION")
    parser.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                        help="a payload format to take (repeat for several; default: all six)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--example-shape", default=None, metavar="HxWxC",
                        help="GRPC_SERIALIZED_TF_EXAMPLES: reshape each feature to this per-instance shape")
    args = parser.parse_args(argv)
    # The same process setting as tensorwire's server (its allocator, not its codecs: none is
    # used here), so that a round trip still differs only in the codec work.
    from load import keep_freed_memory

    keep_freed_memory(parser)
    try:
        formats = list(dict.fromkeys(format_of(f) for f in (args.formats or FORMATS)))
    except ValueError as exc:
        parser.error(str(exc))
    shape = tuple(int(d) for d in args.example_shape.lower().split("x")) if args.example_shape else None
    serve(_load(args.target), formats, args.host, args.http_port, args.grpc_port, shape, args.target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
