"""The data of a real-pose run (bench.real_pose): the answered people and their mask scores, the
passes and their plans, BlazePose's landmarks, and the figures summarising a pass."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench import footage_scores as fs
from bench import pose_scores as ps
from models.detail import person_detail_px
from models.pose_fit import PoseFitConfig

HELD_OUT = 0.3  # the last 30% of the frames, as scripts/demo.py and the adaptation job hold out
# Frames re-sent, unscored, before the held-out ones after /adapt: the re-send jumps back in time, and
# without them the finder meets the held-out frames with no tracks, so the walk a served body is turned
# to (read from a track's boxes over at least ``models.people.walk.APPROACH_MIN_FRAMES``, smoothed over
# 25) is not yet known where the first pass knew it: "after" would differ from "before" by that, not by
# the model (docs/REAL_POSE.md, "The re-send after /adapt").
LEAD_IN = 30
BOX_KEY_DIGITS = 3
MIN_PERSON_HEIGHT_PX = 150  # the PCK goal is for people at least this tall
# Where the report's PCK is read again by box height (px; each band from one edge to the next, the
# last open): the finder's smallest people, pets-walk's bulk, the labelled clips' walkers, people near
# the camera, and the goal. A source model that commits to one facing wins on large people and
# loses on small ones (docs/REAL_POSE.md, "a longer twin-loss run, read by person height").
HEIGHT_BANDS_PX: tuple[float, ...] = (0.0, 50.0, 70.0, 100.0, float(MIN_PERSON_HEIGHT_PX))
# And by the person's pixels of detail (box height over the site's blow-up factor, models.detail, as the
# service reads it): people the limb fit leaves alone (PoseFitConfig.min_detail_px), the soft people of
# pets-walk and HallAndMonitor's far walkers (35-70), and people sharp enough to show which way they
# face (about 107 on the labelled clips). A committed facing won where the crops held about 107 px of
# detail and lost at 35-70, read off the crops themselves (docs/REAL_POSE.md, "a longer twin-loss run");
# on a low-resolution camera the site's factor parts detail from height ("Commit where the crop
# resolves the person").
DETAIL_BANDS_PX: tuple[float, ...] = (0.0, PoseFitConfig().min_detail_px, 70.0, 100.0)


# -- answers ------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One person of one /pose answer, with its mask scores (None where the frame is unlabelled or
    the box covers no labelled person). Shapes: box (4,), square (3,), camera (3,), joints_2d (24, 2),
    joints_3d (24, 3)."""

    frame: int
    track_id: int
    box: np.ndarray
    square: np.ndarray
    camera: np.ndarray
    joints_2d: np.ndarray
    joints_3d: np.ndarray
    model_version: str
    kind: str | None = None
    mesh_iou: float | None = None
    box_iou: float | None = None
    silhouette_iou: float | None = None  # the finder's own silhouette, where the scorer had it

    @property
    def key(self) -> tuple:
        return box_key(self.frame, self.box)

    def as_dict(self) -> dict:
        return {
            "frame": self.frame,
            "track_id": self.track_id,
            "box": self.box.tolist(),
            "model_version": self.model_version,
            "kind": self.kind,
            "mesh_iou": self.mesh_iou,
            "box_iou": self.box_iou,
            "silhouette_iou": self.silhouette_iou,
            "crop": self.square.round(2).tolist(),
            "joints_2d": self.joints_2d.round(2).tolist(),
            "joints_3d": self.joints_3d.round(4).tolist(),
        }


@dataclass
class Pass:
    """One pass over some frames: its answers, the frames answered ``warming_up``, and the meshes
    ((V, 2) frame pixels per person) kept for the overlay frames."""

    name: str
    answers: list[Answer] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    warming_up: list[int] = field(default_factory=list)
    meshes: dict[int, list[np.ndarray]] = field(default_factory=dict)
    detail_factor: float | None = None  # the site's blow-up factor after the pass (None: not read)


def box_key(frame: int, box) -> tuple:
    return (int(frame), *(round(float(v), BOX_KEY_DIGITS) for v in box))


def person_answer(frame: int, p: dict, model_version: str) -> Answer:
    return Answer(
        frame=frame,
        track_id=int(p["track_id"]),
        box=np.asarray(p["box"], np.float64),
        square=np.asarray(p["crop"], np.float64),
        camera=np.asarray(p["camera"], np.float64),
        joints_2d=np.asarray(p["joints_2d"], np.float64),
        joints_3d=np.asarray(p["joints_3d"], np.float64),
        model_version=model_version,
    )


def score_masks(
    answers: list[Answer],
    meshes: list[np.ndarray],
    mask: np.ndarray,
    faces: np.ndarray,
    silhouettes: list[np.ndarray] | None = None,
) -> None:
    """Fill each answer's mesh and box IoU against the labelled person its box covers.
    meshes: (V, 2) frame pixels per answer; mask: (H, W) uint8 CDnet ground truth; silhouettes:
    the finder's (H, W) bool silhouette of each answer, where the scorer has them (the ceiling a
    mesh fitted to them could reach)."""
    people = fs.label_people(mask)
    match = fs.match_boxes([a.box for a in answers], people, mask)
    keep = fs.scored(mask)
    for i, a in enumerate(answers):
        a.kind = match.kinds[i]
        j = int(match.best_person[i])
        if a.kind == "false" or j < 0 or match.share[i, j] < fs.COVER_MIN_SHARE:
            continue
        truth = people[j].mask
        a.mesh_iou = ps.masked_iou(ps.mesh_mask(meshes[i], faces, mask.shape), truth, keep)
        a.box_iou = ps.masked_iou(ps.box_mask(a.box, mask.shape), truth, keep)
        if silhouettes is not None:
            a.silhouette_iou = ps.masked_iou(silhouettes[i], truth, keep)


@dataclass
class Plan:
    """What to send: frames (in order), which of them to buffer, score and keep meshes of."""

    frames: list[int]
    buffered: set[int]
    scored: set[int]
    overlays: set[int]


@dataclass
class Landmarks:
    """BlazePose's answer for each box key: found, image (33, 2) frame pixels, visibility (33,),
    world (33, 3) metres."""

    rows: dict[tuple, int]
    found: np.ndarray
    image: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    meta: dict

    def of(self, answers: list[Answer]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(found (N,), image (N, 33, 2), visibility (N, 33), world (N, 33, 3)) for the answers."""
        idx = np.array([self.rows[a.key] for a in answers], dtype=np.int64)
        return self.found[idx], self.image[idx], self.visibility[idx], self.world[idx]


# -- plans ----------------------------------------------------------------------------------------------


def plans(n: int, adapt: bool, overlay_count: int) -> tuple[Plan, Plan | None]:
    """The first pass (every frame) and, with ``adapt``, the re-send of the held-out frames after /adapt,
    led in by the :data:`LEAD_IN` frames before them (sent, not buffered, not scored)."""
    everything = list(range(n))
    if not adapt:
        scored = set(everything)
        return Plan(everything, set(), scored, pick_overlays(everything, overlay_count)), None
    n_train = round(n * (1 - HELD_OUT))
    held = everything[n_train:]
    overlays = pick_overlays(held, overlay_count)
    lead = everything[max(0, n_train - LEAD_IN) : n_train]
    return Plan(everything, set(everything[:n_train]), set(held), overlays), Plan(
        lead + held, set(), set(held), overlays
    )


def pick_overlays(frames: list[int], count: int) -> set[int]:
    """``count`` frames spread evenly over ``frames``, avoiding their first 40% (the warm-up, when all are scored)."""
    if count <= 0 or not frames:
        return set()
    start = frames[int(0.4 * len(frames))] if len(frames) > count else frames[0]
    pool = [t for t in frames if t >= start]
    return {pool[round(i * (len(pool) - 1) / max(count - 1, 1))] for i in range(min(count, len(pool)))}


# -- figures --------------------------------------------------------------------------------------


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def mask_summary(answers: list[Answer], shape: tuple[int, int]) -> dict:
    """(a): mesh and filled-box IoU over the answers whose box covers a labelled person; again over
    those the frame's (H, W) edge cuts."""
    scored = [a for a in answers if a.mesh_iou is not None]
    whole = [a for a in scored if a.kind == "whole"]
    clear = ps.clear_of_edge(np.asarray([a.box for a in scored]), shape)
    cut = [a for a, c in zip(scored, clear, strict=True) if not c]
    return {
        "cut_by_edge": len(cut),
        "mesh_iou_cut": mean_or_nan([a.mesh_iou for a in cut]),
        "box_iou_cut": mean_or_nan([a.box_iou for a in cut]),
        "people": len(scored),
        "mesh_iou": mean_or_nan([a.mesh_iou for a in scored]),
        "box_iou": mean_or_nan([a.box_iou for a in scored]),
        "silhouette_iou": mean_or_nan([a.silhouette_iou for a in scored if a.silhouette_iou is not None]),
        "mesh_iou_median": float(np.median([a.mesh_iou for a in scored])) if scored else float("nan"),
        "whole_people": len(whole),
        "mesh_iou_whole": mean_or_nan([a.mesh_iou for a in whole]),
        "box_iou_whole": mean_or_nan([a.box_iou for a in whole]),
        "kinds": {k: sum(a.kind == k for a in answers) for k in fs.BOX_KINDS},
    }


def height_bands(
    heights: np.ndarray, edges: tuple[float, ...] = HEIGHT_BANDS_PX
) -> list[tuple[float, float, np.ndarray]]:
    """(N,) box heights (or pixels of detail) -> one (from, to, (N,) bool) per band between consecutive
    ``edges`` (increasing), the last to infinity: each box in exactly one band where the first edge is 0."""
    if list(edges) != sorted(set(edges)) or not edges or edges[0] < 0:
        raise ValueError(f"band edges must be increasing pixel heights from >= 0, got {edges}")
    h = np.asarray(heights, np.float64)
    uppers = (*edges[1:], float("inf"))
    return [(lo, hi, (h >= lo) & (h < hi)) for lo, hi in zip(edges, uppers, strict=True)]


def served_limbs_2d(
    answers: list[Answer], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The answers' box heights (N,), whether each box is clear of the frame's (H, W) edge (N,), their
    limb joints in the frame (N, 12, 2) and the fixed skeleton's (N, 12, 2). The fixed skeleton is the
    mean of the people the frame shows whole: a person it cuts is cropped around where the whole of
    them would be (models.people.extent), and sits otherwise in the crop."""
    boxes = np.stack([a.box for a in answers])
    squares = np.stack([a.square for a in answers])
    j2d = np.stack([a.joints_2d for a in answers])
    clear = ps.clear_of_edge(boxes, shape)
    return ps.box_height(boxes), clear, ps.smpl_limbs(j2d), ps.smpl_limbs(ps.fixed_skeleton_2d(j2d, squares, clear))


def pose_summary(
    answers: list[Answer], marks: Landmarks, shape: tuple[int, int], detail_factor: float | None = None
) -> dict:
    """(b) and (c) over the answers, beside the fixed skeleton (from all the answers); again on the
    boxes clear of the frame's (H, W) edge, on those it cuts, on those at least MIN_PERSON_HEIGHT_PX
    tall, in each band of HEIGHT_BANDS_PX and, given the site's ``detail_factor``, in each band of
    DETAIL_BANDS_PX of the people's pixels of detail."""
    found, image, visibility, world = marks.of(answers)
    heights, clear, model2d, fixed2d = served_limbs_2d(answers, shape)
    target, visible = ps.blazepose_limbs(image), ps.visible_limbs(visibility, found)
    model3d = ps.smpl_limbs(np.stack([a.joints_3d for a in answers]))
    fixed3d = np.broadcast_to(ps.procrustes_mean(model3d), model3d.shape)
    world3d = ps.blazepose_limbs(world)

    def figures(sel: np.ndarray) -> dict:
        f, v = found & sel, visible & sel[:, None]
        out: dict = {"boxes": int(sel.sum()), "blazepose_found": int(f.sum()), "joints_counted": int(v.sum())}
        for name, pred in (("model", model2d), ("fixed", fixed2d), ("model_mirrored", ps.mirrored(model2d))):
            out[f"pck_{name}"] = ps.rate(*ps.pck(pred, target, v, heights))
        # How far from the fixed skeleton the model's limb joints go, and BlazePose's visible ones: a
        # model that reads articulation moves about as far as the real limbs do.
        agree, compared = ps.facing_agreement(model2d[sel], target[sel], v[sel], heights[sel])
        out["facing_agree"], out["facing_compared"] = agree, compared
        turned = ps.facing_as(model2d, target, v, heights)
        out["pck_model_facing_as_blazepose"] = ps.rate(*ps.pck(turned, target, v, heights))
        out["torso_width_model"] = ps.torso_width_ratio(model2d[sel], target[sel], v[sel])
        out["model_from_fixed"] = mean_or_nan(ps.distance_over_height(model2d, fixed2d, heights)[sel].ravel().tolist())
        gap = ps.distance_over_height(np.where(v[..., None], target, 0), fixed2d, heights)[v]
        out["blazepose_from_fixed"] = mean_or_nan(gap.tolist())
        out["pa_mm_model"] = mean_or_nan(ps.pa_error_mm(model3d[f], world3d[f]).tolist()) if f.any() else float("nan")
        out["pa_mm_fixed"] = mean_or_nan(ps.pa_error_mm(fixed3d[f], world3d[f]).tolist()) if f.any() else float("nan")
        return out

    def banded(values: np.ndarray, edges: tuple[float, ...]) -> list[dict]:
        return [
            {"from_px": lo, "to_px": None if np.isinf(hi) else hi, **figures(sel)}
            for lo, hi, sel in height_bands(values, edges)
        ]

    out = {
        **figures(np.ones(len(answers), bool)),
        "clear_of_edge": figures(clear),
        "cut_by_edge": figures(~clear),
        "tall": figures(heights >= MIN_PERSON_HEIGHT_PX),
        "by_height": banded(heights, HEIGHT_BANDS_PX),
    }
    if detail_factor is not None:
        detail = np.array([person_detail_px(h, detail_factor) for h in heights])
        out |= {"detail_factor": detail_factor, "by_detail": banded(detail, DETAIL_BANDS_PX)}
    return out


def person_record(a: Answer, marks: Landmarks | None) -> dict:
    """One answered person for the JSON record, with BlazePose's limb landmarks on its box."""
    out = a.as_dict()
    if marks is not None:
        found, image, visibility, world = (x[0] for x in marks.of([a]))
        out["blazepose"] = {
            "found": bool(found),
            "limbs_2d": ps.blazepose_limbs(image).round(2).tolist(),
            "visibility": ps.blazepose_limbs(visibility).round(3).tolist(),
            "world": ps.blazepose_limbs(world).round(4).tolist(),
        }
    return out


def truth_summary(answers: list[Answer], truth: np.ndarray, marks: Landmarks | None, shape: tuple[int, int]) -> dict:
    """PCK@0.1 against a rendered clip's true joints ((T, P, 24, 2) pixels, :mod:`models.synth.hard_cases`),
    model beside the fixed skeleton (:func:`served_limbs_2d`) and, where BlazePose ran,
    BlazePose's own (its joints with visibility > 0.5): how far the referee of (b) is from the truth.
    Each box is scored against the person it shows (:func:`bench.pose_scores.truth_person`), on the
    12 limb joints inside the frame; again on boxes at least MIN_PERSON_HEIGHT_PX tall."""
    frames = np.array([a.frame for a in answers])
    if frames.max() >= len(truth):
        raise ValueError(f"true joints for {len(truth)} frames, but frame {int(frames.max())} was answered")
    heights, _, model2d, fixed2d = served_limbs_2d(answers, shape)
    people = truth[frames]  # (N, P, 24, 2)
    who = ps.truth_person(np.stack([a.box for a in answers]), people)
    matched = who >= 0
    target = ps.smpl_limbs(people[np.arange(len(answers)), np.maximum(who, 0)])
    scored = matched[:, None] & ps.in_image(target, shape)
    blaze = None
    if marks is not None:
        found, image, visibility, _ = marks.of(answers)
        blaze = (ps.blazepose_limbs(image), ps.visible_limbs(visibility, found))

    def figures(sel: np.ndarray) -> dict:
        v = scored & sel[:, None]
        out: dict = {"boxes": int(sel.sum()), "matched": int((matched & sel).sum()), "joints_counted": int(v.sum())}
        out["pck_model"] = ps.rate(*ps.pck(model2d, target, v, heights))
        out["pck_fixed"] = ps.rate(*ps.pck(fixed2d, target, v, heights))
        if blaze is not None:
            out["pck_blazepose"] = ps.rate(*ps.pck(blaze[0], target, v & blaze[1], heights))
            out["blazepose_joints_counted"] = int((v & blaze[1]).sum())
        return out

    out = figures(np.ones(len(answers), bool))
    out["tall"] = figures(heights >= MIN_PERSON_HEIGHT_PX)
    return out


def pass_summary(
    p: Pass, marks: Landmarks | None, labelled: bool, shape: tuple[int, int], truth: np.ndarray | None = None
) -> dict:
    versions = sorted({a.model_version for a in p.answers})
    out: dict = {
        "frames": len(p.frames),
        "warming_up_frames": len(p.warming_up),
        "people": len(p.answers),
        "model_versions": versions,
        "box_height_px_median": float(np.median([a.box[3] - a.box[1] for a in p.answers])) if p.answers else None,
    }
    if labelled:
        out["masks"] = mask_summary(p.answers, shape)
    if marks is not None and p.answers:
        out["pose"] = pose_summary(p.answers, marks, shape, p.detail_factor)
    if truth is not None and p.answers:
        out["truth"] = truth_summary(p.answers, truth, marks, shape)
    return out


def boxes_agreement(before: Pass, after: Pass) -> dict:
    """On how many scored frames the two passes answered the same boxes (a re-sent frame meets a
    background model that has seen more frames, so boxes may differ a little)."""
    by = {name: {} for name in ("before", "after")}
    for name, p in (("before", before), ("after", after)):
        for a in p.answers:
            by[name].setdefault(a.frame, set()).add(a.key)
    frames = sorted(set(before.frames) & set(after.frames))
    same = sum(by["before"].get(t, set()) == by["after"].get(t, set()) for t in frames)
    return {"frames": len(frames), "same_boxes": same}
