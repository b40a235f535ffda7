"""``bench --plot``: latency against throughput, one curve per format (matplotlib, the ``plot``
extra).

Each point is one level: x = tiles/s, y = latency in ms (p50 solid with the concurrency written
beside it, p99 dashed, same colour; a log scale when the latencies drawn span over 20x); the curve of a format runs through its concurrencies in
order.  Read it as: further right is more tiles per second, lower is faster answers; where a
curve turns up, more concurrency only queues.  Drawn on a bare ``matplotlib.figure.Figure`` (no
pyplot, no display, the process's backend left alone).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import BenchReport


def write_plot(report: BenchReport, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Draw ``report`` (module docstring) into a PNG at ``path`` (ImportError without matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'tensorwire[plot]'") from None
    from matplotlib.figure import Figure

    s = report.settings
    fig = Figure(figsize=(9, 5.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    formats = list(dict.fromkeys(lv.format for lv in report.levels))
    colors = matplotlib.colormaps["tab10"]
    drawn: list[float] = []
    for i, fmt in enumerate(formats):
        levels = [lv for lv in report.levels if lv.format == fmt and lv.ok and lv.wall_s > 0]
        if not levels:
            continue
        x = [lv.ok * lv.batch / lv.wall_s for lv in levels]
        p50 = [float(lv.latency()["p50"] or 0.0) for lv in levels]
        p99 = [float(lv.latency()["p99"] or 0.0) for lv in levels]
        drawn += p50 + p99
        color = colors(i % 10)
        ax.plot(x, p50, "o-", color=color, label=fmt)
        ax.plot(x, p99, "^--", color=color, alpha=0.5)
        for xi, yi, lv in zip(x, p50, levels):
            ax.annotate(f"{lv.concurrency}", (xi, yi), textcoords="offset points", xytext=(3, -10), fontsize=7,
                        color=color)
    if drawn and min(drawn) > 0 and max(drawn) / min(drawn) > 20:
        ax.set_yscale("log")  # formats an order of magnitude apart stay readable
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.set_xlabel("throughput (tiles/s)")
    ax.set_ylabel("latency per call (ms): p50 solid, p99 dashed")
    ax.grid(True, which="both", alpha=0.3)
    where = "local codecs, no network" if s.get("local") else ", ".join(s.get("targets", ()))
    fig.suptitle(title or f"tensorwire bench: tile {s['tile']} {s['dtype']}, batch {s['batch']} ({where}); "
                          "each point a concurrency (labelled)", fontsize=9)
    if formats:
        fig.legend(fontsize=8, loc="outside lower center", ncols=min(3, len(formats)))
    fig.savefig(os.fspath(path), format="png")
