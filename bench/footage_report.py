"""The real-footage report: a clip's markdown section (written into ``docs/REAL_FOOTAGE.md``) and the
overlays that draw labelled people and returned boxes on frames, for a person to check the matching."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bench import footage_scores as fs
from bench.footage_io import GroundTruth
from bench.report import write_section

if TYPE_CHECKING:
    from bench.real_footage import FrameRecord

DOC_HEADER = "# Person finding on real footage\n\nEach clip's section is written by the command it names.\n"
OVERLAY_SCALE = 2
BOX_COLOURS = {"whole": (60, 200, 60), "fragment": (255, 160, 0), "non_person": (255, 0, 255), "false": (255, 40, 40)}
PERSON_COLOUR = (255, 255, 0)


# -- markdown -----------------------------------------------------------------------------------------


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


def section_header(record: dict) -> list[str]:
    """A run's heading and the lines naming its command, machine, date and commit (every report's)."""
    return [
        f"## {record['name']} ({Path(record['video']).name}, frames posted as {record['encoding'].upper()})",
        "",
        f"Command: `{record['command']}`  ",
        (
            f"Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores. Date: {record['date']}. "
            f"Commit: `{record['commit']}`.  "
        ),
    ]


def markdown_section(record: dict) -> str:
    s = record["summary"]
    phases = [("after warm-up (main)", s["after_warmup"]), ("warm-up frames", s["warmup"])]
    lines = [
        *section_header(record),
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


# -- overlays (for a person to check the matching; never into the repository) ----------------------


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
