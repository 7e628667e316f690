"""Cold start: import time of every function in template.yaml, as Lambda pays it on a new instance.

Each function's ``app`` module is imported in a fresh interpreter with ``-X importtime``; the script
prints the module's cumulative import time and the heaviest imports it pulled in, next to a bare
interpreter start measured in the same run (the floor no function can go under).

    python benchmarks/cold_start.py [--runs 3] [--top 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))

from mao_local.template import Template  # noqa: E402

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def import_profile(code_dir: Path, module: str) -> tuple[float, list[tuple[int, str]]]:
    """(cumulative microseconds of ``module``, top-level imports by cumulative time)."""
    env = {**os.environ, "PYTHONPATH": f"{code_dir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"importing {module} from {code_dir} failed:\n{proc.stderr[-2000:]}")
    rows = [(int(m.group(2)), len(m.group(3)), m.group(4))
            for m in map(_LINE.match, proc.stderr.splitlines()) if m]
    total, own_indent = next(((c, i) for c, i, name in reversed(rows) if name == module), (0, 1))
    # importtime prints a module after its children, one indent level (2 spaces) deeper
    heavy = sorted(((c, name) for c, i, name in rows if i == own_indent + 2), reverse=True)
    return float(total), heavy


def bare_start_ms(runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=4)
    args = parser.parse_args(argv)
    template = Template.load(ROOT / "template.yaml")
    floor = bare_start_ms(args.runs)
    print(f"bare interpreter start (median of {args.runs}): {floor:.0f} ms\n")
    print(f"{'function':32} {'import ms':>10} {'x floor':>8}  heaviest imports (ms)")
    seen: set[tuple[str, str]] = set()
    for logical in template.functions():
        code_uri = template.function_property(logical, "CodeUri")
        module = template.function_property(logical, "Handler").rsplit(".", 1)[0]
        if (code_uri, module) in seen:
            continue
        seen.add((code_uri, module))
        samples, heavy = [], []
        for _ in range(args.runs):
            total, heavy = import_profile(ROOT / code_uri, module)
            samples.append(total / 1000)
        median = statistics.median(samples)
        top = ", ".join(f"{name} {us / 1000:.0f}" for us, name in heavy[: args.top])
        print(f"{code_uri.strip('/').split('/')[-1]:32} {median:10.0f} {median / floor:8.1f}  {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
