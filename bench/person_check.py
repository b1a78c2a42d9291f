"""Which tracks should the silhouette classifier refuse? The finder's three ``person_check`` modes,
in-process, on the rendered sway scene and on real footage.

    python -m bench.person_check [--weights models/assets/personness.onnx] [--real-dir ../shared/data/real]
        [--pets ../shared/data/pets-walk.avi] [--out docs/REAL_FOOTAGE.md]

For each mode ("off", "unmoved", "always") and each clip, after warm-up: the people answered, and
where the clip is labelled, the false persons, fragments and missed people (the definitions of
:mod:`bench.footage_scores`); on the sway scene, the answers on the plant. The real clips stay
where they are (evaluation only); the sway scene (:mod:`models.synth.hard_cases`, seed 0, the
benchmark's own) is rendered in memory. Writes the ``person-check`` section of ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import footage_scores as fs
from bench.footage_io import read_ground_truth
from bench.report import machine, write_section
from models.people import finder as finder_module
from models.people.absorbed import AbsorbedConfig
from models.people.finder import FinderConfig, PersonCheck, PersonFinder
from models.people.personness import SHIPPED_PERSONNESS, load_personness
from runtime.video import read_frames

MODES: tuple[PersonCheck, ...] = ("off", "unmoved", "always")
SECTION = "person-check"
ROOT = Path(__file__).resolve().parents[1]
REAL = ("sbi_HallAndMonitor", "sbi_IBMtest2")


def run(
    frames, mode: PersonCheck, weights: Path, gt=None, plant_box=None, absorbed: AbsorbedConfig | None = None
) -> dict:
    """Answers of a fresh finder over ``frames``; scored against ``gt`` (frame -> (H, W) uint8) and
    the plant's box where given; ``absorbed``: the finder's completion of absorbed people."""
    finder = PersonFinder(replace(FinderConfig(), person_check=mode, absorbed=absorbed))
    if mode != "off":
        finder.personness = load_personness(weights)
    out = {"frames": 0, "answers": 0, "false": 0, "fragment": 0, "missed": 0, "people": 0, "on_plant": 0}
    for i, frame in enumerate(frames):
        found = finder.apply(frame)
        if found.warming_up:
            continue
        boxes = np.array([p.blob.box for p in found.people]).reshape(-1, 4)
        out["frames"] += 1
        out["answers"] += len(boxes)
        if gt is not None and i in gt:
            people = fs.label_people(gt[i])
            counts = fs.match_boxes(boxes, people, gt[i]).counts()
            for k in ("false", "fragment", "missed", "people"):
                out[k] += counts[k]
        if plant_box is not None and gt is not None:
            x0, y0, x1, y1 = plant_box
            share = fs.box_foreground_share(boxes, gt[i])
            for b, f in zip(boxes, share, strict=True):
                out["on_plant"] += int(
                    f < fs.FALSE_PERSON_MAX_FOREGROUND and b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0
                )
    return out


def sway_scene():
    from models.body_model import load_body_model
    from models.synth import hard_cases as hc

    case = hc.render_case("sway", hc.SceneSettings(frames=hc.default_frames("sway")), load_body_model())
    gt = case.groundtruth()
    return list(case.frames), {i: gt[i] for i in range(len(gt))}, case.info["sway"]["box"]


def real_clips(real_dir: Path, pets: Path) -> dict[str, tuple[list, dict | None]]:
    """The labelled real clips (:data:`REAL`) and ``pets`` where present: name -> (frames, labels
    by frame, None for pets)."""
    clips: dict[str, tuple[list, dict | None]] = {}
    for name in REAL:
        video, tar = real_dir / f"{name}.avi", real_dir / f"{name}_groundtruth.tar"
        if video.is_file() and tar.is_file():
            clips[name] = (list(read_frames(video)), read_ground_truth(tar).masks)
    if pets.is_file():
        clips[pets.stem] = (list(read_frames(pets)), None)
    return clips


def table(results: dict[str, dict[str, dict]]) -> list[str]:
    lines = [
        "| clip | mode | frames | answers / frame | false persons | fragments | missed people (of labelled) | on the plant |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clip, by_mode in results.items():
        for mode, r in by_mode.items():
            labelled = r["people"] > 0
            lines.append(
                f"| {clip} | {mode} | {r['frames']} | {r['answers'] / max(r['frames'], 1):.2f} | "
                + (
                    f"{r['false']} | {r['fragment']} | {r['missed']} of {r['people']} | "
                    if labelled
                    else "- | - | - | "
                )
                + (f"{r['on_plant']} |" if clip == "sway (rendered)" else "- |")
            )
    return lines


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, default=SHIPPED_PERSONNESS)
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--pets", type=Path, default=ROOT.parent / "shared" / "data" / "pets-walk.avi")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "REAL_FOOTAGE.md")
    args = ap.parse_args(argv)
    clips: dict[str, tuple] = {"sway (rendered)": sway_scene()}
    clips.update({name: (frames, gt, None) for name, (frames, gt) in real_clips(args.real_dir, args.pets).items()})
    results = {clip: {m: run(f, m, args.weights, gt, box) for m in MODES} for clip, (f, gt, box) in clips.items()}
    command = ("python -m bench.person_check " + shlex.join(sys.argv[1:] if argv is None else argv)).rstrip()
    body = [
        "## Telling a plant from a person (the finder's `person_check` modes)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine('cpu')}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Weights: `{args.weights.name}` "
        f"(PERSON_VOTE {finder_module.PERSON_VOTE}, PERSON_MIN_VOTE {finder_module.PERSON_MIN_VOTE}, "
        f"PERSON_KEEP_VOTE {finder_module.PERSON_KEEP_VOTE}).",
        "In-process finder, every frame in order, figures after warm-up; `off`: no check; `unmoved` (the "
        "default): the classifier may refuse only tracks that never went half their height from where they "
        "were confirmed; `always`: it may refuse any track. A track is first answered once its vote "
        "reaches PERSON_MIN_VOTE and, once answered, refused only under PERSON_KEEP_VOTE; a box that "
        "jumps to another shape restarts its vote.",
        "",
        *table(results),
    ]
    write_section("\n".join(body), SECTION, args.out)
    return results


if __name__ == "__main__":
    main()
