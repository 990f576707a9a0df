"""Synthetic H986-type container scanner: scenes, MeV dual-energy physics, data sets.

* :mod:`.geometry` - side-view projection primitives, exact mass-preserving rasterising;
* :mod:`.sim` - ISO containers, truck, cargo, concealments (:func:`sample_scene`);
* :mod:`.physics` - linac spectra, detector, polychromatic rendering;
* :mod:`.synth` - :func:`render_scan` and :func:`write_dataset`.

Documented in ``datasets/container_scans.md``.
"""
from __future__ import annotations

from .physics import DEFAULT_PROFILE, PROFILES, LinacProfile
from .sim import CARGO_CATEGORIES, CLASSES, CONCEALMENTS, ContainerScene, sample_scene
from .synth import ContainerScan, SynthOptions, render_scan, write_dataset

__all__ = ["ContainerScene", "sample_scene", "ContainerScan", "render_scan", "write_dataset",
           "SynthOptions", "LinacProfile", "PROFILES", "DEFAULT_PROFILE", "CLASSES",
           "CARGO_CATEGORIES", "CONCEALMENTS"]
