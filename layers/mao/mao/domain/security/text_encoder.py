"""A small BERT-style sentence encoder, run with numpy alone.

The prompt-injection model's second stage reads what a text *means* through a fine-tuned MiniLM
(6 layers, hidden size 384). Its weights ship inside the package as one ``.npz`` file of int8 matrices
with per-column scales (about a quarter of the float32 size) and float32 biases and layer norms; the
WordPiece vocabulary ships as a ``tokenizers`` JSON file. The forward pass is written here in numpy:
onnxruntime or torch would add 50 MB to 1.5 GB to a Lambda layer that must stay under 250 MB, and the
arithmetic is a dozen matrix products per layer. A test holds it equal to the reference implementation
(transformers on torch) within float32 rounding.

A sequence holds at most ``max_tokens`` word pieces (with the [CLS] and [SEP] marks; longer texts are cut
into windows); the output is the mean of the last layer's token vectors (padding excluded), the pooling
the classifier head was trained on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

LAYER_PARTS = ("q", "k", "v", "o", "ffn_in", "ffn_out")


@dataclass(frozen=True, slots=True)
class Layer:
    """One transformer block; matrices are (in, out) float32, applied as ``x @ w + b``."""

    qkv: np.ndarray  # (H, 3H): the query, key and value projections side by side
    qkv_bias: np.ndarray
    o: np.ndarray
    o_bias: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    ffn_in: np.ndarray
    ffn_in_bias: np.ndarray
    ffn_out: np.ndarray
    ffn_out_bias: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


def quantize(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per column (per row for an embedding table, passed transposed by the caller)."""
    import numpy as np

    scale = np.abs(w).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def _dequantize(bundle: Any, name: str) -> np.ndarray:
    import numpy as np

    return bundle[name + ".q"].astype(np.float32) * bundle[name + ".scale"].astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU in its tanh form (within 1e-3 of the exact erf form BERT was trained with, far below the
    int8 weights' rounding; numpy has no erf, and one tanh is a third of the time of an erf series)."""
    import numpy as np

    inner = x * x
    inner *= 0.044715
    inner += 1.0
    inner *= x
    inner *= math.sqrt(2.0 / math.pi)
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= x
    inner *= 0.5
    return inner


def _layer_norm(x: np.ndarray, ln: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * ln[0] + ln[1]


class TextEncoder:
    """Mean-pooled sentence vectors of a BERT encoder whose weights come from :meth:`save`'s bundle."""

    def __init__(self, bundle: Any, tokenizer_json: str) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        config = json.loads(bytes(bundle["config"]).decode("utf-8"))
        self.heads = int(config["heads"])
        self.eps = float(config["eps"])
        self.max_tokens = int(config["max_tokens"])
        # Word vectors stay int8 (11 MB instead of 45): only the rows of a batch's tokens are widened.
        self.word_q = bundle["word.q"]
        self.word_scale = bundle["word.scale"].astype(np.float32)
        self.position = bundle["position"].astype(np.float32)
        self.token_type = bundle["token_type"].astype(np.float32)
        self.emb_ln = (bundle["emb_ln.g"].astype(np.float32), bundle["emb_ln.b"].astype(np.float32))
        self.layers: list[Layer] = []
        for i in range(int(config["layers"])):
            p = f"layer{i}."
            self.layers.append(Layer(
                qkv=np.ascontiguousarray(np.hstack([_dequantize(bundle, p + n) for n in ("q", "k", "v")])),
                qkv_bias=np.concatenate([bundle[p + n + ".b"] for n in ("q", "k", "v")]).astype(np.float32),
                o=_dequantize(bundle, p + "o"), o_bias=bundle[p + "o.b"].astype(np.float32),
                ln1=(bundle[p + "ln1.g"].astype(np.float32), bundle[p + "ln1.b"].astype(np.float32)),
                ffn_in=_dequantize(bundle, p + "ffn_in"), ffn_in_bias=bundle[p + "ffn_in.b"].astype(np.float32),
                ffn_out=_dequantize(bundle, p + "ffn_out"), ffn_out_bias=bundle[p + "ffn_out.b"].astype(np.float32),
                ln2=(bundle[p + "ln2.g"].astype(np.float32), bundle[p + "ln2.b"].astype(np.float32)),
            ))
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    @classmethod
    def load(cls, npz_bytes: bytes, tokenizer_json: str) -> TextEncoder:
        import io

        import numpy as np

        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as bundle:
            return cls({k: bundle[k] for k in bundle.files}, tokenizer_json)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's word pieces framed by [CLS] and [SEP], uncut."""
        return [enc.ids for enc in self.tokenizer.encode_batch(texts)]

    def windows(self, ids: list[int], size: int, stride: int) -> list[list[int]]:
        """Overlapping windows of ``size`` pieces (framing included) every ``stride`` pieces, each framed by
        [CLS] and [SEP]: the sequence itself when it fits. A long text is judged window by window."""
        size = min(size, self.max_tokens)
        if len(ids) <= size:
            return [ids]
        cls, sep, body = ids[0], ids[-1], ids[1:-1]
        inner = size - 2
        out = []
        for start in range(0, len(body), stride):
            out.append([cls, *body[start:start + inner], sep])
            if start + inner >= len(body):
                break
        return out

    def embed(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """(len(texts), H) mean-pooled vectors of the texts' first ``max_tokens`` pieces."""
        return self.embed_ids([self.windows(ids, self.max_tokens, self.max_tokens)[0]
                               for ids in self.token_ids(texts)], batch)

    def embed_ids(self, seqs: list[list[int]], batch: int = 32) -> np.ndarray:
        """(len(seqs), H) mean-pooled vectors of framed piece sequences; sequences of similar length are
        batched together (a batch is padded to its longest)."""
        import numpy as np

        out = np.zeros((len(seqs), self.word_q.shape[1]), dtype=np.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            out[rows] = self._forward([seqs[i] for i in rows])
        return out

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        import numpy as np

        n, length = len(ids), max(len(x) for x in ids)
        tok = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, x in enumerate(ids):
            tok[row, :len(x)] = x
            mask[row, :len(x)] = 1.0
        flat = tok.reshape(-1)
        x = self.word_q[flat].astype(np.float32)
        x *= self.word_scale[flat][:, None]
        x = x.reshape(n, length, -1) + self.position[:length] + self.token_type
        hidden = x.shape[-1]
        x = _layer_norm(x.reshape(n * length, hidden), self.emb_ln, self.eps)  # token rows, (n * length, H)
        d = hidden // self.heads
        additive = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in self.layers:
            qkv = x @ layer.qkv
            qkv += layer.qkv_bias
            q, k, v = (qkv[:, i * hidden:(i + 1) * hidden].reshape(n, length, self.heads, d).transpose(0, 2, 1, 3)
                       for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= 1.0 / math.sqrt(d)
            scores += additive
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, hidden)
            attended = ctx @ layer.o
            attended += layer.o_bias
            attended += x
            x = _layer_norm(attended, layer.ln1, self.eps)
            h = x @ layer.ffn_in
            h += layer.ffn_in_bias
            h = _gelu(h) @ layer.ffn_out
            h += layer.ffn_out_bias
            h += x
            x = _layer_norm(h, layer.ln2, self.eps)
        x = x.reshape(n, length, hidden)
        return (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


def bundle_from_bert(state: dict[str, Any], heads: int, eps: float, max_tokens: int,
                     extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an encoder bundle from a Hugging Face ``BertModel`` state dict (numpy arrays, keys
    without a model prefix), int8-quantised; ``extra`` arrays (a classifier head) are added as they are.
    Used by the training script; save the result with ``numpy.savez_compressed``."""
    import numpy as np

    def f32(name: str) -> np.ndarray:
        return np.asarray(state[name], dtype=np.float32)

    out: dict[str, np.ndarray] = {}
    word_q, word_scale = quantize(f32("embeddings.word_embeddings.weight").T)
    out["word.q"], out["word.scale"] = np.ascontiguousarray(word_q.T), word_scale
    out["position"] = f32("embeddings.position_embeddings.weight")[:max_tokens]
    out["token_type"] = f32("embeddings.token_type_embeddings.weight")[0]
    out["emb_ln.g"], out["emb_ln.b"] = f32("embeddings.LayerNorm.weight"), f32("embeddings.LayerNorm.bias")
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "o": "attention.output.dense", "ffn_in": "intermediate.dense", "ffn_out": "output.dense"}
    n_layers = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layer."))
    for i in range(n_layers):
        src, dst = f"encoder.layer.{i}.", f"layer{i}."
        for part, hf in names.items():
            out[dst + part + ".q"], out[dst + part + ".scale"] = quantize(f32(src + hf + ".weight").T)
            out[dst + part + ".b"] = f32(src + hf + ".bias")
        out[dst + "ln1.g"], out[dst + "ln1.b"] = (f32(src + "attention.output.LayerNorm.weight"),
                                                  f32(src + "attention.output.LayerNorm.bias"))
        out[dst + "ln2.g"], out[dst + "ln2.b"] = (f32(src + "output.LayerNorm.weight"),
                                                  f32(src + "output.LayerNorm.bias"))
    config = {"heads": heads, "eps": eps, "max_tokens": max_tokens, "layers": n_layers}
    out["config"] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    out.update(extra or {})
    return out


__all__ = ["TextEncoder", "bundle_from_bert", "quantize"]
