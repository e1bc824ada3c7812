"""Shared instruments of the benchmarks: timing, statistics, tables, JSON, threads, environment.

Timing follows three rules, because the machines these numbers come from are small, shared and
noisy:

* **Interleaved rounds.** Every contender runs one *round* (many repetitions of the measured
  operation, timed as a block), then the next contender, in a shuffled order, and the whole
  cycle repeats. Slow phases of the machine then hit every contender alike instead of whichever
  happened to run during them.
* **Medians.** A result is the median over the rounds (with the quartiles and the minimum kept
  in the JSON), never one timing.
* **One BLAS thread** in the benchmark processes (see :mod:`benchmarks`), checked at run time
  through OpenBLAS itself and reported with the environment.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as _dt
import gc
import importlib
import json
import os
import platform
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

__all__ = [
    "RESULTS_DIR",
    "base_parser",
    "blas_threads",
    "clock",
    "median",
    "since",
    "summarize_timings",
    "environment",
    "freeze_heap",
    "goal",
    "goal_table",
    "interleaved",
    "optional_import",
    "peak_rss_bytes",
    "pin_blas_threads",
    "print_goals",
    "print_notes_and_environment",
    "print_profile",
    "profile_rows",
    "reset_peak_rss",
    "rss_bytes",
    "run_child",
    "save_results",
    "summarize",
    "table",
    "write_json",
]

#: Where ``write_json`` puts its files (git-ignored).
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------


def _openblas_library() -> Any:
    """The OpenBLAS that NumPy loaded, opened with ctypes (None if there is none to find)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return None
    for path in paths:
        if path.endswith(".so") or ".so." in path:
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def _openblas_symbol(lib: Any, stem: str) -> Any:
    for name in (f"scipy_openblas_{stem}64_", f"openblas_{stem}64_", f"openblas_{stem}"):
        fn = getattr(lib, name, None)
        if fn is not None:
            return fn
    return None


def blas_threads() -> int | None:
    """The number of threads NumPy's OpenBLAS will use now (None if it cannot be asked)."""
    lib = _openblas_library()
    fn = _openblas_symbol(lib, "get_num_threads") if lib is not None else None
    return int(fn()) if fn is not None else None


def pin_blas_threads(n: int | None = None) -> int | None:
    """Set NumPy's OpenBLAS to ``n`` threads at run time (default: ``AL_BENCH_BLAS_THREADS``).

    The environment variable set in :mod:`benchmarks` already does this for processes that import
    the package before NumPy; this call makes sure of it even when NumPy came first, and uses
    ``threadpoolctl`` as well when it is installed. Returns the thread count now in force.
    """
    n = int(BLAS_THREADS) if n is None else int(n)
    lib = _openblas_library()
    fn = _openblas_symbol(lib, "set_num_threads") if lib is not None else None
    if fn is not None:
        fn(ctypes.c_int(n))
    try:  # optional
        import threadpoolctl

        threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        pass
    return blas_threads()


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags_summary() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                    return " ".join(w for w in wanted if w in flags)
    except OSError:
        pass
    return ""


def _numpy_blas() -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info["name"] = blas.get("name")
        info["version"] = blas.get("version")
    except Exception:  # noqa: BLE001 - older NumPy: describe what we can
        info["name"] = "unknown"
    lib = _openblas_library()
    if lib is not None:
        for stem, key in (("get_corename", "core"), ("get_config", "config")):
            fn = _openblas_symbol(lib, stem)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                info[key] = fn().decode(errors="replace")
    info["threads"] = blas_threads()
    return info


def _module_version(name: str) -> str | None:
    module = sys.modules.get(name)
    return getattr(module, "__version__", None) if module is not None else None


def _git_state() -> dict[str, Any]:
    """The commit measured, and whether the package had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "autograd_lite")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "package_changes_uncommitted": None if changed is None else len(changed.splitlines()),
    }


def environment() -> dict[str, Any]:
    """A description of the machine and software the numbers were measured on."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = None
    env_vars = {
        k: os.environ.get(k)
        for k in (
            "OPENBLAS_NUM_THREADS",
            "OPENBLAS_CORETYPE",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "XLA_FLAGS",
            "AL_BENCH_BLAS_THREADS",
        )
        if os.environ.get(k) is not None
    }
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cpu_flags": _cpu_flags_summary(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "load_average": load,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "blas": _numpy_blas(),
        "torch": _module_version("torch"),
        "jax": _module_version("jax"),
        "env": env_vars,
        "git": _git_state(),
    }


def describe_environment(env: Mapping[str, Any] | None = None) -> str:
    """The environment as a few lines of text, for the top of a benchmark's output."""
    env = environment() if env is None else env
    blas = env["blas"]
    lines = [
        f"date {env['date']}; {env['cpu']} ({env['cpu_flags']}), "
        f"{env['cores_usable']} usable core(s), load {_fmt_load(env['load_average'])}",
        f"Python {env['python']}, NumPy {env['numpy']} with {blas.get('name')} "
        f"{blas.get('version')} (core {blas.get('core', '?')}, {blas.get('threads')} thread(s))",
    ]
    extras = [f"torch {env['torch']}" if env["torch"] else None]
    extras.append(f"jax {env['jax']}" if env["jax"] else None)
    extras = [e for e in extras if e]
    if extras:
        lines.append(", ".join(extras))
    if env["env"]:
        lines.append("env: " + " ".join(f"{k}={v}" for k, v in env["env"].items()))
    git = env.get("git") or {}
    if git.get("commit"):
        dirty = git.get("package_changes_uncommitted")
        lines.append(
            f"commit {git['commit']}"
            + (f" + {dirty} uncommitted change(s) under autograd_lite/" if dirty else "")
        )
    return "\n".join(lines)


def _fmt_load(load: Any) -> str:
    return "?" if not load else "/".join(f"{x:.2f}" for x in load)


# ---------------------------------------------------------------------------------------------
# Optional contenders
# ---------------------------------------------------------------------------------------------


def optional_import(name: str) -> tuple[Any, str | None]:
    """``(module, None)``, or ``(None, why)`` when ``name`` cannot be imported."""
    try:
        return importlib.import_module(name), None
    except Exception as error:  # noqa: BLE001 - any failure means "skip, with a note"
        return None, f"{name} not importable ({type(error).__name__}: {error})"


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def freeze_heap() -> None:
    """Collect garbage, then move every surviving object out of the collector's sight.

    Importing PyTorch and JAX leaves millions of Python objects that every full collection
    would traverse: without this, a collection triggered inside autograd_lite's timed code
    would cost far more in a benchmark process than in a user's, and ``gc.collect()`` between
    rounds would take a tenth of a second. ``gc.freeze`` puts them in a permanent generation.
    """
    gc.collect()
    gc.freeze()


def _settle() -> None:
    gc.collect()
    time.sleep(0.001)


def interleaved(
    contenders: Mapping[str, Callable[[], float]],
    reps: int,
    warmup: int = 1,
    seed: int = 0,
    settle: Callable[[], Any] | None = None,
) -> dict[str, list[float]]:
    """Run each contender's round ``warmup + reps`` times, interleaved, in a shuffled order.

    Parameters
    ----------
    contenders
        ``name -> round``; a round does its own timing and returns the time of one unit of work
        (a step, a node ...) in seconds -- a float, or ``(wall, cpu)`` from :func:`since` --
        so that untimed setup can live inside it.
    reps
        Recorded rounds per contender.
    warmup
        Unrecorded rounds first (caches, JIT compilation, allocator pools).
    seed
        Seeds the order of the contenders within each cycle.
    settle
        Called (untimed) before every round; by default a garbage collection, so that no round
        pays for the previous one's garbage, and a millisecond's sleep, so that worker threads
        a previous round woke (PyTorch's OpenMP pool spins a while) are idle again. Everything
        alive at the start is frozen first (:func:`freeze_heap`), so the collections see only
        what the rounds allocate.

    Returns
    -------
    dict
        ``name -> [seconds per unit, one per recorded round]`` (floats or ``(wall, cpu)``).
    """
    freeze_heap()
    if settle is None:
        settle = _settle
    order = list(contenders)
    shuffle = random.Random(seed).shuffle
    samples: dict[str, list[float]] = {name: [] for name in order}
    for cycle in range(warmup + reps):
        shuffle(order)
        for name in order:
            if settle is not None:
                settle()
            value = contenders[name]()
            if cycle >= warmup:
                samples[name].append(value)
    return samples


def clock() -> tuple[float, float]:
    """``(wall, cpu)`` now: ``perf_counter`` and this process's CPU time (all threads)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float], units: int = 1) -> tuple[float, float]:
    """``(wall, cpu)`` seconds per unit since ``start = clock()``.

    On a shared machine the CPU time is the steadier of the two: it does not count the time
    the process waited for a core. The wall time is the one reported first (it is what a user
    waits), the CPU time is kept beside it as a check.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    return (wall - start[0]) / units, (cpu - start[1]) / units


def time_block(fn: Callable[[], Any], units: int = 1) -> tuple[float, float]:
    """``(wall, cpu)`` seconds per unit of one call of ``fn`` that does ``units`` units."""
    start = clock()
    fn()
    return since(start, units)


def summarize(values: Sequence[float], scale: float = 1.0) -> dict[str, float]:
    """Median, quartiles, minimum and count of a list of timings (each times ``scale``)."""
    data = sorted(v * scale for v in values)
    if not data:
        nan = float("nan")
        return {"median": nan, "q1": nan, "q3": nan, "min": nan, "n": 0}
    if len(data) >= 2:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    else:
        q1 = q3 = data[0]
    return {
        "median": statistics.median(data),
        "q1": q1,
        "q3": q3,
        "min": data[0],
        "n": len(data),
    }


def summarize_timings(values: Sequence[Any], scale: float = 1.0) -> dict[str, Any]:
    """:func:`summarize` of the wall times, with the CPU-time summary under ``"cpu"`` when the
    values are ``(wall, cpu)`` pairs."""
    if values and isinstance(values[0], tuple):
        out = summarize([v[0] for v in values], scale)
        out["cpu"] = summarize([v[1] for v in values], scale)
        return out
    return summarize(values, scale)


def median(values: Sequence[Any], scale: float = 1.0) -> float:
    """The median wall time of a list of timings (floats or ``(wall, cpu)`` pairs)."""
    return summarize_timings(values, scale)["median"]


# ---------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------


def profile_rows(profiler: Any, units: int, plain: float, top: int = 25) -> dict[str, Any]:
    """A ``cProfile.Profile``'s functions as rows, in µs per unit of work, sorted by self time.

    cProfile adds a fixed cost to every Python call, so for code made of many small calls its
    absolute numbers are inflated: read the ranking and the shares, and compare with ``plain``
    (seconds per unit measured without the profiler), which is reported beside them.
    """
    import pstats

    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in entries:
        where = short_path(filename)
        label = f"{where}:{line}({func})" if line else f"{func}"
        rows.append(
            {
                "function": label,
                "calls_per_unit": nc / units,
                "self_us_per_unit": tt / units * 1e6,
                "cumulative_us_per_unit": ct / units * 1e6,
                "self_share": tt / total if total else 0.0,
            }
        )
    rows.sort(key=lambda r: r["self_us_per_unit"], reverse=True)
    return {
        "units": units,
        "plain_us_per_unit": plain * 1e6,
        "profiled_us_per_unit": total / units * 1e6,
        "top_self": rows[:top],
        "top_cumulative": sorted(rows, key=lambda r: r["cumulative_us_per_unit"], reverse=True)[
            :top
        ],
    }


def short_path(filename: str) -> str:
    for marker in ("autograd_lite/", "numpy/", "benchmarks/"):
        if marker in filename:
            return marker + filename.split(marker, 1)[1]
    return filename.rsplit("/", 1)[-1]


def print_profile(title: str, prof: dict[str, Any], top: int = 20) -> None:
    print(
        f"\n{title}: {prof['plain_us_per_unit']:.1f} µs per unit without the profiler, "
        f"{prof['profiled_us_per_unit']:.1f} µs with it (cProfile inflates small calls)"
    )
    print(
        table(
            ["function (by self time)", "calls/unit", "self µs/unit", "cum µs/unit", "share"],
            [
                (
                    r["function"],
                    f"{r['calls_per_unit']:.1f}",
                    r["self_us_per_unit"],
                    r["cumulative_us_per_unit"],
                    f"{100 * r['self_share']:.1f}%",
                )
                for r in prof["top_self"][:top]
            ],
        )
    )


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def _status_field(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    """The resident set size of this process now, in bytes."""
    value = _status_field("VmRSS")
    if value is not None:
        return value
    import resource  # pragma: no cover - not Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover


def peak_rss_bytes() -> int:
    """The peak resident set size of this process (since start or :func:`reset_peak_rss`)."""
    value = _status_field("VmHWM")
    if value is not None:
        return value
    import resource  # pragma: no cover - not Linux

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover


def reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs``); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A plain-text table; ``align`` is one letter per column, ``l`` or ``r`` (default: text
    left, the rest right)."""
    rows = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    if align is None:
        align = "l" + "r" * (len(headers) - 1)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align)
        ).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def write_json(name: str, payload: Mapping[str, Any], env: Mapping[str, Any] | None = None) -> Path:
    """Write ``payload`` plus the environment to ``benchmarks/results/NAME.json``; return the
    path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "environment": dict(env) if env is not None else environment(),
        **payload,
    }
    path.write_text(json.dumps(_jsonable(document), indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# Goals
# ---------------------------------------------------------------------------------------------


def goal(
    text: str, measured: Any, limit: float | None = None, cpu: float | None = None, unit: str = "x"
) -> dict[str, Any]:
    """One goal of issue 6 as a dict: ``measured`` (wall-time median ratio or value), the same
    from CPU-time medians when known, the ``limit``, and ``met``.

    A timing goal counts as met only when the wall-time *and* the CPU-time figures are both
    within the limit: on a shared machine either one alone can be flattered by noise. A
    non-numeric ``measured`` (``"yes"``/``"no"``) is met when it is ``"yes"``.
    """
    if isinstance(measured, str):
        met = measured == "yes"
    else:
        met = limit is not None and measured <= limit and (cpu is None or cpu <= limit)
    return {"goal": text, "measured": measured, "cpu_measured": cpu, "limit": limit,
            "unit": unit, "met": bool(met)}  # fmt: skip


def _fmt_goal_value(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.2f}x" if unit == "x" else f"{value:.2f} {unit}"


def goal_table(goals: Sequence[Mapping[str, Any]]) -> str:
    """The goals as a table: measured (wall), CPU, limit, met."""
    return table(
        ["goal", "measured", "cpu", "limit", "met"],
        [
            (
                g["goal"],
                _fmt_goal_value(g["measured"], g.get("unit", "x")),
                _fmt_goal_value(g.get("cpu_measured"), g.get("unit", "x")),
                _fmt_goal_value(g.get("limit"), g.get("unit", "x")),
                "yes" if g["met"] else "NO",
            )
            for g in goals
        ],
    )


def print_notes_and_environment(notes: Sequence[str] = ()) -> dict[str, Any]:
    """Print a benchmark's notes, then the machine it ran on; return that environment (for
    :func:`save_results`: read once the optional frameworks are imported, so their versions
    are in it)."""
    for note in notes:
        print("note:", note)
    env = environment()
    print()
    print(describe_environment(env))
    return env


def print_goals(goals: Sequence[Mapping[str, Any]], what: str = "ratios of medians") -> None:
    """The issue-6 goals a benchmark measured, under one heading; nothing when there are none."""
    if goals:
        print(f"\nGoals (issue 6): {what} (met = wall and CPU time both within)")
        print(goal_table(goals))


def save_results(name: str, payload: Mapping[str, Any], env: Mapping[str, Any]) -> Path:
    """:func:`write_json` and say where the file went."""
    path = write_json(name, payload, env)
    print(f"\nwrote {path}")
    return path


# ---------------------------------------------------------------------------------------------
# Command lines and child processes
# ---------------------------------------------------------------------------------------------


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument("--reps", type=int, default=None, help="recorded rounds per contender")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch contenders")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX contenders")
    parser.add_argument(
        "--json", default=None, metavar="NAME", help="results file name (default: the bench's)"
    )
    return parser


def run_child(module: str, args: Sequence[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``python -m module *args`` in a fresh process and parse the JSON of its last line.

    Used where measurements must not share a process (peak memory). The child inherits this
    process's environment (and so the pinned BLAS threads).
    """
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
        env=env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": "no JSON from child: " + lines[-1][:200]}
