"""Second stage of the prompt-injection model: a fine-tuned MiniLM sentence classifier.

The linear model on hashed n-grams (:mod:`injection_model`) sees words and character fragments; it
misses requests whose *meaning* is the attack (a harmful task asked plainly, an extraction phrased as an
ordinary question) and over-flags benign questions that talk about instructions. This stage reads the
text with a small transformer encoder (MiniLM, 6 layers; :mod:`text_encoder`, numpy only) fine-tuned on
the train splits, and a logistic head on its mean-pooled output.

It runs as a cascade: a text whose linear probability lies in the stage's zone, and which is no longer
than ``max_tokens`` word pieces (the prompts it was trained on are short; long agent messages, code and
documents keep the linear score, which was trained on them), gets the encoder's probability instead;
all other texts keep the linear probability, so most ordinary traffic never reaches the encoder. The
zone, the length gate and the decision threshold are chosen on held-out training data by
``scripts/train_injection_encoder.py``.
Weights (``injection_encoder.npz``, int8) and word pieces (``injection_encoder_tokenizer.json.gz``) ship
next to this module; nothing is downloaded.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import numpy as np

    from mao.domain.security.text_encoder import TextEncoder

ENCODER_FILE = "injection_encoder.npz"
TOKENIZER_FILE = "injection_encoder_tokenizer.json.gz"


@dataclass(frozen=True, slots=True)
class Stage2:
    """The zone and the length gate, read eagerly (they are consulted for every text); the encoder is
    built on the first text that falls inside the zone, so traffic outside it never loads the weights."""

    low: float  # linear probabilities in [low, high] are re-scored ...
    high: float
    max_tokens: int  # ... for texts of at most this many word pieces ([CLS] and [SEP] included)
    meta: dict[str, Any]

    def applies(self, p_linear: float) -> bool:
        return self.low <= p_linear <= self.high

    def probabilities(self, texts: Sequence[str], p_linear: Sequence[float]) -> list[float]:
        """Final probabilities of texts inside the zone (normalised texts and their linear probability)."""
        out = list(p_linear)
        if not texts:
            return out
        from mao.domain.security.injection_model import sigmoid  # that module imports this one

        encoder, head = _scorer()
        ids = encoder.token_ids(list(texts))
        short = [i for i, seq in enumerate(ids) if len(seq) <= self.max_tokens]
        if short:
            z = encoder.embed_ids([ids[i] for i in short]) @ head.weight + head.bias
            for i, zi in zip(short, z, strict=True):
                out[i] = sigmoid(float(zi))
        return out


@dataclass(frozen=True, slots=True)
class Head:
    """The logistic head on the encoder's mean-pooled vector."""

    weight: np.ndarray  # (H,)
    bias: float


def _package_file(name: str) -> BinaryIO | None:
    """One of the stage's files, opened for reading, or None when it is not bundled."""
    try:
        return resources.files("mao.domain.security").joinpath(name).open("rb")
    except FileNotFoundError:
        return None


@cache
def load() -> Stage2 | None:
    """The bundled second stage, or None when none is bundled (the linear stage then decides alone).

    Only the stage's settings are read here (one small member of the weights archive, not the 21 MB of
    weights); the weights are loaded by the first text inside the zone."""
    import numpy as np

    fh = _package_file(ENCODER_FILE)
    if fh is None:
        return None
    with fh, np.load(fh, allow_pickle=False) as bundle:
        meta = json.loads(bytes(bundle["stage"]).decode("utf-8"))
    return Stage2(low=float(meta["low"]), high=float(meta["high"]), max_tokens=int(meta["max_tokens"]), meta=meta)


def _read_both() -> tuple[bytes, str]:
    npz, tokenizer = _package_file(ENCODER_FILE), _package_file(TOKENIZER_FILE)
    if npz is None or tokenizer is None:
        raise RuntimeError(f"the injection encoder needs both {ENCODER_FILE} and {TOKENIZER_FILE}")
    with npz, tokenizer:
        return npz.read(), gzip.decompress(tokenizer.read()).decode("utf-8")


@cache
def _scorer() -> tuple[TextEncoder, Head]:
    import numpy as np

    from mao.domain.security.text_encoder import TextEncoder

    npz, tokenizer_json = _read_both()
    encoder = TextEncoder.load(npz, tokenizer_json)
    with np.load(io.BytesIO(npz), allow_pickle=False) as bundle:
        head = Head(weight=bundle["head.weight"].astype(np.float32), bias=float(bundle["head.bias"]))
    return encoder, head


def bundled_arrays() -> tuple[dict[str, np.ndarray], str]:
    """The bundled stage's arrays (without its settings) and word pieces, to save again with new settings."""
    import numpy as np

    npz, tokenizer_json = _read_both()
    with np.load(io.BytesIO(npz), allow_pickle=False) as bundle:
        arrays = {k: bundle[k] for k in bundle.files if k != "stage"}
    return arrays, tokenizer_json


def clear_cache() -> None:
    """Forget the loaded stage (after the training script rewrote its files)."""
    load.cache_clear()
    _scorer.cache_clear()


def save(directory: Path, arrays: dict[str, np.ndarray], tokenizer_json: str, low: float, high: float,
         max_tokens: int, meta: dict[str, Any]) -> None:
    """Write the stage's two files (used by the training script): the encoder bundle of
    :func:`text_encoder.bundle_from_bert` with ``head.weight`` / ``head.bias``, and the word pieces."""
    import numpy as np

    stage = dict(meta, low=low, high=high, max_tokens=max_tokens)
    body = dict(arrays, stage=np.frombuffer(json.dumps(stage, sort_keys=True).encode("utf-8"), dtype=np.uint8))
    buf = io.BytesIO()
    np.savez_compressed(buf, **body)
    out = Path(directory)
    (out / ENCODER_FILE).write_bytes(buf.getvalue())
    (out / TOKENIZER_FILE).write_bytes(gzip.compress(tokenizer_json.encode("utf-8"), compresslevel=9, mtime=0))


def remove(directory: Path) -> None:
    """Delete a bundled stage (the linear stage then decides alone)."""
    for name in (ENCODER_FILE, TOKENIZER_FILE):
        (Path(directory) / name).unlink(missing_ok=True)


__all__ = ["ENCODER_FILE", "TOKENIZER_FILE", "Head", "Stage2", "bundled_arrays", "clear_cache", "load", "remove",
           "save"]
