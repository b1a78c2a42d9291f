"""``python -m models.synth.hard_cases CASE --out DIR ...``: render one case and write its folder."""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import get_args

from models.synth.hard_cases.cases import CASES, default_frames, parse_case, render_case
from models.synth.hard_cases.files import preview, save
from models.synth.hard_cases.settings import QUIET_FRAMES, Activity, SceneSettings, Standstill

# the standstill's flags (argparse dest -> Standstill field)
STANDSTILL_FLAGS = {
    "activity": "activity",
    "from_start": "from_start",
    "depth": "depth_m",
    "still_frames": "still_frames",
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="render a labelled hard case for the person finder")
    ap.add_argument("case", help=f"one of {', '.join(CASES)} (shake-N: N px, e.g. shake-3)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=None, help="default: the case's own (200; standstill 450)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--noise", type=float, default=2.0, help="sensor noise per frame (grey levels, sigma)")
    ap.add_argument("--quiet", type=int, default=QUIET_FRAMES, help="event-free frames at the start")
    ap.add_argument("--preview", type=Path, default=None, help="also write a PNG strip with the masks drawn on")
    standing = ap.add_argument_group("standstill only")
    default = Standstill()
    standing.add_argument("--activity", choices=get_args(Activity), default=None, help=f"default {default.activity}")
    standing.add_argument("--from-start", action="store_true", default=None, help="on the spot from frame 0")
    standing.add_argument(
        "--depth", type=float, default=None, help=f"metres from the camera (default {default.depth_m})"
    )
    standing.add_argument("--still-frames", type=int, default=None, help=f"default {default.still_frames}")
    args = ap.parse_args(argv)
    try:
        overrides = {f: getattr(args, a) for a, f in STANDSTILL_FLAGS.items() if getattr(args, a) is not None}
        if overrides and parse_case(args.case)[0] != "standstill":
            given = ", ".join(f"--{a.replace('_', '-')}" for a in STANDSTILL_FLAGS if getattr(args, a) is not None)
            raise ValueError(f"{given} only apply to standstill, not {args.case!r}")
        frames = args.frames or default_frames(args.case)
        scene = SceneSettings(
            width=args.width, height=args.height, frames=frames, seed=args.seed, noise=args.noise, quiet=args.quiet
        )
        standstill = replace(default, **overrides)
    except ValueError as e:
        ap.error(str(e))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        case = render_case(args.case, scene, progress=True, standing=standstill)
    except ValueError as e:  # settings that do not fit together (a standstill too long for the frames)
        ap.error(str(e))
    rendered = time.perf_counter() - started
    save(case, args.out, progress=True)
    if args.preview:
        preview(case, args.preview)
    events = ", ".join(f"{e['event']} @ {e['frame']}" for e in case.info["events"])
    print(f"wrote {args.out}: {len(case.frames)} frames {args.width}x{args.height}, rendered in {rendered:.1f} s")
    print(f"events: {events}")
