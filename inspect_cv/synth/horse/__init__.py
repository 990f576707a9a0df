"""Synthetic horse faces for re-identification and face detection.

A procedural 2.5-D renderer (numpy + OpenCV): identities differ in what horse
passports record (coat colour and shade, white face markings, whorls, muzzle
pigmentation, head shape); photos differ in the nuisances of a border lane (pose,
light and shadow, background, halter and lead rope, blur, noise, JPEG, partial
crops, seasonal coat). See ``datasets/synthetic_horses.md``.
"""
from .dataset import session_of, split_identities, write_identities
from .identity import GENERATOR_VERSION, HorseIdentity, Marking, make_identities, sample_identity
from .render import Nuisance, Session, render_face, render_scene, session_conditions

__all__ = ["GENERATOR_VERSION", "HorseIdentity", "Marking", "Nuisance", "Session", "make_identities",
           "render_face", "render_scene", "sample_identity", "session_conditions", "session_of",
           "split_identities", "write_identities", "canonical_marking_mask"]


def canonical_marking_mask(identity: HorseIdentity, res: int = 128):
    """The identity's white-marking mask (float 0..1) on the canonical canvas."""
    from .render import identity_layers
    return identity_layers(identity, res).w_white.copy()
