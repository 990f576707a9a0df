"""A dict filled on first use, so that importing a module does no work."""
from __future__ import annotations

import threading
from typing import Callable


class LazyDict(dict):
    """``dict`` whose entries come from ``loader()`` the first time it is read.

    Thread-safe: a thread reading while another fills waits for the filled dict (the
    service's worker threads read the same tables at once).
    """

    def __init__(self, loader: Callable[[], dict]):
        super().__init__()
        self._loader = loader
        self._filled = False
        self._filling = False
        self._lock = threading.RLock()

    def _fill(self) -> None:
        if self._filled:
            return
        with self._lock:  # other threads wait here until the dict is filled
            if self._filled or self._filling:  # _filling: the loader itself reads the dict
                return
            self._filling = True
            try:
                dict.update(self, self._loader())
                self._filled = True
            finally:
                self._filling = False

    def __getitem__(self, key):
        self._fill()
        if not dict.__contains__(self, key):
            return self.__missing__(key)
        return dict.__getitem__(self, key)

    def __missing__(self, key):
        raise KeyError(key)

    def __contains__(self, key):
        self._fill()
        return dict.__contains__(self, key)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        self._fill()
        return dict.__len__(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def get(self, key, default=None):
        self._fill()
        return dict.get(self, key, default)

    def __repr__(self) -> str:
        self._fill()
        return dict.__repr__(self)
