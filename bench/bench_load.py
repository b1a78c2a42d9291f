"""Load with hot swaps: clients stream frames while adaptations complete and versions swap in.

    python -m bench.bench_load [--clients 3] [--swaps 20] [--iterations 60] [--no-write]

The deployed shape on one machine: a uvicorn API (Redis mode) and a real Celery worker, both
separate processes, Redis on 127.0.0.1:6379 (db 14). Clients each stream a synthetic site's
640x480 JPEG frames to `/pose` without pause for the whole run, while
1. two sites are adapted through `/adapt` by the worker (the gate decides whether they swap in);
2. then ``--swaps`` versions, written to the artifact store as a worker would, are activated one
   after another (each is a real hot swap: load, warm-up, publish), and the API's resident
   memory is read after each.
Every request is recorded: failures (any non-200 or transport error), latency, and which model
version answered. A swap window is the 2 s before and 1 s after the first answer from a new
version. Writes the ``load`` section of docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import redis
import torch
from tqdm import tqdm

from bench.bench_pose import start_server
from bench.report import machine, write_section
from models.regressor import load_regressor  # torchvision before the renderer's EGL context: the reverse segfaults
from models.synth.camera_site import SiteConfig, make_site
from runtime.model_store import ModelStore
from runtime.settings import SHIPPED_CHECKPOINT
from scripts.serve import free_port
from service.imaging import encode_jpeg
from worker.command import worker_command

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RELIABILITY.md"
REDIS = "redis://127.0.0.1:6379/14"


@dataclass
class Sample:
    t: float
    latency_ms: float
    ok: bool
    site: str
    version: str | None


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def site_frames(seed: int, frames: int, shift: str) -> list[bytes]:
    site = make_site(
        SiteConfig(width=640, height=480, focal=760.0, frames=frames, seed=seed), shift=shift, progress=False
    )
    return [encode_jpeg(f) for f in site.frames]


class Clients:
    """Threads that each post one site's frames in a loop until stopped."""

    def __init__(self, url: str, streams: dict[str, list[bytes]]):
        self.url, self.streams = url, streams
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(s,), daemon=True) for s in streams]

    def _run(self, site: str) -> None:
        frames = self.streams[site]
        with httpx.Client(timeout=30) as client:
            i = 0
            while not self._stop.is_set():
                t = time.perf_counter()
                ok, version = False, None
                try:
                    r = client.post(
                        f"{self.url}/v1/sites/{site}/pose",
                        content=frames[i % len(frames)],
                        headers={"content-type": "image/jpeg"},
                        params={"vertices": "false"},
                    )
                    ok = r.status_code == 200
                    version = r.json().get("model_version") if ok else None
                except httpx.HTTPError:
                    pass
                with self._lock:
                    self.samples.append(Sample(time.monotonic(), 1000 * (time.perf_counter() - t), ok, site, version))
                i += 1

    def start(self) -> None:
        for th in self._threads:
            th.start()

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join()


def swap_times(samples: list[Sample]) -> list[tuple[str, str, float]]:
    """(site, new version, time of its first answer) for every change of answering version."""
    last: dict[str, str] = {}
    out = []
    for s in sorted(samples, key=lambda s: s.t):
        if s.version is None:
            continue
        if s.site in last and last[s.site] != s.version:
            out.append((s.site, s.version, s.t))
        last[s.site] = s.version
    return out


def p99(xs: list[float]) -> float:
    return float(np.percentile(xs, 99)) if xs else float("nan")


def start_worker(env: dict, queue: str) -> subprocess.Popen:
    return subprocess.Popen(
        worker_command(queue),
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--swaps", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=60, help="adaptation iterations of each of the two jobs")
    ap.add_argument("--frames", type=int, default=160)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    streams = {
        f"load-{k}": site_frames(500 + k, args.frames, "lr-32+gray" if k < 2 else "clean")
        for k in range(max(args.clients, 2))
    }
    queue = f"load-{uuid.uuid4().hex[:6]}"
    # Database 14 is this benchmark's own: an interrupted earlier run leaves its site locks and
    # jobs there (queued on a queue no worker reads any more), which would hold this run's sites.
    redis.Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp) / "artifacts"
        env = {
            **os.environ,
            "SILHOUETTE_REDIS_URL": REDIS,
            "SILHOUETTE_ADAPT_QUEUE": queue,
            "SILHOUETTE_ARTIFACT_DIR": str(artifacts),
            "SILHOUETTE_MODEL_POLL_S": "0.2",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(
            artifacts,
            port,
            warmup=30,
            redis_url=REDIS,
            extra_env={"SILHOUETTE_ADAPT_QUEUE": queue, "SILHOUETTE_MODEL_POLL_S": "0.2"},
        )
        worker = start_worker(env, queue)
        rss = [("start", rss_mib(server.pid))]
        clients = Clients(url, streams)
        try:
            # Fill the two adapted sites' buffers first (the clients then keep streaming them).
            with httpx.Client(timeout=30) as c:
                for site in list(streams)[:2]:
                    for data in tqdm(streams[site], desc=f"buffering {site}"):
                        c.post(f"{url}/v1/sites/{site}/pose", content=data, headers={"content-type": "image/jpeg"})
            clients.start()
            t0 = time.monotonic()
            time.sleep(10)  # a quiet baseline before anything swaps
            jobs = {}
            with httpx.Client(timeout=30) as c:
                for site in list(streams)[:2]:
                    r = c.post(f"{url}/v1/sites/{site}/adapt", json={"iterations": args.iterations})
                    r.raise_for_status()
                    jobs[site] = r.json()["id"]
                results = {}
                bar = tqdm(total=2 * args.iterations, desc="two adaptations under load")
                while len(results) < len(jobs):
                    done = 0
                    for site, jid in jobs.items():
                        j = c.get(f"{url}/v1/jobs/{jid}").json()
                        done += (j.get("progress") or {}).get("iteration", 0)
                        if j["state"] in ("succeeded", "failed", "cancelled"):
                            results[site] = j
                    bar.n = done
                    bar.refresh()
                    time.sleep(1.0)
                bar.close()
                time.sleep(5)
                rss.append(("after the adaptations", rss_mib(server.pid)))
                # Consecutive swaps: versions written as a worker writes them, activated one by one.
                store = ModelStore(artifacts, SHIPPED_CHECKPOINT)
                regressor = load_regressor(SHIPPED_CHECKPOINT)
                site = list(streams)[-1]
                for k in tqdm(range(args.swaps), desc="consecutive swaps"):
                    with torch.no_grad():  # a slightly different model each time, as adaptation makes
                        last = list(regressor.parameters())[-1]
                        last.add_(1e-4 * torch.randn_like(last))
                    v = store.write_version(site, regressor, store.active(site), None, {"bench": "load", "k": k})
                    c.post(f"{url}/v1/sites/{site}/versions/{v.id}/activate").raise_for_status()
                    deadline = time.monotonic() + 30
                    while (
                        c.get(f"{url}/v1/sites/{site}").json()["serving_version"] != v.id
                        and time.monotonic() < deadline
                    ):
                        time.sleep(0.2)
                    time.sleep(1.0)
                    rss.append((f"swap {k + 1}", rss_mib(server.pid)))
            time.sleep(5)
            total_s = time.monotonic() - t0
        finally:
            clients.stop()
            alive = server.poll() is None and worker.poll() is None
            server.terminate()
            worker.terminate()
            server.wait(30)
            worker.wait(60)
    samples = clients.samples
    failed = [s for s in samples if not s.ok]
    swaps = swap_times(samples)
    in_window = lambda s: any(t - 2.0 <= s.t <= t + 1.0 for _, _, t in swaps)  # noqa: E731
    lat_in = [s.latency_ms for s in samples if s.ok and in_window(s)]
    lat_out = [s.latency_ms for s in samples if s.ok and not in_window(s)]
    adapt_lines = "\n".join(
        f"- `{site}`: job {j['state']}; health {j.get('result', {}).get('health_before', {}).get('iou', float('nan')):.3f}"
        f" → {j.get('result', {}).get('health_after', {}).get('iou', float('nan')):.3f} IoU; activated: "
        f"{j.get('result', {}).get('activated')}"
        for site, j in results.items()
    )
    mem = ", ".join(f"{name}: {v:.0f}" for name, v in rss)
    ratio = p99(lat_in) / p99(lat_out) if lat_in and lat_out else float("nan")
    date = datetime.now(UTC).date().isoformat()
    text = f"""## Load with hot swaps

Command: `python -m bench.bench_load --clients {args.clients} --swaps {args.swaps} --iterations {args.iterations}` ({date}).
Machine: {machine("cpu")}; API (one uvicorn process), Celery worker and clients all on these 2 cores.
Load: {len(streams)} clients, each streaming one site's 640x480 JPEG frames without pause, {total_s:.0f} s.

- Requests: **{len(samples)}**, failed: **{len(failed)}**. Processes alive at the end: {alive}.
- Two adaptations ({args.iterations} iterations each) ran on the worker under this load:
{adapt_lines}
- Swaps seen by clients (answers from a new version): **{len(swaps)}** ({args.swaps} consecutive activations of
  fresh versions of one site, plus whichever adaptations the gate activated).
- p99 latency in swap windows (2 s before to 1 s after a new version's first answer): {p99(lat_in):.0f} ms over
  {len(lat_in)} requests; outside them: {p99(lat_out):.0f} ms over {len(lat_out)} requests; ratio **{ratio:.2f}**
  (target at most 2). Outside includes the time the worker was adapting on the same cores.
- API resident memory (MiB): {mem}. Loaded ONNX sessions are capped (`SILHOUETTE_MAX_LOADED_VERSIONS`, 8).
"""
    print(text)
    if not args.no_write:
        write_section(text, "load", DOC)


if __name__ == "__main__":
    main()
