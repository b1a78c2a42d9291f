"""Silhouettes to teach :mod:`models.people.personness`: people and things that are not people, as
the person finder cuts them from rendered camera sites, plus drawn shapes.

- **Rendered** (:mod:`models.synth.hard_cases`): walkers, people crossing and standing still, and
  swaying plants of many sizes, amplitudes and rates, run through the real
  :class:`~models.people.finder.PersonFinder`; each candidate blob it would hand the tracker is a
  person where at least ``PERSON_SHARE`` of its pixels are labelled person, an object where at
  most ``OBJECT_SHARE`` are, and left out in between.
- **Drawn**: blobs no camera site here renders: foliage (clusters of leaves with gaps), boxes and
  slabs (cars, doors, screens). Ragged blotches were tried and left out: real people's poor masks
  look like them.
- **Degraded people**: real foreground loses trousers against a carpet and limbs against a wall,
  people carry things, walk in twos and are seen small, so rendered people are also shown that
  way (:func:`degrade`).

Scenes are drawn from ``seeds``: the benchmark's own scene (seed 0) is never among them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from models.body_model import BodyModel
from models.people.finder import FinderConfig, PersonFinder
from models.people.personness import PATCH, silhouette_patch
from models.synth import hard_cases as hc

logger = logging.getLogger(__name__)

PERSON_SHARE = 0.5
OBJECT_SHARE = 0.1
EVERY = 2  # keep every second frame's blobs: neighbours are near copies
KINDS = ("sway", "crossing", "standstill")


@dataclass
class Silhouettes:
    """patches (N, PATCH, PATCH) float32 in [0, 1]; labels (N,) 1 person / 0 not; source (N,) str."""

    patches: np.ndarray
    labels: np.ndarray
    source: np.ndarray

    @staticmethod
    def join(parts: list[Silhouettes]) -> Silhouettes:
        return Silhouettes(
            np.concatenate([p.patches for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.source for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.labels)


def scene_case(kind: str, seed: int, frames: int, body: BodyModel) -> hc.HardCase:
    """One rendered site of ``kind`` (sway, crossing, standstill) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    scene = hc.SceneSettings(frames=frames, seed=seed)
    if kind == "sway":
        sway = hc.Sway(
            amplitude=float(rng.uniform(5, 20)),
            frequency_hz=float(rng.uniform(0.3, 1.2)),
            size=(float(rng.uniform(0.12, 0.35)), float(rng.uniform(0.3, 0.7))),
        )
        return hc.sway(scene, sway, body)
    if kind == "standstill":
        default = hc.Standstill()
        still = max(frames - scene.quiet - 2 * default.walk_frames, 20)
        return hc.standstill(
            replace(scene, frames=scene.quiet + 2 * default.walk_frames + still),
            replace(default, still_frames=still),
            body,
        )
    if kind == "crossing":
        return hc.crossing(scene, body=body)
    raise ValueError(f"unknown scene kind {kind!r}; choose from {', '.join(KINDS)}")


def rendered(case: hc.HardCase, tag: str) -> Silhouettes:
    """The finder's candidate blobs over a rendered clip, labelled by the clip's person masks."""
    finder = PersonFinder(FinderConfig(person_check="off"))  # the data must not depend on the classifier
    patches, labels = [], []
    for t, frame in enumerate(case.frames):
        found = finder.apply(frame)
        if found.warming_up or found.relearning or t % EVERY:
            continue
        person = case.instances[t] > 0
        for blob in finder.candidates(found.foreground, frame.shape[:2]):
            share = float(person[blob.mask].mean()) if blob.area else 0.0
            if share >= PERSON_SHARE or share <= OBJECT_SHARE:
                patches.append(silhouette_patch(blob.mask, blob.box))
                labels.append(int(share >= PERSON_SHARE))
    n = len(labels)
    return Silhouettes(
        np.asarray(patches, np.float32).reshape(n, PATCH, PATCH),
        np.asarray(labels, np.int64),
        np.full(n, tag, dtype=object),
    )


def _ragged(mask: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A mask with its edge eaten and grown at random, as noisy foreground is."""
    noise = cv2.GaussianBlur(rng.uniform(0, 1, mask.shape).astype(np.float32), (0, 0), 2.0)
    blurred = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.5)
    return blurred + amount * (noise - 0.5) > 0.5


def drawn_object(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    """One (size, size) bool mask of something that is no person."""
    m = np.zeros((size, size), np.uint8)
    kind = rng.integers(2)
    if kind == 0:  # foliage: a crown of leaves, some touching, with gaps
        cx, cy = size / 2 + rng.normal(0, 4), size * rng.uniform(0.35, 0.55)
        rx, ry = size * rng.uniform(0.2, 0.45), size * rng.uniform(0.2, 0.45)
        for _ in range(int(rng.integers(25, 90))):
            r, a = math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
            c = (int(cx + rx * r * math.cos(a)), int(cy + ry * r * math.sin(a)))
            axes = (int(rng.integers(3, 10)), int(rng.integers(1, 4)))
            cv2.ellipse(m, c, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        if rng.random() < 0.5:  # a stem or trunk below
            cv2.line(m, (int(cx), int(cy + ry)), (int(cx), size - 1), 1, int(rng.integers(1, 6)))
    elif kind == 1:  # a box: a car, a door swinging, a screen
        w, h = rng.uniform(0.3, 0.95) * size, rng.uniform(0.15, 0.9) * size
        x0, y0 = (size - w) / 2, (size - h) / 2
        m[int(y0) : int(y0 + h), int(x0) : int(x0 + w)] = 1
    out = _ragged(m.astype(bool), rng, float(rng.uniform(0.0, 0.6)))
    return out if out.any() else m.astype(bool)


def drawn_objects(n: int, rng: np.random.Generator) -> Silhouettes:
    patches = [_bbox_patch(drawn_object(rng), np.zeros((PATCH, PATCH), np.float32)) for _ in range(n)]
    return Silhouettes(np.asarray(patches, np.float32), np.zeros(n, np.int64), np.full(n, "drawn", dtype=object))


def _bbox_patch(m: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        return fallback
    return silhouette_patch(m, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))


def _big(patch: np.ndarray, size: int = 96) -> np.ndarray:
    """A (PATCH, PATCH) silhouette as a (size, size) bool mask, to edit at a finer grain."""
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR) > 0.5


def group(m: np.ndarray, others: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` (h, w) bool with ``n`` people from ``others`` (N, PATCH, PATCH) beside it, feet on
    about the same row, each overlapping the last by up to half a width: a group, one blob."""
    ys, xs = np.nonzero(m)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w = bottom - top, right - left
    parts = [(m[top:bottom, left:right], 0, 0)]
    x = w
    for _ in range(n):
        other = _big(others[rng.integers(len(others))])
        oy, ox = np.nonzero(other)
        if len(oy) == 0:
            continue
        other = other[oy.min() : oy.max() + 1, ox.min() : ox.max() + 1]
        k = rng.uniform(0.8, 1.15) * h / other.shape[0]
        size = (max(int(other.shape[1] * k), 1), max(int(other.shape[0] * k), 1))
        other = cv2.resize(other.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        x0 = max(int(x - other.shape[1] * rng.uniform(0.0, 0.5)), 0)
        parts.append((other, x0, int(rng.integers(-h // 20 - 1, h // 20 + 1))))
        x = x0 + other.shape[1]
    height = max(p.shape[0] + max(dy, 0) for p, _, dy in parts) + h // 10 + 2
    canvas = np.zeros((height, x + 1), bool)
    for part, x0, dy in parts:
        y0 = height - part.shape[0] - max(-dy, 0) - 1
        canvas[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]] |= part
    return canvas


def degrade(patch: np.ndarray, rng: np.random.Generator, others: np.ndarray | None = None) -> np.ndarray:
    """A person's (PATCH, PATCH) silhouette as real foreground leaves it, re-centred:

    - the lower part gone (trousers like the floor, a desk in front), or a side cut by the frame;
    - holes where clothes match the background, a ragged, eroded or grown edge;
    - something carried (a box, a bag, a monitor) joined to the body;
    - others beside them, walking in a group, the blobs joined (``others``: silhouettes to draw from);
    - seen small: a person 10-20 px tall is a blob with a head."""
    m = _big(patch)
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        return patch
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w = bottom - top, right - left
    choice = rng.choice(6, p=[0.15, 0.15, 0.15, 0.15, 0.25, 0.15])
    if choice == 0:  # the legs gone, or part of them
        m[top + int(h * rng.uniform(0.5, 0.85)) :] = False
    elif choice == 1:  # cut by the frame's edge
        side = rng.integers(3)
        if side == 0:
            m[:, : left + int(w * rng.uniform(0.1, 0.4))] = False
        elif side == 1:
            m[:, right - int(w * rng.uniform(0.1, 0.4)) :] = False
        else:
            m[bottom - int(h * rng.uniform(0.1, 0.3)) :] = False
    elif choice == 2:  # holes
        for _ in range(int(rng.integers(1, 6))):
            c = (int(rng.choice(xs)), int(rng.choice(ys)))
            cv2.circle(m.view(np.uint8), c, int(rng.integers(2, 8)), 0, -1)
    elif choice == 3:  # carrying something
        bw, bh = int(h * rng.uniform(0.15, 0.5)), int(h * rng.uniform(0.1, 0.35))
        cx = int(rng.uniform(left, right))
        cy = top + int(h * rng.uniform(0.3, 0.6))
        x0 = max(cx - bw // 2, 0)
        m[max(cy - bh // 2, 0) : cy + bh // 2, x0 : x0 + bw] = True
    elif choice == 4 and others is not None and len(others):  # one to three more people, blobs joined
        m = group(m, others, int(rng.integers(1, 4)), rng)
    elif choice == 5:  # seen small, then grown back by the closing
        small = max(int(h * rng.uniform(0.1, 0.25)), 6) / h
        tiny = cv2.resize(m.astype(np.float32), None, fx=small, fy=small, interpolation=cv2.INTER_AREA)
        m = cv2.resize(tiny, (m.shape[1], m.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.4
    if rng.random() < 0.5:
        k = np.ones((3, 3), np.uint8)
        op = cv2.dilate if rng.random() < 0.5 else cv2.erode
        m = op(m.astype(np.uint8), k, iterations=int(rng.integers(1, 4))).astype(bool)
    m = _ragged(m, rng, float(rng.uniform(0.0, 0.7)))
    return _bbox_patch(m, patch)


def degraded_people(people: np.ndarray, n: int, rng: np.random.Generator) -> Silhouettes:
    picks = rng.integers(len(people), size=n)
    patches = np.stack([degrade(people[k].copy(), rng, people) for k in picks])
    return Silhouettes(patches.astype(np.float32), np.ones(n, np.int64), np.full(n, "degraded", dtype=object))


def scenes(
    seeds: list[int], frames: int, body: BodyModel, kinds: tuple[str, ...] = KINDS
) -> Iterator[tuple[str, Silhouettes]]:
    """(tag, silhouettes) of each rendered scene: every seed gives one scene of each kind."""
    for seed in seeds:
        if seed == hc.SceneSettings().seed:
            raise ValueError(f"seed {seed} is the benchmark's own scene; train on others")
        for kind in kinds:
            tag = f"{kind}-{seed}"
            s = rendered(scene_case(kind, seed, frames, body), kind)
            logger.info("%s: %d people, %d objects", tag, int(s.labels.sum()), int((s.labels == 0).sum()))
            yield tag, s


def with_sources(s: Silhouettes, tag: str) -> Silhouettes:
    return replace(s, source=np.full(len(s), tag, dtype=object))
