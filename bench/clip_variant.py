"""A clip and its labelled masks as another camera would see them: larger, smaller, grey.

    python -m bench.clip_variant ../shared/data/real/sbi_IBMtest2.avi --scale 3 --out /tmp/v
    python -m bench.real_pose /tmp/v/sbi_IBMtest2_x3.avi --masks /tmp/v/sbi_IBMtest2_x3_groundtruth.tar

Issue 19's goals will be checked on footage not at hand: large people (the labelled clips have no
one 150 px tall), low-resolution scenes, grey cameras. The same labelled people seen larger
(``--scale 3``: 2-4 times as many pixels tall in a frame as many times as wide), smaller (``--scale
0.5``) or grey (``--grey``: one luminance channel in all three) exercise everything that counts in
pixels or colours (the person finder, crops, the camera fit, the model, BlazePose's boxes). It is not
such footage (enlarged frames hold no more detail), but a person found whole at 1x and in pieces at
3x is a bug that real large people will meet (docs/REAL_FOOTAGE.md, "A person cut at the waist before
the scale is known"). Frames are resized with cubic interpolation (area when smaller) and written as
MJPG at high quality; masks with nearest neighbour into a tar of the same layout (``gtNNNNNN.png``,
ROI.bmp and temporalROI.txt where the original has them). The output must lie outside the
repository: the labelled clips are for evaluation only (``../shared/data/real/SOURCES.md``).
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from bench import footage_io as fio
from runtime.video import read_frames, video_info

MJPG_QUALITY = 95
MIN_SCALE, MAX_SCALE = 0.25, 8.0


def resized(image: np.ndarray, scale: float, interpolation: int) -> np.ndarray:
    """(H, W[, C]) -> (round(scale * H), round(scale * W)[, C])."""
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=interpolation)


def variant_frame(frame: np.ndarray, scale: float, grey: bool) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> the frame resized (cubic when larger, area when smaller) and, with
    ``grey``, its luminance in all three channels (what a grey camera's RGB stream holds)."""
    out = frame if scale == 1 else resized(frame, scale, cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    if grey:
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    return out


def write_video(video: Path, out: Path, scale: float, grey: bool) -> int:
    """Writes ``out`` (MJPG) with every frame of ``video`` made :func:`variant_frame`; returns the
    number of frames."""
    _, fps, _ = video_info(video)
    writer: cv2.VideoWriter | None = None
    n = 0
    try:
        for frame in tqdm(read_frames(video), desc=f"{video.name} -> {out.name}", unit="frame"):
            big = cv2.cvtColor(variant_frame(frame, scale, grey), cv2.COLOR_RGB2BGR)
            if writer is None:
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, big.shape[1::-1])
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, MJPG_QUALITY)
            writer.write(big)
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if n == 0:
        raise ValueError(f"{video}: no frame could be read")
    return n


def write_masks(tar_path: Path, out: Path, scale: float) -> int:
    """Writes ``out``, a tar of ``tar_path``'s masks (and ROI) resized by nearest neighbour; returns
    the number of masks."""
    n = 0
    with tarfile.open(tar_path) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            if not member.isfile():
                continue
            data = src.extractfile(member).read()  # type: ignore[union-attr]  # a file member has one
            base = Path(member.name).name
            if base.endswith((".png", ".bmp")):
                mask = resized(fio.decode_mask(data, member.name), scale, cv2.INTER_NEAREST)
                ok, buf = cv2.imencode(Path(base).suffix, mask)
                if not ok:
                    raise ValueError(f"{member.name}: could not be encoded again")
                data = buf.tobytes()
                n += base.startswith("gt")
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return n


def variant_stem(stem: str, scale: float, grey: bool) -> str:
    """``sbi_IBMtest2``, 3, False -> ``sbi_IBMtest2_x3``; 0.5, True -> ``sbi_IBMtest2_x0.5_grey``."""
    return stem + (f"_x{scale:g}" if scale != 1 else "") + ("_grey" if grey else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--scale", type=float, default=1.0, help=f"{MIN_SCALE}-{MAX_SCALE} times the resolution")
    ap.add_argument("--grey", action="store_true", help="one luminance channel, as a grey camera sends")
    ap.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    args = ap.parse_args(argv)
    if not MIN_SCALE <= args.scale <= MAX_SCALE:
        ap.error(f"--scale {args.scale}: between {MIN_SCALE} and {MAX_SCALE}")
    if args.scale == 1 and not args.grey:
        ap.error("neither --scale nor --grey: the variant would be the clip itself")
    try:
        args.out = fio.check_overlay_dir(args.out, "--out")
    except ValueError as e:
        ap.error(str(e))
    stem = variant_stem(args.video.stem, args.scale, args.grey)
    frames = write_video(args.video, args.out / f"{stem}.avi", args.scale, args.grey)
    print(f"wrote {args.out / f'{stem}.avi'} ({frames} frames)")
    tar = args.video.with_name(f"{args.video.stem}_groundtruth.tar")
    if tar.exists():
        masks = write_masks(tar, args.out / f"{stem}_groundtruth.tar", args.scale)
        print(f"wrote {args.out / f'{stem}_groundtruth.tar'} ({masks} masks)")


if __name__ == "__main__":
    main()
