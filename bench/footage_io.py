"""Reading the real-footage clips and their ground truth, and the small utilities the real-footage
benchmarks share: frame encoding, run names, paths as shown, strict JSON, provenance (machine, commit)
and the overlay folder check."""

from __future__ import annotations

import json
import math
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench import footage_scores as fs

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "real"
# The real-image evaluation environment (`make eval-env`: MediaPipe 0.10.21 with numpy<2, OpenCV 4):
# the scripts that run in it take VIDEO BOXES.json OUT.npz (bench/blazepose_landmarks.py, bench/hog_people.py).
EVAL_PYTHON = ROOT / ".venv-eval" / "bin" / "python"
EVAL_TIMEOUT_S = 3600.0
GT_NAME = "groundtruth/gt{:06d}.png"
ENCODINGS = ("png", "jpeg")


# -- inputs -----------------------------------------------------------------------------------------


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


# -- names and paths ---------------------------------------------------------------------------------


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


def display_path(p: Path | None) -> str | None:
    """A path as the command gave it, relative to the repository when it lies below the repository's parent."""
    if p is None:
        return None
    p = p.resolve()
    try:
        return os.path.relpath(p, ROOT) if ROOT.parent in p.parents else str(p)
    except ValueError:
        return str(p)


def check_overlay_dir(path: Path, flag: str = "--overlays") -> Path:
    """``path`` made (a folder for frames of the clips, which may not be copied into the repository),
    resolved; a ValueError naming ``flag`` where it lies inside the repository."""
    path = path.resolve()
    if path == ROOT or ROOT in path.parents:
        raise ValueError(f"{flag} {path} lies inside the repository; frames of the clips may not be copied there")
    path.mkdir(parents=True, exist_ok=True)
    return path


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


# -- provenance --------------------------------------------------------------------------------------


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


def run_on_boxes(script: Path, video: Path, boxes: list[tuple[int, list[float]]], label: str) -> dict[str, np.ndarray]:
    """Run a ``.venv-eval`` script on (frame, [x0, y0, x1, y1]) boxes of a video -> the arrays of
    the .npz it writes, one row per box in order. RuntimeError with its stderr if it fails."""
    with tempfile.TemporaryDirectory(prefix="eval-env-") as tmp:
        spec, out = Path(tmp) / "boxes.json", Path(tmp) / "out.npz"
        spec.write_text(json.dumps({"boxes": [{"frame": int(t), "box": list(b)} for t, b in boxes]}))
        print(f"{label} on {len(boxes)} boxes of {video.name} (.venv-eval) ...", flush=True)
        cmd = [str(EVAL_PYTHON), str(script), str(video), str(spec), str(out)]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=EVAL_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-3000:]}")
        with np.load(out) as z:
            return {k: z[k] for k in z.files}
