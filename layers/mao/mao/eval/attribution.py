"""``mao eval attribution``: score failure attribution on Who&When-format JSONL.

Prints exact-match agent and step accuracy per subset and overall, next to two baselines computed on
the same runs (random agent and step, averaged over 20 seeds; the most active agent and its first
step), and writes one prediction per record (``id``, ``agent``, ``step``, ``confidence``) with
``--out``. ``--cv N`` adds 2-fold cross-validation over N random splits (weights refitted on one half,
scored on the other); ``--fit`` prints weights fitted on the whole file, in the form ``weights.py``
keeps them. Agent names are compared case-insensitively (labels spell some agents inconsistently).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OVERALL = "overall"
RANDOM_SEEDS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="Who&When-format JSONL file")
    parser.add_argument("--out", type=Path, help="write per-record predictions here (JSONL)")
    parser.add_argument(
        "--cv", type=int, default=0, metavar="SEEDS",
        help="also report 2-fold cross-validation over SEEDS random splits (weights refitted per fold)",
    )
    parser.add_argument("--fit", action="store_true", help="print weights fitted on the whole file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@dataclass(slots=True)
class Tally:
    n: int = 0
    agent: float = 0.0
    step: float = 0.0

    def add(self, agent_hit: float, step_hit: float) -> None:
        self.n += 1
        self.agent += agent_hit
        self.step += step_hit

    def rates(self) -> tuple[float, float]:
        return (self.agent / self.n, self.step / self.n) if self.n else (0.0, 0.0)


@dataclass(slots=True)
class Scores:
    by_subset: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def add(self, subset: str, agent_hit: float, step_hit: float) -> None:
        for key in (subset, OVERALL):
            self.by_subset[key].add(agent_hit, step_hit)

    def merge(self, other: Scores) -> None:
        for key, tally in other.by_subset.items():
            mine = self.by_subset[key]
            mine.n += tally.n
            mine.agent += tally.agent
            mine.step += tally.step


@dataclass(slots=True)
class Case:
    record_id: str
    subset: str
    run: Any  # mao.domain.models.Run
    agent: str
    step: int


def load(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                records.append(json.loads(line))
    return records


def cases(records: Iterable[dict[str, Any]]) -> list[Case]:
    from mao.domain.formats import who_when

    out = []
    for i, record in enumerate(records):
        label = who_when.labels(record)
        if label is None:
            continue
        run = who_when.to_run(record)
        subset = str(record.get("subset") or "all")
        out.append(Case(str(record.get("id", i)), subset, run, label.agent, label.step))
    return out


def random_baseline(case: Case) -> tuple[float, float]:
    """Expected hits of a uniform random agent (among the run's speakers) and step, over fixed seeds."""
    import random

    from mao.domain.attribution.training import same_agent

    speakers = case.run.agents
    agent_hits = step_hits = 0
    for seed in range(RANDOM_SEEDS):
        rng = random.Random(f"{seed}:{case.record_id}")
        agent_hits += same_agent(rng.choice(speakers), case.agent)
        step_hits += rng.randrange(len(case.run.steps)) == case.step
    return agent_hits / RANDOM_SEEDS, step_hits / RANDOM_SEEDS


def most_active_baseline(case: Case) -> tuple[float, float]:
    from collections import Counter

    from mao.domain.attribution.training import same_agent

    counts = Counter(s.agent for s in case.run.steps)
    agent = max(case.run.agents, key=lambda a: counts[a])  # first to appear wins ties
    first = next(s.index for s in case.run.steps if s.agent == agent)
    return float(same_agent(agent, case.agent)), float(first == case.step)


def _progress(items: Sequence[Case], enabled: bool, desc: str) -> Iterable[Case]:
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="run", file=sys.stderr, disable=not enabled)


def score_method(
    items: Sequence[Case], weights: Any = None, progress: bool = False, predictions: list | None = None
) -> Scores:
    from mao.domain.attribution import attribute
    from mao.domain.attribution.training import same_agent

    scores = Scores()
    for case in _progress(items, progress, "attribution"):
        result = attribute(case.run, weights=weights)
        agent = result.agent if result else None
        step = result.step if result else None
        scores.add(
            case.subset,
            float(agent is not None and same_agent(agent, case.agent)),
            float(step == case.step),
        )
        if predictions is not None:
            predictions.append(
                {"id": case.record_id, "agent": agent, "step": step,
                 "confidence": round(result.confidence, 4) if result else None}
            )
    return scores


def cross_validate(items: Sequence[Case], seeds: int, progress: bool) -> Scores:
    import random

    from mao.domain.attribution.training import fit_weights

    scores = Scores()
    for seed in range(seeds):
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)
        half = len(order) // 2
        folds = (order[:half], order[half:])
        for train, test in (folds, folds[::-1]):
            weights = fit_weights([(items[i].run, items[i].agent, items[i].step) for i in train])
            fold = score_method([items[i] for i in test], weights=weights)
            scores.merge(fold)
        if progress:
            print(f"cross-validation: split {seed + 1}/{seeds} done", file=sys.stderr)
    return scores


def _table(columns: dict[str, Scores], subsets: list[str]) -> str:
    names = "".join(f"{name + ' agent':>22}{name + ' step':>20}" for name in columns)
    header = f"{'subset':<22}{'n':>4}" + names
    lines = [header]
    for subset in subsets:
        first = next(iter(columns.values())).by_subset.get(subset)
        n = first.n if first else 0
        row = f"{subset:<22}{n:>4}"
        for scores in columns.values():
            agent, step = scores.by_subset[subset].rates() if subset in scores.by_subset else (0.0, 0.0)
            row += f"{agent:>22.1%}{step:>20.1%}"
        lines.append(row)
    return "\n".join(lines)


def _format_weights(name: str, weights: dict[str, float]) -> str:
    body = "".join(f'    "{k}": {v},\n' for k, v in weights.items())
    return f"{name}: dict[str, float] = {{\n{body}}}"


def run(args: argparse.Namespace) -> int:
    import time

    from mao.domain.attribution.training import fit_weights

    started = time.perf_counter()
    items = cases(load(args.data))
    if not items:
        print(f"no labelled records in {args.data}", file=sys.stderr)
        return 1
    progress = not args.no_progress
    predictions: list[dict[str, Any]] = []
    method = score_method(items, progress=progress, predictions=predictions)
    rand, active = Scores(), Scores()
    for case in items:
        rand.add(case.subset, *random_baseline(case))
        active.add(case.subset, *most_active_baseline(case))
    subsets = [*sorted({c.subset for c in items}), OVERALL]
    columns = {"MAO": method, "random": rand, "most-active": active}
    print(f"Who&When failure attribution on {args.data.name}: exact-match accuracy "
          f"(agents compared case-insensitively; random = mean of {RANDOM_SEEDS} seeds)")
    print(_table(columns, subsets))
    if args.cv:
        cv = cross_validate(items, args.cv, progress)
        print(f"\n2-fold cross-validation, {args.cv} random splits (weights refitted on each training half):")
        print(_table({"MAO-cv": cv}, subsets))
    if args.fit:
        weights = fit_weights([(c.run, c.agent, c.step) for c in items])
        print("\n# fitted on", args.data.name)
        print(_format_weights("STEP_WEIGHTS", weights.step))
        print(_format_weights("AGENT_WEIGHTS", weights.agent))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as fh:
            for row in predictions:
                fh.write(json.dumps(row) + "\n")
        print(f"\npredictions: {args.out}")
    print(f"elapsed: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
