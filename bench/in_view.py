"""People in view from a site's first frame, with and without the finder's completion of absorbed
people (:mod:`models.people.absorbed`, ``SILHOUETTE_ABSORBED_PEOPLE``), in-process.

    python -m bench.in_view [--seeds 7,11] [--sway-seeds 0,200,201,202,203,204] [--out docs/REAL_FOOTAGE.md]

Rendered with :mod:`models.synth.hard_cases` at 320x240: a person on the spot from frame 0 (so in
the frames the site learns its background from), standing, doing jumping jacks, bending or a slow
tai chi form, for 250 frames, then walking out. After warm-up: the frames on the spot where they are
answered (a blob more than half on them), the median share of their pixels inside that blob, the
frames of the walk out where they are answered, and false persons (answers less than 30% on them).
The cost: the swaying-plant scenes of :mod:`bench.person_check` (640x480, a walker passing a plant),
answers on the plant and the walker's missed frames; and the real clips of :mod:`bench.person_check`
(false persons, fragments and missed people where labelled, answers a frame). Writes the ``in-view``
section of ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import person_check as pc
from bench.report import machine, write_section
from models.body_model import BodyModel, load_body_model
from models.people.absorbed import AbsorbedConfig
from models.people.finder import FinderConfig, PersonFinder
from models.people.personness import SHIPPED_PERSONNESS
from models.synth import hard_cases as hc

ROOT = Path(__file__).resolve().parents[1]
SECTION = "in-view"
ACTIVITIES: tuple[hc.Activity, ...] = ("stand", "jumping_jacks", "bending", "tai_chi")
STILL_FRAMES, WALK_FRAMES = 250, 60
ON_THEM = 0.5  # an answer is theirs when more than this share of its blob is on them
FALSE_BELOW = 0.3  # ... and a false person when less
MIN_IN_VIEW_PX = 200  # walking out: frames with fewer of their pixels in view are not counted
CONFIGS: dict[str, AbsorbedConfig | None] = {"off": None, "on": AbsorbedConfig()}


def in_view_case(activity: hc.Activity, seed: int, body: BodyModel) -> hc.HardCase:
    scene = hc.SceneSettings(width=320, height=240, frames=STILL_FRAMES + WALK_FRAMES + 20, seed=seed)
    settings = hc.Standstill(still_frames=STILL_FRAMES, walk_frames=WALK_FRAMES, activity=activity, from_start=True)
    return hc.standstill(scene, settings, body)


def score_in_view(case: hc.HardCase, config: FinderConfig) -> dict:
    first, last = case.info["still"]
    finder = PersonFinder(config)
    out = {"still": 0, "answered": 0, "out": 0, "out_answered": 0, "false": 0}
    shares: list[float] = []
    for t, frame in enumerate(case.frames):
        found = finder.apply(frame)
        if found.warming_up:
            continue
        person = case.instances[t] > 0
        mine = []
        for p in found.people:
            on = float(person[p.blob.mask].mean())
            out["false"] += on < FALSE_BELOW
            if on > ON_THEM:
                mine.append(float(p.blob.mask[person].mean()))
        if first <= t < last:
            out["still"] += 1
            out["answered"] += bool(mine)
            if mine:
                shares.append(max(mine))
        elif t >= last and person.sum() > MIN_IN_VIEW_PX:
            out["out"] += 1
            out["out_answered"] += bool(mine)
    return {**out, "median_share": float(np.median(shares)) if shares else 0.0}


def score_sway(case: hc.HardCase, config: AbsorbedConfig | None) -> dict:
    """Answers on the plant and the walker's missed frames after warm-up (bench.person_check's scoring)."""
    gt = case.groundtruth()
    labels = {i: gt[i] for i in range(len(gt))}
    return pc.run(case.frames, "unmoved", SHIPPED_PERSONNESS, labels, case.info["sway"]["box"], absorbed=config)


def real_clips(real_dir: Path, pets: Path) -> dict[str, dict]:
    """bench.person_check's real clips (where present) with the completion off and on."""
    out: dict[str, dict] = {}
    for name, (frames, gt) in pc.real_clips(real_dir, pets).items():
        out[name] = {}
        for label, c in CONFIGS.items():
            start = time.perf_counter()
            out[name][label] = pc.run(frames, "unmoved", SHIPPED_PERSONNESS, gt, absorbed=c)
            out[name][label]["ms_per_frame"] = 1000 * (time.perf_counter() - start) / len(frames)
    return out


def table(header: list[str], results: dict, row: Callable[[dict], list[str]]) -> list[str]:
    """A markdown table: one row per (key, configuration) of ``results``, its cells ``row(figures)``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, by_config in results.items():
        for name, r in by_config.items():
            lines.append("| " + " | ".join([str(key), name, *row(r)]) + " |")
    return lines


IN_VIEW_HEADER = [
    "activity, seed",
    "completion",
    "on the spot: answered",
    "their pixels in the blob (median)",
    "walking out: answered",
    "false persons",
]
SWAY_HEADER = ["sway scene, seed", "completion", "answers on the plant", "walker's missed frames"]
REAL_HEADER = [
    "real clip",
    "completion",
    "answers / frame",
    "false persons",
    "fragments",
    "missed people (of labelled)",
    "finder ms / frame (with scoring)",
]


def in_view_row(r: dict) -> list[str]:
    return [
        f"{r['answered']} of {r['still']}",
        f"{r['median_share']:.2f}",
        f"{r['out_answered']} of {r['out']}",
        str(r["false"]),
    ]


def sway_row(r: dict) -> list[str]:
    return [str(r["on_plant"]), f"{r['missed']} of {r['people']}"]


def real_row(r: dict) -> list[str]:
    labelled = [str(r["false"]), str(r["fragment"]), f"{r['missed']} of {r['people']}"] if r["people"] else ["-"] * 3
    return [f"{r['answers'] / max(r['frames'], 1):.2f}", *labelled, f"{r['ms_per_frame']:.1f}"]


def markdown(results: dict, sway: dict, real: dict, command: str) -> str:
    head = [f"Command: `{command}`  ", f"Machine: {machine('cpu')}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."]
    return "\n".join(
        [
            *head,
            "",
            *table(IN_VIEW_HEADER, results, in_view_row),
            "",
            *table(SWAY_HEADER, sway, sway_row),
            "",
            *table(REAL_HEADER, real, real_row),
        ]
    )


def seed_list(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.in_view", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=seed_list, default=[7, 11])
    ap.add_argument("--sway-seeds", type=seed_list, default=[0, 200, 201, 202, 203, 204])
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--pets", type=Path, default=ROOT.parent / "shared" / "data" / "pets-walk.avi")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "REAL_FOOTAGE.md")
    args = ap.parse_args(argv)
    body = load_body_model()
    configs = {name: replace(FinderConfig(), absorbed=c) for name, c in CONFIGS.items()}
    results: dict[str, dict] = {}
    for activity in ACTIVITIES:
        for seed in args.seeds:
            case = in_view_case(activity, seed, body)
            results[f"{activity}, {seed}"] = {name: score_in_view(case, c) for name, c in configs.items()}
    sway: dict[int, dict] = {}
    for seed in args.sway_seeds:
        case = hc.render_case("sway", hc.SceneSettings(frames=hc.default_frames("sway"), seed=seed), body)
        sway[seed] = {name: score_sway(case, c) for name, c in CONFIGS.items()}
    real = real_clips(args.real_dir, args.pets)
    command = "python -m bench.in_view " + shlex.join(argv if argv is not None else sys.argv[1:])
    write_section(markdown(results, sway, real, command.strip()), SECTION, args.out)
    return {"in_view": results, "sway": sway, "real": real}


if __name__ == "__main__":
    main()
