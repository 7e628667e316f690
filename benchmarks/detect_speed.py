"""Detection speed: median time to analyse 100-, 1,000- and 10,000-span multi-agent traces.

MAO's whole detection engine (``mao.domain.analysis.analyze``, every registered detector) is timed
side by side with the peer heuristic detectors of the PyPI package ``pisama`` (``pisama.analyze`` on
its native span format), on the same synthetic traces, in the same run.

The peer runs in its own virtualenv, ``benchmarks/.venv-peer``, so it never becomes a project
dependency. The script creates it on first use (``python -m venv benchmarks/.venv-peer`` and
``benchmarks/.venv-peer/bin/pip install pisama``); ``--no-peer`` skips the comparison.

Traces are generated here, deterministically per seed: planner -> researcher/coder -> reviewer
cycles with LLM and tool spans, token counts, varied realistic messages and a few failed tool
calls. Every timed repetition uses a freshly generated trace (another seed), so no cache built on
one repetition's text can speed up the next. A size stops repeating once ``--budget`` seconds are
spent on it (at least one run), so slow engines still finish; the run counts are printed.

    .venv/bin/python benchmarks/detect_speed.py [--sizes 100 1000 10000] [--repeats 5] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-peer"
PEER_PYTHON = PEER_VENV / "bin" / "python"

AGENTS = ("planner", "researcher", "coder", "reviewer")
TOPICS = ("the billing export", "the search ranking job", "the onboarding emails", "the invoice parser",
          "the rate limiter", "the CSV importer", "the audit log", "the cache layer", "the webhook sender")
PLANS = ("Next, {who} should look at {topic}: check the failing case and report what changed.",
         "Plan for this round: {who} reproduces the bug in {topic}, then proposes a minimal fix.",
         "We still need numbers for {topic}; {who}, please measure p95 latency before and after.",
         "Split the work on {topic}: first the data model, then the API, then the tests.")
RESEARCH = ("Found {n} related issues about {topic}; the most relevant one reports a timeout after {m} seconds.",
            "The documentation for {topic} says retries use exponential backoff capped at {m} attempts.",
            "Benchmarks from last quarter show {topic} handling {n} requests per second at {m} ms p95.",
            "Two upstream changes touched {topic} this month; the second one changed the default page size to {n}.")
CODE = ("Implemented the change in {topic}: added a guard for empty input and {n} new tests, all passing.",
        "Refactored {topic} to stream rows instead of loading {n} MB into memory; peak RSS dropped by {m}%.",
        "Fixed the off-by-one in {topic}; the last page now returns {n} items as expected.",
        "Added a retry with jitter around the network call in {topic}; {m} integration tests updated.")
REVIEW = ("Reviewed {topic}: the fix is correct, but please add a test for the empty case.",
          "The change to {topic} looks good; latency is within budget at {m} ms. Approved.",
          "One concern in {topic}: the error path swallows the exception. Log it with the request id.",
          "Checked {topic} against the spec; {n} of {n} acceptance criteria are met.")
TOOLS = ("web_search", "run_tests", "read_file", "query_db", "http_get")


def generate(n_spans: int, seed: int) -> list[dict[str, Any]]:
    """A trace as a list of plain span records (shared by both engines' converters)."""
    rng = random.Random(seed)
    spans: list[dict[str, Any]] = []
    t = 1_700_000_000_000_000_000 + seed * 10**12
    for i in range(n_spans):
        phase = i % 6
        topic = rng.choice(TOPICS)
        fill = {"topic": topic, "n": rng.randint(2, 900), "m": rng.randint(2, 99),
                "who": rng.choice(("the researcher", "the coder", "the reviewer"))}
        if phase == 0:
            agent, kind, text = "planner", "llm", f"Round {i // 6 + 1}. " + rng.choice(PLANS).format(**fill)
        elif phase == 1:
            agent, kind, text = "researcher", "llm", rng.choice(RESEARCH).format(**fill)
        elif phase in (2, 4):
            agent, kind, text = rng.choice(("researcher", "coder")), "tool", ""
        elif phase == 3:
            agent, kind, text = "coder", "llm", rng.choice(CODE).format(**fill)
        else:
            agent, kind, text = "reviewer", "llm", f"Round {i // 6 + 1} review. " + rng.choice(REVIEW).format(**fill)
        failed = kind == "tool" and rng.random() < 0.05
        tool = rng.choice(TOOLS) if kind == "tool" else None
        duration = rng.randint(50, 4000) * 1_000_000
        spans.append({
            "span_id": f"{seed:04x}{i:012x}", "trace_id": f"{seed:032x}", "agent": agent, "kind": kind,
            "start_ns": t, "end_ns": t + duration, "status": "error" if failed else "ok",
            "error": "HTTP 503 from upstream" if failed else None, "output": text,
            "input": f"Context for {topic}, round {i // 6}", "tool": tool,
            "tool_args": {"query": f"{topic} {rng.randint(1, 10**6)}"} if tool else None,
            "tool_result": None if failed or not tool else f"{rng.randint(1, 50)} results for {topic}",
            "input_tokens": rng.randint(200, 4000), "output_tokens": rng.randint(20, 800),
            "model": "gpt-4o-mini" if kind == "llm" else None,
        })
        t += duration + rng.randint(1, 50) * 1_000_000
    return spans


def to_mao_run(records: list[dict[str, Any]]) -> Any:
    from mao.domain.models import Run, Span, Step, ToolCall

    spans, steps = [], []
    for i, r in enumerate(records):
        calls = [ToolCall(name=r["tool"], arguments=r["tool_args"], result=r["tool_result"],
                          error=r["error"])] if r["tool"] else []
        spans.append(Span(trace_id=r["trace_id"], span_id=r["span_id"], name=f"{r['agent']}.{r['kind']}",
                          start_ns=r["start_ns"], end_ns=r["end_ns"], kind=r["kind"], status=r["status"],
                          status_message=r["error"], agent_id=r["agent"], agent_name=r["agent"],
                          model=r["model"], input_tokens=r["input_tokens"], output_tokens=r["output_tokens"],
                          tool_name=r["tool"], input_text=r["input"], output_text=r["output"],
                          framework="langgraph"))
        steps.append(Step(index=i, agent=r["agent"], content=r["output"], ref=r["span_id"], input=r["input"],
                          tool_calls=calls, status=r["status"], error=r["error"], model=r["model"],
                          input_tokens=r["input_tokens"], output_tokens=r["output_tokens"],
                          latency_ms=(r["end_ns"] - r["start_ns"]) / 1e6, start_ns=r["start_ns"],
                          kind=r["kind"]))
    return Run(run_id=records[0]["trace_id"], kind="trace", steps=steps, framework="langgraph",
               task="Improve reliability and speed of the data services.", spans=spans)


def to_peer_trace(records: list[dict[str, Any]]) -> dict[str, Any]:
    def iso(ns: int) -> str:
        sec, rem = divmod(ns, 10**9)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{rem // 1000:06d}Z"

    spans = []
    for r in records:
        spans.append({
            "span_id": r["span_id"], "trace_id": r["trace_id"], "name": r["agent"],
            "kind": "tool" if r["kind"] == "tool" else "agent", "platform": "langgraph",
            "start_time": iso(r["start_ns"]), "end_time": iso(r["end_ns"]), "status": r["status"],
            "error_message": r["error"],
            "attributes": {"agent.name": r["agent"], "gen_ai.request.model": r["model"],
                           "gen_ai.usage.input_tokens": r["input_tokens"],
                           "gen_ai.usage.output_tokens": r["output_tokens"], "tool.name": r["tool"]},
            "input_data": {"text": r["input"], "tool_args": r["tool_args"]},
            "output_data": {"text": r["output"], "tool_result": r["tool_result"]},
        })
    return {"trace_id": records[0]["trace_id"], "spans": spans}


def _time_runs(sizes: list[int], repeats: int, convert: Any, analyze: Any,
               budget_s: float = 60.0) -> dict[int, list[float]]:
    """Median-ready timings per size; after the first repetition a size stops once ``budget_s`` is spent."""
    analyze(convert(generate(100, seed=1)))  # warm-up: imports, compiled patterns, lazy tables
    timings: dict[int, list[float]] = {}
    for size in sizes:
        times: list[float] = []
        for rep in range(repeats):
            data = convert(generate(size, seed=size * 1000 + rep))
            started = time.perf_counter()
            analyze(data)
            times.append((time.perf_counter() - started) * 1000)
            if sum(times) / 1000 > budget_s:
                break
        timings[size] = times
    return timings


def _per_detector(size: int, repeats: int) -> list[tuple[str, float]]:
    """Median ms of each MAO detector alone on ``size``-span traces, slowest first.

    Each detector runs through the engine (``analyze_run(run, only=[key])``), so it is timed as the
    engine runs it (thresholds resolved, garbage collector paused)."""
    from mao.domain.analysis import analyze_run
    from mao.domain.detectors import registry

    runs = [to_mao_run(generate(size, seed=size * 1000 + 500 + rep)) for rep in range(repeats)]
    rows = []
    for spec, _ in registry.iter_detectors():
        times = []
        for run in runs:
            started = time.perf_counter()
            analyze_run(run, only=[spec.key])
            times.append((time.perf_counter() - started) * 1000)
        rows.append((spec.key, statistics.median(times)))
    return sorted(rows, key=lambda r: -r[1])


def peer_worker(sizes: list[int], repeats: int, budget_s: float) -> None:
    import pisama

    timings = _time_runs(sizes, repeats, to_peer_trace, pisama.analyze, budget_s)
    print(json.dumps({"version": pisama.__version__, "timings": timings}))


def ensure_peer() -> bool:
    if PEER_PYTHON.exists():
        return True
    print(f"creating {PEER_VENV.relative_to(HERE.parent)} with pisama ...", file=sys.stderr)
    venv.create(PEER_VENV, with_pip=True)
    done = subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "pisama"], check=False)
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true", help="time MAO only")
    parser.add_argument("--peer-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per size after which no further repetitions are started")
    parser.add_argument("--breakdown", type=int, default=1000, metavar="SPANS",
                        help="also time each MAO detector alone on traces of this size (0 = off)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="DETECTOR",
                        help="time MAO without these detectors (to see what the rest of the engine costs)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if args.peer_worker:
        peer_worker(args.sizes, args.repeats, args.budget)
        return 0

    sys.path.insert(0, str(HERE.parent / "layers" / "mao"))
    from mao.domain.analysis import analyze
    from mao.domain.detectors import registry

    keys = [s.key for s in registry.specs() if s.key not in set(args.exclude)]
    mao = _time_runs(args.sizes, args.repeats, to_mao_run, lambda run: analyze(run, only=keys), args.budget)
    if args.exclude:
        print(f"MAO timed without: {', '.join(args.exclude)}")
    peer: dict[int, list[float]] = {}
    peer_version = None
    if not args.no_peer and ensure_peer():
        out = subprocess.run([str(PEER_PYTHON), __file__, "--peer-worker", "--repeats", str(args.repeats),
                              "--budget", str(args.budget), "--sizes", *map(str, args.sizes)],
                             capture_output=True, text=True, check=False)
        if out.returncode == 0:
            payload = json.loads(out.stdout.strip().splitlines()[-1])
            peer = {int(k): v for k, v in payload["timings"].items()}
            peer_version = payload["version"]
        else:
            print(f"peer run failed:\n{out.stderr[-2000:]}", file=sys.stderr)

    rows = []
    print(f"{'spans':>7} {'runs':>4} {'MAO median ms':>14} {'ms/1k spans':>12} "
          f"{'pisama ' + (peer_version or '-') + ' ms':>18} {'speed-up':>9}")
    for size in args.sizes:
        m = statistics.median(mao[size])
        p = statistics.median(peer[size]) if size in peer else None
        ratio = p / m if p else None
        rows.append({"spans": size, "mao_runs": len(mao[size]), "peer_runs": len(peer.get(size, [])),
                     "mao_median_ms": round(m, 3), "mao_ms_per_1k_spans": round(m / size * 1000, 3),
                     "peer_median_ms": round(p, 3) if p else None, "speedup": round(ratio, 1) if ratio else None})
        peer_ms = f"{p:.2f}" if p is not None else "-"
        print(f"{size:>7} {len(mao[size]):>4} {m:>14.2f} {m / size * 1000:>12.2f} {peer_ms:>18} "
              f"{(f'{ratio:.1f}x' if ratio else '-'):>9}")
    if len(args.sizes) > 1:
        first, last = args.sizes[0], args.sizes[-1]
        growth = statistics.median(mao[last]) / statistics.median(mao[first])
        print(f"MAO time grows {growth:.1f}x for {last / first:.0f}x the spans (linear = {last / first:.0f}x)")
    if 1000 in mao:
        m1k = statistics.median(mao[1000])
        print(f"1,000 spans: {m1k:.2f} ms (target <= 20 ms: {'met' if m1k <= 20 else 'NOT met'})")
    breakdown = _per_detector(args.breakdown, min(args.repeats, 3)) if args.breakdown else []
    if breakdown:
        print(f"per detector on {args.breakdown}-span traces (median ms, slowest first):")
        for key, ms in breakdown:
            print(f"  {key:<28} {ms:9.2f}")
    if args.json:
        args.json.write_text(json.dumps({"peer_version": peer_version, "repeats": args.repeats, "rows": rows,
                                         "per_detector_ms": dict(breakdown)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
