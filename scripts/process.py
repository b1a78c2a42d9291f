"""The offline command for recordings: ``silhouette-adapt process VIDEO [--site NAME] [--out DIR] [--adapt]``.

Runs the service's own pipeline in this process (:class:`service.core.PoseService` in embedded
mode: no Redis, no HTTP) over a video file, with a progress bar, and writes

    DIR/tracks/track-<id>.npz, .glb   every track, as GET /v1/sites/{site}/tracks/{id}/export writes it
    DIR/overlay.mp4                   the frames with each person's mesh and track id drawn
    DIR/summary.json                  frames, people, tracks, throughput (frames/s), the adaptation's outcome

With ``--adapt`` the whole video goes through the site first (its people's crops fill the
site's buffer), the site is adapted on them as ``POST /adapt`` would, and the video is then run
again from a fresh start with whatever model the service's gate left active: the adapted one
when it explains held-out silhouettes better, the source one otherwise. The second run is
what the files show.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from models.smpl_file import mesh_faces
from runtime.settings import Settings
from runtime.site_ids import BadSiteId, check_site_id
from runtime.video import read_frames, video_info
from service.core import PoseService
from service.errors import Conflict
from service.exports import TrackArrays, glb_bytes, npz_bytes
from service.overlay import draw_mesh, mesh_pixels
from service.pipeline import FrameResult

JOB_POLL_S = 0.5
UNBOUNDED = 2**62  # the command's history holds the whole recording: its bounds are the video's length
PALETTE = [(255, 99, 71), (80, 200, 255), (124, 252, 0), (255, 215, 0), (218, 112, 214), (0, 206, 209)]  # RGB


def site_name(video: Path) -> str:
    """A site id from a file name: ``pets-walk.avi`` -> ``pets-walk``."""
    return re.sub(r"[^a-z0-9_-]+", "-", video.stem.lower()).strip("-_")[:63] or "video"


def draw_people(frame: np.ndarray, result: FrameResult, faces: np.ndarray) -> np.ndarray:
    """The frame (H, W, 3) RGB with each answered person's mesh filled in their track's colour and their id."""
    out = frame
    for p in result.persons:
        colour = PALETTE[p.track_id % len(PALETTE)]
        pixels = mesh_pixels(p.vertices, p.camera, p.square)
        out = draw_mesh(out, pixels, faces, colour)
    for p in result.persons:  # labels last, so no mesh covers one
        colour = PALETTE[p.track_id % len(PALETTE)]
        x0, y0 = int(p.box[0]), max(int(p.box[1]) - 4, 12)
        cv2.putText(out, f"id {p.track_id}", (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, f"id {p.track_id}", (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return out


def settings_for(args: argparse.Namespace) -> Settings:
    """The environment's settings (``SILHOUETTE_*``), embedded, with a track history that holds the whole run
    (a container's frame count can be wrong or missing, so it bounds nothing)."""
    return Settings(
        redis_url=None,
        artifact_dir=args.artifacts,
        track_max_frames=UNBOUNDED,
        track_max_tracks=UNBOUNDED,
        track_max_bytes=UNBOUNDED,
        track_max_age_s=float(UNBOUNDED),
    )


def adapt_on_video(args: argparse.Namespace, settings: Settings, total: int) -> dict:
    """Send the video through the site (buffering its crops), adapt, and wait; the job's record as a dict."""
    svc = PoseService(settings)
    svc.start()
    try:
        for frame in tqdm(read_frames(args.video, args.max_frames), total=total, desc="learning", unit="frame"):
            svc.pose_frame(args.site, frame, buffer=True)
        config = {"iterations": args.iterations} if args.iterations else {}
        try:
            job, _ = svc.adapt(args.site, config)
        except Conflict as exc:
            tqdm.write(f"not adapted: {exc}")
            return {"state": "refused", "error": str(exc)}
        bar = tqdm(total=args.iterations or None, desc="adapting", unit="it")
        while job.state not in ("succeeded", "failed", "cancelled"):
            time.sleep(JOB_POLL_S)
            job = svc.job(job.id)
            progress = job.progress or {}
            bar.total = progress.get("iterations") or bar.total
            bar.update(progress.get("iteration", 0) - bar.n)
        bar.close()
        record = job.model_dump()
        result = record.get("result") or {}
        tqdm.write(
            f"adaptation {job.state}: activated {result.get('activated')} "
            f"({result.get('reason') or result.get('version') or job.error})"
        )
        return record
    finally:
        svc.stop()


def run(args: argparse.Namespace) -> dict:
    count, fps, size = video_info(args.video)
    total = min(count, args.max_frames) if args.max_frames else count
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tracks").mkdir(exist_ok=True)
    settings = settings_for(args)
    adaptation = adapt_on_video(args, settings, total) if args.adapt else None
    svc = PoseService(settings)
    svc.start()
    faces = mesh_faces(settings.body_model_path)
    writer: cv2.VideoWriter | None = None
    frames = persons = 0
    pose_s = draw_s = 0.0
    version = None
    t_start = time.perf_counter()
    try:
        bar = tqdm(read_frames(args.video, args.max_frames), total=total, desc="processing", unit="frame")
        for frame in bar:
            t0 = time.perf_counter()
            result = svc.pose_frame(args.site, frame, buffer=False)
            t1 = time.perf_counter()
            if writer is None:  # sized by the frames themselves: a container may say otherwise
                size = (frame.shape[1], frame.shape[0])
                writer = overlay_writer(args.out / "overlay.mp4", fps, size)
            writer.write(cv2.cvtColor(draw_people(frame, result, faces), cv2.COLOR_RGB2BGR))
            draw_s += time.perf_counter() - t1
            pose_s += t1 - t0
            frames += 1
            persons += len(result.persons)
            version = result.model_version
            bar.set_postfix(people=len(result.persons))
        run_s = time.perf_counter() - t_start
        if writer is None:
            raise SystemExit(f"{args.video}: no frame could be read")
        writer.release()
        t0 = time.perf_counter()
        tracks = write_tracks(svc, args, faces, fps)
        export_s = time.perf_counter() - t0
    finally:
        if writer is not None:
            writer.release()
        svc.stop()
    summary = {
        "command": " ".join(["silhouette-adapt", *args.argv]),
        "video": str(args.video),
        "site": args.site,
        "frames": frames,
        "video_fps": fps,
        "frame_size": list(size),
        "person_frames": persons,
        "model_version": version,
        "tracks": tracks,
        "seconds": {
            "pipeline": round(pose_s, 2),
            "overlay": round(draw_s, 2),
            "processing_pass": round(run_s, 2),
            "exports": round(export_s, 2),
        },
        "throughput_fps": {
            "pipeline": round(frames / pose_s, 2) if pose_s else None,
            "with_overlay": round(frames / run_s, 2) if run_s else None,
        },
        "adaptation": adaptation,
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()},
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def overlay_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """An MPEG-4 Part 2 writer (what OpenCV's wheels encode without extra codecs)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} (no mp4v encoder?)")
    return writer


def write_tracks(svc: PoseService, args: argparse.Namespace, faces: np.ndarray, fps: float) -> list[dict]:
    """Every track of the run as DIR/tracks/track-<id>.npz and .glb; what was written, per track."""
    written = []
    for info in svc.tracks.summaries(args.site):
        track = TrackArrays.of(
            args.site, info.track_id, svc.tracks.frames(args.site, info.track_id), faces, args.focal, fps
        )
        stem = args.out / "tracks" / f"track-{info.track_id}"
        stem.with_suffix(".npz").write_bytes(npz_bytes(track))
        stem.with_suffix(".glb").write_bytes(glb_bytes(track))
        written.append(
            {
                "track_id": info.track_id,
                "frames": info.frames,
                "first_frame": info.first_frame,
                "last_frame": info.last_frame,
            }
        )
    return written


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="silhouette-adapt", description="Offline tools of the pose service.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="a recording -> per-track npz and glb, an overlay video, a summary")
    p.add_argument("video", type=Path)
    p.add_argument("--site", help="the site's id (default: from the file name)")
    p.add_argument("--out", type=Path, help="output folder (default: runs/process/SITE)")
    p.add_argument("--adapt", action="store_true", help="adapt the site on the video first, then re-run it")
    p.add_argument("--iterations", type=int, help="adaptation iterations (default: the engine's)")
    p.add_argument("--max-frames", type=int, help="only the first N frames")
    p.add_argument("--focal", type=float, help="the camera's focal length in pixels (default: assumed, the diagonal)")
    p.add_argument("--artifacts", type=Path, help="the model store (default: a fresh temporary folder)")
    return ap


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    if not args.video.is_file():
        raise SystemExit(f"{args.video}: no such file")
    args.site = args.site or site_name(args.video)
    try:
        check_site_id(args.site)
    except BadSiteId as exc:
        raise SystemExit(str(exc)) from None
    if args.max_frames is not None and args.max_frames < 1:
        raise SystemExit(f"--max-frames {args.max_frames}: at least 1")
    try:
        video_info(args.video)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    args.out = args.out or Path("runs/process") / args.site
    args.artifacts = args.artifacts or Path(tempfile.mkdtemp(prefix="silhouette-process-"))
    summary = run(args)
    print(
        f"{summary['frames']} frames, {summary['person_frames']} person-frames in {len(summary['tracks'])} tracks; "
        f"{summary['throughput_fps']['pipeline']} frames/s through the pipeline, "
        f"{summary['throughput_fps']['with_overlay']} with the overlay; files in {args.out}"
    )


if __name__ == "__main__":
    main()
