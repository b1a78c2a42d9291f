"""A site started while people are in view: the finder started at later frames of the labelled clips,
with the ghost tests as served and with the edge test alone, in-process.

    python -m bench.late_start [--starts 0,50,100,150] [--real-dir ../shared/data/real] [--out docs/REAL_FOOTAGE.md]

A site learns its background from its first frames; started mid-clip, it learns whoever is in
view then. Each start is a fresh finder (the service's settings) fed the clip from that frame on;
after its warm-up every labelled frame is scored as :mod:`bench.person_check` scores the whole
clip (false persons, fragments, missed people: :mod:`bench.footage_scores`), with the finder's own
time a frame (both ghost tests and the edge test alone, in the same process). Starts that leave
fewer than ``MIN_SCORED`` frames after warm-up are skipped. Writes the ``late-start`` section of
``--out``; the labelled clips stay where they are (evaluation only).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import footage_scores as fs
from bench.footage_io import read_ground_truth
from bench.person_check import REAL
from bench.report import machine, write_section
from models.people.finder import FinderConfig, PersonFinder
from runtime.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
SECTION = "late-start"
MIN_SCORED = 40  # labelled frames after warm-up a start must leave to be worth a row
COUNTS = ("people", "false", "fragment", "missed")
TESTS = {"edge and stillness (served)": True, "edge test alone": False}


def score_from(frames: list[np.ndarray], gt: dict[int, np.ndarray], start: int, config: FinderConfig) -> dict:
    """A fresh finder fed ``frames[start:]``; counts summed over the labelled frames after warm-up,
    and the finder's own time a frame (``ms``, every frame fed)."""
    finder = PersonFinder(config)
    out: dict = dict.fromkeys(("frames", "answers", *COUNTS), 0)
    spent = 0.0
    for i in range(start, len(frames)):
        began = time.perf_counter()
        found = finder.apply(frames[i])
        spent += time.perf_counter() - began
        if found.warming_up or i not in gt:
            continue
        boxes = np.array([p.blob.box for p in found.people]).reshape(-1, 4)
        counts = fs.match_boxes(boxes, fs.label_people(gt[i]), gt[i]).counts()
        out["frames"] += 1
        out["answers"] += len(boxes)
        for k in COUNTS:
            out[k] += counts[k]
    out["ms"] = 1000 * spent / max(len(frames) - start, 1)
    return out


def run(real_dir: Path, starts: list[int]) -> dict[str, dict[int, dict[str, dict]]]:
    """clip -> start -> ghost tests -> counts, for the labelled clips present in ``real_dir``."""
    warmup = FinderConfig().foreground.warmup_frames
    results: dict[str, dict[int, dict[str, dict]]] = {}
    for name in REAL:
        video, tar = real_dir / f"{name}.avi", real_dir / f"{name}_groundtruth.tar"
        if not (video.is_file() and tar.is_file()):
            continue
        frames, gt = list(read_frames(video)), read_ground_truth(tar).masks
        for start in starts:
            if sum(i >= start + warmup for i in gt) < MIN_SCORED:
                continue
            results.setdefault(name, {})[start] = {
                label: score_from(frames, gt, start, replace(FinderConfig(), stillness=still))
                for label, still in TESTS.items()
            }
    return results


def markdown(results: dict, command: str) -> str:
    lines = [
        f"Command: `{command}`  ",
        f"Machine: {machine('cpu')}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| clip | started at frame | ghost tests | labelled frames scored | people | answers | false persons | fragments "
        "| missed people | finder ms / frame |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_start in results.items():
        for start, by_test in by_start.items():
            for label, r in by_test.items():
                lines.append(
                    f"| {name} | {start} | {label} | {r['frames']} | {r['people']} | {r['answers']} | "
                    f"{r['false']} | {r['fragment']} | {r['missed']} | {r['ms']:.1f} |"
                )
    if not results:
        lines.append("| (no labelled clip found) | | | | | | | | | |")
    return "\n".join(lines)


def start_list(text: str) -> list[int]:
    starts = [int(s) for s in text.split(",") if s]
    if not starts or min(starts) < 0:
        raise argparse.ArgumentTypeError(f"starts must be frame numbers >= 0, got {text!r}")
    return starts


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.late_start", description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=start_list, default=[0, 50, 100, 150])
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "REAL_FOOTAGE.md")
    args = ap.parse_args(argv)
    results = run(args.real_dir, args.starts)
    command = "python -m bench.late_start " + shlex.join(argv if argv is not None else sys.argv[1:])
    write_section(markdown(results, command.strip()), SECTION, args.out)
    return results


if __name__ == "__main__":
    main()
