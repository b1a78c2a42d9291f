"""Is this foreground blob a person? A small CNN on the blob's silhouette alone, run by ONNX Runtime.

A swaying plant, a flag or a curtain leaves a blob that is the right size, solid enough and keeps
moving, so neither the size tests of :mod:`models.people.grouping` nor the ghost test tell it from
a person. Its *outline* does: a person's silhouette has a head over shoulders over legs. The
classifier sees only the blob's mask (no colours), so what it learns from rendered people and
objects carries over to real cameras, whose masks look alike whatever the clothes and the light.

    classifier = load_personness()                       # the shipped graph (models/assets)
    p = score_blobs(classifier, [(blob.mask, blob.box)])  # (N,) probability of a person

Trained and exported by :mod:`models.synth.train_personness` (its command and figures are in the
graph's metadata and docs/REAL_FOOTAGE.md). Serving needs no torch: NumPy, OpenCV, ONNX Runtime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from models import ASSETS
from models.onnx_runtime import CPU, onnx_session
from models.people.blobs import Box

PATCH = 32  # the silhouette is seen at PATCH x PATCH
SHIPPED_PERSONNESS = ASSETS / "personness.onnx"
INPUT, OUTPUT = "silhouettes", "person_logit"  # (N, 1, PATCH, PATCH) float32 in [0, 1] -> (N,)


def silhouette_patch(mask: np.ndarray, box: Box, size: int = PATCH) -> np.ndarray:
    """A blob's mask, (H, W) bool in frame pixels, cut to its box (x0, y0, x1, y1, pixel edges),
    centred in a square of the box's longer side (so the aspect is kept) and resized to
    (size, size) float32 in [0, 1]."""
    h, w = mask.shape
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box} holds no pixel of a {w}x{h} mask")
    cut = mask[y0:y1, x0:x1].astype(np.float32)
    side = max(cut.shape)
    square = np.zeros((side, side), np.float32)
    top, left = (side - cut.shape[0]) // 2, (side - cut.shape[1]) // 2
    square[top : top + cut.shape[0], left : left + cut.shape[1]] = cut
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


class Personness(Protocol):
    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """(N, PATCH, PATCH) float32 silhouettes -> (N,) float32 probabilities of a person."""
        ...


class OnnxPersonness:
    """The exported classifier on ONNX Runtime's CPU provider, one thread (a few 32x32 patches a
    frame: a GPU round trip or a second thread would cost more than they save)."""

    def __init__(self, path: Path = SHIPPED_PERSONNESS):
        self.session = onnx_session(path, [CPU], threads=1)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.provenance: dict = json.loads(meta.get("provenance", "{}"))

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        if len(patches) == 0:
            return np.zeros(0, np.float32)
        x = np.ascontiguousarray(patches, np.float32)[:, None]
        (logits,) = self.session.run([OUTPUT], {INPUT: x})
        return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def load_personness(path: Path = SHIPPED_PERSONNESS) -> OnnxPersonness:
    return OnnxPersonness(path)


def score_blobs(classifier: Personness, blobs: Sequence[tuple[np.ndarray, Box]]) -> np.ndarray:
    """(mask (H, W) bool, box) pairs -> (N,) probabilities that each blob is a person."""
    if not blobs:
        return np.zeros(0, np.float32)
    return classifier(np.stack([silhouette_patch(m, b) for m, b in blobs]))
