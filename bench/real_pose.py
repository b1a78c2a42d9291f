"""How well the served meshes follow real bodies, before and after /adapt (issue 19, part 1).

    python -m bench.real_pose VIDEO [--masks TAR] [--truth NPZ] [--adapt [--variant V] [--options JSON]] [--iterations N] [--overlays DIR]

Starts the real service as ``bench.real_footage`` does (uvicorn in a subprocess, embedded mode, a
temporary artifact directory) and posts the clip's frames in order to ``/v1/sites/{site}/pose``.

- Without ``--adapt`` every frame goes with ``buffer=false`` and every answered frame is scored.
- With ``--adapt`` the first 70% of the frames go with ``buffer=true`` (they fill the site's buffer)
  and the last 30% with ``buffer=false``: those held-out frames are scored *before*. Then
  ``POST /v1/sites/{site}/adapt`` (its progress printed), and the held-out frames are sent again,
  led in by the ``LEAD_IN`` frames before them (unscored: tracks and their walks are read again, as
  in the first pass), and scored *after*, on whatever model the health gate left serving (the
  record says which).

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

With ``--truth`` (a clip rendered by :mod:`models.synth.hard_cases`, its ``joints.npz``), also PCK@0.1
against the true joints, model beside the fixed skeleton, and BlazePose's own: footage of the kinds
the issue names but this project has no real clip of (exercise, a slow form, large people), and a
check of the referee.

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
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from bench import footage_scores as fs
from bench import pose_scores as ps
from bench import real_footage as rf
from bench.footage_io import EVAL_PYTHON, run_on_boxes
from bench.footage_service import given_settings
from bench.real_pose_data import (
    HELD_OUT,
    LEAD_IN,
    Answer,
    Landmarks,
    Pass,
    Plan,
    boxes_agreement,
    pass_summary,
    person_answer,
    person_record,
    plans,
    score_masks,
)
from bench.real_pose_report import REFUSED, markdown_section, write_doc, write_overlays
from models.synth.hard_cases import read_joints
from runtime.video import read_frames
from service.overlay import mesh_pixels
from service.schemas import Vertices

log = logging.getLogger(__name__)

ROOT = rf.ROOT
RUNS = ROOT / "runs" / "real_pose"
DOC = ROOT / "docs" / "REAL_POSE.md"
BLAZEPOSE_SCRIPT = ROOT / "bench" / "blazepose_landmarks.py"
JOB_POLL_S = 1.0
JOB_TIMEOUT_S = 3600.0
SERVING_TIMEOUT_S = 120.0
TERMINAL_STATES = ("succeeded", "failed", "cancelled")
OVERLAY_FRAMES = 4


# -- sending frames -----------------------------------------------------------------------------------


def post_pose(client: httpx.Client, site: str, data: bytes, encoding: str, buffer: bool, vertices: bool) -> dict:
    params = {"buffer": str(buffer).lower(), "vertices": str(vertices).lower()}
    r = client.post(
        f"/v1/sites/{site}/pose", params=params, content=data, headers={"content-type": f"image/{encoding}"}
    )
    r.raise_for_status()
    return r.json()


def frames_at(video: Path, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, (H, W, 3) RGB frame) for the wanted frame indices, in order, reading the video once."""
    last = max(wanted, default=-1)
    for t, frame in enumerate(read_frames(video, last + 1)):
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
    # The factor the service reads off the site's frames (models.detail), for PCK by pixels of detail.
    out.detail_factor = client.get(f"/v1/sites/{site}").json().get("detail_factor")
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


def adapt_site(
    client: httpx.Client, site: str, iterations: int | None, variant: str | None = None, options: dict | None = None
) -> dict:
    """POST /adapt (with ``options``: more of its fields, e.g. {"w_root": 1.0}), follow the job, and
    wait until the version the gate activated (if any) serves."""
    body = dict(options or {})
    if iterations is not None:
        body["iterations"] = iterations
    if variant is not None:
        body["variant"] = variant
    r = client.post(f"/v1/sites/{site}/adapt", json=body)
    if 400 <= r.status_code < 500:  # the service's reason (too few crops, a bad field): a result, not a crash
        print(f"/adapt refused ({r.status_code}): {r.text}; the held-out frames are scored before only", flush=True)
        return {"state": REFUSED, "status_code": r.status_code, "detail": r.json().get("detail", r.text)}
    if r.status_code not in (200, 202):
        raise RuntimeError(f"/adapt failed ({r.status_code}): {r.text}")
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


def blazepose(video: Path, answers: list[Answer]) -> Landmarks | None:
    """Run bench/blazepose_landmarks.py in .venv-eval on every distinct box; None if .venv-eval is missing."""
    if not EVAL_PYTHON.exists():
        return None
    keys = sorted({a.key for a in answers})
    z = run_on_boxes(BLAZEPOSE_SCRIPT, video, [(k[0], list(k[1:])) for k in keys], "BlazePose")
    return Landmarks(
        rows={k: i for i, k in enumerate(keys)},
        found=z["found"],
        image=z["image"],
        visibility=z["visibility"],
        world=z["world"],
        meta=json.loads(str(z["meta"])),
    )


# -- the run --------------------------------------------------------------------------------------


def run_name(clip: str, adapt: bool, encoding: str, variant: str | None = None, tag: str | None = None) -> str:
    parts = [clip] + (["adapt"] if adapt else []) + ([variant] if variant else [])
    return "-".join(parts + ([encoding] if encoding != "png" else []) + ([tag] if tag else []))


def benchmark(args: argparse.Namespace, command: str) -> dict:
    from runtime.settings import Settings

    warmup = Settings().warmup_frames
    gt = rf.read_ground_truth(args.masks) if args.masks else None
    truth = read_joints(args.truth) if args.truth else None
    clip = rf.clip_name(args.video)
    n, shape = 0, (0, 0)
    for frame in read_frames(args.video, args.frames):
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
            job = adapt_site(client, clip, args.iterations, args.variant, args.options)
            if job["state"] != REFUSED:
                passes.append(run_pass(client, clip, args.video, resend_plan, "after", gt, faces, args.encoding))
    marks = blazepose(args.video, [a for p in passes for a in p.answers])
    if marks is None:
        print(f"(b) and (c) skipped: {EVAL_PYTHON} is missing (make eval-env creates it)")
    record = {
        "clip": clip,
        "name": run_name(clip, args.adapt, args.encoding, args.variant, args.tag),
        "source_checkpoint": rf.display_path(Settings().source_checkpoint),
        "variant": args.variant,
        "adapt_options": args.options,
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
            "LEAD_IN": LEAD_IN,
        },
        "frame_size": list(shape),
        "truth": rf.display_path(args.truth),
        "summary": {p.name: pass_summary(p, marks, gt is not None, shape, truth) for p in passes},
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


# -- CLI ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.real_pose",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("video", type=Path, help="the clip (any format OpenCV reads)")
    ap.add_argument("--masks", type=Path, help="CDnet/SBI ground-truth tar; without it (a) is skipped")
    ap.add_argument(
        "--truth",
        type=Path,
        help="a rendered clip's true joints (models.synth.hard_cases' joints.npz): PCK against them",
    )
    ap.add_argument("--adapt", action="store_true", help="score the last 30%% before and after /adapt")
    ap.add_argument("--iterations", type=int, default=None, help="/adapt iterations (None: the service's default)")
    ap.add_argument("--variant", default=None, help="/adapt's objective (ours, b2, ...; None: the service's default)")
    ap.add_argument(
        "--options",
        type=json.loads,
        default=None,
        help="more /adapt fields as JSON, e.g. '{\"w_root\": 1.0}' (name the run with --tag)",
    )
    ap.add_argument("--tag", default=None, help="appended to the run's name (e.g. the source model: v3)")
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
    if args.truth is not None and not args.truth.is_file():
        ap.error(f"--truth {args.truth}: no such file")
    if args.frames is not None and args.frames < 1:
        ap.error(f"--frames {args.frames}: at least 1")
    if args.iterations is not None and args.iterations < 1:
        ap.error(f"--iterations {args.iterations}: at least 1")
    if args.options is not None and (not isinstance(args.options, dict) or not args.adapt):
        ap.error(f"--options {args.options!r}: a JSON object of /adapt fields, with --adapt")
    if args.overlays is not None:
        rf.check_overlay_dir(args.overlays)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    given = sys.argv[1:] if argv is None else argv
    shown = [rf.display_path(Path(a)) if Path(a).exists() else a for a in given]
    record = benchmark(args, given_settings() + "python -m bench.real_pose " + shlex.join(shown))
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
