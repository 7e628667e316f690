"""Second stage of the prompt-injection model: boosted trees on a sentence embedding.

The linear model on hashed n-grams (:mod:`injection_model`) sees words and character fragments; it
misses requests whose *meaning* is the attack (a harmful task asked plainly, an extraction phrased as
an ordinary question) and over-flags benign questions that talk about instructions. This stage adds
what the text is about: the mean of its WordLlama token embeddings (256 numbers, static word vectors
that the ``wordllama`` wheel ships with its tokenizer), together with the linear stage's logit, scored
by gradient-boosted trees trained with scikit-learn and exported to ``injection_stage2.json.gz``.

It runs as a cascade: only texts whose linear probability lies in a grey zone around the decision
threshold, and no longer than most training prompts, are re-scored, so ordinary traffic (far below
the zone) costs nothing extra and long agent messages and documents keep the linear score.
The embedding files are read from the installed ``wordllama`` package (located without importing it,
because importing it configures the root logger); nothing is downloaded.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

STAGE2_FILE = "injection_stage2.json.gz"
EMBEDDING_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
EMBEDDING_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
LOGIT_CLIP = 30.0



@dataclass(frozen=True, slots=True)
class Trees:
    """Binary-classification trees flattened into node arrays (all trees share one node table)."""

    feature: np.ndarray  # int32 per node: feature index tested (leaves: 0)
    threshold: np.ndarray  # float64 per node: go left when x <= threshold
    missing_left: np.ndarray  # bool per node: where a NaN goes
    left: np.ndarray  # int32 per node: absolute index of the left child
    right: np.ndarray  # int32 per node
    value: np.ndarray  # float64 per node: leaf contribution (learning rate included)
    leaf: np.ndarray  # bool per node
    roots: np.ndarray  # int32 per tree
    baseline: float

    def raw(self, x: np.ndarray) -> float:
        """The summed log-odds for one feature vector (all trees walked together, level by level)."""
        import numpy as np

        node = self.roots.copy()
        done = self.leaf[node]
        while not done.all():
            live = node[~done]
            xv = x[self.feature[live]]
            go_left = np.where(np.isnan(xv), self.missing_left[live], xv <= self.threshold[live])
            node[~done] = np.where(go_left, self.left[live], self.right[live])
            done = self.leaf[node]
        return float(self.baseline + self.value[node].sum())

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature.tolist(), "threshold": self.threshold.tolist(),
                "missing_left": self.missing_left.astype(int).tolist(), "left": self.left.tolist(),
                "right": self.right.tolist(), "value": self.value.tolist(), "leaf": self.leaf.astype(int).tolist(),
                "roots": self.roots.tolist(), "baseline": self.baseline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trees:
        import numpy as np

        return cls(feature=np.asarray(d["feature"], dtype=np.int32),
                   threshold=np.asarray(d["threshold"], dtype=np.float64),
                   missing_left=np.asarray(d["missing_left"], dtype=bool),
                   left=np.asarray(d["left"], dtype=np.int32), right=np.asarray(d["right"], dtype=np.int32),
                   value=np.asarray(d["value"], dtype=np.float64), leaf=np.asarray(d["leaf"], dtype=bool),
                   roots=np.asarray(d["roots"], dtype=np.int32), baseline=float(d["baseline"]))

    @classmethod
    def from_sklearn(cls, model: Any) -> Trees:
        """Flatten a fitted binary ``HistGradientBoostingClassifier`` (numerical features only)."""
        import numpy as np

        parts: list[np.ndarray] = []
        roots: list[int] = []
        offset = 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            roots.append(offset)
            parts.append(nodes)
            offset += len(nodes)
        nodes = np.concatenate(parts)
        starts = np.repeat(np.asarray(roots), [len(p) for p in parts])
        leaf = nodes["is_leaf"].astype(bool)
        left = np.where(leaf, 0, nodes["left"] + starts).astype(np.int32)
        right = np.where(leaf, 0, nodes["right"] + starts).astype(np.int32)
        return cls(feature=nodes["feature_idx"].astype(np.int32), threshold=nodes["num_threshold"].astype(np.float64),
                   missing_left=nodes["missing_go_to_left"].astype(bool), left=left, right=right,
                   value=nodes["value"].astype(np.float64), leaf=leaf, roots=np.asarray(roots, dtype=np.int32),
                   baseline=float(np.ravel(model._baseline_prediction)[0]))


class Embedder:
    """Mean of the static WordLlama token vectors of a text."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder.joinpath(*EMBEDDING_TOKENIZER)))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        # Kept in the file's float16 (16 MB); the rows of a text are widened before averaging.
        self.matrix = load_file(str(folder.joinpath(*EMBEDDING_WEIGHTS)))["embedding.weight"]

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the mean token vector (zeros for no tokens) and the number of tokens."""
        import numpy as np

        vectors = np.zeros((len(texts), self.dim), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.int64)
        for row, enc in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = np.clip(np.asarray(enc.ids, dtype=np.int64), 0, self.matrix.shape[0] - 1)
            counts[row] = len(ids)
            if len(ids):
                vectors[row] = self.matrix[ids].astype(np.float32).mean(axis=0)
        return vectors, counts


def embedding_folder() -> Path | None:
    """The installed ``wordllama`` package's folder (its weights and tokenizer), without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    ok = folder.joinpath(*EMBEDDING_WEIGHTS).exists() and folder.joinpath(*EMBEDDING_TOKENIZER).exists()
    return folder if ok else None


def logit(p: float) -> float:
    p = min(max(p, 1e-13), 1 - 1e-13)
    return max(-LOGIT_CLIP, min(LOGIT_CLIP, math.log(p / (1 - p))))


@dataclass(frozen=True, slots=True)
class Stage2:
    """The grey zone, read eagerly (it is consulted for every text); the trees and the embedding are
    built on the first text that falls inside the zone, so ordinary traffic never loads them."""

    low: float  # linear probabilities in [low, high] are re-scored ...
    high: float
    max_tokens: int  # ... when the text is no longer than the labelled training prompts mostly are
    bundle: dict[str, Any]
    folder: Path

    def applies(self, p_linear: float) -> bool:
        return self.low <= p_linear <= self.high

    def probability(self, text: str, p_linear: float) -> float:
        """The second stage's probability; ``p_linear`` itself for texts longer than ``max_tokens``,
        whose averaged embedding the stage was not fitted to judge (it was trained on short prompts)."""
        trees, embedder = _scorer()
        vectors, counts = embedder.encode([text])
        if counts[0] > self.max_tokens:
            return p_linear
        z = trees.raw(features(vectors, [p_linear])[0])
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def features(vectors: np.ndarray, p_linear: list[float]) -> np.ndarray:
    """The second stage's input rows: the linear stage's logit, then the mean token vector."""
    import numpy as np

    return np.hstack([np.array([[logit(p)] for p in p_linear]), vectors])


def read_bundle() -> dict[str, Any] | None:
    try:
        raw = resources.files("mao.domain.security").joinpath(STAGE2_FILE).read_bytes()
    except FileNotFoundError:
        return None
    return json.loads(gzip.decompress(raw))


@cache
def load() -> Stage2 | None:
    """The bundled second stage, or None when no stage is bundled (the linear stage then decides alone).

    A bundled stage whose embedding package is missing is an installation error, not a reason to score
    differently from where the stage was measured: it raises."""
    bundle = read_bundle()
    if bundle is None:
        return None
    folder = embedding_folder()
    if folder is None:
        raise RuntimeError("a prompt-injection second stage is bundled but the 'wordllama' package that holds "
                           "its embedding files is not installed")
    return Stage2(low=float(bundle["low"]), high=float(bundle["high"]), max_tokens=int(bundle["max_tokens"]),
                  bundle=bundle, folder=folder)


@cache
def _scorer() -> tuple[Trees, Embedder]:
    stage = load()
    if stage is None:
        raise RuntimeError("no second stage is bundled")
    return Trees.from_dict(stage.bundle["trees"]), Embedder(stage.folder)


def clear_cache() -> None:
    """Forget the loaded stage (after the training script rewrote its file)."""
    load.cache_clear()
    _scorer.cache_clear()


def save(directory: Path, trees: Trees, low: float, high: float, max_tokens: int, meta: dict[str, Any]) -> None:
    """Write the stage's model file (used by the training script)."""
    body = dict(meta, low=low, high=high, max_tokens=max_tokens, trees=trees.to_dict())
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    (Path(directory) / STAGE2_FILE).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


__all__ = ["Embedder", "Stage2", "Trees", "clear_cache", "embedding_folder", "features", "load", "logit",
           "read_bundle", "save"]
