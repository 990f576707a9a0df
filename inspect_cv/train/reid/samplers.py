"""The P x K batch sampler: every batch holds ``P`` identities with ``K`` images each.

Deterministic for a seed and an epoch (:meth:`PKSampler.set_epoch`), and DDP-aware: with
``num_replicas`` > 1, each rank takes every ``num_replicas``-th batch of the same global stream.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from inspect_cv.errors import ConfigError

__all__ = ["PKSampler"]


class PKSampler(Sampler[list[int]]):
    """Batch sampler for a ``DataLoader(batch_sampler=...)``.

    Identities are visited in a seeded random order (a new permutation whenever the previous
    one is used up, no identity twice in a batch); each contributes ``k`` distinct images,
    drawn with replacement only when it has fewer than ``k``. ``num_batches`` is the number of
    global batches per epoch (default: identities // p), shared among the replicas.
    """

    def __init__(self, labels: Sequence[int], p: int, k: int, seed: int = 0, num_batches: int | None = None,
                 num_replicas: int = 1, rank: int = 0):
        labels = np.asarray(labels)
        self.ids = np.unique(labels)
        if len(self.ids) < p:
            raise ConfigError(f"P x K sampler: P={p} identities per batch but the data has only {len(self.ids)}")
        if p < 1 or k < 1:
            raise ConfigError(f"P x K sampler: P and K must be >= 1, got P={p}, K={k}")
        if not 0 <= rank < num_replicas:
            raise ConfigError(f"P x K sampler: rank {rank} is not in [0, {num_replicas})")
        self.by_id = [np.flatnonzero(labels == i) for i in self.ids]
        self.p, self.k, self.seed = p, k, seed
        self.num_batches = int(num_batches) if num_batches else max(1, len(self.ids) // p)
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(range(self.rank, self.num_batches, self.num_replicas))

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order: list[int] = []
        for b in range(self.num_batches):
            if len(order) < self.p:  # refill: a fresh permutation without the leftovers
                rest = set(order)
                order += [int(i) for i in rng.permutation(len(self.ids)) if int(i) not in rest]
            chosen, order = order[: self.p], order[self.p:]
            batch = []
            for c in chosen:
                pool = self.by_id[c]
                batch += [int(i) for i in rng.choice(pool, self.k, replace=len(pool) < self.k)]
            if b % self.num_replicas == self.rank:
                yield batch
