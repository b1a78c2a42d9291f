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
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import cv2
import httpx
import numpy as np

from bench import footage_scores as fs
from bench.footage_io import (
    ENCODINGS,
    ROOT,
    GroundTruth,
    check_overlay_dir,
    clip_name,
    display_path,
    encode_frame,
    frame_count,
    git_commit,
    json_ready,
    machine,
    read_ground_truth,
    run_name,
)
from bench.footage_report import markdown_section, overlay_writer, write_doc
from bench.footage_service import REQUEST_TIMEOUT_S, given_settings, post_frame, running_service
from models.people.finder import FinderConfig, PersonFinder
from models.people.foreground import Subtractor
from runtime.video import read_frames

RUNS = ROOT / "runs" / "real_footage"
DOC = ROOT / "docs" / "REAL_FOOTAGE.md"
LATENCY_PERCENTILES = (50, 95)


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


# -- CLI --------------------------------------------------------------------------------------------


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
    command = given_settings() + "python -m bench.real_footage " + shlex.join(shown)
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
