"""Issue 18's goals on the synthetic hard cases, through the real service over HTTP.

    python -m bench.hard_cases_bench [--cases light-on,shake-3,shake-0,sway,standstill,crossing] [--frames N] [--work DIR]

Renders each case (:mod:`models.synth.hard_cases`) into a folder outside the repository (default: a
temporary one), runs :mod:`bench.real_footage` on it (PNG frames, the case's ``groundtruth.tar``) and
reports per case the person figures after warm-up and the figures of the issue's goals. Writes
``runs/hard_cases/hard_cases.json`` and the ``hard-cases`` section of docs/REAL_FOOTAGE.md, keeping
a ``hard-cases-notes`` block written into it by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import footage_report
from bench import footage_scores as fs
from bench import real_footage as rf
from bench.report import write_section
from models.body_model import BodyModel, load_body_model
from models.synth import hard_cases as hc

DEFAULT_CASES = ("light-on", "shake-3", "shake-0", "sway", "standstill", "crossing")
STILL_CAMERA, SHAKEN = "shake-0", "shake-3"  # hard_cases renders no 0 px shake: shake-0 is shake-3's twin
SHAKE_TWIN_PX = 3.0
NORMAL_RUN_FRAMES = 25  # answers are normal again from the first of this many normal frames in a row
RECOVERY_GOAL_S = 1.0
COUNT_GOAL = 0.10  # issue 18: boxes per frame within 10% of labelled people where people do not overlap
PLANT_MAX_FOREGROUND = fs.FALSE_PERSON_MAX_FOREGROUND  # a box on the plant with less is a false person
SECTION, NOTES = "hard-cases", "hard-cases-notes"
RUNS = rf.ROOT / "runs" / "hard_cases"
PERSON_KEYS = ("false", "fragment", "split", "missed", "merged")
LABELS = {  # the figures of each case's table
    "event_frame": "event frame (the light changes)",
    "recovery_frames": f"frames until normal again (then {NORMAL_RUN_FRAMES} frames with no false or missed person)",
    "recovery_s": "the same in seconds at 25 fps",
    "abnormal_after_event": "frames from the event on with a false or missed person",
    "still": "still interval (frames, end exclusive)",
    "answered_frames": "frames in it where the person is answered",
    "answered_share": "the same as a share of the interval",
    "track_ids": "track ids answered for them in it",
    "plant_box": "plant box (x0, y0, x1, y1)",
    "on_plant": "false persons on the plant",
    "frames": "frames with a false person on the plant",
}
CROSSING_ROWS = (
    ("frames after warm-up", "frames"),
    ("frames with 2 labelled people", "two_people"),
    ("frames with 2 boxes", "two_boxes"),
    ("frames with 2 boxes and 2 labelled people", "both"),
    ("merged boxes", "merged"),
    ("missed people", "missed"),
    ("boxes", "boxes"),
    ("labelled people", "people"),
)

Frame = dict  # one frame of a real_footage record: index, warming_up, boxes, counts, matched_ids, ...


# -- rendering --------------------------------------------------------------------------------------


def render(name: str, scene: hc.SceneSettings, body: BodyModel | None) -> hc.HardCase:
    """The case ``name``. shake-0 is shake-3 whose shake would start on its last frame, where the
    ease-in is still 0: the same canvas margin, seed and walk, every offset 0."""
    if name != STILL_CAMERA:
        return hc.render_case(name, scene, body)
    case = hc.shake(replace(scene, quiet=scene.frames - 1), hc.Shake(amplitude=SHAKE_TWIN_PX), body)
    if np.any(case.info["offsets"]):
        raise RuntimeError("shake-0's camera moved")
    case.info.update(case=STILL_CAMERA, events=[], scene=asdict(scene), twin_of=SHAKEN)
    return case


# -- figures: pure functions of real_footage's per-frame records ------------------------------------


def scored(frames: list[Frame], first: int = 0, stop: float = math.inf) -> list[Frame]:
    """The labelled frames after warm-up with first <= index < stop."""
    return [f for f in frames if not f["warming_up"] and f.get("counts") and first <= f["index"] < stop]


def is_normal(f: Frame | None) -> bool:
    """Answered after warm-up with no false person and no missed person."""
    return bool(f and not f["warming_up"] and f.get("counts") and not f["counts"]["false"] + f["counts"]["missed"])


def is_found(f: Frame) -> bool:
    """Answered after warm-up with every labelled person (at least one) covered by a box."""
    c = f.get("counts")
    return bool(c and not f["warming_up"] and c["people"] and not c["missed"])


def recovery_frames(frames: list[Frame], event: int, run: int = NORMAL_RUN_FRAMES) -> int | None:
    """Frames from ``event`` to the first of ``run`` normal frames in a row (0: normal at once);
    None when the clip ends first."""
    by_index = {f["index"]: f for f in frames}
    streak = 0
    for t in range(event, max(by_index, default=-1) + 1):
        streak = streak + 1 if is_normal(by_index.get(t)) else 0
        if streak == run:
            return t - run + 1 - event
    return None


def event_frame(info: dict, name: str) -> int | None:
    return next((e["frame"] for e in info["events"] if e["event"] == name), None)


def light_on_figures(info: dict, frames: list[Frame]) -> dict:
    event = event_frame(info, "light changes")
    n = recovery_frames(frames, event)
    after = scored(frames, event)
    return {
        "event_frame": event,
        "recovery_frames": n,
        "recovery_s": None if n is None else n / info["fps"],
        "abnormal_after_event": f"{sum(not is_normal(f) for f in after)} of {len(after)}",
    }


def standstill_figures(info: dict, frames: list[Frame]) -> dict:
    first, stop = info["still"]
    inside = [f for f in frames if first <= f["index"] < stop]
    answered = sum(is_found(f) for f in inside)
    ids = list(dict.fromkeys(i for f in inside for i in f.get("matched_ids") or [] if i is not None))
    return {
        "still": [first, stop],
        "still_frames": stop - first,
        "answered_frames": answered,
        "answered_share": answered / max(stop - first, 1),
        "track_ids": ids,
        "same_id": len(ids) == 1,
    }


def crossing_phase(frames: list[Frame]) -> dict:
    counts = [f["counts"] for f in frames]
    return {
        "frames": len(counts),
        "two_people": sum(c["people"] == 2 for c in counts),
        "two_boxes": sum(c["boxes"] == 2 for c in counts),
        "both": sum(c["boxes"] == c["people"] == 2 for c in counts),
        "merged": sum(c["merged"] for c in counts),
        "missed": sum(c["missed"] for c in counts),
        "boxes": sum(c["boxes"] for c in counts),
        "people": sum(c["people"] for c in counts),
    }


def crossing_figures(info: dict, frames: list[Frame]) -> dict:
    first, stop = event_frame(info, "overlap starts"), event_frame(info, "overlap ends")
    overlap = (first, stop) if first is not None and stop is not None else (0, 0)
    inside = scored(frames, *overlap)
    outside = [f for f in scored(frames) if not overlap[0] <= f["index"] < overlap[1]]
    return {"overlap": list(overlap), "in_overlap": crossing_phase(inside), "outside": crossing_phase(outside)}


def boxes_overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def sway_figures(info: dict, frames: list[Frame], masks: dict[int, np.ndarray]) -> dict:
    """False persons on the plant: boxes overlapping its box (case.json's pixel indices, end
    exclusive) with under PLANT_MAX_FOREGROUND of their scored pixels labelled foreground."""
    x0, y0, x1, y1 = info["sway"]["box"]
    plant = (x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5)  # in pixel edges, as the boxes are
    per_frame = []
    for f in scored(frames):
        boxes = fs.as_boxes(f["boxes"])
        share = fs.box_foreground_share(boxes, masks[f["index"]])
        per_frame.append(
            sum(boxes_overlap(b, plant) and s < PLANT_MAX_FOREGROUND for b, s in zip(boxes, share, strict=True))
        )
    return {"plant_box": [x0, y0, x1, y1], "on_plant": sum(per_frame), "frames": sum(n > 0 for n in per_frame)}


def case_figures(name: str, info: dict, frames: list[Frame], masks: dict[int, np.ndarray]) -> dict:
    if name == "sway":
        return sway_figures(info, frames, masks)
    figures = {"light-on": light_on_figures, "standstill": standstill_figures, "crossing": crossing_figures}
    return figures[name](info, frames) if name in figures else {}


def person_figures(record: dict) -> dict:
    phase = record["summary"]["after_warmup"]
    p = phase["persons"]
    keys = ("boxes_per_frame", "people_per_frame", "boxes", "people", *PERSON_KEYS)
    return {"frames": phase["labelled_frames"], **{k: p[k] for k in keys}, "id_switches": phase["track_id_switches"]}


def goals(cases: dict[str, dict]) -> list[tuple[str, str, bool]]:
    """(goal, its figures, met) for each goal whose cases were run."""
    out = []
    if "light-on" in cases:
        f = cases["light-on"]["figures"]
        ok = f["recovery_s"] is not None and f["recovery_s"] <= RECOVERY_GOAL_S
        text = f"{cell(f['recovery_frames'])} frames ({cell(f['recovery_s'])} s) after the change"
        out.append(("light-on: normal answers within 1 s of the change", text, ok))
    if SHAKEN in cases and STILL_CAMERA in cases:
        a, b = (cases[c]["persons"]["false"] for c in (SHAKEN, STILL_CAMERA))
        out.append(("shake: no more false persons with 3 px shake than without", f"{a} vs {b}", a <= b))
    if "standstill" in cases:
        f = cases["standstill"]["figures"]
        text = f"answered in {f['answered_frames']} of {f['still_frames']} still frames; track ids {f['track_ids']}"
        out.append(("standstill: stays found, one track id", text, f["answered_share"] == 1 and f["same_id"]))
    if "crossing" in cases:
        s, f = cases["crossing"]["persons"]["id_switches"], cases["crossing"]["figures"]
        i, o = f["in_overlap"], f["outside"]
        ratio = o["boxes"] / o["people"] if o["people"] else None
        text = f"{s} id switches; 2 boxes in {i['both']} of {i['two_people']} overlapping frames with 2 labelled people"
        text += f"; outside the overlap {o['boxes']} boxes for {o['people']} labelled people"
        text += f" ({cell(ratio)}; 2 boxes in {o['both']} of {o['two_people']} frames with 2)"
        ok = s == 0 and i["both"] == i["two_people"] and ratio is not None and abs(ratio - 1) <= COUNT_GOAL
        goal = "crossing: no id switch; 2 boxes while they overlap; boxes within 10% of people outside the overlap"
        out.append((goal, text, ok))
    if "sway" in cases:
        n = cases["sway"]["figures"]["on_plant"]
        out.append(("sway: no false person on the plant", f"{n} false persons on it", n == 0))
    return out


# -- one case, every case ---------------------------------------------------------------------------


def measure(name: str, scene: hc.SceneSettings, body: BodyModel, work: Path, overlays: Path | None) -> dict:
    folder = work / name
    case = render(name, scene, body)
    hc.save(case, folder)
    info = case.info
    del case  # the frames (up to 1 GB) are not needed while the service runs
    argv = [str(folder / "video.avi"), "--masks", str(folder / "groundtruth.tar"), "--no-doc"]
    argv += ["--runs", str(work / "runs" / name)] + (["--overlays", str(overlays / name)] if overlays else [])
    record = rf.main(argv)
    masks = rf.read_ground_truth(folder / "groundtruth.tar").masks if name == "sway" else {}
    return {
        "case": name,
        "frames": info["frames"],
        "events": info["events"],
        "persons": person_figures(record),
        "figures": case_figures(name, info, record["per_frame"], masks),
        "latency": record["summary"]["latency"],
    }


def finder_commit() -> str:
    """The last commit that changed the person finder (models/people): other work moves HEAD too."""
    out = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", "models/people"],
        check=False,
        cwd=rf.ROOT,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "unknown"


def benchmark(args: argparse.Namespace, work: Path, command: str) -> dict:
    body, commit = load_body_model(), rf.git_commit()
    overlays = rf.check_overlay_dir(args.overlays) if args.overlays else None
    scene = hc.SceneSettings(width=args.size[0], height=args.size[1], seed=args.seed, noise=args.noise)
    cases = {}
    for name in args.cases:
        frames = args.frames or hc.default_frames(SHAKEN if name == STILL_CAMERA else name)
        cases[name] = measure(name, replace(scene, frames=frames), body, work, overlays)
    return {
        "command": command,
        "machine": rf.machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit if commit == rf.git_commit() else f"{commit}, then {rf.git_commit()} (changed during the run)",
        "finder_commit": finder_commit(),
        "scene": {k: v for k, v in asdict(scene).items() if k != "frames"},
        "cases": cases,
        "goals": goals(cases),
    }


# -- report -----------------------------------------------------------------------------------------


def cell(x) -> str:
    return footage_report.num(x) if isinstance(x, float) else "n/a" if x is None else str(x)


def case_rows(name: str, r: dict) -> list[tuple[str, object]]:
    f = r["figures"]
    if name == "crossing":
        rows = [
            (f"{label}: overlapping / outside", f"{f['in_overlap'][k]} / {f['outside'][k]}")
            for label, k in CROSSING_ROWS
        ]
        return [("overlap (frames, end exclusive)", f["overlap"]), *rows]
    return [(label, f[k]) for k, label in LABELS.items() if k in f] or [("false persons", r["persons"]["false"])]


def person_row(name: str, p: dict) -> str:
    cells = [p["frames"], p["boxes_per_frame"], p["people_per_frame"], *(p[k] for k in PERSON_KEYS), p["id_switches"]]
    return f"| {name} | " + " | ".join(cell(c) for c in cells) + " |"


def markdown(record: dict) -> str:
    s, m, cases = record["scene"], record["machine"], record["cases"]
    lines = [
        "## Hard cases (synthetic; issue 18's goals)",
        "",
        f"Command: `{record['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores. Date: {record['date']}. Commit: `{record['commit']}` "
        f"(models/people last changed in `{record['finder_commit']}`).  ",
        f"Rendered by `models.synth.hard_cases` at {s['width']}x{s['height']}, seed {s['seed']}, sensor noise "
        f"{s['noise']:g} grey levels, {s['fps']:g} fps, into a temporary folder, and posted frame by frame as PNG "
        "through `bench.real_footage`; every figure is after warm-up. shake-0 is shake-3's seed, scene and walk "
        "with the camera still.",
        "",
        "| goal | figures | met |",
        "|---|---|---|",
        *(f"| {g} | {t} | {'yes' if ok else '**no**'} |" for g, t, ok in record["goals"]),
        "",
        "| case | frames | boxes / frame | people / frame | false | fragments | split | missed | merged | id switches |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(person_row(n, r["persons"]) for n, r in cases.items()),
    ]
    for name, r in cases.items():
        lines += ["", f"### {name} ({r['frames']} frames)", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {cell(v)} |" for k, v in case_rows(name, r)]
    failed = [f"{g} ({t})" for g, t, ok in record["goals"] if not ok]
    met = len(record["goals"]) - len(failed)
    lines += [
        "",
        f"Reading: {met} of {len(record['goals'])} goals met" + (f"; not met: {'; '.join(failed)}." if failed else "."),
    ]
    return "\n".join(lines)


def write_doc(text: str, path: Path) -> None:
    """Replace the hard-cases section of ``path``, keeping the notes block written into the old one."""
    doc = path.read_text() if path.exists() else footage_report.DOC_HEADER
    start, end = f"<!-- {NOTES}:start -->", f"<!-- {NOTES}:end -->"
    if start in doc and end in doc:
        text += "\n\n" + doc[doc.index(start) : doc.index(end) + len(end)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc)
    write_section(text, SECTION, path)


# -- CLI --------------------------------------------------------------------------------------------


def case_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n != STILL_CAMERA:
            hc.parse_case(n)  # raises for an unknown case
    return names


def image_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.hard_cases_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=case_list, default=list(DEFAULT_CASES), help="comma-separated case names")
    ap.add_argument("--frames", type=int, default=None, help="frames per case (default: each case's own)")
    ap.add_argument("--size", type=image_size, default=(640, 480), help="WxH")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=hc.SceneSettings.noise, help="sensor noise, grey levels")
    ap.add_argument(
        "--work", type=Path, default=None, help="render into (and keep) this folder, outside the repository"
    )
    ap.add_argument("--overlays", type=Path, default=None, help="bench.real_footage's overlays, a folder per case")
    ap.add_argument("--out", type=Path, default=rf.DOC, help="the markdown report whose hard-cases section is replaced")
    ap.add_argument("--runs", type=Path, default=RUNS, help="folder of the JSON record")
    ap.add_argument("--no-doc", action="store_true", help="write the JSON record only")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    command = " ".join(["python -m bench.hard_cases_bench", shlex.join(sys.argv[1:] if argv is None else argv)]).strip()
    with tempfile.TemporaryDirectory(prefix="hard-cases-") as tmp:
        record = benchmark(args, rf.check_overlay_dir(args.work or Path(tmp)), command)
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / "hard_cases.json").write_text(json.dumps(rf.json_ready(record), indent=1))
    text = markdown(record)
    if not args.no_doc:
        write_doc(text, args.out)
    print(text)
    return record


if __name__ == "__main__":
    main()
