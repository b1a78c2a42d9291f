"""How well the served meshes follow real bodies, before and after /adapt (issue 19, part 1).

    python -m bench.real_pose VIDEO [--masks TAR] [--adapt] [--iterations N] [--overlays DIR]

Starts the real service as ``bench.real_footage`` does (uvicorn in a subprocess, embedded mode, a
temporary artifact directory) and posts the clip's frames in order to ``/v1/sites/{site}/pose``.

- Without ``--adapt`` every frame goes with ``buffer=false`` and every answered frame is scored.
- With ``--adapt`` the first 70% of the frames go with ``buffer=true`` (they fill the site's buffer)
  and the last 30% with ``buffer=false``: those held-out frames are scored *before*. Then
  ``POST /v1/sites/{site}/adapt`` (its progress printed), and the held-out frames are sent again
  and scored *after*, on whatever model the health gate left serving (the record says which).

The scores (pure functions in :mod:`bench.pose_scores`), for each answered person:

- **(a) mesh IoU**, with ``--masks`` (CDnet / SBI tar; 170 left out): the mesh (``?vertices=true``,
  faces from ``GET /v1/faces``, projected with ``service.overlay.mesh_pixels``) filled into a mask and
  compared with the labelled person its box covers (``bench.footage_scores.match_boxes``: a box that
  is not false and holds at least 20% of that person), beside the IoU of the person's own filled box;
- **(b) PCK@0.1** of box height on the 12 limb joints against MediaPipe BlazePose run on the same
  boxes (``bench/blazepose_landmarks.py`` in ``.venv-eval``, ``make eval-env``), joints where
  BlazePose's visibility > 0.5, beside the fixed skeleton (the answered joints' mean in crop
  coordinates, put into each box's crop square);
- **(c) PA error** (mm, after a similarity Procrustes alignment) on the same 12 joints, ``joints_3d``
  against BlazePose's world landmarks, beside the fixed skeleton (the answered joints' Procrustes mean).

(b) and (c) are skipped, with a message, where ``.venv-eval`` is missing. Writes
``runs/real_pose/<name>.json`` and the run's section of ``docs/REAL_POSE.md``. ``--overlays DIR``
(outside the repository: the labelled clips are evaluation-only) draws meshes before and after with
BlazePose's skeleton on a few scored frames.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import httpx
import numpy as np

from bench import footage_scores as fs
from bench import pose_scores as ps
from bench import real_footage as rf
from bench.report import write_section
from models.body_layout import PARENTS
from service.overlay import draw_mesh, mesh_pixels
from service.schemas import Vertices

log = logging.getLogger(__name__)

ROOT = rf.ROOT
RUNS = ROOT / "runs" / "real_pose"
DOC = ROOT / "docs" / "REAL_POSE.md"
DOC_HEADER = "# Real-footage pose evaluation\n\nEach run's section is written by the command it names.\n"
EVAL_PYTHON = ROOT / ".venv-eval" / "bin" / "python"
BLAZEPOSE_SCRIPT = ROOT / "bench" / "blazepose_landmarks.py"
HELD_OUT = 0.3  # the last 30% of the frames, as scripts/demo.py and the adaptation job hold out
BLAZEPOSE_TIMEOUT_S = 3600.0
JOB_POLL_S = 1.0
JOB_TIMEOUT_S = 3600.0
SERVING_TIMEOUT_S = 120.0
TERMINAL_STATES = ("succeeded", "failed", "cancelled")
BOX_KEY_DIGITS = 3
MIN_PERSON_HEIGHT_PX = 150  # the PCK goal is for people at least this tall
OVERLAY_FRAMES = 4
OVERLAY_SCALE = 3
OVERLAY_MARGIN = 0.25  # of the people's extent, around them in an overlay
OVERLAY_TITLE_PX = 28
OVERLAY_MIN_WIDTH_PX = 110  # frame pixels: a narrower region leaves no room for the title
MESH_COLOURS = {"served": (60, 140, 255), "before": (60, 140, 255), "after": (60, 230, 90)}
SERVICE_SKELETON_COLOUR = (255, 255, 255)
BLAZEPOSE_COLOUR = (255, 230, 0)
LABEL_COLOUR = (255, 0, 255)
# BlazePose's limb segments between its landmarks (shoulders, arms, torso sides, hips, legs).
BLAZEPOSE_SEGMENTS = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25))
BLAZEPOSE_SEGMENTS += ((25, 27), (24, 26), (26, 28))


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


def score_masks(answers: list[Answer], meshes: list[np.ndarray], mask: np.ndarray, faces: np.ndarray) -> None:
    """Fill each answer's mesh and box IoU against the labelled person its box covers.
    meshes: (V, 2) frame pixels per answer; mask: (H, W) uint8 CDnet ground truth."""
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


def post_pose(client: httpx.Client, site: str, data: bytes, encoding: str, buffer: bool, vertices: bool) -> dict:
    params = {"buffer": str(buffer).lower(), "vertices": str(vertices).lower()}
    r = client.post(
        f"/v1/sites/{site}/pose", params=params, content=data, headers={"content-type": f"image/{encoding}"}
    )
    r.raise_for_status()
    return r.json()


@dataclass
class Plan:
    """What to send: frames (in order), which of them to buffer, score and keep meshes of."""

    frames: list[int]
    buffered: set[int]
    scored: set[int]
    overlays: set[int]


def frames_at(video: Path, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, (H, W, 3) RGB frame) for the wanted frame indices, in order, reading the video once."""
    last = max(wanted, default=-1)
    for t, frame in enumerate(rf.read_frames(video, last + 1)):
        if t in wanted:
            yield t, frame


def run_pass(
    client: httpx.Client,
    site: str,
    video: Path,
    plan: Plan,
    name: str,
    gt: rf.GroundTruth | None,
    faces: np.ndarray,
    encoding: str,
) -> Pass:
    """Post the plan's frames of ``video`` in order and score the answers of its scored frames."""
    from tqdm import tqdm

    out = Pass(name)
    sent = tqdm(frames_at(video, set(plan.frames)), total=len(plan.frames), desc=f"{site} {name}", unit="frame")
    for t, frame in sent:
        data, _ = rf.encode_frame(frame, encoding)
        labelled = gt is not None and gt.scored_frame(t)
        want_mesh = t in plan.scored and (labelled or t in plan.overlays)
        answer = post_pose(client, site, data, encoding, t in plan.buffered, want_mesh)
        if t not in plan.scored:
            continue
        if answer["warming_up"]:
            out.warming_up.append(t)
            continue
        out.frames.append(t)
        answers = [person_answer(t, p, answer["model_version"]) for p in answer["persons"]]
        meshes = [
            mesh_pixels(Vertices(**p["vertices"]).decode(), np.asarray(p["camera"]), tuple(p["crop"]))
            for p in answer["persons"]
            if want_mesh
        ]
        if labelled and answers:
            score_masks(answers, meshes, gt.masks[t], faces)
        if t in plan.overlays:
            out.meshes[t] = meshes
        out.answers += answers
    return out


# -- adaptation -----------------------------------------------------------------------------------


def follow_job(client: httpx.Client, job: dict) -> dict:
    """Poll a job until it ends, printing its progress; returns its last record."""
    last = -1
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job['id']}").json()
        p = job.get("progress") or {}
        if p.get("iteration") and p["iteration"] != last:
            last = p["iteration"]
            losses = ", ".join(f"{k} {v:.3g}" for k, v in (p.get("losses") or {}).items())
            print(
                f"  adapt {p['iteration']}/{p['iterations']}  {losses}  "
                f"elapsed {p.get('elapsed_s', 0):.0f} s, about {p.get('remaining_s', 0):.0f} s left",
                flush=True,
            )
        if job["state"] in TERMINAL_STATES:
            return job
        time.sleep(JOB_POLL_S)
    raise RuntimeError(f"job {job['id']} did not end in {JOB_TIMEOUT_S:.0f} s")


def adapt_site(client: httpx.Client, site: str, iterations: int | None) -> dict:
    """POST /adapt, follow the job, and wait until the version the gate activated (if any) serves."""
    body = {} if iterations is None else {"iterations": iterations}
    r = client.post(f"/v1/sites/{site}/adapt", json=body)
    if r.status_code not in (200, 202):
        raise RuntimeError(f"/adapt refused ({r.status_code}): {r.text}")
    print(f"adaptation job {r.json()['id']} for site {site} ...", flush=True)
    job = follow_job(client, r.json())
    result = job.get("result") or {}
    print(f"adaptation {job['state']}: activated {result.get('activated')}, version {result.get('version')}")
    if result.get("activated"):
        wait_serving(client, site, result["version"])
    return job


def wait_serving(client: httpx.Client, site: str, version: str) -> None:
    deadline = time.monotonic() + SERVING_TIMEOUT_S
    while time.monotonic() < deadline:
        if client.get(f"/v1/sites/{site}").json().get("serving_version") == version:
            return
        time.sleep(JOB_POLL_S)
    raise RuntimeError(f"site {site} did not serve version {version} within {SERVING_TIMEOUT_S:.0f} s")


# -- BlazePose ------------------------------------------------------------------------------------


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


def blazepose(video: Path, answers: list[Answer]) -> Landmarks | None:
    """Run bench/blazepose_landmarks.py in .venv-eval on every distinct box; None if .venv-eval is missing."""
    if not EVAL_PYTHON.exists():
        return None
    keys = sorted({a.key for a in answers})
    with tempfile.TemporaryDirectory(prefix="real-pose-") as tmp:
        boxes, out = Path(tmp) / "boxes.json", Path(tmp) / "landmarks.npz"
        boxes.write_text(json.dumps({"boxes": [{"frame": k[0], "box": list(k[1:])} for k in keys]}))
        print(f"BlazePose on {len(keys)} boxes (.venv-eval) ...", flush=True)
        cmd = [str(EVAL_PYTHON), str(BLAZEPOSE_SCRIPT), str(video), str(boxes), str(out)]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=BLAZEPOSE_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-3000:]}")
        with np.load(out) as z:
            return Landmarks(
                rows={k: i for i, k in enumerate(keys)},
                found=z["found"],
                image=z["image"],
                visibility=z["visibility"],
                world=z["world"],
                meta=json.loads(str(z["meta"])),
            )


# -- figures --------------------------------------------------------------------------------------


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def mask_summary(answers: list[Answer]) -> dict:
    """(a): mesh and filled-box IoU over the answers whose box covers a labelled person."""
    scored = [a for a in answers if a.mesh_iou is not None]
    whole = [a for a in scored if a.kind == "whole"]
    return {
        "people": len(scored),
        "mesh_iou": mean_or_nan([a.mesh_iou for a in scored]),
        "box_iou": mean_or_nan([a.box_iou for a in scored]),
        "mesh_iou_median": float(np.median([a.mesh_iou for a in scored])) if scored else float("nan"),
        "whole_people": len(whole),
        "mesh_iou_whole": mean_or_nan([a.mesh_iou for a in whole]),
        "box_iou_whole": mean_or_nan([a.box_iou for a in whole]),
        "kinds": {k: sum(a.kind == k for a in answers) for k in fs.BOX_KINDS},
    }


def pose_summary(answers: list[Answer], marks: Landmarks, shape: tuple[int, int]) -> dict:
    """(b) and (c) over the answers, beside the fixed skeleton (from all the answers); again on the
    boxes clear of the frame's (H, W) edge and on those at least MIN_PERSON_HEIGHT_PX tall."""
    found, image, visibility, world = marks.of(answers)
    boxes = np.stack([a.box for a in answers])
    squares = np.stack([a.square for a in answers])
    j2d = np.stack([a.joints_2d for a in answers])
    heights = ps.box_height(boxes)
    target, visible = ps.blazepose_limbs(image), ps.visible_limbs(visibility, found)
    model2d, fixed2d = ps.smpl_limbs(j2d), ps.smpl_limbs(ps.fixed_skeleton_2d(j2d, squares))
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
        out["model_from_fixed"] = mean_or_nan(ps.distance_over_height(model2d, fixed2d, heights)[sel].ravel().tolist())
        gap = ps.distance_over_height(np.where(v[..., None], target, 0), fixed2d, heights)[v]
        out["blazepose_from_fixed"] = mean_or_nan(gap.tolist())
        out["pa_mm_model"] = mean_or_nan(ps.pa_error_mm(model3d[f], world3d[f]).tolist()) if f.any() else float("nan")
        out["pa_mm_fixed"] = mean_or_nan(ps.pa_error_mm(fixed3d[f], world3d[f]).tolist()) if f.any() else float("nan")
        return out

    return {
        **figures(np.ones(len(answers), bool)),
        "clear_of_edge": figures(ps.clear_of_edge(boxes, shape)),
        "tall": figures(heights >= MIN_PERSON_HEIGHT_PX),
    }


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


def pass_summary(p: Pass, marks: Landmarks | None, labelled: bool, shape: tuple[int, int]) -> dict:
    versions = sorted({a.model_version for a in p.answers})
    out: dict = {
        "frames": len(p.frames),
        "warming_up_frames": len(p.warming_up),
        "people": len(p.answers),
        "model_versions": versions,
        "box_height_px_median": float(np.median([a.box[3] - a.box[1] for a in p.answers])) if p.answers else None,
    }
    if labelled:
        out["masks"] = mask_summary(p.answers)
    if marks is not None and p.answers:
        out["pose"] = pose_summary(p.answers, marks, shape)
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


# -- overlays (to a folder outside the repository) ------------------------------------------------


def scale_points(points: np.ndarray, k: int) -> np.ndarray:
    """Frame pixels (centres at integers) -> the pixels of the frame upscaled k times."""
    return (np.asarray(points, np.float64) + 0.5) * k - 0.5


def draw_segments(img: np.ndarray, points: np.ndarray, pairs, colour, ok=None) -> None:
    for a, b in pairs:
        if ok is not None and not (ok[a] and ok[b]):
            continue
        pa, pb = (tuple(int(v) for v in np.round(points[i])) for i in (a, b))
        cv2.line(img, pa, pb, colour, 2, cv2.LINE_AA)


def draw_panel(
    frame: np.ndarray, answers: list[Answer], meshes: list[np.ndarray], faces, colour, marks, mask
) -> np.ndarray:
    """One (kH, kW, 3) RGB panel: meshes filled, the service's skeleton in white, BlazePose's limbs
    (landmarks with visibility > 0.5) in yellow, the labelled people's outline in magenta."""
    k = OVERLAY_SCALE
    img = cv2.resize(frame, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    for a, m in zip(answers, meshes, strict=True):
        img = draw_mesh(img, scale_points(m, k), faces, colour, alpha=0.45)
        j = scale_points(a.joints_2d, k)
        draw_segments(img, j, [(c, p) for c, p in enumerate(PARENTS) if p >= 0], SERVICE_SKELETON_COLOUR)
    if marks is not None and answers:
        found, image, visibility, _ = marks.of(answers)
        for f, lm, vis in zip(found, image, visibility, strict=True):
            if f:
                draw_segments(img, scale_points(lm, k), BLAZEPOSE_SEGMENTS, BLAZEPOSE_COLOUR, vis > ps.VISIBILITY_MIN)
    if mask is not None:
        big = cv2.resize((mask == fs.GT_FOREGROUND).astype(np.uint8), None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, LABEL_COLOUR, 1)
    return img


def people_region(boxes: list[np.ndarray], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer frame pixels around every (4,) box, with a margin, clipped to (H, W)."""
    b = np.stack(boxes)
    x0, y0 = b[:, :2].min(0)
    x1, y1 = b[:, 2:].max(0)
    m = OVERLAY_MARGIN * max(x1 - x0, y1 - y0)
    x0, x1 = x0 - m, x1 + m
    widen = max(0.0, OVERLAY_MIN_WIDTH_PX - (x1 - x0)) / 2  # room for the panel's title
    h, w = shape
    x0, x1 = max(0, int(x0 - widen)), min(w, int(np.ceil(x1 + widen)))
    return x0, max(0, int(y0 - m)), x1, min(h, int(np.ceil(y1 + m)))


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """A dark strip with ``title`` above an (H, W, 3) panel."""
    strip = np.zeros((OVERLAY_TITLE_PX, panel.shape[1], 3), np.uint8)
    cv2.putText(
        strip, title, (6, OVERLAY_TITLE_PX - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA
    )
    return np.concatenate([strip, panel], 0)


def write_overlays(
    folder: Path, name: str, frames: dict[int, np.ndarray], passes: list[Pass], faces, marks, gt
) -> list[Path]:
    """For each overlay frame, the passes' panels side by side, cut around the people -> PNG files in ``folder``."""
    written = []
    k = OVERLAY_SCALE
    for t in sorted(set.intersection(*(set(p.meshes) for p in passes))):
        boxes = [a.box for p in passes for a in p.answers if a.frame == t]
        if not boxes:
            continue
        x0, y0, x1, y1 = people_region(boxes, frames[t].shape[:2])
        panels = []
        for p in passes:
            answers = [a for a in p.answers if a.frame == t]
            ious = ", ".join(f"{a.mesh_iou:.2f}" for a in answers if a.mesh_iou is not None)
            title = f"{p.name}, frame {t}" + (f", mesh IoU {ious}" if ious else "")
            mask = gt.masks.get(t) if gt is not None else None
            colour = MESH_COLOURS.get(p.name, MESH_COLOURS["before"])
            panel = draw_panel(frames[t], answers, p.meshes[t], faces, colour, marks, mask)
            panels.append(titled(panel[k * y0 : k * y1, k * x0 : k * x1], title))
        path = folder / f"{name}_{t:06d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(panels, 1), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


# -- the run --------------------------------------------------------------------------------------


def plans(n: int, adapt: bool, overlay_count: int) -> tuple[Plan, Plan | None]:
    """The first pass (every frame) and, with ``adapt``, the re-send of the held-out frames after /adapt."""
    everything = list(range(n))
    if not adapt:
        scored = set(everything)
        return Plan(everything, set(), scored, pick_overlays(everything, overlay_count)), None
    n_train = round(n * (1 - HELD_OUT))
    held = everything[n_train:]
    overlays = pick_overlays(held, overlay_count)
    return Plan(everything, set(everything[:n_train]), set(held), overlays), Plan(held, set(), set(held), overlays)


def pick_overlays(frames: list[int], count: int) -> set[int]:
    """``count`` frames spread evenly over ``frames``, avoiding their first 40% (the warm-up, when all are scored)."""
    if count <= 0 or not frames:
        return set()
    start = frames[int(0.4 * len(frames))] if len(frames) > count else frames[0]
    pool = [t for t in frames if t >= start]
    return {pool[round(i * (len(pool) - 1) / max(count - 1, 1))] for i in range(min(count, len(pool)))}


def benchmark(args: argparse.Namespace, command: str) -> dict:
    from runtime.settings import Settings

    warmup = Settings().warmup_frames
    gt = rf.read_ground_truth(args.masks) if args.masks else None
    clip = rf.clip_name(args.video)
    n, shape = 0, (0, 0)
    for frame in rf.read_frames(args.video, args.frames):
        n, shape = n + 1, frame.shape[:2]
    if not n:
        raise SystemExit(f"{args.video}: no frames could be read")
    first_plan, resend_plan = plans(n, args.adapt, args.overlay_count if args.overlays else 0)
    job = None
    with rf.running_service(warmup) as url, httpx.Client(base_url=url, timeout=rf.REQUEST_TIMEOUT_S) as client:
        faces = np.asarray(client.get("/v1/faces").json()["faces"], np.int64)
        first = "before" if args.adapt else "served"
        passes = [run_pass(client, clip, args.video, first_plan, first, gt, faces, args.encoding)]
        if resend_plan is not None:
            job = adapt_site(client, clip, args.iterations)
            passes.append(run_pass(client, clip, args.video, resend_plan, "after", gt, faces, args.encoding))
    marks = blazepose(args.video, [a for p in passes for a in p.answers])
    if marks is None:
        print(f"(b) and (c) skipped: {EVAL_PYTHON} is missing (make eval-env creates it)")
    record = {
        "clip": clip,
        "name": run_name(clip, args.adapt, args.encoding),
        "video": rf.display_path(args.video),
        "masks": rf.display_path(args.masks),
        "command": command,
        "machine": rf.machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": rf.git_commit(),
        "encoding": args.encoding,
        "adapt": args.adapt,
        "frames": n,
        "held_out_from": min(resend_plan.frames) if resend_plan else None,
        "blazepose": None if marks is None else marks.meta,
        "job": job,
        "constants": {
            "PCK_THRESHOLD": ps.PCK_THRESHOLD,
            "VISIBILITY_MIN": ps.VISIBILITY_MIN,
            "COVER_MIN_SHARE": fs.COVER_MIN_SHARE,
            "HELD_OUT": HELD_OUT,
        },
        "frame_size": list(shape),
        "summary": {p.name: pass_summary(p, marks, gt is not None, shape) for p in passes},
        "per_person": {p.name: [person_record(a, marks) for a in p.answers] for p in passes},
    }
    if len(passes) == 2:
        record["boxes_agreement"] = boxes_agreement(*passes)
    if args.overlays is not None:
        folder = rf.check_overlay_dir(args.overlays)
        frames = dict(frames_at(args.video, first_plan.overlays))
        written = write_overlays(folder, record["name"], frames, passes, faces, marks, gt)
        print(f"{len(written)} overlays in {folder}")
    return record


# -- report ---------------------------------------------------------------------------------------


def run_name(clip: str, adapt: bool, encoding: str) -> str:
    return "-".join([clip] + (["adapt"] if adapt else []) + ([encoding] if encoding != "png" else []))


def fmt(x, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def rows_of(s: dict) -> dict[str, str]:
    """One pass's summary -> the report's cells."""
    cells = {"people answered (frames)": f"{s['people']} ({s['frames']})"}
    cells["box height, median px"] = fmt(s["box_height_px_median"], 0)
    if "masks" in s:
        m = s["masks"]
        cells["(a) mesh IoU vs labelled person, mean (median)"] = f"{fmt(m['mesh_iou'])} ({fmt(m['mesh_iou_median'])})"
        cells["(a) filled box IoU, mean"] = fmt(m["box_iou"])
        cells["(a) people scored (whole boxes)"] = f"{m['people']} ({m['whole_people']})"
        cells["(a) mesh / box IoU, whole boxes only"] = f"{fmt(m['mesh_iou_whole'])} / {fmt(m['box_iou_whole'])}"
    if "pose" in s:
        p, c, t = s["pose"], s["pose"]["clear_of_edge"], s["pose"]["tall"]
        cells["(b) BlazePose found a person in (of boxes)"] = f"{p['blazepose_found']} ({p['boxes']})"
        cells["(b) PCK@0.1, model / fixed skeleton"] = f"{fmt(p['pck_model'])} / {fmt(p['pck_fixed'])}"
        cells["(b) joints counted (visibility > 0.5)"] = str(p["joints_counted"])
        cells["(b) the same, boxes clear of the frame's edge (boxes)"] = (
            f"{fmt(c['pck_model'])} / {fmt(c['pck_fixed'])} ({c['boxes']})"
        )
        cells[f"(b) the same, boxes >= {MIN_PERSON_HEIGHT_PX} px tall (boxes)"] = (
            f"{fmt(t['pck_model'])} / {fmt(t['pck_fixed'])} ({t['boxes']})"
        )
        cells["(b) PCK@0.1, model with left and right swapped"] = fmt(p["pck_model_mirrored"])
        cells["(b) limb joints from the fixed skeleton, box heights: model / BlazePose"] = (
            f"{fmt(p['model_from_fixed'], 3)} / {fmt(p['blazepose_from_fixed'], 3)}"
        )
        cells["(c) PA error mm, model / fixed skeleton"] = f"{fmt(p['pa_mm_model'], 0)} / {fmt(p['pa_mm_fixed'], 0)}"
        cells["(c) the same, boxes clear of the frame's edge"] = (
            f"{fmt(c['pa_mm_model'], 0)} / {fmt(c['pa_mm_fixed'], 0)}"
        )
    cells["model versions answering"] = ", ".join(f"`{v}`" for v in s["model_versions"]) or "n/a"
    return cells


def job_line(job: dict | None) -> str:
    if job is None:
        return ""
    r = job.get("result") or {}
    hb, ha = (r.get(k) or {} for k in ("health_before", "health_after"))
    health = ", ".join(
        f"{k} {hb[k]} -> {ha.get(k)}" if isinstance(hb[k], int) else f"{k} {fmt(hb[k], 3)} -> {fmt(ha.get(k), 3)}"
        for k in hb
        if isinstance(hb[k], int | float)
    )
    cfg = r.get("config") or {}
    return (
        f"`/adapt`: {job['state']}, {cfg.get('iterations', '?')} iterations of {cfg.get('variant', '?')} on "
        f"{r.get('train_crops')} buffered crops in {fmt(r.get('wall_s'), 0)} s; held-out health {health}; "
        f"**activated: {r.get('activated')}**" + (f" ({r['reason']})" if r.get("reason") else "") + ".  "
    )


def markdown_section(record: dict) -> str:
    s = record["summary"]
    phases = list(s)
    cells = {name: rows_of(s[name]) for name in phases}
    labels = list(dict.fromkeys(k for name in phases for k in cells[name]))
    frames = (
        f"Frames: {record['frames']}; scored: the held-out frames {record['held_out_from']}-{record['frames'] - 1}, "
        "before and after `/adapt`."
        if record["adapt"]
        else f"Frames: {record['frames']}; scored: every answered frame (no adaptation)."
    )
    lines = [
        f"## {record['name']} ({Path(record['video']).name}, frames posted as {record['encoding'].upper()})",
        "",
        f"Command: `{record['command']}`  ",
        (
            f"Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores. Date: {record['date']}. "
            f"Commit: `{record['commit']}`.  "
        ),
        frames + "  ",
    ]
    if record["job"] is not None:
        lines.append(job_line(record["job"]))
    if "boxes_agreement" in record:
        a = record["boxes_agreement"]
        lines.append(f"Both passes answered the same boxes on {a['same_boxes']} of {a['frames']} held-out frames.  ")
    if record["blazepose"] is None:
        lines.append("(b) and (c) skipped: `.venv-eval` is missing (`make eval-env`).  ")
    lines += ["", "| figure | " + " | ".join(phases) + " |", "|---|" + "---|" * len(phases)]
    lines += [f"| {k} | " + " | ".join(cells[p].get(k, "n/a") for p in phases) + " |" for k in labels]
    return "\n".join(lines)


def write_doc(record: dict, path: Path) -> None:
    write_section(markdown_section(record), f"real-pose-{record['name']}", path, DOC_HEADER)


# -- CLI ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.real_pose",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("video", type=Path, help="the clip (any format OpenCV reads)")
    ap.add_argument("--masks", type=Path, help="CDnet/SBI ground-truth tar; without it (a) is skipped")
    ap.add_argument("--adapt", action="store_true", help="score the last 30%% before and after /adapt")
    ap.add_argument("--iterations", type=int, default=None, help="/adapt iterations (None: the service's default)")
    ap.add_argument("--encoding", choices=rf.ENCODINGS, default="png", help="how frames are posted")
    ap.add_argument("--frames", type=int, default=None, help="only the first N frames (None: all)")
    ap.add_argument("--out", type=Path, default=DOC, help="markdown report: the run's section is replaced")
    ap.add_argument("--runs", type=Path, default=RUNS, help="folder of the JSON records")
    ap.add_argument("--overlays", type=Path, default=None, help="draw overlays into this folder (outside the repo)")
    ap.add_argument("--overlay-count", type=int, default=OVERLAY_FRAMES, help="with --overlays: how many frames")
    ap.add_argument("--no-doc", action="store_true", help="write the JSON record only")
    args = ap.parse_args(argv)
    if not args.video.is_file():
        ap.error(f"{args.video}: no such file")
    if args.masks is not None and not args.masks.is_file():
        ap.error(f"--masks {args.masks}: no such file")
    if args.frames is not None and args.frames < 1:
        ap.error(f"--frames {args.frames}: at least 1")
    if args.iterations is not None and args.iterations < 1:
        ap.error(f"--iterations {args.iterations}: at least 1")
    if args.overlays is not None:
        rf.check_overlay_dir(args.overlays)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    given = sys.argv[1:] if argv is None else argv
    shown = [rf.display_path(Path(a)) if Path(a).exists() else a for a in given]
    record = benchmark(args, "python -m bench.real_pose " + shlex.join(shown))
    args.runs.mkdir(parents=True, exist_ok=True)
    out = args.runs / f"{record['name']}.json"
    out.write_text(json.dumps(rf.json_ready(record), indent=1))
    if not args.no_doc:
        write_doc(record, args.out)
    print(markdown_section(rf.json_ready(record)))
    print(f"\nrecord: {out}" + ("" if args.no_doc else f"; report section: {args.out}"))
    return record


if __name__ == "__main__":
    main()
