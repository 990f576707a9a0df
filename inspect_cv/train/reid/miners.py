"""Miners: pick the informative pairs or triplets of a batch for a pair/triplet loss.

A miner is called as ``miner(embeddings, labels)`` and returns index tensors:
triplets ``(anchor, positive, negative)`` or pairs ``(a1, p, a2, n)`` (positive pairs ``a1-p``,
negative pairs ``a2-n``). Similarity is cosine (embeddings are L2-normalised first).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["BatchHardMiner", "MultiSimilarityMiner", "label_masks", "all_pairs", "all_triplets",
           "pairs_to_triplets", "triplets_to_pairs"]


def label_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positive, negative)`` [B, B] bool masks: same label (diagonal excluded) / different label."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def all_pairs(labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Every positive and negative pair of the batch as ``(a1, p, a2, n)``."""
    pos, neg = label_masks(labels)
    a1, p = torch.nonzero(pos, as_tuple=True)
    a2, n = torch.nonzero(neg, as_tuple=True)
    return a1, p, a2, n


def all_triplets(labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Every valid triplet ``(a, p, n)`` of the batch."""
    pos, neg = label_masks(labels)
    valid = pos[:, :, None] & neg[:, None, :]
    a, p, n = torch.nonzero(valid, as_tuple=True)
    return a, p, n


def triplets_to_pairs(triplets: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    a, p, n = triplets
    return a, p, a, n


def pairs_to_triplets(pairs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Join each positive pair with every negative pair of the same anchor."""
    a1, p, a2, n = pairs
    match = a1[:, None] == a2[None, :]
    i, j = torch.nonzero(match, as_tuple=True)
    return a1[i], p[i], n[j]


def _similarity(embeddings: torch.Tensor) -> torch.Tensor:
    e = F.normalize(embeddings.detach(), dim=1)
    return e @ e.T


class BatchHardMiner:
    """For each anchor, its hardest positive (least similar) and hardest negative (most similar)."""

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sim = _similarity(embeddings)
        pos, neg = label_masks(labels)
        ok = pos.any(1) & neg.any(1)
        hard_p = sim.masked_fill(~pos, float("inf")).argmin(1)
        hard_n = sim.masked_fill(~neg, float("-inf")).argmax(1)
        a = torch.nonzero(ok, as_tuple=True)[0]
        return a, hard_p[a], hard_n[a]


class MultiSimilarityMiner:
    """Pair mining of Wang et al., "Multi-Similarity Loss with General Pair Weighting" (CVPR 2019).

    Keeps a negative pair when its similarity exceeds the anchor's hardest positive minus
    ``epsilon``, and a positive pair when its similarity is below the anchor's hardest negative
    plus ``epsilon``.
    """

    def __init__(self, epsilon: float = 0.1):
        self.epsilon = epsilon

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sim = _similarity(embeddings)
        pos, neg = label_masks(labels)
        min_pos = sim.masked_fill(~pos, float("inf")).min(1, keepdim=True).values
        max_neg = sim.masked_fill(~neg, float("-inf")).max(1, keepdim=True).values
        keep_neg = neg & (sim > min_pos - self.epsilon)
        keep_pos = pos & (sim < max_neg + self.epsilon)
        a1, p = torch.nonzero(keep_pos, as_tuple=True)
        a2, n = torch.nonzero(keep_neg, as_tuple=True)
        return a1, p, a2, n
