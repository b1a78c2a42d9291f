"""Person finding on real footage, through the real service over HTTP (issue 18).

    python -m bench.real_footage VIDEO [--masks TAR] [--out docs/REAL_FOOTAGE.md] [--frames N] [--overlays DIR]

Starts the service under uvicorn in a subprocess (embedded mode, no Redis, a temporary artifact
directory), posts every frame of VIDEO as a lossless PNG (or, with ``--encoding jpeg``, as JPEG) to
``/v1/sites/{site}/pose?vertices=false&buffer=false`` in order, and scores the boxes of the answers
against the labelled people of TAR (CDnet / SBI layout: ``groundtruth/gt%06d.png`` for frame i,
counted from 0; 0 background, 255 foreground, 170 uncertain).
The person figures come from the HTTP answers only. The API returns no mask, so foreground
precision and recall are measured on the masks of an in-process ``models.people.finder.PersonFinder``
fed the same frames in the same order (:func:`in_process_finder`); the report says on how many frames
its blobs equal the boxes the service returned. Frames the service answers ``warming_up`` are
reported apart and left out of the main figures. Without ``--masks`` only boxes per frame and
latency are reported.

Writes ``runs/real_footage/<clip>.json`` (every figure and every frame's boxes) and the clip's section
of ``--out``. ``--overlays DIR`` draws the labelled people and the returned boxes on some frames, for a
person to check the matching; the labelled clips may not be copied into the repository, so DIR must lie
outside it. The scores themselves are in :mod:`bench.footage_scores`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import cv2
import httpx
import numpy as np

from bench import footage_scores as fs
from bench.report import write_section
from models.people.finder import FinderConfig, PersonFinder
from models.people.foreground import Subtractor

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "real"
RUNS = ROOT / "runs" / "real_footage"
DOC = ROOT / "docs" / "REAL_FOOTAGE.md"
DOC_HEADER = "# Person finding on real footage\n\nEach clip's section is written by the command it names.\n"
GT_NAME = "groundtruth/gt{:06d}.png"
POSE_PARAMS = {"vertices": "false", "buffer": "false"}
ENCODINGS = ("png", "jpeg")
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LATENCY_PERCENTILES = (50, 95)
OVERLAY_SCALE = 2
BOX_COLOURS = {"whole": (60, 200, 60), "fragment": (255, 160, 0), "non_person": (255, 0, 255), "false": (255, 40, 40)}
PERSON_COLOUR = (255, 255, 0)


# -- inputs -----------------------------------------------------------------------------------------


def read_frames(video: Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """The frames of a video in order, each (H, W, 3) RGB uint8; at most ``limit``."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise ValueError(f"{video}: not a readable video")
    try:
        n = 0
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def frame_count(video: Path) -> int:
    """The number of frames a video's header declares (0 when it declares none)."""
    cap = cv2.VideoCapture(str(video))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        cap.release()


@dataclass
class GroundTruth:
    """The masks of a CDnet / SBI tar: masks[i] is frame i's (H, W) uint8 mask. CDnet's optional
    ROI.bmp (0: outside, set to 85 in every mask) and temporalROI.txt (first and last frame scored)
    are applied when the tar holds them."""

    masks: dict[int, np.ndarray]
    temporal_roi: tuple[int, int] | None

    def scored_frame(self, index: int) -> bool:
        if index not in self.masks:
            return False
        return self.temporal_roi is None or self.temporal_roi[0] <= index <= self.temporal_roi[1]


def decode_mask(data: bytes, name: str) -> np.ndarray:
    """PNG bytes of a mask (grey, or three equal channels) -> (H, W) uint8."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{name}: not a readable image")
    if img.ndim == 3:
        if not (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])):
            raise ValueError(f"{name}: a mask's channels differ")
        img = img[..., 0]
    return img


def read_ground_truth(tar_path: Path) -> GroundTruth:
    """A CDnet / SBI ground-truth tar -> :class:`GroundTruth` (masks checked by footage_scores.check_gt)."""
    masks: dict[int, np.ndarray] = {}
    roi, temporal = None, None
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            base = Path(member.name).name
            data = tar.extractfile(member).read()
            if base.startswith("gt") and base.endswith(".png") and base[2:-4].isdigit():
                masks[int(base[2:-4])] = fs.check_gt(decode_mask(data, member.name))
            elif base == "ROI.bmp":
                roi = decode_mask(data, member.name) > 0
            elif base == "temporalROI.txt":
                first, last = (int(v) for v in data.decode().split()[:2])
                temporal = (first, last)
    if not masks:
        raise ValueError(f"{tar_path}: no {GT_NAME.format(0)}-style masks in it")
    if roi is not None:
        for i, m in masks.items():
            if m.shape != roi.shape:
                raise ValueError(f"{tar_path}: ROI.bmp is {roi.shape}, mask {i} is {m.shape}")
            masks[i] = np.where(roi, m, fs.GT_OUTSIDE_ROI).astype(np.uint8)
    return GroundTruth(masks=masks, temporal_roi=temporal)


# -- the service ------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(artifacts: Path, warmup_frames: int, method: str = "mog2") -> dict[str, str]:
    """The environment of the service process: embedded mode (no Redis, no API key), CPU ONNX provider."""
    env = {k: v for k, v in os.environ.items() if k not in ("SILHOUETTE_REDIS_URL", "SILHOUETTE_API_KEY")}
    env.update(
        {
            "SILHOUETTE_ARTIFACT_DIR": str(artifacts),
            "SILHOUETTE_WARMUP_FRAMES": str(warmup_frames),
            "SILHOUETTE_BACKGROUND_METHOD": method,
            "SILHOUETTE_REQUIRE_API_KEY": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@contextmanager
def running_service(warmup_frames: int, artifacts: Path | None = None, method: str = "mog2") -> Iterator[str]:
    """``uvicorn service.app:create_app --factory`` in a subprocess on a free local port; yields its
    URL once /readyz answers 200, and stops it on the way out."""
    with tempfile.TemporaryDirectory(prefix="real-footage-") as tmp:
        artifacts = artifacts or Path(tmp) / "artifacts"
        port = free_port()
        log_path = Path(tmp) / "service.log"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with open(log_path, "wb") as service_log:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=service_env(artifacts, warmup_frames, method),
                stdout=service_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc, log_path)
            log.info("service ready at %s (pid %d)", url, proc.pid)
            yield url
        finally:
            stop(proc)


def wait_ready(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the service was not ready in {READY_TIMEOUT_S:.0f} s: {log_path.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def encode_frame(frame: np.ndarray, encoding: str) -> tuple[bytes, np.ndarray]:
    """(H, W, 3) RGB uint8 -> (the bytes to post, the (H, W, 3) frame the service will decode from them).
    PNG is lossless (the two frames are equal); JPEG is what a camera sends (quality as service.demo sends)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding {encoding!r} is none of {ENCODINGS}")
    if encoding == "jpeg":
        from service.imaging import encode_jpeg

        data = encode_jpeg(frame)
        return data, cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"frame of shape {frame.shape} could not be encoded as PNG")
    return buf.tobytes(), frame


def post_frame(client: httpx.Client, site: str, data: bytes, encoding: str) -> tuple[dict, float]:
    """One encoded frame to /pose -> (the JSON answer, the round trip in ms)."""
    t = time.perf_counter()
    r = client.post(
        f"/v1/sites/{site}/pose", params=POSE_PARAMS, content=data, headers={"content-type": f"image/{encoding}"}
    )
    ms = 1000 * (time.perf_counter() - t)
    r.raise_for_status()
    return r.json(), ms


# -- the mask source --------------------------------------------------------------------------------


@dataclass
class Segmentation:
    """What the pipeline segments in one frame: foreground (H, W) bool (MOG2, cleaned up), blobs
    (H, W) bool (the person-sized blobs only, what crops are cut from) and the blobs' boxes (B, 4)."""

    foreground: np.ndarray
    blobs: np.ndarray
    boxes: np.ndarray


MaskSource = Callable[[np.ndarray], Segmentation]


def in_process_finder(warmup_frames: int, max_persons: int, method: Subtractor = "mog2") -> MaskSource:
    """The service's own person finder (``models.people.finder.PersonFinder``, configured as
    ``service.core`` configures it) run in this process: call it on the frames in the order they
    were posted. The service returns no masks; swap this source out if it ever does."""
    finder = PersonFinder(FinderConfig.with_warmup(warmup_frames, method))

    def segment(frame: np.ndarray) -> Segmentation:
        found = finder.apply(frame)
        h, w = frame.shape[:2]
        fg = cv2.resize(found.foreground.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        people = found.people[:max_persons]
        union = np.zeros((h, w), bool)
        for p in people:
            union |= p.blob.mask
        return Segmentation(foreground=fg, blobs=union, boxes=fs.as_boxes([p.blob.box for p in people]))

    return segment


# -- one clip ---------------------------------------------------------------------------------------


@dataclass
class FrameRecord:
    index: int
    warming_up: bool
    boxes: list[list[float]]
    track_ids: list[int | None]
    latency_ms: float
    server_ms: float
    boxes_agree: bool  # the in-process blobs' boxes equal the service's
    foreground_share: float  # of the frame, in the in-process MOG2 mask
    fg_counts: dict[str, tuple[int, int, int]] | None = None  # mask name -> (tp, fp, fn)
    counts: dict[str, int] | None = None
    person_tracks: list[int] | None = None
    matched_ids: list[int | None] | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def boxes_equal(a: np.ndarray, b: np.ndarray, tol: float = 1e-3) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol))


class ClipScorer:
    """Scores the frames of one clip in order (the ground-truth tracks run across frames)."""

    def __init__(self, gt: GroundTruth | None):
        self.gt = gt
        self._prev_people: list[fs.LabelledPerson] = []
        self._prev_ids: list[int] = []
        self._next_id = 0

    def score(self, rec: FrameRecord, seg: Segmentation) -> FrameRecord:
        if self.gt is None or not self.gt.scored_frame(rec.index):
            return rec
        mask = self.gt.masks[rec.index]
        if mask.shape != seg.foreground.shape:
            raise ValueError(f"frame {rec.index}: mask {mask.shape} vs frame {seg.foreground.shape}")
        rec.fg_counts = {
            "mog2": fs.foreground_counts(seg.foreground, mask),
            "blobs": fs.foreground_counts(seg.blobs, mask),
        }
        people = fs.label_people(mask)
        match = fs.match_boxes(rec.boxes, people, mask)
        rec.counts = match.counts()
        ids, self._next_id = fs.link_people(self._prev_people, self._prev_ids, people, self._next_id)
        self._prev_people, self._prev_ids = people, ids
        rec.person_tracks = ids
        rec.matched_ids = fs.person_track_matches(match, rec.track_ids)
        return rec


def run_clip(
    url: str,
    video: Path,
    site: str,
    scorer: ClipScorer,
    source: MaskSource,
    limit: int | None,
    on_frame: Callable[[int, np.ndarray, FrameRecord], None] | None = None,
    encoding: str = "png",
) -> list[FrameRecord]:
    """Post every frame of ``video`` to the service in order (PNG or JPEG) and score each answer; the
    mask source sees each frame as the service decodes it."""
    from tqdm import tqdm

    total = frame_count(video)
    total = min(total, limit) if limit else total
    records = []
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        for t, frame in enumerate(tqdm(read_frames(video, limit), total=total or None, desc=video.stem, unit="frame")):
            data, frame = encode_frame(frame, encoding)
            answer, ms = post_frame(client, site, data, encoding)
            if answer["frame_index"] != t:
                raise RuntimeError(f"the service counted frame {t} as {answer['frame_index']}: was the site fresh?")
            seg = source(frame)
            boxes = fs.as_boxes([p["box"] for p in answer["persons"]])
            rec = FrameRecord(
                index=t,
                warming_up=bool(answer["warming_up"]),
                boxes=boxes.tolist(),
                track_ids=fs.box_track_ids(answer["persons"]),
                latency_ms=ms,
                server_ms=float(answer["timings_ms"].get("total_ms", float("nan"))),
                boxes_agree=boxes_equal(boxes, seg.boxes),
                foreground_share=float(seg.foreground.mean()),
            )
            records.append(scorer.score(rec, seg))
            if on_frame is not None:
                on_frame(t, frame, rec)
    return records


# -- summary ----------------------------------------------------------------------------------------


def foreground_summary(records: list[FrameRecord], name: str) -> dict:
    tp, fp, fn = (int(sum(r.fg_counts[name][k] for r in records)) for k in range(3))
    p, r, f = fs.precision_recall_f(tp, fp, fn)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f_measure": f}


def id_switch_summary(records: list[FrameRecord]) -> int | str:
    """Track identity switches over the scored frames, or "n/a" when the answers carry no track_id."""
    if not any(i is not None for r in records for i in r.track_ids):
        return "n/a"
    return fs.count_id_switches([r.person_tracks for r in records], [r.matched_ids for r in records])


def phase_summary(records: list[FrameRecord]) -> dict:
    """Every figure over a set of frames: boxes per frame always; the scores where frames are labelled."""
    boxes = [len(r.boxes) for r in records]
    shares = [r.foreground_share for r in records]
    out: dict = {
        "frames": len(records),
        "boxes": int(sum(boxes)),
        "foreground_share_mean": float(np.mean(shares)) if shares else float("nan"),
        "foreground_share_max": float(np.max(shares)) if shares else float("nan"),
        "boxes_per_frame": float(np.mean(boxes)) if boxes else float("nan"),
        "boxes_per_frame_histogram": np.bincount(boxes).tolist() if boxes else [],
    }
    scored = [r for r in records if r.counts is not None]
    out["labelled_frames"] = len(scored)
    if scored:
        out["foreground"] = {name: foreground_summary(scored, name) for name in ("mog2", "blobs")}
        out["persons"] = fs.summarise([r.counts for r in scored])
        out["track_id_switches"] = id_switch_summary(scored)
    return out


def latency_summary(records: list[FrameRecord]) -> dict:
    client = [r.latency_ms for r in records]
    server = [r.server_ms for r in records]
    return {
        **{f"p{q}_ms": float(np.percentile(client, q)) for q in LATENCY_PERCENTILES},
        **{f"server_p{q}_ms": float(np.percentile(server, q)) for q in LATENCY_PERCENTILES},
    }


def summarise_clip(records: list[FrameRecord]) -> dict:
    if not records:
        raise ValueError("no frames were read from the video")
    warm = [r for r in records if r.warming_up]
    main = [r for r in records if not r.warming_up]
    return {
        "after_warmup": phase_summary(main),
        "warmup": phase_summary(warm),
        "all": phase_summary(records),
        "latency": latency_summary(records),
        "boxes_agree_frames": sum(r.boxes_agree for r in records),
        "frames": len(records),
    }


# -- provenance and report --------------------------------------------------------------------------


def machine() -> dict[str, str | int]:
    """lscpu's model name and the number of cores this process may use."""
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], check=False, capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cpu": model, "cores": len(os.sched_getaffinity(0))}


def git_commit() -> str:
    """HEAD's short hash, with "+changes" when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+changes" if dirty else head or "unknown"


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def num(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def count_cell(phase: dict, key: str, share: str) -> str:
    p = phase.get("persons")
    return "n/a" if p is None else f"{p[key]} ({pct(p[f'{key}_share_of_{share}'])})"


def foreground_cell(phase: dict, name: str) -> str:
    f = phase.get("foreground", {}).get(name)
    return "n/a" if f is None else f"{num(f['precision'], 3)} / {num(f['recall'], 3)} / {num(f['f_measure'], 3)}"


TABLE_ROWS = (
    ("foreground precision / recall / F, the finder's MOG2 mask", lambda ph: foreground_cell(ph, "mog2")),
    ("foreground precision / recall / F, the answered people's masks", lambda ph: foreground_cell(ph, "blobs")),
    ("boxes per frame", lambda ph: num(ph["boxes_per_frame"])),
    ("labelled people per frame", lambda ph: num(ph["persons"]["people_per_frame"]) if "persons" in ph else "n/a"),
    ("boxes", lambda ph: str(ph["boxes"])),
    (
        "MOG2 foreground share of the frame, mean / max",
        lambda ph: f"{pct(ph['foreground_share_mean'])} / {pct(ph['foreground_share_max'])}",
    ),
    ("false persons (< 15% foreground; share of boxes)", lambda ph: count_cell(ph, "false", "boxes")),
    ("fragments (< 50% of a person; share of boxes)", lambda ph: count_cell(ph, "fragment", "boxes")),
    ("on labelled foreground that is no person (share of boxes)", lambda ph: count_cell(ph, "non_person", "boxes")),
    ("whole persons (share of boxes)", lambda ph: count_cell(ph, "whole", "boxes")),
    ("merged: a box on 2+ people (share of boxes)", lambda ph: count_cell(ph, "merged", "boxes")),
    ("labelled people", lambda ph: str(ph["persons"]["people"]) if "persons" in ph else "n/a"),
    ("missed people (share of people)", lambda ph: count_cell(ph, "missed", "people")),
    ("split people: 2+ boxes (share of people)", lambda ph: count_cell(ph, "split", "people")),
    (
        "frames with more boxes than people",
        lambda ph: str(ph["persons"]["frames_with_more_boxes_than_people"]) if "persons" in ph else "n/a",
    ),
    (
        "frames with fewer boxes than people",
        lambda ph: str(ph["persons"]["frames_with_fewer_boxes_than_people"]) if "persons" in ph else "n/a",
    ),
    ("track id switches", lambda ph: str(ph.get("track_id_switches", "n/a"))),
)


def frames_line(record: dict) -> str:
    s = record["summary"]
    line = f"Frames: {s['frames']} ({s['warmup']['frames']} answered `warming_up`, reported apart"
    if not record["masks"]:
        return line + "). Masks: none (boxes and latency only)."
    return (
        line + f"; {s['after_warmup']['labelled_frames']} labelled frames after warm-up score the main column). "
        f"Masks: {record['masks']}."
    )


UNLABELLED_ROWS = (
    "boxes per frame",
    "boxes",
    "MOG2 foreground share of the frame, mean / max",
)  # all a clip without masks can show


def markdown_section(record: dict) -> str:
    s = record["summary"]
    phases = [("after warm-up (main)", s["after_warmup"]), ("warm-up frames", s["warmup"])]
    lines = [
        f"## {record['name']} ({Path(record['video']).name}, frames posted as {record['encoding'].upper()})",
        "",
        f"Command: `{record['command']}`  ",
        (
            f"Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores. Date: {record['date']}. "
            f"Commit: `{record['commit']}`.  "
        ),
        frames_line(record),
        "",
        "| figure | " + " | ".join(name for name, _ in phases) + " |",
        "|---|" + "---|" * len(phases),
    ]
    rows = TABLE_ROWS if record["masks"] else [row for row in TABLE_ROWS if row[0] in UNLABELLED_ROWS]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(ph) for _, ph in phases) + " |")
    hist = s["after_warmup"]["boxes_per_frame_histogram"]
    lat = s["latency"]
    lines += [
        "",
        f"Boxes per frame after warm-up, frames with 0, 1, 2, ... boxes: {hist}.  ",
        (
            f"`/pose` latency over HTTP, every frame ({record['encoding'].upper()}, no vertices): p50 {lat['p50_ms']:.1f} ms, "
            f"p95 {lat['p95_ms']:.1f} ms (the service's own total: p50 {lat['server_p50_ms']:.1f} ms, "
            f"p95 {lat['server_p95_ms']:.1f} ms).  "
        ),
        (
            f"The in-process background model's blobs equal the service's boxes on {s['boxes_agree_frames']} "
            f"of {s['frames']} frames (the foreground scores are measured on its masks)."
        ),
    ]
    return "\n".join(lines)


def write_doc(record: dict, path: Path) -> None:
    write_section(markdown_section(record), f"real-footage-{record['name']}", path, DOC_HEADER)


def json_ready(x):
    """NaN -> None, NumPy scalars -> Python, recursively (strict JSON)."""
    if isinstance(x, dict):
        return {k: json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


# -- overlays (for a person to check the matching; never into the repository) ----------------------


def check_overlay_dir(path: Path) -> Path:
    path = path.resolve()
    if path == ROOT or ROOT in path.parents:
        raise ValueError(f"--overlays {path} lies inside the repository; frames of the clips may not be copied there")
    path.mkdir(parents=True, exist_ok=True)
    return path


def draw_overlay(frame: np.ndarray, rec: FrameRecord, mask: np.ndarray | None) -> np.ndarray:
    """(H, W, 3) RGB frame -> (k H, k W, 3): labelled foreground tinted, labelled people's boxes in cyan,
    each returned box in its kind's colour with its kind written on it."""
    out = frame.astype(np.float32)
    people = fs.label_people(mask) if mask is not None else []
    if mask is not None:
        out[mask == fs.GT_FOREGROUND] = 0.6 * out[mask == fs.GT_FOREGROUND] + 0.4 * np.array([255, 0, 0])
        out[mask == fs.GT_UNKNOWN] = 0.5 * out[mask == fs.GT_UNKNOWN] + 0.5 * np.array([255, 255, 0])
    k = OVERLAY_SCALE
    out = cv2.resize(out.astype(np.uint8), None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    for p in people:
        x0, y0, x1, y1 = (round(k * (v + 0.5)) for v in p.box)
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), PERSON_COLOUR, 1)
    match = fs.match_boxes(rec.boxes, people, mask) if mask is not None else None
    for i, box in enumerate(rec.boxes):
        kind = match.kinds[i] if match else "box"
        colour = BOX_COLOURS.get(kind, (255, 255, 255))
        x0, y0, x1, y1 = (round(k * (v + 0.5)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, 2)
        label = kind + (" merged" if match and match.merged[i] else "")
        cv2.putText(out, label, (x0 + 2, max(10, y0 + 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    text = f"frame {rec.index}" + (" warm-up" if rec.warming_up else "")
    if rec.counts:
        c = rec.counts
        text += f"  boxes {c['boxes']} people {c['people']} missed {c['missed']} split {c['split']}"
    cv2.putText(out, text, (4, out.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def overlay_writer(folder: Path, clip: str, every: int, gt: GroundTruth | None):
    def write(t: int, frame: np.ndarray, rec: FrameRecord) -> None:
        if t % every:
            return
        mask = gt.masks.get(t) if gt else None
        img = draw_overlay(frame, rec, mask)
        cv2.imwrite(str(folder / f"{clip}_{t:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))

    return write


# -- CLI --------------------------------------------------------------------------------------------


def clip_name(video: Path) -> str:
    """A site id and file name from a video's name: "sbi_IBMtest2.avi" -> "ibmtest2"."""
    stem = video.stem.lower().removeprefix("sbi_")
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-_")
    if not name:
        raise ValueError(f"no clip name can be made from {video.name!r}")
    return name[:63]


def run_name(clip: str, encoding: str, method: str = "mog2") -> str:
    """The name of a run's JSON record and report section: the clip, marked when its frames went as
    JPEG and when the sites subtract the background with another method than MOG2."""
    return "-".join([clip] + ([encoding] if encoding != "png" else []) + ([method] if method != "mog2" else []))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.real_footage",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("video", type=Path, help="the clip (any format OpenCV reads)")
    ap.add_argument(
        "--masks",
        type=Path,
        help="CDnet/SBI ground-truth tar (groundtruth/gt%%06d.png); "
        "without it only boxes per frame and latency are reported",
    )
    ap.add_argument("--out", type=Path, default=DOC, help="markdown report: the clip's section is replaced")
    ap.add_argument("--runs", type=Path, default=RUNS, help="folder of the per-clip JSON records")
    ap.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="png",
        help="how frames are posted: png is lossless (scored exactly as served), jpeg as cameras send",
    )
    ap.add_argument(
        "--method",
        choices=get_args(Subtractor),
        default="mog2",
        help="the sites' background subtractor (SILHOUETTE_BACKGROUND_METHOD)",
    )
    ap.add_argument("--frames", type=int, default=None, help="only the first N frames (None: all)")
    ap.add_argument(
        "--warmup-frames",
        type=int,
        default=None,
        help="the service's SILHOUETTE_WARMUP_FRAMES (None: the service's own setting)",
    )
    ap.add_argument(
        "--overlays",
        type=Path,
        default=None,
        help="draw labelled people and returned boxes on frames into this folder (outside the repository)",
    )
    ap.add_argument("--overlay-every", type=int, default=10, help="with --overlays: every N-th frame")
    ap.add_argument("--no-doc", action="store_true", help="write the JSON record only, not the markdown section")
    args = ap.parse_args(argv)
    if args.frames is not None and args.frames < 1:
        ap.error(f"--frames {args.frames}: at least 1")
    if args.overlay_every < 1:
        ap.error(f"--overlay-every {args.overlay_every}: at least 1")
    if not args.video.is_file():
        ap.error(f"{args.video}: no such file")
    if args.masks is not None and not args.masks.is_file():
        ap.error(f"--masks {args.masks}: no such file")
    return args


def display_path(p: Path | None) -> str | None:
    """A path as the command gave it, relative to the repository when it lies below the repository's parent."""
    if p is None:
        return None
    p = p.resolve()
    try:
        return os.path.relpath(p, ROOT) if ROOT.parent in p.parents else str(p)
    except ValueError:
        return str(p)


def benchmark(args: argparse.Namespace, command: str) -> dict:
    """Run one clip through the service and return its record (every figure, every frame)."""
    from runtime.settings import Settings

    settings = Settings()
    warmup = settings.warmup_frames if args.warmup_frames is None else args.warmup_frames
    gt = read_ground_truth(args.masks) if args.masks else None
    clip = clip_name(args.video)
    on_frame = None
    if args.overlays is not None:
        on_frame = overlay_writer(check_overlay_dir(args.overlays), clip, args.overlay_every, gt)
    with running_service(warmup, method=args.method) as url:
        source = in_process_finder(warmup, settings.max_persons, args.method)
        records = run_clip(url, args.video, clip, ClipScorer(gt), source, args.frames, on_frame, args.encoding)
    return {
        "clip": clip,
        "name": run_name(clip, args.encoding, args.method),
        "method": args.method,
        "video": display_path(args.video),
        "masks": display_path(args.masks),
        "command": command,
        "machine": machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "encoding": args.encoding,
        "warmup_frames": warmup,
        "max_persons": settings.max_persons,
        "constants": {
            k: getattr(fs, k)
            for k in (
                "PERSON_MIN_AREA_FRACTION",
                "PERSON_MIN_HEIGHT_PX",
                "FALSE_PERSON_MAX_FOREGROUND",
                "COVER_MIN_SHARE",
                "WHOLE_MIN_SHARE",
                "TRACK_LINK_MIN_IOU",
            )
        },
        "temporal_roi": list(gt.temporal_roi) if gt and gt.temporal_roi else None,
        "summary": summarise_clip(records),
        "per_frame": [r.as_dict() for r in records],
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the progress bar
    shown = [display_path(Path(a)) if Path(a).exists() else a for a in (sys.argv[1:] if argv is None else argv)]
    command = "python -m bench.real_footage " + shlex.join(shown)
    record = benchmark(args, command)
    args.runs.mkdir(parents=True, exist_ok=True)
    out = args.runs / f"{record['name']}.json"
    out.write_text(json.dumps(json_ready(record), indent=1))
    if not args.no_doc:
        write_doc(record, args.out)
    print(markdown_section(record))
    print(f"\nrecord: {out}" + ("" if args.no_doc else f"; report section: {args.out}"))
    return record


if __name__ == "__main__":
    main()
