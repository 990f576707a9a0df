"""Metric-learning losses on L2-normalised embeddings (cosine similarity).

Every loss is called as ``loss(embeddings, labels, indices=None) -> scalar``. Pair and triplet
losses take the miner's output as ``indices`` (all pairs / triplets of the batch when ``None``);
classification losses (ArcFace) ignore it and hold learnable class weights, so put them in the
optimizer. :class:`CombinedLoss` adds weighted losses and reports each term.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .miners import all_pairs, all_triplets, pairs_to_triplets, triplets_to_pairs

__all__ = ["TripletMarginLoss", "MultiSimilarityLoss", "ArcFaceLoss", "CombinedLoss"]


def _cos(embeddings: torch.Tensor) -> torch.Tensor:
    e = F.normalize(embeddings, dim=1)
    return e @ e.T


def _zero(embeddings: torch.Tensor) -> torch.Tensor:
    return embeddings.sum() * 0.0  # keeps the graph connected when nothing is mined


class TripletMarginLoss(nn.Module):
    """``relu(s_an - s_ap + margin)`` over triplets, averaged over the non-zero terms
    (``reduce="nonzero"``) or all of them (``"mean"``)."""

    needs = "triplets"

    def __init__(self, margin: float = 0.2, reduce: str = "nonzero"):
        super().__init__()
        self.margin, self.reduce = margin, reduce

    def forward(self, embeddings, labels, indices=None):
        if indices is None:
            indices = all_triplets(labels)
        elif len(indices) == 4:
            indices = pairs_to_triplets(indices)
        a, p, n = indices
        if a.numel() == 0:
            return _zero(embeddings)
        sim = _cos(embeddings)
        terms = F.relu(sim[a, n] - sim[a, p] + self.margin)
        if self.reduce == "nonzero":
            nz = terms > 0
            return terms[nz].mean() if nz.any() else _zero(embeddings)
        return terms.mean()


class MultiSimilarityLoss(nn.Module):
    """Multi-similarity loss (Wang et al., CVPR 2019), per anchor ``i``:

    ``1/alpha log(1 + sum_p exp(-alpha (s_ip - base))) + 1/beta log(1 + sum_n exp(beta (s_in - base)))``,
    averaged over anchors with at least one selected pair.
    """

    needs = "pairs"

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5):
        super().__init__()
        self.alpha, self.beta, self.base = alpha, beta, base

    def forward(self, embeddings, labels, indices=None):
        if indices is None:
            indices = all_pairs(labels)
        elif len(indices) == 3:
            indices = triplets_to_pairs(indices)
        a1, p, a2, n = indices
        b = len(labels)
        pos = torch.zeros(b, b, dtype=torch.bool, device=embeddings.device)
        neg = torch.zeros_like(pos)
        pos[a1, p] = True
        neg[a2, n] = True
        if not (pos.any() or neg.any()):
            return _zero(embeddings)
        sim = _cos(embeddings)
        pos_term = _log1p_sum_exp(-self.alpha * (sim - self.base), pos) / self.alpha
        neg_term = _log1p_sum_exp(self.beta * (sim - self.base), neg) / self.beta
        rows = pos.any(1) | neg.any(1)
        return (pos_term + neg_term)[rows].mean()


def _log1p_sum_exp(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise ``log(1 + sum_{mask} exp(x))``, stable (0 for empty rows)."""
    x = x.masked_fill(~mask, float("-inf"))
    zeros = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
    return torch.logsumexp(torch.cat([zeros, x], 1), dim=1)


class ArcFaceLoss(nn.Module):
    """Additive angular margin softmax (Deng et al., "ArcFace", CVPR 2019), optionally with
    ``sub_centers`` per class (sub-center ArcFace, ECCV 2020: the class score is its best sub-center).

    Logits are ``scale * cos(theta_y + margin)`` for the true class and ``scale * cos(theta_j)``
    for the others; ``theta + margin`` is capped at pi so the target logit stays monotonic.
    """

    needs = None

    def __init__(self, num_classes: int, dim: int, margin: float = 0.3, scale: float = 30.0, sub_centers: int = 1):
        super().__init__()
        self.num_classes, self.sub_centers = num_classes, max(1, int(sub_centers))
        self.margin, self.scale = margin, scale
        self.weight = nn.Parameter(torch.empty(num_classes * self.sub_centers, dim))
        nn.init.normal_(self.weight, std=0.01)

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Cosine to each class ``[B, C]`` (max over sub-centers)."""
        cos = F.normalize(embeddings, dim=1) @ F.normalize(self.weight, dim=1).T
        return cos.view(len(embeddings), self.num_classes, self.sub_centers).amax(2)

    @torch.no_grad()
    def imprint(self, embeddings: torch.Tensor, labels: torch.Tensor) -> int:
        """Put each class centre at the normalised mean embedding of its examples ("imprinted
        weights", Qi et al., CVPR 2018), so a model that already embeds well starts with a
        head that agrees with it instead of random centres. Sub-centres of a class keep their
        small random offsets around that mean, so they can still split. Classes with no
        example keep their random centre. Returns the number of classes imprinted."""
        e = F.normalize(embeddings.float(), dim=1)
        labels = labels.long()
        sums = torch.zeros(self.num_classes, e.shape[1], dtype=e.dtype, device=e.device)
        sums.index_add_(0, labels, e)
        seen = torch.bincount(labels, minlength=self.num_classes)[: self.num_classes] > 0
        centres = F.normalize(sums, dim=1).to(self.weight)
        w = self.weight.view(self.num_classes, self.sub_centers, -1)
        w[seen] = centres[seen, None, :] + w[seen]
        return int(seen.sum())

    def forward(self, embeddings, labels, indices=None):
        cos = self.logits(embeddings).clamp(-1 + 1e-7, 1 - 1e-7)
        theta = torch.acos(cos.gather(1, labels[:, None]))
        target = torch.cos((theta + self.margin).clamp(max=math.pi))
        logits = cos.scatter(1, labels[:, None], target) * self.scale
        return F.cross_entropy(logits, labels)


class CombinedLoss(nn.Module):
    """Weighted sum of losses sharing one miner; returns ``(total, {name: value})``."""

    def __init__(self, losses: dict[str, nn.Module], weights: dict[str, float], miner=None):
        super().__init__()
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)
        self.miner = miner

    def forward(self, embeddings, labels):
        indices = self.miner(embeddings, labels) if self.miner is not None else None
        parts = {}
        total = _zero(embeddings)
        for name, loss in self.losses.items():
            value = loss(embeddings, labels, indices if getattr(loss, "needs", None) else None)
            parts[name] = value.detach()
            total = total + self.weights.get(name, 1.0) * value
        return total, parts
