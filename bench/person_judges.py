"""Is this blob a person? The finder's silhouette classifier against two person detectors that
ship inside packages, judged box by box on the same candidates (issue 18).

    python -m bench.person_judges [--real-dir ../shared/data/real] [--pets ../shared/data/pets-walk.avi]
        [--out docs/REAL_FOOTAGE.md]

Candidates: every box a fresh finder answers with its person check off (``person_check="off"``),
after warm-up, on the rendered sway scene (:mod:`models.synth.hard_cases`, seed 0: a walker and a
swaying plant), on both labelled real clips and on pets-walk. Where the clip is labelled, a box is a
*person* when it holds labelled people (whole or fragment, :mod:`bench.footage_scores`) and *no
person* when it is a false person (under 15% labelled foreground); a box on labelled foreground that
holds no labelled person (a person under the size floor, a carried object) gets no verdict. pets-walk
is unlabelled, so only the share of its boxes each judge accepts is given (nearly all of them are
people, a few are the van, the doorway and patches of road).

Judges, each on each box alone (no track, no vote over frames):

- **silhouette**: the finder's classifier (``models/assets/personness.onnx``) on the blob's mask,
  a person at a score of at least ``PERSON_MIN_VOTE`` (the vote a track must keep);
- **HOG**: OpenCV's HOG people detector (``bench/hog_people.py``, in ``.venv-eval``: OpenCV 5 moved
  it out of its main module), a person when a detection is centred in the box;
- **BlazePose**: MediaPipe 0.10.21's pose detector and landmark model, the two models its wheel ships
  (``bench/blazepose_landmarks.py``, in ``.venv-eval``), a person when it finds one in the box's crop.

HOG and BlazePose need ``.venv-eval`` (``make eval-env``) and are left out, with a message, without
it. Writes the ``person-judges`` section of ``--out``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from bench import footage_scores as fs
from bench.footage_io import EVAL_PYTHON, read_ground_truth, run_on_boxes
from bench.person_check import REAL, sway_scene
from bench.report import machine, write_section
from models.people.finder import PERSON_MIN_VOTE, FinderConfig, PersonFinder
from models.people.personness import load_personness, score_blobs
from runtime.video import read_frames

SECTION = "person-judges"
ROOT = Path(__file__).resolve().parents[1]
DETECTORS = {"HOG": ROOT / "bench" / "hog_people.py", "BlazePose": ROOT / "bench" / "blazepose_landmarks.py"}
PERSON_KINDS = ("whole", "fragment")
NO_PERSON_KINDS = ("false",)  # a "non_person" box (labelled foreground, no labelled person) is often a far person


@dataclass
class Candidates:
    """The boxes one clip's finder answered, N of them: frame (N,), box (N, 4), truth (N,) 1 person,
    0 no person, -1 unlabelled; the silhouette classifier's score (N,) and time per box (ms)."""

    frame: np.ndarray
    box: np.ndarray
    truth: np.ndarray
    silhouette: np.ndarray
    silhouette_ms: np.ndarray


def truth_of(kind: str) -> int:
    return 1 if kind in PERSON_KINDS else 0 if kind in NO_PERSON_KINDS else -1


def candidates(frames, gt: dict[int, np.ndarray] | None) -> Candidates:
    """Every box a finder without its person check answers after warm-up, with its truth and the
    silhouette classifier's score."""
    finder = PersonFinder(replace(FinderConfig(), person_check="off"))
    classifier = load_personness()
    rows: list[tuple[int, list[float], int, float, float]] = []
    for i, frame in enumerate(frames):
        found = finder.apply(frame)
        if found.warming_up or not found.people:
            continue
        boxes = np.array([p.blob.box for p in found.people], dtype=np.float64).reshape(-1, 4)
        if gt is not None and i in gt:
            kinds = fs.match_boxes(boxes, fs.label_people(gt[i]), gt[i]).kinds
        else:
            kinds = ["?"] * len(boxes)
        for person, box, kind in zip(found.people, boxes, kinds, strict=True):
            t = time.perf_counter()
            score = float(score_blobs(classifier, [(person.blob.mask, person.blob.box)])[0])
            rows.append((i, box.tolist(), truth_of(kind), score, 1000 * (time.perf_counter() - t)))
    return Candidates(
        frame=np.array([r[0] for r in rows], dtype=np.int64),
        box=np.array([r[1] for r in rows], dtype=np.float64).reshape(-1, 4),
        truth=np.array([r[2] for r in rows], dtype=np.int64),
        silhouette=np.array([r[3] for r in rows], dtype=np.float64),
        silhouette_ms=np.array([r[4] for r in rows], dtype=np.float64),
    )


def run_detector(name: str, video: Path, cands: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """(found (N,) bool, ms (N,)) of one ``.venv-eval`` detector on the candidates' boxes."""
    boxes = [(int(t), b.tolist()) for t, b in zip(cands.frame, cands.box, strict=True)]
    z = run_on_boxes(DETECTORS[name], video, boxes, name)
    return z["found"].astype(bool), z["ms"].astype(np.float64)


def share(accepted: np.ndarray, sel: np.ndarray, value: bool) -> str:
    """'k of n (p%)': how many of the selected boxes have the verdict ``value``."""
    n = int(sel.sum())
    k = int(np.count_nonzero(accepted[sel] == value))
    return f"{k} of {n} ({k / n:.0%})" if n else "-"


def judge_rows(clip: str, verdicts: dict[str, tuple[np.ndarray, np.ndarray]], truth: np.ndarray) -> list[str]:
    """Table rows: per judge, people accepted, non-persons refused (or boxes accepted) and time per box."""
    people, others, unknown = truth == 1, truth == 0, truth == -1
    rows = []
    for judge, (accepted, ms) in verdicts.items():
        rows.append(
            f"| {clip} | {judge} | {share(accepted, people, True)} | {share(accepted, others, False)} | "
            f"{share(accepted, unknown, True)} | {np.median(ms):.2f} ms |"
        )
    return rows


def write_video(frames, path: Path) -> None:
    """RGB frames -> a lossless FFV1 .avi the ``.venv-eval`` detectors read."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), 25, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--pets", type=Path, default=ROOT.parent / "shared" / "data" / "pets-walk.avi")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "REAL_FOOTAGE.md")
    args = ap.parse_args(argv)
    detectors = list(DETECTORS) if EVAL_PYTHON.exists() else []
    if not detectors:
        print(f"HOG and BlazePose left out: {EVAL_PYTHON} is missing (make eval-env creates it)")
    results: dict[str, dict] = {}
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="person-judges-sway-") as tmp:
        clips: list[tuple[str, Path, dict | None]] = []
        frames, gt, _ = sway_scene()
        sway_video = Path(tmp) / "sway.avi"
        write_video(frames, sway_video)
        clips.append(("sway (rendered)", sway_video, gt))
        for name in REAL:
            video, tar = args.real_dir / f"{name}.avi", args.real_dir / f"{name}_groundtruth.tar"
            if video.is_file() and tar.is_file():
                clips.append((name, video, read_ground_truth(tar).masks))
        if args.pets.is_file():
            clips.append((args.pets.stem, args.pets, None))
        for clip, video, labels in clips:
            cands = candidates(frames if video == sway_video else read_frames(video), labels)
            verdicts = {"silhouette": (cands.silhouette >= PERSON_MIN_VOTE, cands.silhouette_ms)}
            for name in detectors:
                verdicts[name] = run_detector(name, video, cands)
            if "HOG" in verdicts:  # what a second opinion would add: a person if either says so
                (sil, sil_ms), (hog, hog_ms) = verdicts["silhouette"], verdicts["HOG"]
                verdicts["silhouette or HOG"] = (sil | hog, sil_ms + hog_ms)
            results[clip] = {j: {"accepted": v[0].tolist(), "ms": v[1].tolist()} for j, v in verdicts.items()}
            results[clip]["truth"] = cands.truth.tolist()
            lines += judge_rows(clip, verdicts, cands.truth)
    command = ("python -m bench.person_judges " + shlex.join(sys.argv[1:] if argv is None else argv)).rstrip()
    body = [
        "## Is this blob a person? The silhouette classifier against HOG and BlazePose",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine('cpu')}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "Every box a finder with its person check off answers after warm-up, each judged alone (no track, no "
        f"vote over frames); silhouette: score >= {PERSON_MIN_VOTE}; HOG: a detection centred in the box "
        "(OpenCV 4.10 in `.venv-eval`); BlazePose: MediaPipe 0.10.21 finds a person in the box's crop. "
        "Times per box on one core, the judge alone (the crop's cutting not included).",
        "",
        "| clip | judge | people accepted | non-persons refused | boxes without a verdict, accepted | time per box (median) |",
        "|---|---|---|---|---|---|",
        *lines,
    ]
    write_section("\n".join(body), SECTION, args.out)
    return results


if __name__ == "__main__":
    main()
