"""A tiny random BERT (its state dict and word-piece tokenizer) for testing the numpy encoder and the
injection model's encoder stage without the bundled weights."""

from __future__ import annotations

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ignore", "the", "rules", "##s", "rule", "all", "and", "print",
         "secret", "hello", "world", "please", "summarise", "report"]
HIDDEN, HEADS, LAYERS, FFN, POSITIONS = 16, 4, 2, 32, 64


def tokenizer_json() -> str:
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok.to_str()


def random_state(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def m(*shape: int, s: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * s).astype(np.float32)

    state = {"embeddings.word_embeddings.weight": m(len(WORDS), HIDDEN),
             "embeddings.position_embeddings.weight": m(POSITIONS, HIDDEN),
             "embeddings.token_type_embeddings.weight": m(2, HIDDEN),
             "embeddings.LayerNorm.weight": 1 + m(HIDDEN, s=0.1), "embeddings.LayerNorm.bias": m(HIDDEN, s=0.1)}
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name, (out, inp) in {"attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN),
                                 "attention.self.value": (HIDDEN, HIDDEN), "attention.output.dense": (HIDDEN, HIDDEN),
                                 "intermediate.dense": (FFN, HIDDEN), "output.dense": (HIDDEN, FFN)}.items():
            state[p + name + ".weight"] = m(out, inp)  # torch Linear layout: (out, in)
            state[p + name + ".bias"] = m(out, s=0.1)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            state[p + ln + ".weight"] = 1 + m(HIDDEN, s=0.1)
            state[p + ln + ".bias"] = m(HIDDEN, s=0.1)
    return state
