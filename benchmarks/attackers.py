"""The raw-socket attackers of hostile.py: stalled uploads, slowloris, garbage connections and
refused large bodies, each against an HTTP server on loopback, each bounded in sockets and time.

Each kind runs in its own thread(s), between two ``time.monotonic()`` instants (``start_at``,
``stop_at``; CLOCK_MONOTONIC is one clock for every process on Linux, so hostile.py can set them
from another process).  At ``stop_at`` every socket still open is closed by the attacker and
counted as such, with its age.  Per kind (:class:`Tally`), every socket is counted once:

* ``server_ended``: the server ended it, ``ended_by`` says how: ``"closed"`` (EOF or a reset on
  read or write), or ``"answered"``: an answer came (a stalled upload or slowloris socket is
  then closed by the attacker and reopened, since its request is over; a garbage or large-body
  socket that got an answer but no close within its read time).  The seconds from connect to
  that end are kept (``median_end_s``, ``max_end_s``);
* ``open_at_end``: still open at ``stop_at`` (or, for a garbage connection, after
  ``read_timeout`` seconds of silence); its age is kept too, so ``max_open_s`` (the oldest
  socket the server had not ended, or the longest it took to end one) bounds how long the
  server let any socket of the kind hold on;
* ``connect_failed``: the connection could not be made (counted, retried after a pause);
* ``statuses``: the status code of the answer, if any (``"none"``: no bytes came).

:func:`run_attack` runs every kind and returns ``{kind: summary}``; hostile.py runs it in a
separate process, so the attackers' threads share no GIL with the valid clients they disturb.
"""

import errno
import random
import selectors
import socket
import statistics
import threading
import time
from collections import Counter

STALLED_HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
# An endless request head (never its blank line), sent one byte per tick by slowloris.
SLOW_PREFIX = b"POST /predict HTTP/1.1\r\nHost: x\r\n"
SLOW_LINE = b"X-Slow: a\r\n"
# Seconds before a held slot whose socket closed (or failed to connect) is reopened: so a server
# that closes (or refuses) at once meets at most count / HELD_REOPEN_PAUSE connects a second, not a
# flood; and before a garbage or large-body thread retries a connection that failed.
HELD_REOPEN_PAUSE = 0.5
REOPEN_PAUSE = 0.05
# Seconds between the starts of a large-body thread's requests, at least: a server that refuses
# one at once (503 on its head) meets a couple a second, not a flood.
LARGE_MIN_INTERVAL = 1.0
# Seconds the held kinds (stalled, slowloris) start after the others: today's server gives a
# predict slot to whichever request head comes first, so without this, whether the first refused
# large body or the 64th stalled upload gets the last free slot is a race, and a run shows
# either the cost of a refused body or none of it.  Once the stalled uploads hold every slot the
# later large bodies meet 503s anyway.
HELD_DELAY = 1.0
CONNECT_TIMEOUT = 2.0


def _garbage_payloads():
    """``{variant: bytes}``: what a garbage connection sends (then reads whatever comes)."""
    rng = random.Random(7)
    return {
        "random_bytes": bytes(rng.randrange(256) for _ in range(4096)),
        "bad_request_line": b"GET /\x00\x7f HTTP/1.1 and more\r\nHost: x\r\n\r\n",
        "huge_header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * (1 << 20) + b"\r\n\r\n",
        "bad_content_length": b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nabc",
    }


def status_of(data):
    """The status code of the first response in ``data`` (``"none"`` if empty, ``"?"`` if not HTTP)."""
    if not data:
        return "none"
    parts = data.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return parts[1].decode()
    return "?"


def _median(values):
    return round(statistics.median(values), 3) if values else None


class Tally:
    """What happened to one kind's sockets (see the module docstring); thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.opened = 0
        self.connect_failed = 0
        self.ended = []  # (seconds from connect, "closed" or "answered") per socket the server ended
        self.open_ages = []  # seconds each socket had been open when we closed it ourselves
        self.statuses = Counter()
        self.notes = Counter()

    def connected(self):
        with self.lock:
            self.opened += 1

    def failed(self, note):
        with self.lock:
            self.connect_failed += 1
            self.notes[note] += 1

    def server_ended(self, age, how, data):
        with self.lock:
            self.ended.append((age, how))
            self.statuses[status_of(data)] += 1

    def still_open(self, age, data):
        with self.lock:
            self.open_ages.append(age)
            self.statuses[status_of(data)] += 1

    def note(self, text):
        with self.lock:
            self.notes[text] += 1

    def summary(self):
        ended = [age for age, _ in self.ended]
        ages = ended + self.open_ages
        return {
            "opened": self.opened,
            "connect_failed": self.connect_failed,
            "server_ended": len(ended),
            "ended_by": dict(Counter(how for _, how in self.ended)),
            "open_at_end": len(self.open_ages),
            "median_end_s": _median(ended),
            "max_end_s": round(max(ended), 3) if ended else None,
            "oldest_open_at_end_s": round(max(self.open_ages), 3) if self.open_ages else None,
            "max_open_s": round(max(ages), 3) if ages else None,
            "statuses": dict(sorted(self.statuses.items())),
            "notes": dict(self.notes),
        }


def _connect(address, tally):
    """A connected socket, or None (counted as ``connect_failed``)."""
    try:
        sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        tally.failed(f"connect: {errno.errorcode.get(exc.errno, type(exc).__name__)}")
        return None
    tally.connected()
    return sock


def _is_reset(exc):
    return isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError))


class _Held:
    """One open socket of a held kind (stalled, slowloris)."""

    __slots__ = ("data", "opened", "sent", "sock")

    def __init__(self, sock):
        self.sock = sock
        self.opened = time.monotonic()
        self.data = b""
        self.sent = 0


def hold(address, count, first_bytes, tick_bytes, tick, start_at, stop_at, tally):
    """Keep ``count`` connections open from ``start_at`` to ``stop_at``: each sends
    ``first_bytes(0)`` when opened, then (``tick`` seconds apart, if ``tick``) ``tick_bytes(n)``
    where ``n`` counts its bytes sent so far; a socket the server closes is counted and reopened."""
    sel = selectors.DefaultSelector()
    slots = [None] * count
    reopen_at = [start_at] * count
    next_tick = start_at + (tick or 0)
    _sleep_until(start_at)

    def ended(i, how):
        held = slots[i]
        sel.unregister(held.sock)
        held.sock.close()
        now = time.monotonic()
        tally.server_ended(now - held.opened, how, held.data)
        slots[i] = None
        reopen_at[i] = now + HELD_REOPEN_PAUSE

    while True:
        now = time.monotonic()
        if now >= stop_at:
            break
        for i in range(count):
            if slots[i] is None and now >= reopen_at[i]:
                sock = _connect(address, tally)
                if sock is None:
                    reopen_at[i] = time.monotonic() + HELD_REOPEN_PAUSE
                    continue
                held = _Held(sock)
                try:
                    sock.sendall(first_bytes(0))
                    held.sent = len(first_bytes(0))
                except OSError:
                    pass  # the read below sees the close
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, i)
                slots[i] = held
                if time.monotonic() >= stop_at:
                    break
        wait = min(stop_at, next_tick if tick else stop_at, now + 0.1) - time.monotonic()
        for key, _ in sel.select(max(0.0, wait)):
            i = key.data
            try:
                chunk = slots[i].sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                if not _is_reset(exc):
                    tally.note(f"recv: {type(exc).__name__}")
                chunk = b""
            slots[i].data = chunk[:4096]
            ended(i, "answered" if chunk else "closed")
        if tick and time.monotonic() >= next_tick:
            next_tick += tick
            for i, held in enumerate(slots):
                if held is None:
                    continue
                try:
                    held.sent += held.sock.send(tick_bytes(held.sent))
                except BlockingIOError:
                    pass
                except OSError:
                    ended(i, "closed")
    end = time.monotonic()
    for held in slots:
        if held is not None:
            tally.still_open(end - held.opened, held.data)
            held.sock.close()
    sel.close()


def _slow_byte(n):
    if n < len(SLOW_PREFIX):
        return SLOW_PREFIX[n:n + 1]
    k = (n - len(SLOW_PREFIX)) % len(SLOW_LINE)
    return SLOW_LINE[k:k + 1]


def garbage(address, payloads, read_timeout, pause, start_at, stop_at, tallies):
    """Connect, send one garbage payload (round robin over ``payloads``), read until the server
    closes or ``read_timeout`` passes, close; repeat until ``stop_at``."""
    _sleep_until(start_at)
    names = list(payloads)
    k = 0
    while time.monotonic() < stop_at:
        name = names[k % len(names)]
        k += 1
        if not _exchange(address, payloads[name], read_timeout, stop_at, tallies[name]):
            time.sleep(REOPEN_PAUSE)
        time.sleep(pause)


def _exchange(address, payload, read_timeout, stop_at, tally):
    """One connection: send ``payload``, read until the server closes it, ``read_timeout``
    seconds pass or ``stop_at``, close, and count it: ended by the server (``"closed"``, or
    ``"answered"`` if an answer came but no close, timed at the answer) or still open.  False if
    the connection could not be made."""
    sock = _connect(address, tally)
    if sock is None:
        return False
    opened = time.monotonic()
    with sock:
        closed, data, first_data_at = _send_and_read(sock, payload, min(stop_at, opened + read_timeout))
    now = time.monotonic()
    if closed:
        tally.server_ended(now - opened, "closed", data)
    elif data:
        tally.server_ended(first_data_at - opened, "answered", data)
    else:
        tally.still_open(now - opened, data)
    return True


def _send_and_read(sock, payload, deadline):
    """Send ``payload`` (as far as the server takes it) then read until EOF or ``deadline``;
    returns (the server closed, the bytes read, when the first of them came)."""
    sock.setblocking(False)
    data = b""
    first_data_at = None
    view = memoryview(payload)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False, data, first_data_at
            for _, mask in sel.select(min(0.5, deadline - now)):
                if mask & selectors.EVENT_READ:
                    try:
                        chunk = sock.recv(65536)
                    except BlockingIOError:
                        chunk = None
                    except OSError:
                        chunk = b""
                    if chunk == b"":
                        return True, data, first_data_at
                    if chunk:
                        first_data_at = first_data_at or time.monotonic()
                        data = (data + chunk)[:65536]
                if mask & selectors.EVENT_WRITE and view:
                    try:
                        view = view[sock.send(view[:1 << 20]):]
                    except BlockingIOError:
                        pass
                    except OSError:
                        view = view[:0]  # the server stopped reading; its answer (if any) is read
                    if not view:
                        sel.modify(sock, selectors.EVENT_READ)
    finally:
        sel.close()


def refused_body(fmt, megabytes, seed=0):
    """A ``fmt`` (ND_ARRAYS or SERIALIZED_TF_TENSORS) request body of about ``megabytes`` MB,
    one float32 instance of random values, valid up to its last byte, which is replaced (a
    closing ``}`` becomes ``x``), so a server must read all of it before it can refuse it."""
    import numpy as np

    import tensorwire

    def encode(n):
        values = np.random.default_rng(seed).random((1, n), dtype=np.float32)
        return tensorwire.encode_request(values if fmt == "ND_ARRAYS" else {"x": values}, fmt)

    per_value = len(encode(4096)) / 4096
    body = encode(max(1, int(megabytes * 1e6 / per_value)))
    assert body.endswith(b"}"), body[-20:]
    return body[:-1] + b"x"


def large_bodies(address, path, bodies, start_at, stop_at, tally):
    """POST each of ``bodies`` in turn (a fresh connection each, ``Connection: close``) and read
    the answer, until ``stop_at``; one cut short at ``stop_at`` counts as ``open_at_end``."""
    requests = [(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body for body in bodies]
    _sleep_until(start_at)
    k = 0
    while time.monotonic() < stop_at:
        request = requests[k % len(requests)]
        k += 1
        began = time.monotonic()
        _exchange(address, request, float("inf"), stop_at, tally)
        _sleep_until(min(stop_at, began + LARGE_MIN_INTERVAL))


def _sleep_until(t):
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def run_attack(address, path, conf, start_at, stop_at, bodies):
    """Every kind from ``start_at`` (the held kinds :data:`HELD_DELAY` later, if there are large
    bodies) to ``stop_at``; ``{kind: Tally.summary()}``.

    ``conf``: ``stalled`` and ``slowloris`` (connections held), ``slow_tick`` (seconds between
    slowloris bytes), ``garbage_threads``, ``garbage_read_timeout``, ``garbage_pause``,
    ``large_threads``; ``bodies`` the refused large bodies (:func:`refused_body`)."""
    tallies = {"stalled": Tally(), "slowloris": Tally(), "large_body": Tally()}
    held_at = start_at + (HELD_DELAY if bodies and conf["large_threads"] else 0.0)
    payloads = _garbage_payloads()
    garbage_tallies = {name: Tally() for name in payloads}
    threads = []
    if conf["stalled"]:
        threads.append(threading.Thread(target=hold, args=(
            address, conf["stalled"], lambda n: STALLED_HEAD, None, None, held_at, stop_at, tallies["stalled"])))
    if conf["slowloris"]:
        threads.append(threading.Thread(target=hold, args=(
            address, conf["slowloris"], _slow_byte, _slow_byte, conf["slow_tick"], held_at, stop_at,
            tallies["slowloris"])))
    for _ in range(conf["garbage_threads"]):
        threads.append(threading.Thread(target=garbage, args=(
            address, payloads, conf["garbage_read_timeout"], conf["garbage_pause"], start_at, stop_at,
            garbage_tallies)))
    for _ in range(conf["large_threads"] if bodies else 0):
        threads.append(threading.Thread(target=large_bodies, args=(
            address, path, bodies, start_at, stop_at, tallies["large_body"])))
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + 30)
    result = {name: t.summary() for name, t in tallies.items()}
    result.update({f"garbage/{name}": t.summary() for name, t in garbage_tallies.items()})
    result["_unfinished_threads"] = sum(t.is_alive() for t in threads)
    return result


def attack_process(conn, address, path, conf, large_formats, large_mb):
    """The body of hostile.py's attacker process: make the refused bodies, send ``("ready",
    sizes)``, receive ``(start_at, stop_at)`` (or None: stop), run :func:`run_attack`, send
    ``("result", summaries)``; any exception is sent as ``("error", text)``."""
    import traceback

    try:
        bodies = [refused_body(fmt, large_mb) for fmt in large_formats] if conf["large_threads"] else []
        conn.send(("ready", {fmt: len(b) for fmt, b in zip(large_formats, bodies)}))
        window = conn.recv()
        if window is None:
            return
        conn.send(("result", run_attack(address, path, conf, *window, bodies)))
    except BaseException:  # noqa: BLE001 - reported by hostile.py
        conn.send(("error", traceback.format_exc()))
