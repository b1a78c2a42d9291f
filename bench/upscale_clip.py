"""A clip and its labelled masks at K times the resolution: large people from the clips at hand.

    python -m bench.upscale_clip ../shared/data/real/sbi_IBMtest2.avi --factor 3 --out /tmp/x3
    python -m bench.real_pose /tmp/x3/sbi_IBMtest2_x3.avi --masks /tmp/x3/sbi_IBMtest2_x3_groundtruth.tar

Issue 19's goals are for people at least 150 px tall, and the labelled clips have none; footage of
large people will be judged with the same commands. Enlarged, the same people are 2-4 times as many
pixels tall in a frame 2-4 times as wide, which exercises everything that counts in pixels (the
person finder, crops, the camera fit, BlazePose's boxes). It is not footage of large people (no
more detail than the original; the cameras' blur enlarged too), but a person found whole at 1x and
in pieces at 3x is a bug that real large people will meet (docs/REAL_FOOTAGE.md, "A person cut at
the waist before the scale is known"). Frames are enlarged with cubic interpolation and written as
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
from runtime.video import read_frames

MJPG_QUALITY = 95


def enlarged(image: np.ndarray, factor: int, interpolation: int) -> np.ndarray:
    """(H, W[, C]) -> (factor * H, factor * W[, C])."""
    h, w = image.shape[:2]
    return cv2.resize(image, (w * factor, h * factor), interpolation=interpolation)


def upscale_video(video: Path, out: Path, factor: int) -> int:
    """Writes ``out`` (MJPG) with every frame of ``video`` enlarged; returns the number of frames."""
    fps = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS) or 25.0
    writer: cv2.VideoWriter | None = None
    n = 0
    try:
        for frame in tqdm(read_frames(video), desc=f"{video.name} x{factor}", unit="frame"):
            big = cv2.cvtColor(enlarged(frame, factor, cv2.INTER_CUBIC), cv2.COLOR_RGB2BGR)
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


def upscale_masks(tar_path: Path, out: Path, factor: int) -> int:
    """Writes ``out``, a tar of ``tar_path``'s masks (and ROI) enlarged; returns the number of masks."""
    n = 0
    with tarfile.open(tar_path) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            if not member.isfile():
                continue
            data = src.extractfile(member).read()  # type: ignore[union-attr]  # a file member has one
            base = Path(member.name).name
            if base.endswith((".png", ".bmp")):
                mask = enlarged(fio.decode_mask(data, member.name), factor, cv2.INTER_NEAREST)
                ok, buf = cv2.imencode(Path(base).suffix, mask)
                if not ok:
                    raise ValueError(f"{member.name}: could not be encoded again")
                data = buf.tobytes()
                n += base.startswith("gt")
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return n


def inside_repository(path: Path) -> bool:
    return path.resolve().is_relative_to(fio.ROOT.resolve())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--factor", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True, help="a folder outside the repository")
    args = ap.parse_args(argv)
    if args.factor < 2:
        ap.error(f"--factor {args.factor}: at least 2")
    if inside_repository(args.out):
        ap.error(f"--out {args.out}: inside the repository; the labelled clips may not be copied into it")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.video.stem}_x{args.factor}"
    frames = upscale_video(args.video, args.out / f"{stem}.avi", args.factor)
    print(f"wrote {args.out / f'{stem}.avi'} ({frames} frames)")
    tar = args.video.with_name(f"{args.video.stem}_groundtruth.tar")
    if tar.exists():
        masks = upscale_masks(tar, args.out / f"{stem}_groundtruth.tar", args.factor)
        print(f"wrote {args.out / f'{stem}_groundtruth.tar'} ({masks} masks)")


if __name__ == "__main__":
    main()
