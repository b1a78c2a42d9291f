"""How a regressor checkpoint reads bodies, without the service: real clips and labelled renders (issue 19).

    python -m bench.checkpoint_eval CHECKPOINT [CHECKPOINT ...] [--clips VIDEO ...] [--renders N]
                                    [--style v2+v3] [--section NAME]

For choosing between training runs in minutes, where ``bench.real_pose`` (the real service, one
clip and one model per run) takes a quarter of an hour per clip. The people do not depend on the
model, so they are found once per clip and cached in ``runs/checkpoint_eval/``:

- **Real clips** (default: the two labelled SBI clips, when present, and ``pets-walk.avi``). The
  service's own person finder (``FinderConfig.with_warmup`` with the service's settings) runs over
  every frame; each answered person is cut as the service cuts them (``models.target_data.crops_of``).
  BlazePose runs once on those boxes (``.venv-eval``, as ``bench.real_pose``). Each checkpoint then
  runs in PyTorch on the crops (the same numbers as its ONNX export, up to float rounding) and is
  scored with ``bench.real_pose_data.pass_summary``: (a) mesh IoU against the labelled masks and the
  box's own IoU, (b) PCK@0.1 against BlazePose beside the fixed skeleton, again with each body
  turned round where it faces the other way from BlazePose, and how far apart it draws the
  shoulders and hips against BlazePose (``bench.pose_scores.torso_width_ratio``), (c) PA error. Unlike the
  service, no body is turned round to face its track's walk (``models.heading``): this is the model
  alone.
- **Renders**: N held-out crops of the training style (seed 10,000, the held-out seed of
  ``models.synth.train_source``): MPJPE and PA-MPJPE, 2D PCK@0.1 against the true joints beside the
  fixed skeleton, and the articulation figures of :mod:`bench.articulation` (body-frame error and
  spread against the true spread, the share of bodies turned more than 90 degrees), the shoulders
  and hips apart in the crop against the truth's, and whether it
  reads body shape (:func:`bench.articulation.shape_reading`: its betas' correlation with the
  truth's, and how far their mean sits from the body model's mean).

With ``--fit VARIANT:ITERATIONS`` (repeatable), each checkpoint is scored a second time through
Algorithm 1's per-crop fit (``models.adaptation.fit_parameters``, the CNN frozen, the objective
``VARIANT`` run for ``ITERATIONS`` steps from the checkpoint's answer on each crop's silhouette):
the pseudo-labels adaptation learns from, judged by the same measures. On the labelled clips the
finder's own silhouette is scored against the labelled person too: the ceiling of a mesh fitted
to it. With ``--flip-average``, each checkpoint is also scored as serving answers by default
(``models.flip_average``: the crop and its mirror image, averaged), with and without the fits of
the camera asked for (not with ``--fit``: the fit starts from one answer of the regressor itself);
with ``--align-facing`` too, the halves' facing aligned first (``models.flip_average.facing_as``).

Writes ``runs/checkpoint_eval/<section>.json`` and, with ``--section``, a table to docs/REAL_POSE.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from bench import articulation as art
from bench import footage_io as fio
from bench import pose_scores as ps
from bench.fit_answers import FitSpec, camera_fit_row, camera_fitted, fitted_outputs, limb_fit_row, limb_fitted
from bench.footage_io import EVAL_PYTHON, run_on_boxes
from bench.real_pose_data import Answer, Landmarks, Pass, box_key, pass_summary, score_masks
from bench.report import file_digest, machine, write_section
from models.body_model import load_body_model
from models.crops import in_frame, uncrop_mask
from models.flip_average import FlipAveraged, as_served
from models.health import images_tensor
from models.m2s import project_points
from models.metrics import mpjpe, pa_mpjpe, turned_share
from models.people.finder import FinderConfig, PersonFinder
from models.pose_fit import PoseFitConfig, PoseFitter
from models.regressor import PoseRegressor, load_regressor
from models.silhouette_camera import CameraFitConfig
from models.smpl_file import body_model_data
from models.synth.train_source import body_frame_joints, crop_pool, rotmats
from models.target_data import SILHOUETTE_SIZE, crops_of, shrink_silhouette
from runtime.settings import Settings
from runtime.video import read_frames

ROOT = fio.ROOT
RUNS = ROOT / "runs" / "checkpoint_eval"
DOC = ROOT / "docs" / "REAL_POSE.md"
BLAZEPOSE_SCRIPT = ROOT / "bench" / "blazepose_landmarks.py"
LABELLED = ("sbi_IBMtest2", "sbi_HallAndMonitor")
UNLABELLED = (ROOT.parent / "shared" / "data" / "pets-walk.avi",)
HELD_OUT_SEED = 10_000  # models.synth.train_source's held-out crops
BATCH = 64
FIT_BATCH = 32  # crops fitted together (fit_parameters' cost grows with the batch, its steps do not)
# What the people found on a clip depend on: a change to any of these finds them afresh.
FINDER_SOURCES = ("models/people", "models/crops.py", "models/target_data.py", "models/assets/personness.onnx")


# -- the people of a clip (model-independent, cached) -----------------------------------------------


@dataclass
class ClipPeople:
    """Every person the service's finder answers on a clip, in frame order. frames (N,), track_ids
    (N,), boxes (N, 4) pixels, squares (N, 3) crop squares (cx, cy, side), crops (N, S, S, 3) uint8,
    silhouettes (N, s, s) bool; shape (H, W) of the frames."""

    frames: np.ndarray
    track_ids: np.ndarray
    boxes: np.ndarray
    squares: np.ndarray
    crops: np.ndarray
    silhouettes: np.ndarray
    shape: tuple[int, int]


def finder_key(config: FinderConfig, max_persons: int, image_size: int, past_edge: bool) -> str:
    """A digest of what the people found depend on: the finder's settings and code, the crops."""
    h = hashlib.sha256(f"{config!r} {max_persons} {image_size} {past_edge}".encode())
    for name in FINDER_SOURCES:
        p = ROOT / name
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def find_people(
    video: Path, config: FinderConfig, max_persons: int, image_size: int, past_edge: bool = True
) -> ClipPeople:
    """Run the service's person finder over every frame of ``video`` and cut each answered person (with
    ``past_edge``, a person the frame cuts around the whole of them, as the service's
    ``crop_past_edge`` does)."""
    from tqdm import tqdm

    finder = PersonFinder(config)
    rows: dict[str, list] = {k: [] for k in ("frames", "track_ids", "boxes", "squares", "crops", "silhouettes")}
    shape = (0, 0)
    for t, frame in enumerate(tqdm(read_frames(video), desc=f"people in {video.name}", unit="frame")):
        shape = frame.shape[:2]
        people = finder.apply(frame).people[:max_persons]
        images, sils, squares = crops_of(
            frame,
            [p.blob for p in people],
            image_size,
            SILHOUETTE_SIZE,
            [p.extent for p in people] if past_edge else None,
        )
        for p, im, si, sq in zip(people, images, sils, squares, strict=True):
            rows["frames"].append(t)
            rows["track_ids"].append(p.track_id)
            rows["boxes"].append(p.blob.box)
            rows["squares"].append(sq)
            rows["crops"].append(im)
            rows["silhouettes"].append(si)
    if not rows["frames"]:
        raise ValueError(f"{video}: the finder answered nobody")
    arrays = {k: np.asarray(v) for k, v in rows.items()}
    return ClipPeople(**arrays, shape=(int(shape[0]), int(shape[1])))


def clip_people(video: Path, settings: Settings, image_size: int) -> tuple[ClipPeople, Landmarks | None]:
    """The clip's people and BlazePose's landmarks on their boxes, from the cache where it is current."""
    config = FinderConfig.with_warmup(
        settings.warmup_frames, settings.background_method, settings.person_check, settings.absorbed_people
    )
    key = finder_key(config, settings.max_persons, image_size, settings.crop_past_edge)
    path = RUNS / f"people-{fio.clip_name(video)}-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        people = find_people(video, config, settings.max_persons, image_size, settings.crop_past_edge)
        arrays = {k: getattr(people, k) for k in ClipPeople.__dataclass_fields__ if k != "shape"}
        arrays["shape"] = np.asarray(people.shape)
        if EVAL_PYTHON.exists():
            boxes = [(int(t), [float(v) for v in b]) for t, b in zip(people.frames, people.boxes, strict=True)]
            z = run_on_boxes(BLAZEPOSE_SCRIPT, video, boxes, "BlazePose")
            arrays |= {f"blazepose_{k}": z[k] for k in ("found", "image", "visibility", "world")}
        RUNS.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    shape = arrays.pop("shape")
    people = ClipPeople(**{k: arrays[k] for k in ClipPeople.__dataclass_fields__ if k != "shape"}, shape=tuple(shape))
    if "blazepose_found" not in arrays:
        return people, None
    keys = [box_key(t, b) for t, b in zip(people.frames, people.boxes, strict=True)]
    marks = Landmarks(
        rows={k: i for i, k in enumerate(keys)},
        found=arrays["blazepose_found"],
        image=arrays["blazepose_image"],
        visibility=arrays["blazepose_visibility"],
        world=arrays["blazepose_world"],
        meta={},
    )
    return people, marks


# -- one checkpoint -----------------------------------------------------------------------------------


@torch.no_grad()
def run_regressor(
    regressor: PoseRegressor | FlipAveraged,
    crops: np.ndarray,
    body=None,
    vertices: bool = False,
    fit: FitSpec | None = None,
    silhouettes: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """(N, S, S, 3) uint8 crops -> camera (N, 3), joints (N, 24, 3), root (N, 3, 3), eval_joints
    (N, 14, 3), betas (N, 10), joints_uv (N, 24, 2) in crop coordinates; with ``vertices``,
    vertices_uv (N, V, 2), vertices (N, V, 3) and pose (N, 72) too; with ``body``, body_frame (N, 24, 3):
    the joints with the root removed. With ``fit``, the answers after that fit on ``silhouettes``
    (N, s, s) bool."""
    regressor.eval()
    if fit is not None and silhouettes is None:
        raise ValueError("a fit needs the crops' silhouettes")
    if fit is not None and not isinstance(regressor, PoseRegressor):
        raise ValueError(f"a fit starts from the regressor itself, not from {type(regressor).__name__}")
    out: dict[str, list[np.ndarray]] = {}
    step = BATCH if fit is None else FIT_BATCH
    for s in range(0, len(crops), step):
        images = images_tensor(crops[s : s + step])
        o = regressor(images) if fit is None else fitted_outputs(regressor, images, silhouettes[s : s + step], fit)
        got = {"camera": o.camera, "joints": o.joints, "root": o.rotmats[:, 0], "eval_joints": o.eval_joints}
        got["betas"] = o.betas
        got["joints_uv"] = project_points(o.joints, o.camera)
        if vertices:
            got |= {"vertices_uv": project_points(o.vertices, o.camera), "vertices": o.vertices}
            got["pose"] = o.pose
        if body is not None:
            got["body_frame"] = body_frame_joints(body, o.betas, o.rotmats)
        for k, v in got.items():
            out.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def score_clip(
    regressor: PoseRegressor | FlipAveraged,
    people: ClipPeople,
    marks: Landmarks | None,
    gt: fio.GroundTruth | None,
    faces: np.ndarray,
    fit: FitSpec | None = None,
    camera_fit: CameraFitConfig | None = None,
    limbs: PoseFitter | None = None,
) -> dict:
    """The checkpoint's figures on one clip's people (bench.real_pose_data.pass_summary), after
    ``fit`` where given, with the camera fitted to the silhouettes as served where ``camera_fit``,
    and then the limbs where ``limbs``."""
    vertices = gt is not None or camera_fit is not None or limbs is not None
    out = run_regressor(regressor, people.crops, vertices=vertices, fit=fit, silhouettes=people.silhouettes)
    size = people.silhouettes.shape[1]
    visible = [in_frame(tuple(sq), people.shape, size) for sq in people.squares]
    if camera_fit is not None:
        out = camera_fitted(out, people.silhouettes, faces, camera_fit, visible)
    if limbs is not None:
        out = limb_fitted(out, people.silhouettes, regressor.body, limbs, visible)
    j2d = ps.from_crop(out["joints_uv"], people.squares)
    answers = [
        Answer(
            frame=int(t),
            track_id=int(people.track_ids[i]),
            box=people.boxes[i].astype(np.float64),
            square=people.squares[i].astype(np.float64),
            camera=out["camera"][i].astype(np.float64),
            joints_2d=j2d[i],
            joints_3d=out["joints"][i].astype(np.float64),
            model_version="checkpoint",
        )
        for i, t in enumerate(people.frames)
    ]
    frames = sorted(set(people.frames.tolist()))
    for t in frames:
        if gt is not None and gt.scored_frame(t):
            idx = np.flatnonzero(people.frames == t)
            meshes = ps.from_crop(out["vertices_uv"][idx], people.squares[idx])
            sils = [uncrop_mask(people.silhouettes[i], people.squares[i], people.shape) for i in idx]
            score_masks([answers[i] for i in idx], list(meshes), gt.masks[t], faces, sils)
    return pass_summary(Pass("checkpoint", answers, frames), marks, gt is not None, people.shape)


def score_renders(
    regressor: PoseRegressor | FlipAveraged,
    data: dict[str, np.ndarray],
    body,
    fit: FitSpec | None = None,
    camera_fit: CameraFitConfig | None = None,
    limbs: PoseFitter | None = None,
) -> dict:
    """The checkpoint's figures on labelled renders (see the module's docstring), after ``fit`` on
    the rendered masks where given, with the camera fitted to them where ``camera_fit``, and then
    the limbs where ``limbs``."""
    sils = np.stack([shrink_silhouette(m) for m in data["masks"]])
    fitted = camera_fit is not None or limbs is not None
    out = run_regressor(regressor, data["images"], body, vertices=fitted, fit=fit, silhouettes=sils)
    if camera_fit is not None:
        out = camera_fitted(out, sils, np.asarray(body.faces, np.int64), camera_fit)
    if limbs is not None:
        out = limb_fitted(out, sils, body, limbs)
    true_rot = rotmats(data["pose"])
    with torch.no_grad():
        true_body = body_frame_joints(body, torch.as_tensor(data["betas"]), true_rot).numpy()
    pred_eval, true_eval = torch.as_tensor(out["eval_joints"]), torch.as_tensor(data["eval_joints"])
    heights = art.mask_heights(data["masks"])
    pred2d = ps.smpl_limbs(out["joints_uv"])
    true2d = ps.smpl_limbs(data["joints_2d"])
    fixed2d = np.broadcast_to(pred2d.mean(0, keepdims=True), pred2d.shape)  # its own mean pose, in the crop
    heading = art.heading_error_deg(out["root"], true_rot[:, 0].numpy())
    shape_corr, shape_bias = art.shape_reading(out["betas"], data["betas"][:, : out["betas"].shape[1]])
    return {
        "crops": len(data["images"]),
        "mpjpe_mm": mpjpe(pred_eval, true_eval).mean().item(),
        "pa_mpjpe_mm": pa_mpjpe(pred_eval, true_eval).mean().item(),
        "pck_model": ps.rate(*art.render_pck(pred2d, true2d, heights)),
        "pck_fixed": ps.rate(*art.render_pck(fixed2d, true2d, heights)),
        "body_frame_error_mm": art.body_frame_error(out["body_frame"], true_body),
        "spread_model_mm": art.articulation_spread(out["body_frame"]),
        "spread_truth_mm": art.articulation_spread(true_body),
        "heading_wrong_share": turned_share(heading),
        "torso_width": ps.torso_width_ratio(pred2d, true2d, np.ones(true2d.shape[:2], bool)),
        "shape_corr": shape_corr,
        "shape_bias": shape_bias,
    }


# -- the command ----------------------------------------------------------------------------------------


def default_clips() -> list[Path]:
    labelled = [fio.DATA_DIR / f"{name}.avi" for name in LABELLED]
    return [p for p in (*labelled, *UNLABELLED) if p.exists()]


def ground_truth(video: Path) -> fio.GroundTruth | None:
    tar = video.with_name(f"{video.stem}_groundtruth.tar")
    return fio.read_ground_truth(tar) if tar.exists() else None


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def markdown(record: dict) -> str:
    lines = [
        f"### Checkpoints compared: {record['section']} ({record['date']})",
        "",
        f"`{record['command']}`; {record['machine']}; commit {record['commit']}. Real clips: the service's",
        "finder and crops, the model alone (no turning round to the track's walk); PCK@0.1 against BlazePose,",
        "model / fixed skeleton; mesh IoU / the box's own IoU / the finder's silhouette's IoU against the",
        f"labelled masks. Renders: held-out crops of style {record['style']} (seed {HELD_OUT_SEED}). A row",
        "named `+ fit V:N` is the checkpoint after Algorithm 1's per-crop fit (objective V, N steps); `+ camera fit`",
        "has the served camera fitted to the finder's silhouette (renders: to the rendered mask); `+ flip` answers",
        "each crop flip averaged, as served (models.flip_average); `+ flip aligned`, its halves' facing aligned first.",
        "",
        "| checkpoint | clip | people (BlazePose found) | PCK model / fixed | PCK facing as BlazePose "
        "| shoulders and hips apart / BlazePose's | PA mm model / fixed | IoU mesh / box / silhouette |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ck in record["checkpoints"]:
        for clip, s in ck["clips"].items():
            pose, masks = s.get("pose", {}), s.get("masks", {})
            lines.append(
                f"| {ck['name']} | {clip} | {s['people']} ({pose.get('blazepose_found', '-')}) "
                f"| {fmt(pose.get('pck_model'))} / {fmt(pose.get('pck_fixed'))} "
                f"| {fmt(pose.get('pck_model_facing_as_blazepose'))} | {fmt(pose.get('torso_width_model'))} "
                f"| {fmt(pose.get('pa_mm_model'), 0)} / {fmt(pose.get('pa_mm_fixed'), 0)} "
                f"| {fmt(masks.get('mesh_iou'))} / {fmt(masks.get('box_iou'))} / {fmt(masks.get('silhouette_iou'))} |"
            )
    lines += [
        "",
        "| checkpoint | renders | MPJPE / PA mm | 2D PCK model / fixed | body-frame error mm | spread model / truth mm "
        "| turned > 90° | shoulders and hips apart / truth's | shape: corr / largest mean beta |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ck in record["checkpoints"]:
        r = ck.get("renders")
        if r:
            lines.append(
                f"| {ck['name']} | {r['crops']} | {r['mpjpe_mm']:.0f} / {r['pa_mpjpe_mm']:.0f} "
                f"| {r['pck_model']:.2f} / {r['pck_fixed']:.2f} | {r['body_frame_error_mm']:.0f} "
                f"| {r['spread_model_mm']:.0f} / {r['spread_truth_mm']:.0f} | {100 * r['heading_wrong_share']:.0f}% "
                f"| {fmt(r.get('torso_width'))} | {fmt(r.get('shape_corr'))} / {fmt(r.get('shape_bias'), 1)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="score regressor checkpoints on real clips and labelled renders")
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument(
        "--clips", nargs="*", type=Path, default=None, help="videos (default: the labelled SBI clips and pets-walk)"
    )
    ap.add_argument("--renders", type=int, default=500, help="held-out render crops (0: none)")
    ap.add_argument(
        "--style", default="v2+v3", help="the renders' style (models.synth.source_data.SOURCE_STYLES, or a mix)"
    )
    ap.add_argument("--section", default=None, help="write the table to docs/REAL_POSE.md under this name")
    ap.add_argument(
        "--fit",
        action="append",
        default=[],
        metavar="VARIANT:ITERATIONS",
        help="also score each checkpoint after Algorithm 1's per-crop fit (repeatable; e.g. ours:10)",
    )
    ap.add_argument(
        "--flip-average",
        action="store_true",
        help="also score each checkpoint with flip averaging, as served (models.flip_average)",
    )
    ap.add_argument(
        "--align-facing",
        action="store_true",
        help="with --flip-average, turn the mirror image's answer round where that brings it nearer the crop's "
        "own before averaging (models.flip_average.facing_as), as served for checkpoints that commit to one "
        "facing (RegressorConfig.commits_facing) whatever this says",
    )
    ap.add_argument(
        "--camera-fit",
        action="append",
        nargs="?",
        const="{}",
        default=[],
        metavar="JSON",
        help="also score each row with the camera fitted to the silhouette as served (repeatable; a JSON "
        "object sets models.silhouette_camera.CameraFitConfig's fields, e.g. '{\"max_shift\": 0.15}')",
    )
    ap.add_argument(
        "--limb-fit",
        action="append",
        nargs="?",
        const="{}",
        default=[],
        metavar="JSON",
        help="also score each row with the served camera fit and then the limbs fitted to the silhouette "
        "(repeatable; a JSON object sets models.pose_fit.PoseFitConfig's fields, e.g. '{\"prior\": 50}')",
    )
    args = ap.parse_args(argv)
    try:
        fits: list[FitSpec | None] = [None, *(FitSpec.parse(f) for f in args.fit)]
        cameras: list[tuple[str, CameraFitConfig | None, PoseFitConfig | None]] = [
            ("", None, None),
            *((name, config, None) for name, config in map(camera_fit_row, args.camera_fit)),
            *((" + camera fit" + name, CameraFitConfig(), config) for name, config in map(limb_fit_row, args.limb_fit)),
        ]
    except ValueError as e:
        raise SystemExit(str(e)) from e
    for ck in args.checkpoints:
        if not ck.exists():
            raise SystemExit(f"no checkpoint at {ck}")
    clips = default_clips() if args.clips is None else args.clips
    settings = Settings()
    body = load_body_model()
    faces = np.asarray(body.faces, np.int64)
    regressors = {ck: load_regressor(ck, body) for ck in args.checkpoints}
    sizes = {r.config.image_size for r in regressors.values()}
    RUNS.mkdir(parents=True, exist_ok=True)
    try:  # rendered before the clips are scored: a style whose photographs are missing fails now, not an hour in
        pools = (
            {s: crop_pool(RUNS / "renders.pt", s, HELD_OUT_SEED, args.renders, args.style) for s in sizes}
            if args.renders
            else {}
        )
    except ValueError as e:
        raise SystemExit(str(e)) from e
    clip_data = {
        (video, size): (*clip_people(video, settings, size), ground_truth(video)) for video in clips for size in sizes
    }
    record: dict = {
        "section": args.section or "unnamed",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.checkpoint_eval " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": machine("cpu"),
        "commit": fio.git_commit(),
        "style": args.style,
        "checkpoints": [],
    }
    flips = [False, True] if args.flip_average else [False]
    rows = (
        (item, fit, cam, flip)
        for item in regressors.items()
        for flip in flips
        for fit in fits
        for cam in cameras
        if not (flip and fit is not None)
    )
    data = body_model_data(None)  # the open body, as load_body_model() above
    for (ck, plain), fit, (camera_name, camera_fit, limb_fit), flip in rows:
        regressor = as_served(plain, flip, True if args.align_facing else None)
        limbs = None if limb_fit is None else PoseFitter.of(data, limb_fit)
        size = regressor.config.image_size
        aligned = isinstance(regressor, FlipAveraged) and regressor.align_facing
        flip_name = (" + flip aligned" if aligned else " + flip") if flip else ""
        name = (ck.name if fit is None else f"{ck.name} + fit {fit.name}") + flip_name + camera_name
        entry: dict = {"name": name, "path": fio.display_path(ck), "sha256": file_digest(ck), "clips": {}}
        for video in clips:
            people, marks, gt = clip_data[(video, size)]
            entry["clips"][fio.clip_name(video)] = score_clip(
                regressor, people, marks, gt, faces, fit, camera_fit, limbs
            )
        if args.renders:
            entry["renders"] = score_renders(regressor, pools[size], body, fit, camera_fit, limbs)
        record["checkpoints"].append(entry)
    (RUNS / f"{record['section']}.json").write_text(json.dumps(fio.json_ready(record), indent=1))
    text = markdown(record)
    if args.section:
        write_section(text, f"checkpoint-eval-{args.section}", DOC, DOC.read_text().split("\n", 1)[0] + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
