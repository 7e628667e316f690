"""Train the bundled prompt-injection model and choose its decision threshold.

    .venv/bin/python scripts/train_injection_model.py --data ../shared/datasets/prompt-injection \
        [--ordinary PATH ...] [--ordinary-auto CODE DOCS LOCALE] [--agent-traffic N] \
        [--who-and-when ../shared/datasets/who-and-when/dev.jsonl] [--report-only]

Trains L2-regularised logistic regression (scikit-learn, training time only) on the hashed features of
``mao.domain.security.features`` over the *train* splits (``*-train.jsonl``), optionally with extra
benign "ordinary text" files (plain text, one document per blank-line-separated block, label 0),
ordinary code / documentation / translated UI text of this machine (``--ordinary-auto``) and generated
benign multi-agent traffic (``--agent-traffic``, see ``injection_negatives.py``).
The threshold is chosen on 5-fold out-of-fold scores of the training data so that the false-positive
rate there stays at or below ``--target-fpr``. The encoder second stage (``injection_stage2``) is
trained on top of this model by ``scripts/train_injection_encoder.py``; its zone depends on this model's
probabilities, so retraining this model removes a bundled stage (train the stage again afterwards).
Validation splits and the agent messages are only scored, never trained on. Writes the
weights and metadata into ``layers/mao/mao/domain/security/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "layers" / "mao"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mao.domain.security import injection_model, injection_stage2  # noqa: E402
from mao.domain.security.features import N_BUCKETS, hashed  # noqa: E402
from mao.domain.security.normalize import normalize  # noqa: E402

OUT_DIR = REPO / "layers" / "mao" / "mao" / "domain" / "security"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_ordinary(path: Path, max_chars: int = 600) -> list[str]:
    """Blank-line-separated blocks of a text file, cut to chunk-sized pieces."""
    text = path.read_text(encoding="utf-8", errors="replace")
    out: list[str] = []
    for block in text.split("\n\n"):
        block = block.strip()
        if len(block) < 20:
            continue
        for i in range(0, len(block), max_chars):
            piece = block[i:i + max_chars].strip()
            if len(piece) >= 20:
                out.append(piece)
    return out


def ordinary_corpus(n_code: int, n_docs: int, n_locale: int, seed: int = 0) -> list[str]:
    """Ordinary technical and multilingual text from this Python installation and the OS.

    Python standard-library sources (code, comments, docstrings), the pydoc topic help, the
    package descriptions of the installed distributions (markdown READMEs) and gettext message
    catalogs (translated UI strings in many languages). None of it is agent traffic from the
    evaluation sets; it teaches the model what ordinary text looks like.
    """
    import gettext
    import random
    import sysconfig
    from importlib import metadata

    from mao.domain.security.injection import windows

    rng = random.Random(seed)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code_files = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    code: list[str] = []
    for path in rng.sample(code_files, min(len(code_files), 400)):
        try:
            code.extend(windows(path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    docs: list[str] = []
    topics = stdlib / "pydoc_data" / "topics.py"
    if topics.exists():
        namespace: dict = {}
        exec(compile(topics.read_text(encoding="utf-8"), str(topics), "exec"), namespace)
        for body in namespace.get("topics", {}).values():
            docs.extend(windows(body))
    for dist in metadata.distributions():
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else ""
        if isinstance(body, str) and body.strip():
            docs.extend(windows(body))
    locale: list[str] = []
    for mo in sorted(Path("/usr/share/locale").rglob("*.mo")):
        try:
            with mo.open("rb") as fh:
                catalog = gettext.GNUTranslations(fh)._catalog
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            continue
        msgs = [v for k, v in catalog.items() if k and isinstance(v, str) and len(v) > 25]
        locale.extend(rng.sample(msgs, min(len(msgs), 8)))
    out = rng.sample(code, min(n_code, len(code))) + rng.sample(docs, min(n_docs, len(docs)))
    out += rng.sample(locale, min(n_locale, len(locale)))
    return [t for t in out if len(t.strip()) >= 20]


def featurize(texts: list[str]) -> sparse.csr_matrix:
    """Hashed features of the normalised texts."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        norm = normalize(text)
        buckets = hashed(norm.full, norm.obfuscation)
        indices.extend(buckets)
        value = 1.0 / np.sqrt(len(buckets)) if buckets else 0.0
        data.extend([value] * len(buckets))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(len(texts), N_BUCKETS))


def fit(x: sparse.csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    return model


def threshold_at_fpr(scores: np.ndarray, labels: np.ndarray, target_fpr: float) -> float:
    negatives = np.sort(scores[labels == 0])[::-1]
    allowed = int(np.floor(target_fpr * len(negatives)))
    # Smallest threshold keeping at most `allowed` negatives strictly above it.
    return float(negatives[allowed]) if allowed < len(negatives) else 0.0


def metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    pred = scores > threshold
    tp = int(np.sum(pred & (labels == 1)))
    fp = int(np.sum(pred & (labels == 0)))
    fn = int(np.sum(~pred & (labels == 1)))
    tn = int(np.sum(~pred & (labels == 0)))
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = roc_auc_score(labels, scores) if 0 < labels.sum() < len(labels) else float("nan")
    return {"n": len(labels), "recall": recall, "fpr": fp / (fp + tn) if fp + tn else 0.0,
            "precision": precision, "f1": f1, "roc_auc": float(auc)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="folder with *-train.jsonl / *-validation.jsonl")
    ap.add_argument("--ordinary", type=Path, nargs="*", default=[], help="benign plain-text files")
    ap.add_argument("--ordinary-auto", type=int, nargs=3, metavar=("CODE", "DOCS", "LOCALE"),
                    help="add this many ordinary code / documentation / translated-UI texts")
    ap.add_argument("--agent-traffic", type=int, default=0,
                    help="add this many generated benign multi-agent messages (plans, delegations, tool output)")
    ap.add_argument("--who-and-when", type=Path, help="Who&When JSONL: report FPR on its messages")
    ap.add_argument("--target-fpr", type=float, default=0.015)
    ap.add_argument("--c", type=float, default=8.0, help="inverse L2 regularisation strength")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: score the bundled model on the validation splits and agent messages")
    args = ap.parse_args()
    if args.report_only:
        report(args)
        return 0

    train_files = sorted(args.data.glob("*-train.jsonl"))
    rows = [r for f in train_files for r in read_jsonl(f)]
    texts = [r["text"] for r in rows]
    labels = [int(r["label"]) for r in rows]
    ordinary: list[str] = []
    for path in args.ordinary:
        ordinary.extend(read_ordinary(path))
    if args.ordinary_auto:
        ordinary.extend(ordinary_corpus(*args.ordinary_auto))
    if args.agent_traffic:
        from injection_negatives import AgentTraffic

        questions = [t for t, y in zip(texts, labels, strict=True) if y == 0]
        ordinary.extend(AgentTraffic(seed=0, questions=questions).sample(args.agent_traffic))
    texts += ordinary
    labels += [0] * len(ordinary)
    y = np.array(labels)
    t0 = time.time()
    x = featurize(texts)
    print(f"{len(texts)} training texts ({len(ordinary)} ordinary), features in {time.time() - t0:.1f}s")

    oof = np.zeros(len(y))
    for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        oof[test_idx] = fit(x[train_idx], y[train_idx], args.c).decision_function(x[test_idx])
    # The threshold is set on the labelled prompts only: the ordinary texts are easy negatives and
    # would otherwise let the false-positive rate on real prompts exceed the target.
    labelled = np.arange(len(y)) < len(rows)
    threshold = threshold_at_fpr(oof[labelled], y[labelled], args.target_fpr)
    cv = metrics(oof[labelled], y[labelled], threshold)
    cv["ordinary_fpr"] = float(np.mean(oof[~labelled] > threshold)) if (~labelled).any() else None
    print("linear stage, cross-validated on train:", json.dumps(cv))
    prob_threshold = float(1 / (1 + np.exp(-threshold)))
    injection_stage2.remove(args.out)  # fitted to the old model's probabilities

    model = fit(x, y, args.c)
    meta = {
        "trained_on": [f.name for f in train_files] + [p.name for p in args.ordinary],
        "n_train": len(texts),
        "n_ordinary": len(ordinary),
        "ordinary_auto": args.ordinary_auto,
        "agent_traffic": args.agent_traffic,
        "c": args.c,
        "target_fpr": args.target_fpr,
        "cv": cv,
    }
    injection_model.save(args.out, model.coef_[0].tolist(), float(model.intercept_[0]), prob_threshold, meta)
    print(f"wrote model to {args.out} (threshold p>{prob_threshold:.4f})")
    report(args)
    return 0


def report(args: argparse.Namespace) -> None:
    """Score the written model through the run-time check on the validation splits and agent messages."""
    injection_model.load.cache_clear()
    injection_stage2.clear_cache()
    from mao.domain.security.injection import scores_many  # check(text, context).score, in batches

    threshold = injection_model.load().threshold
    all_scores: list[np.ndarray] = []
    all_labels: list[np.ndarray] = []
    for f in sorted(args.data.glob("*-validation.jsonl")):
        vrows = read_jsonl(f)
        scores = np.array(scores_many([(r["text"], None) for r in vrows]))
        vy = np.array([int(r["label"]) for r in vrows])
        all_scores.append(scores)
        all_labels.append(vy)
        print(f"validation {f.name}:", json.dumps(metrics(scores, vy, threshold)))
    if all_scores:
        both = metrics(np.concatenate(all_scores), np.concatenate(all_labels), threshold)
        print("validation, all splits:", json.dumps(both))
    if args.who_and_when:
        runs = read_jsonl(args.who_and_when)
        msgs = [str(m.get("content") or "") for run in runs for m in run["history"]]
        for context in ("user_input", "agent_message", "tool_output", "retrieved", "system"):
            flagged = sum(score > threshold for score in scores_many([(m, context) for m in msgs]))
            print(f"who-and-when messages as {context}: {len(msgs)}, flagged {flagged} "
                  f"(FPR {flagged / max(1, len(msgs)):.4f})")


if __name__ == "__main__":
    raise SystemExit(main())
