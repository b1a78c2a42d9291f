"""BGSLibrary's subtractors (``pybgs``) against OpenCV's plain MOG2 on a labelled clip: foreground
precision, recall and F-measure of their raw masks (issue 18, "say what the option gives").

    BGS_PY=/tmp/bgs/venv/bin/python
    $BGS_PY -m bench.bgslibrary_masks VIDEO --masks TAR [--algorithms SuBSENSE,PAWCS,ViBe,MOG2] [--out OUT.json]

Runs, from the repository's root, in an environment of its own: ``pybgs`` comes as source only and
builds against the system's OpenCV C++ libraries. Of the project it imports only the clip reading
and the scores of the real-footage benchmark (``bench/footage_io.py``, ``bench/footage_scores.py``:
NumPy and OpenCV, nothing else), so the masks are scored exactly as ``bench.real_footage`` scores
the project's own. How that environment was made
(Debian 12, 2026-12-04; about 1 min of apt, 840 MB of packages, 2 min of build)::

    apt-get install -y libopencv-dev cmake build-essential python3-dev
    python3.11 -m venv /tmp/bgs/venv
    /tmp/bgs/venv/bin/pip install "numpy<2" "opencv-python-headless<4.12" pybgs

Every frame goes, in order and at the clip's own resolution, to a fresh subtractor with its
authors' default parameters; the first ``--warmup`` frames are not scored. Foreground is a mask
value above 0 for BGSLibrary's subtractors and 255 for MOG2 (its 127 is shadow). CDnet's scores:
255 in the labels is foreground, 0 and 50 background, 85 and 170 left out. These are the subtractors alone: the project's foreground model (MOG2 tuned, with
gain compensation, registration, clean-up and still people kept out of its learning) is scored on
the same clips by ``python -m bench.real_footage``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench import footage_scores as fs
from bench.footage_io import read_ground_truth

DEFAULT_ALGORITHMS = ("SuBSENSE", "PAWCS", "ViBe", "MOG2")
WARMUP_FRAMES = 30  # as the service's background warm-up


def subtractor(name: str):
    """A fresh subtractor: OpenCV's MOG2 with its defaults, or BGSLibrary's ``name``."""
    if name == "MOG2":
        return cv2.createBackgroundSubtractorMOG2()
    import pybgs

    if not hasattr(pybgs, name):
        raise ValueError(f"pybgs has no {name!r}; it has {', '.join(n for n in dir(pybgs) if n[0].isupper())}")
    with contextlib.redirect_stdout(io.StringIO()):  # it announces each object on stdout
        return getattr(pybgs, name)()


def foreground(name: str, raw: np.ndarray) -> np.ndarray:
    mask = raw.max(axis=2) if raw.ndim == 3 else raw
    return mask == 255 if name == "MOG2" else mask > 0


def score(name: str, video: Path, masks: dict[int, np.ndarray], warmup: int) -> dict:
    """One subtractor over the clip: TP, FP, FN summed over the scored frames, P, R, F, ms per frame."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise ValueError(f"{video}: not a readable video")
    counts = np.zeros(3, dtype=np.int64)
    scored, t, times = 0, 0, []
    # BGSLibrary reads ./config/<name>.xml, or writes its defaults there: give it an empty one, so
    # the defaults are used whatever directory the caller is in.
    with tempfile.TemporaryDirectory(prefix="bgs-") as tmp, contextlib.chdir(tmp):
        (Path(tmp) / "config").mkdir()
        algo = subtractor(name)
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            started = time.perf_counter()
            raw = np.asarray(algo.apply(frame))
            times.append(1000 * (time.perf_counter() - started))
            if t >= warmup and t in masks:
                counts += fs.foreground_counts(foreground(name, raw), masks[t])
                scored += 1
            t += 1
    cap.release()
    tp, fp, fn = (int(c) for c in counts)
    p, r, f = fs.precision_recall_f(tp, fp, fn)
    ms = float(np.median(times)) if times else float("nan")
    return {
        "algorithm": name,
        "frames": t,
        "scored": scored,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": p,
        "recall": r,
        "f": f,
        "ms_per_frame": ms,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--masks", type=Path, required=True, help="CDnet/SBI ground-truth tar")
    ap.add_argument("--algorithms", default=",".join(DEFAULT_ALGORITHMS))
    ap.add_argument("--warmup", type=int, default=WARMUP_FRAMES)
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here too")
    args = ap.parse_args(argv)
    if args.warmup < 0:
        ap.error(f"--warmup {args.warmup} must be >= 0")
    masks = read_ground_truth(args.masks).masks
    rows = [score(name, args.video, masks, args.warmup) for name in args.algorithms.split(",")]
    versions = {"opencv_python": cv2.__version__}
    with contextlib.suppress(ImportError):
        import pybgs

        versions["pybgs"] = getattr(pybgs, "__version__", "?")
    print(f"{args.video.name}: {rows[0]['scored']} frames scored after {args.warmup}; {versions}")
    print("| subtractor | P / R / F | ms per frame (median) |")
    print("|---|---|---|")
    for r in rows:
        print(
            f"| {r['algorithm']} | {r['precision']:.3f} / {r['recall']:.3f} / {r['f']:.3f} | {r['ms_per_frame']:.1f} |"
        )
    if args.out is not None:
        args.out.write_text(json.dumps({"video": args.video.name, "versions": versions, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
