"""Run every benchmark: ``python -m benchmarks [--quick] [--only NAME ...]``.

Each benchmark runs in its own process (``python -m benchmarks.bench_NAME``), so that thread
settings, imported frameworks and peak memory never leak from one into the next. Their tables
are printed as they come; each writes ``benchmarks/results/bench_NAME.json``. A summary of every
goal of issue 6 closes the run (and is written to ``benchmarks/results/summary.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS_DIR, goal_table

#: Benchmark name -> extra arguments of the full run.
BENCHES = {
    "nielsen": ["--profile"],
    "overhead": ["--profile"],
    "deep": [],
    "fashion": [],
    "memory": [],
}


def _selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(BENCHES)
    names = []
    for item in only:
        for name in item.split(","):
            name = name.strip().removeprefix("bench_")
            if name not in BENCHES:
                raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help=f"run only these ({', '.join(BENCHES)})"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch contenders")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX contenders")
    parser.add_argument("--max-nodes", type=int, default=None, help="bench_deep: largest chain")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiles")
    args = parser.parse_args(argv)

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    statuses = {}
    started = time.perf_counter()
    for name in _selected(args.only):
        cmd = [sys.executable, "-m", f"benchmarks.bench_{name}"]
        extra = [a for a in BENCHES[name] if not (args.no_profile and a == "--profile")]
        cmd += extra
        if args.quick:
            cmd.append("--quick")
        if args.no_torch:
            cmd.append("--no-torch")
        if args.no_jax:
            cmd.append("--no-jax")
        if name == "deep" and args.max_nodes:
            cmd += ["--max-nodes", str(args.max_nodes)]
        print(f"\n{'=' * 100}\n$ {' '.join(['python', *cmd[1:]])}\n{'=' * 100}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, env=env, check=False)
        statuses[name] = (proc.returncode, time.perf_counter() - t0)

    print(f"\n{'=' * 100}\nSummary ({time.perf_counter() - started:.0f} s in all)")
    goal_rows = []
    for name, (code, seconds) in statuses.items():
        path = RESULTS_DIR / f"bench_{name}.json"
        status = "ok" if code == 0 else f"exit {code}"
        print(f"  bench_{name}: {status}, {seconds:.0f} s")
        if code != 0 or not path.exists():
            continue
        goal_rows.extend(json.loads(path.read_text()).get("goals", []))
    if goal_rows:
        print(
            "\nGoals of issue 6 (medians of this run, wall and CPU time; a timing goal is met "
            "when both are within; see docs/performance.md):"
        )
        print(goal_table(goal_rows))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "summary.json").write_text(
        json.dumps(
            {
                "benchmarks": {k: {"exit": c, "seconds": s} for k, (c, s) in statuses.items()},
                "goals": goal_rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(code == 0 for code, _ in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
