"""PNG plots for BENCHMARKS.md (matplotlib, installed with the `bench` extra only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import PLOTS, machine_line


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_histogram(result: dict[str, Any], name: str = "latency.png") -> Path:
    plt = _pyplot()
    delays = [d for run in result["runs"] for d in run["delays"]]
    quiet = result["config"]["quiet_seconds"]
    target = result["target"]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=90)
    ax.hist(delays, bins=40, color="#3b7dd8")
    ax.axvline(quiet, color="black", linestyle=":", label=f"quiet_seconds ({quiet:g} s)")
    ax.axvline(target["p50_max"], color="#2a9d4b", linestyle="--", label="p50 target")
    ax.axvline(target["p99_max"], color="#d8833b", linestyle="--", label="p99 target")
    m = result["median"]
    ax.set_title(
        f"Save -> import request, {len(delays)} single saves: "
        f"p50 {m['p50']:.2f} s, p99 {m['p99']:.2f} s",
        fontsize=10,
    )
    ax.set_xlabel("seconds from last write to import request")
    ax.set_ylabel("saves")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, machine_line(result["machine"]), fontsize=6, color="gray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return _save(fig, name)


def burst_timeline(
    result: dict[str, Any], naive: dict[str, Any] | None = None, name: str = "burst.png"
) -> Path:
    """Projects written vs imported over time, ours (and the naive watcher's)."""
    plt = _pyplot()
    runs = sorted(result["runs"], key=lambda r: r["last_write_to_last_answer_s"])
    ours = runs[len(runs) // 2]["timeline"]
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=90)
    _cumulative(ax, ours["written"], "written", "#888888", "-")
    _cumulative(ax, ours["imported"], "imported (sessiondock-watcher)", "#3b7dd8", "-")
    if naive is not None:
        timeline = naive["timeline"]
        _cumulative(ax, timeline["written"], "written (naive run)", "#bbbbbb", ":")
        _cumulative(
            ax, timeline["imported"], "complete copy sent (watchmedo + curl)", "#d8833b", "-"
        )
        _cumulative(ax, timeline["requests"], "requests (watchmedo + curl)", "#d8833b", ":")
    ax.set_xlabel("seconds since the first project was written")
    ax.set_ylabel("projects / requests")
    ax.set_title(f"Burst of {result['count']} new projects", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.text(0.01, 0.01, machine_line(result["machine"]), fontsize=6, color="gray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return _save(fig, name)


def _cumulative(ax: Any, times: list[float], label: str, color: str, style: str) -> None:
    if not times:
        return
    ordered = sorted(times)
    ax.step(ordered, range(1, len(ordered) + 1), where="post", label=label, color=color,
            linestyle=style)  # fmt: skip


def _save(fig: Any, name: str) -> Path:
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / name
    fig.savefig(path)
    _pyplot().close(fig)
    return path
