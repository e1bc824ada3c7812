"""Shared instruments of the benchmarks: options, threads, timing, memory, tables, the footer.

Contenders run in *interleaved*, shuffled rounds in one process, so that a slow phase of a noisy
machine hits all alike; medians of wall and CPU time; one BLAS thread; memory from psutil, /proc.
"""

import argparse
import contextlib
import cProfile
import datetime
import gc
import importlib
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import BLAS_THREADS

ROOT = Path(__file__).resolve().parent.parent
MUL, ADD = 1.0001, 0.0001
#: Where the results files go (git-ignored).
RESULTS_DIR = ROOT / "benchmarks" / "results"
#: The environment variables a run's footer shows when they are set.
ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "XLA_FLAGS", "AL_BENCH_BLAS_THREADS")  # fmt: skip
#: The switches of every benchmark and of ``python -m benchmarks``.
SWITCHES: dict[str, Any] = {"--quick": "smaller sizes, fewer repetitions",
                            "--no-torch": "skip PyTorch", "--no-jax": "skip JAX"}  # fmt: skip
#: A goal comparing two contenders: ``(text, contender, baseline, limit)``.
Versus = tuple[str, str, str | None, float]


def pin_blas_threads(n: int | None = None) -> dict[str, Any]:
    """Limit NumPy's BLAS to ``n`` threads (``AL_BENCH_BLAS_THREADS``); what threadpoolctl says."""
    threadpoolctl = importlib.import_module("threadpoolctl")
    threadpoolctl.threadpool_limits(int(BLAS_THREADS) if n is None else n, user_api="blas")
    return next((i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"), {})


def chain(x: Any, n: int) -> Any:
    """``n`` nodes ``x = x * 1.0001 + 0.0001`` from ``x`` (two tiny ops each)."""
    for _ in range(n):
        x = x * MUL + ADD
    return x


def interleaved(contenders: Mapping[str, Callable[[], Any]], reps: int, warmup: int = 1,
                seed: int = 0) -> dict[str, list[Any]]:  # fmt: skip
    """Each round ``warmup + reps`` times, interleaved, shuffled: ``name -> [recorded values]``;
    untimed before a round: a collection and a 1 ms sleep; what was alive before is frozen."""
    gc.collect()
    gc.freeze()
    order, shuffle = list(contenders), random.Random(seed).shuffle
    samples: dict[str, list[Any]] = {name: [] for name in order}
    for cycle in range(warmup + reps):
        shuffle(order)
        for name in order:
            gc.collect()
            time.sleep(0.001)
            value = contenders[name]()
            if cycle >= warmup:
                samples[name].append(value)
    return samples


def clock() -> tuple[float, float]:
    """``(wall, cpu)`` now: ``perf_counter`` and this process's CPU time (all threads)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float], units: int = 1) -> tuple[float, float]:
    """``(wall, cpu)`` seconds per unit since ``start = clock()``."""
    wall, cpu = clock()
    return (wall - start[0]) / units, (cpu - start[1]) / units


def block(run: Callable[[], Any], units: int, repeat: int = 1) -> Callable[[], tuple]:
    """A round that times ``repeat`` calls of ``run`` as one block: ``(wall, cpu)`` per unit."""

    def round_() -> tuple[float, float]:
        begin = clock()
        for _ in range(repeat):
            run()
        return since(begin, units)

    return round_


def over(step: Callable[[Any], Any], items: Sequence[Any]) -> Callable[[], tuple]:
    """A round that runs ``step`` on each item, timed as one block: ``(wall, cpu)`` per item."""
    return block(lambda: [step(item) for item in items], len(items))


def summarize(values: Sequence[Any], scale: float = 1.0) -> dict[str, Any]:
    """Median, quartiles, minimum, count, samples (times ``scale``); of pairs, CPU's in "cpu"."""
    if values and isinstance(values[0], tuple):
        cpu = summarize([v[1] for v in values], scale)
        return summarize([v[0] for v in values], scale) | {"cpu": cpu}
    samples = [v * scale for v in values]
    data = sorted(samples) or [float("nan")]
    q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive") if len(data) > 1 else data * 3
    return {"median": statistics.median(data), "q1": q1, "q3": q3, "min": data[0],
            "n": len(values), "samples": samples}  # fmt: skip


def compare(rounds: Mapping[str, Callable[[], Any]], reps: int, scale: float = 1.0,
            warmup: int = 1) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The medians etc. (`summarize`) of each contender's `interleaved` rounds."""
    samples = interleaved(rounds, reps, warmup)
    return {name: summarize(values, scale) for name, values in samples.items()}


def ratio(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, float]:
    """``(wall, cpu)``: the ratios of the medians of two `summarize` results."""
    return a["median"] / b["median"], a["cpu"]["median"] / b["cpu"]["median"]


def gc_off(round_: Callable[[], Any]) -> Callable[[], Any]:
    """The round with Python's cyclic garbage collector disabled (a diagnostic of its cost)."""

    def without_gc() -> Any:
        gc.disable()
        try:
            return round_()
        finally:
            gc.enable()

    return without_gc


def profile(title: str, run: Callable[[], Any], units: int) -> dict[str, Any]:
    """cProfile of ``run()`` after one plain timed call: the top 20 by self time, per unit."""
    gc.collect()
    gc.freeze()
    plain, profiler = block(run, units)()[0] * 1e6, cProfile.Profile()
    profiler.runcall(run)
    stats: Any = pstats.Stats(profiler)
    total, rows, us = stats.total_tt, [], 1e6 / units
    for (path, line, func), (_, calls, tt, ct, _) in stats.stats.items():
        where = [m for m in ("autograd_lite/", "numpy/", "benchmarks/") if m in path]
        path = where[0] + path.split(where[0], 1)[1] if where else path.split("/")[-1]
        rows.append((f"{path}:{line}({func})" if line else func, f"{calls / units:.1f}", tt * us,
                     ct * us, f"{100 * tt / (total or 1):.1f}%"))  # fmt: skip
    top = sorted(rows, key=lambda row: row[2], reverse=True)[:20]
    show(f"{title}: {plain:.1f} µs per unit without the profiler, {total * us:.1f} µs with it "
         "(cProfile inflates small calls)", ["function (by self time)", "calls/unit",
         "self µs/unit", "cum µs/unit", "share"], top)  # fmt: skip
    return {"units": units, "plain_us_per_unit": plain, "profiled_us_per_unit": total * us,
            "top_self": top}  # fmt: skip


def rss_bytes() -> int:
    """This process's resident set size now, in bytes."""
    return importlib.import_module("psutil").Process().memory_info().rss


def peak_rss_bytes() -> int:
    """The peak RSS since the start or `reset_peak_rss`: ``VmHWM``, else ``ru_maxrss``."""
    with contextlib.suppress(OSError, StopIteration), open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    return importlib.import_module("resource").getrusage(0).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs``); False if not possible."""
    with contextlib.suppress(OSError):
        return Path("/proc/self/clear_refs").write_text("5") > 0
    return False


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A plain-text table; ``align``: a letter per column, ``l`` or ``r`` (default ``lrr...``).
    A float is printed with 2, 1 or 0 decimals as it grows; None or NaN as ``-``."""

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "-"
        if not isinstance(v, float):
            return str(v)
        return f"{v:,.{0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2}f}"

    cells = [list(headers)] + [[cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)
    cells.insert(1, ["-" * w for w in widths])
    just = {"l": str.ljust, "r": str.rjust}
    return "\n".join("  ".join(just[a](c, w) for c, w, a in zip(row, widths, align)).rstrip()
                     for row in cells)  # fmt: skip


def show(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print ``title`` after a blank line, then the `table`."""
    print(f"\n{title}\n{table(headers, rows)}")


def ratio_table(title: str, stats: Mapping[str, Mapping[str, Any]],
                base: str | Callable[[str], str | None], unit: str = "µs", scale: float = 1.0,
                extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:  # fmt: skip
    """Show `compare`'s ``stats``: each contender's wall and CPU medians (times ``scale``) and
    their ratios to its baseline's, ``base`` or ``base(name)``; ``extra``: column -> values."""
    rows = []
    for name, s in stats.items():
        b = stats.get(base if isinstance(base, str) else base(name) or "")
        ratios = [f"{r:.2f}x" for r in ratio(s, b)] if b else ["-", "-"]
        rows.append((name, s["median"] * scale, s["cpu"]["median"] * scale, *ratios,
                     *(column[name] for column in (extra or {}).values())))  # fmt: skip
    headers = ["contender", f"wall {unit}", f"cpu {unit}", "ratio", "cpu ratio", *(extra or {})]
    show(title, headers, rows)


def goal(text: str, measured: Any, limit: float | None = None, cpu: float | None = None,
         unit: str = "x") -> dict[str, Any]:  # fmt: skip
    """One goal of the issues: met when the wall-time *and* CPU-time figures are both within
    ``limit`` (either alone can be flattered by noise); ``"yes"``/``"no"`` is met on yes."""
    met = measured == "yes" if isinstance(measured, str) else (
        limit is not None and measured <= limit and (cpu is None or cpu <= limit))  # fmt: skip
    return {"goal": text, "measured": measured, "cpu_measured": cpu, "limit": limit,
            "unit": unit, "met": bool(met)}  # fmt: skip


def goals_of(stats: Mapping[str, Mapping[str, Any]], specs: Iterable[Versus]) -> list[dict]:
    """The `goal`s ``(text, contender, baseline, limit)`` whose two contenders both ran: the
    contender's median within ``limit`` times the baseline's, wall and CPU time."""
    ran = [(text, ratio(stats[a], stats[b]), limit) for text, a, b, limit in specs
           if b is not None and a in stats and b in stats]  # fmt: skip
    return [goal(text, wall, limit, cpu) for text, (wall, cpu), limit in ran]


def contest(title: str, rounds: Mapping[str, Callable[[], Any]], reps: int,
            base: str | Callable[[str], str | None], goals: Iterable[Versus] = (),
            scale: float = 1e6, unit: str = "µs") -> tuple[dict[str, Any], list[dict]]:  # fmt: skip
    """`compare` the rounds, show their `ratio_table`; return the statistics and the goals."""
    stats = compare(rounds, reps, scale)
    ratio_table(f"{title}, medians of {reps} interleaved rounds", stats, base, unit)
    return stats, goals_of(stats, goals)


def goal_table(goals: Sequence[Mapping[str, Any]]) -> str:
    """The goals as a table: measured (wall), CPU, limit, met."""

    def fmt(v: Any, unit: str) -> Any:
        return v if v is None or isinstance(v, str) else f"{v:.2f}{' ' * (unit != 'x')}{unit}"

    rows = [(g["goal"], *(fmt(g[k], g["unit"]) for k in ("measured", "cpu_measured", "limit")),
             "yes" if g["met"] else "NO") for g in goals]  # fmt: skip
    return table(["goal", "measured", "cpu", "limit", "met"], rows)


def _git(*args: str) -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    return None


def footer(name: str, payload: Mapping[str, Any], notes: Sequence[str] = (),
           goals: Sequence[Mapping[str, Any]] = ()) -> int:  # fmt: skip
    """Every benchmark's ending: its notes, the machine and software the numbers were measured on
    (read now: the optional frameworks are imported), its goals, and
    ``benchmarks/results/NAME.json``; 0, the exit status."""
    for note in notes:
        print("note:", note)
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    psutil, blas = importlib.import_module("psutil"), pin_blas_threads()  # as every bench pins it
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    changed = _git("status", "--porcelain", "--", "autograd_lite")
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu, "cores_usable": len(usable) if usable else psutil.cpu_count(),
        "load_average": psutil.getloadavg(), "python": sys.version.split()[0],
        "numpy": np.__version__,
        "blas": {"name": blas.get("internal_api"), "version": blas.get("version"),
                 "core": blas.get("architecture"), "threads": blas.get("num_threads")},
        "torch": getattr(sys.modules.get("torch"), "__version__", None),
        "jax": getattr(sys.modules.get("jax"), "__version__", None),
        "env": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
        "git": {"commit": _git("rev-parse", "--short", "HEAD"),
                "package_changes_uncommitted":
                    None if changed is None else len(changed.splitlines())},
    }  # fmt: skip
    blas, git, load = env["blas"], env["git"], "/".join(f"{x:.2f}" for x in env["load_average"])
    dirty = git["package_changes_uncommitted"]
    lines = [f"date {env['date']}; {env['cpu']}, {env['cores_usable']} usable core(s), load {load}",
             f"Python {env['python']}, NumPy {env['numpy']} with {blas['name']} {blas['version']} "
             f"(core {blas['core']}, {blas['threads']} thread(s))",
             ", ".join(f"{k} {env[k]}" for k in ("torch", "jax") if env[k]),
             env["env"] and "env: " + " ".join(f"{k}={v}" for k, v in env["env"].items()),
             git["commit"] and f"commit {git['commit']}" + bool(dirty) * f" + {dirty} "
             "uncommitted change(s) under autograd_lite/"]  # fmt: skip
    print("\n" + "\n".join(line for line in lines if line))
    if goals:
        print("\nGoals (met = wall and CPU time both within)", goal_table(goals), sep="\n")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "environment": env, **payload, "goals": list(goals)}
    path.write_text(json.dumps(document, indent=2, default=lambda o: o.tolist()) + "\n")
    print(f"\nwrote {path}")
    return 0


def setup(doc: str, argv: Sequence[str] | None, options: Mapping[str, Any] | None = None,
          reps: tuple[int, int] | Callable[[argparse.Namespace], tuple[int, int]] = (9, 21),
          optional: Sequence[str] | Callable[[argparse.Namespace], Sequence[str]] = ("torch",),
          ) -> argparse.Namespace:  # fmt: skip
    """Every benchmark's start: the shared options and ``options`` (flag -> add_argument's keywords,
    or a switch's help), BLAS pinned, ``args.reps`` from ``reps`` (quick, full), ``args.notes``,
    ``args.torch``/``args.jax``: the ``optional`` contenders imported, or None (with a note).
    ``reps`` and ``optional`` may be functions of the options parsed (a benchmark's modes)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    shared = SWITCHES | {"--reps": {"type": int, "help": "rounds per contender"}}
    for flag, kw in (shared | dict(options or {})).items():
        switch = {"action": "store_true", "help": kw}
        parser.add_argument(flag, **(switch if isinstance(kw, str) else kw))
    args = parser.parse_args(argv)
    pin_blas_threads()
    quick_full, wanted = (f(args) if callable(f) else f for f in (reps, optional))
    args.reps, args.notes = args.reps or quick_full[0 if args.quick else 1], []
    for name, label in (("torch", "PyTorch"), ("jax", "JAX")):
        setattr(args, name, None)
        if name in wanted and vars(args)[f"no_{name}"]:
            args.notes.append(f"{label} skipped (--no-{name})")
        elif name in wanted:
            try:
                setattr(args, name, importlib.import_module(name))
            except Exception as e:  # noqa: BLE001 - any failure means "skip, with a note"
                why = f"{name} not importable ({type(e).__name__}: {e})"
                args.notes.append(f"{label} skipped: {why}")
    if args.torch is not None:
        args.torch.set_num_threads(1)  # PyTorch's contenders run on one thread unless they say
    return args
