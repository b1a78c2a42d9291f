"""A case's folder: writing it (video, CDnet ground truth, instances, case.json), reading it back,
and a preview strip with the masks drawn on."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from models.synth.hard_cases.labels import UNCERTAIN, HardCase, groundtruth

PREVIEW_MAX_WIDTH = 2560  # px; wider preview strips are scaled down
JOINTS_FILE = "joints.npz"


def save(case: HardCase, folder: Path, progress: bool = False) -> None:
    """``video.avi``, ``groundtruth.tar``, ``instances.npz``, ``case.json``, ``background.png`` and,
    where the case knows them, ``joints.npz`` in ``folder`` (see :mod:`models.synth.hard_cases`)."""
    folder.mkdir(parents=True, exist_ok=True)
    _, H, W, _ = case.frames.shape
    writer = cv2.VideoWriter(str(folder / "video.avi"), cv2.VideoWriter.fourcc(*"FFV1"), case.info["fps"], (W, H))
    for f in tqdm(case.frames, desc="video.avi", disable=not progress):
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    masks = case.groundtruth()
    with tarfile.open(folder / "groundtruth.tar", "w") as tar:
        d = tarfile.TarInfo("groundtruth")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        for t, m in enumerate(tqdm(masks, desc="groundtruth.tar", disable=not progress)):
            ok, png = cv2.imencode(".png", m)
            if not ok:
                raise RuntimeError(f"PNG encoding failed for frame {t}")
            member = tarfile.TarInfo(f"groundtruth/gt{t:06d}.png")
            member.size, member.mode = len(png), 0o644
            tar.addfile(member, io.BytesIO(png.tobytes()))
    np.savez_compressed(
        folder / "instances.npz", instances=case.instances, amodal=np.packbits(case.amodal, axis=-1), width=W
    )
    if case.joints_2d is not None:
        np.savez_compressed(folder / JOINTS_FILE, joints_2d=case.joints_2d.astype(np.float32))
    (folder / "case.json").write_text(json.dumps(case.info, indent=1) + "\n")
    cv2.imwrite(str(folder / "background.png"), cv2.cvtColor(case.background, cv2.COLOR_RGB2BGR))


def read_groundtruth(path: Path) -> np.ndarray:
    """(T, H, W) uint8 masks from a CDnet/SBI ``groundtruth.tar`` (``groundtruth/gt%06d.png``),
    in frame order; colour PNGs (SBI's) are read as grey, which keeps 0, 170 and 255."""
    masks: dict[int, np.ndarray] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            m = re.fullmatch(r"groundtruth/gt(\d{6})\.png", member.name)
            f = tar.extractfile(member) if m else None
            if m and f is not None:
                img = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise ValueError(f"{path}: {member.name} is not a readable PNG")
                masks[int(m.group(1))] = img
    if not masks:
        raise ValueError(f"{path} holds no groundtruth/gt%06d.png members")
    return np.stack([masks[i] for i in sorted(masks)])


def read_instances(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``instances.npz`` -> instances (T, H, W) int16 and amodal (T, P, H, W) bool."""
    with np.load(path) as z:
        amodal = np.unpackbits(z["amodal"], axis=-1, count=int(z["width"])).astype(bool)
        return z["instances"], amodal


def read_joints(path: Path) -> np.ndarray:
    """``joints.npz`` -> (T, P, 24, 2) float32: each person's SMPL joints in the frame's pixels."""
    with np.load(path) as z:
        joints = z["joints_2d"]
    if joints.ndim != 4 or joints.shape[-1] != 2:
        raise ValueError(f"{path}: joints_2d must be (T, P, J, 2), got shape {joints.shape}")
    return joints


def overlay(frame: np.ndarray, instances: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB frame with each person tinted in its own colour, the uncertain band white."""
    colours = np.array([[0, 0, 0], [255, 60, 60], [60, 120, 255], [60, 255, 60], [255, 255, 60]], np.float32)
    img = frame.astype(np.float32)
    person = instances > 0
    tint = colours[np.clip(instances, 0, len(colours) - 1)]
    img[person] = 0.55 * img[person] + 0.45 * tint[person]
    img[mask == UNCERTAIN] = 255
    return img.astype(np.uint8)


def preview(case: HardCase, path: Path, picks: list[int] | None = None) -> None:
    """A PNG strip of frames (default: 4 around the events) with the masks drawn on (:func:`overlay`)."""
    T = len(case.frames)
    if picks is None:
        marks = [e["frame"] for e in case.info.get("events", [])] or [T // 2]
        picks = sorted({int(np.clip(f, 0, T - 1)) for m in marks[:3] for f in (m - 1, m + 2)} | {0, T - 1})
    masks = groundtruth(case.instances[picks])
    tiles = [overlay(case.frames[t], case.instances[t], masks[i]) for i, t in enumerate(picks)]
    for tile, t in zip(tiles, picks, strict=True):
        cv2.putText(tile, str(t), (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
    strip = np.concatenate(tiles, 1)
    if strip.shape[1] > PREVIEW_MAX_WIDTH:
        scale = PREVIEW_MAX_WIDTH / strip.shape[1]
        strip = cv2.resize(strip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
