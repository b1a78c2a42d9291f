"""The service's logic, independent of HTTP: sites, serving, adaptation jobs, versions.

svc = PoseService(Settings()); svc.start()
result = svc.pose("lobby-1", jpeg_bytes)          # FrameResult
job, created = svc.adapt("lobby-1", {"iterations": 200})   # JobRecord (queued), or the running one
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from models.camera_tilt import check_tilt
from models.heading import FaceWalk, TurnRound
from models.onnx_runtime import available_providers
from models.people.finder import FinderConfig, shipped_personness
from models.people.foreground import Subtractor
from models.pose_fit import PoseFitter
from models.silhouette_camera import SilhouetteCamera
from models.smpl_file import body_model_data, mesh_faces, mesh_template
from runtime.adaptation_job import run_adaptation_job, save_snapshot
from runtime.executors import CeleryExecutor, EmbeddedExecutor, Executor
from runtime.jobs import TERMINAL, JobRecord, JobStore, MemoryJobStore, RedisJobStore, new_job
from runtime.model_store import ModelStore, ModelVersion
from runtime.settings import Settings
from runtime.site_ids import check_site_id
from service.errors import Conflict, NotFound, Unavailable
from service.imaging import decode_frame
from service.inference import ModelServer
from service.live import LiveView, SiteRates, frame_jpeg
from service.pipeline import FrameResult, process_frame
from service.sites import BufferLimits, Site, SiteRegistry, read_saved, site_settings
from service.tracks import TrackLimits, TrackRegistry

log = logging.getLogger(__name__)
EMBEDDED, CELERY = "embedded", "celery"


@dataclass(frozen=True)
class SiteStatus:
    id: str
    active_version: str
    serving_version: str | None
    frames_seen: int
    warming_up: bool
    buffered_crops: int
    buffered_bytes: int
    background_method: str
    camera_tilt_deg: float | None
    ghosts: int
    detail_factor: float | None = None  # how far the site's frames are blown up (models.detail); None: none read


class PoseService:
    def __init__(self, settings: Settings):
        if settings.require_api_key and settings.api_key is None:
            raise RuntimeError("SILHOUETTE_API_KEY must be set: this deployment requires an API key")
        self.settings = settings
        self.store = ModelStore(settings.artifact_dir, settings.source_checkpoint, settings.flip_average)
        providers = settings.onnx_providers.split(",") if settings.onnx_providers else available_providers()
        self.server = ModelServer(self.store, providers, settings.max_loaded_versions, settings.model_poll_s)
        limits = BufferLimits(settings.buffer_max_crops, settings.buffer_max_bytes, settings.buffer_max_age_s)
        finder = FinderConfig.with_warmup(
            settings.warmup_frames, settings.background_method, settings.person_check, settings.absorbed_people
        )
        if finder.person_check != "off":
            shipped_personness()  # a missing or broken classifier stops the start, not the first frame
        self.sites = SiteRegistry(finder, limits, TrackLimits.of(settings), self.store.site_settings)
        self.tracks = TrackRegistry(self.sites)  # what each site answered, per track, for exports
        self.jobs: JobStore
        self.executor: Executor
        if settings.redis_url:
            self.jobs = self._redis = RedisJobStore(settings.redis_url, settings.job_lock_ttl_s)
            self.executor = CeleryExecutor(settings)
            self.mode = CELERY
        else:
            self.jobs = MemoryJobStore()
            self.executor = EmbeddedExecutor(self._run_embedded)
            self.mode = EMBEDDED
        if self.mode == EMBEDDED or not self.store.base_ready():
            self._load_torch()
        self._adapt_lock = threading.Lock()
        self._faces: list[list[int]] = []
        self._face_array = np.zeros((0, 3), np.int64)
        self._turn: TurnRound | None = None  # set at start() when heading_from_motion is on
        self._camera: SilhouetteCamera | None = None  # set at start() when camera_fit is on
        self._limbs: PoseFitter | None = None  # set at start() when limb_fit is on
        self._face = FaceWalk() if settings.heading_from_motion and settings.face_walk else None
        self.live = LiveView()  # the latest frame and recent rates per site, for the console

    def _load_torch(self) -> None:
        """Import torch now, for an in-process adaptation (embedded mode) or the source model's export.

        It must first load in the main thread: imported first from a small-stack worker thread
        (the job thread, or start() in a threadpool), torchvision's triton chain crashes the process."""
        try:
            importlib.import_module("models.export")
        except ModuleNotFoundError as exc:
            need = (
                "the embedded mode adapts in this process"
                if self.mode == EMBEDDED
                else (f"the artifact store {self.settings.artifact_dir} has no ONNX graph of the source model yet")
            )
            raise RuntimeError(
                f"{need}, which needs {exc.name!r} (the 'ml' extra): install it, or run "
                "`python -m runtime.prepare` where it is installed (docker compose's `prepare` service)"
            ) from None

    def start(self) -> None:
        self.server.start()
        # Served once by /v1/faces: read at start-up, not on a request.
        self._face_array = mesh_faces(self.settings.body_model_path)
        self._faces = self._face_array.tolist()
        if self.settings.heading_from_motion:
            self._turn = TurnRound.of(mesh_template(self.settings.body_model_path))
        if self.settings.camera_fit:
            self._camera = SilhouetteCamera(self._face_array)
        if self.settings.limb_fit:
            self._limbs = PoseFitter.of(body_model_data(self.settings.body_model_path))

    def stop(self) -> None:
        self.server.stop()
        self.executor.shutdown()

    def _run_embedded(self, job_id: str, site: str, config: dict) -> None:
        run_adaptation_job(job_id, site, config, self.store, self.jobs, self.settings.body_model_path)

    # -- serving ------------------------------------------------------------------------------
    def pose(self, site_id: str, data: bytes, content_type: str | None = None, buffer: bool = True) -> FrameResult:
        t0 = time.perf_counter()
        site = self.sites.get(site_id)
        frame = decode_frame(data, self.settings.max_pixels, content_type)
        result = self._process(site_id, site, frame, buffer)
        self.live.record(site_id, frame, result, 1000 * (time.perf_counter() - t0))
        return result

    def faces(self) -> list[list[int]]:
        return self._faces

    def pose_frame(self, site_id: str, frame: np.ndarray, buffer: bool = True) -> FrameResult:
        """A decoded (H, W, 3) RGB uint8 frame: the offline command's way in, without an image codec."""
        return self._process(site_id, self.sites.get(site_id), frame, buffer)

    def _process(self, site_id: str, site: Site, frame: np.ndarray, buffer: bool) -> FrameResult:
        """One decoded frame of a site through the model serving it, with the service's settings."""
        model = self.server.model_for(site_id)  # taken once: a swap mid-request cannot touch it
        s = self.settings
        return process_frame(
            site,
            frame,
            model,
            s.max_persons,
            buffer,
            self._turn,
            self._camera,
            self._face,
            s.crop_past_edge,
            self._limbs,
        )

    # -- sites --------------------------------------------------------------------------------
    def site_status(self, site_id: str) -> SiteStatus:
        """What this process knows of a site; :class:`NotFound` if it has neither frames nor versions."""
        site = self.sites.find(site_id)
        if site is None and not self.store.site_dir(site_id).exists():
            raise NotFound(f"no site {site_id}: send it a frame first")
        if site is None:  # what was saved for it, as the site will be made with it
            method, tilt = read_saved(self.store.site_settings(site_id), site_id)
        else:
            method, tilt = site.background_method, site.camera_tilt_deg
        return SiteStatus(
            id=site_id,
            active_version=self.store.active(site_id),
            serving_version=self.server.serving_version(site_id),
            frames_seen=site.frames_seen if site else 0,
            warming_up=site.finder.warming_up if site else True,
            buffered_crops=len(site.buffer) if site else 0,
            buffered_bytes=site.buffer.nbytes if site else 0,
            background_method=method or self.settings.background_method,
            camera_tilt_deg=tilt,
            ghosts=site.finder.ghosts_in_view if site else 0,
            detail_factor=site.detail.factor if site and site.detail.known else None,
        )

    def set_background(self, site_id: str, method: Subtractor) -> SiteStatus:
        """Subtract a site's background with ``method`` (mog2 or knn) from its next frame on; the site
        learns its background afresh and its tracks start over. Makes the site if it has no frames yet;
        the choice is saved with the site's models and outlives this process."""
        site = self.sites.configure(site_id, method)
        self.store.save_site_settings(site_id, site_settings(site))
        return self.site_status(site_id)

    def set_camera_tilt(self, site_id: str, tilt_deg: float | None) -> SiteStatus:
        """Turn a site's answered bodies by its camera's tilt below the horizon from its next frame on
        (None: upright in the camera, as the model answers them). Makes the site if it has no frames yet;
        saved with the site's models, it outlives this process."""
        site = self.sites.get(site_id)
        site.camera_tilt_deg = None if tilt_deg is None else check_tilt(tilt_deg)
        self.store.save_site_settings(site_id, site_settings(site))
        return self.site_status(site_id)

    def clear_buffer(self, site_id: str) -> int:
        """Delete a site's buffered crops; returns how many there were."""
        site = self.sites.find(site_id)
        self.tracks.clear(site_id)  # people's bodies frame by frame go with their images
        return site.buffer.clear() if site else 0

    # -- the console --------------------------------------------------------------------------
    def site_overview(self) -> list[tuple[SiteStatus, SiteRates]]:
        """Every site this process has frames of or the artifact store has versions of, with its recent rates."""
        ids = sorted(set(self.sites.ids()) | set(self.store.sites()))
        return [(self.site_status(s), self.live.rates(s)) for s in ids]

    def site_jobs(self, site_id: str) -> list[JobRecord]:
        """The site's recent adaptation jobs, newest first (a running one whose worker went silent is failed)."""
        check_site_id(site_id)
        try:
            jobs = self.jobs.site_jobs(site_id)
        except Exception as exc:  # noqa: BLE001 - redis down
            raise Unavailable(f"the job store is unreachable ({type(exc).__name__})") from None
        return [self.job(j.id) if j.state == "running" else j for j in jobs]

    def frame_jpeg(self, site_id: str) -> bytes:
        """The site's latest frame with the people answered in it drawn (meshes, boxes, track ids), as JPEG."""
        check_site_id(site_id)
        latest = self.live.latest(site_id)
        if latest is None:
            raise NotFound(f"no frame of site {site_id} yet in this process")
        return frame_jpeg(*latest, self._face_array)

    # -- versions -----------------------------------------------------------------------------
    def versions(self, site_id: str) -> list[tuple[ModelVersion, bool]]:
        """Every version of a site, oldest first, each with whether it is the active one."""
        active = self.store.active(site_id)
        return [(v, v.id == active) for v in self.store.versions(site_id)]

    def activate(self, site_id: str, version: str) -> ModelVersion:
        try:
            v = self.store.activate(site_id, version)
        except KeyError:
            raise NotFound(f"site {site_id} has no version {version}") from None
        self.server.refresh(site_id)
        return v

    # -- adaptation ---------------------------------------------------------------------------
    def adapt(self, site_id: str, config: dict) -> tuple[JobRecord, bool]:
        """Start adapting a site on its buffer. Returns (job, created): the running job if one is."""
        site = self.sites.find(site_id)
        n = len(site.buffer) if site else 0
        if site is None or n < self.settings.min_adapt_crops:
            raise Conflict(
                f"site {site_id} has {n} buffered person crops; at least "
                f"{self.settings.min_adapt_crops} are needed (send more frames to /pose)"
            )
        job = new_job(site_id, config)
        with self._adapt_lock:
            try:
                self.jobs.put(job)
                holder = self.jobs.lock_site(site_id, job.id)
            except Exception as exc:  # noqa: BLE001 - redis down
                raise Unavailable(f"the job store is unreachable ({type(exc).__name__}); try again shortly") from None
            if holder is not None:
                self.jobs.update(job.id, state="cancelled", error=f"superseded by running job {holder}")
                running = self.jobs.get(holder)
                if running is not None:
                    return running, False
        try:
            save_snapshot(self.store.snapshot_path(site_id, job.id), site.buffer.snapshot())
            self.executor.submit(job)
        except Exception as exc:  # noqa: BLE001
            self.jobs.unlock_site(site_id, job.id)
            self.store.snapshot_path(site_id, job.id).unlink(missing_ok=True)
            self.jobs.update(job.id, state="failed", error=f"could not enqueue: {type(exc).__name__}")
            raise Unavailable(f"could not enqueue the adaptation ({type(exc).__name__}); try again shortly") from None
        return job, True

    def job(self, job_id: str) -> JobRecord:
        """A job's record (:class:`NotFound` if there is none); a running job whose worker went silent is failed."""
        try:
            job = self.jobs.get(job_id)
            if job is not None and job.state == "running" and self._silent_for(job) > self.settings.job_silence_s:
                # Its worker died without a word (SIGKILL, OOM, power): say so instead of "running" forever.
                # Nothing was activated: versions appear only complete and the pointer moves last.
                error = f"worker lost: no progress for {self.settings.job_silence_s:.0f} s"
                job = self.jobs.update(job_id, state="failed", error=error) or job
                self.jobs.unlock_site(job.site, job_id)
                self.store.snapshot_path(job.site, job_id).unlink(missing_ok=True)  # no frames left behind
        except Exception as exc:  # noqa: BLE001
            raise Unavailable(f"the job store is unreachable ({type(exc).__name__})") from None
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def cancel(self, job_id: str) -> JobRecord:
        job = self.job(job_id)
        if job.state not in TERMINAL:
            self.jobs.request_cancel(job_id)
            if job.state == "queued":
                job = self.jobs.update(job_id, state="cancelled") or job
                self.store.snapshot_path(job.site, job_id).unlink(missing_ok=True)
        return job

    def queue_report(self) -> dict:
        """How many jobs wait in the adaptation queue, how long the oldest has waited, and whether
        that is longer than ``queue_stall_s``: the one sign of workers that are up but no longer
        consuming (a known Celery failure after a broker restart), or of no worker at all."""
        waiting, oldest_id = self.executor.backlog()
        oldest = self.jobs.get(oldest_id) if oldest_id else None
        oldest_s = time.time() - oldest.created if oldest is not None else 0.0
        return {
            "waiting": waiting,
            "oldest_waiting_s": round(oldest_s, 1),
            "stalled": oldest_s > self.settings.queue_stall_s,
        }

    def stall_warning(self, job: JobRecord) -> str | None:
        waited = time.time() - job.created
        if job.state != "queued" or waited <= self.settings.queue_stall_s:
            return None
        return (
            f"queued for {waited:.0f} s and no worker has started it: check that an adaptation worker is up and "
            f"consuming queue {self.settings.adapt_queue!r} (workers can stop consuming after a Redis restart: "
            f"restart them)"
        )

    def _silent_for(self, job: JobRecord) -> float:
        beat = self.jobs.last_beat(job.id)
        return time.time() - max(job.updated, beat or 0.0)

    # -- readiness ----------------------------------------------------------------------------
    def readiness(self) -> dict:
        base = self.server.base
        providers = available_providers()
        wanted = providers[0] if providers else None
        report: dict = {
            "mode": self.mode,
            "model_loaded": base is not None,
            "provider": base.provider if base else None,
            "best_provider": wanted,
            "job_store": "memory" if self.mode == EMBEDDED else None,
        }
        ok = base is not None and base.provider == wanted  # no silent CPU fallback on a GPU host
        if self.mode == CELERY:
            try:
                self._redis.ping()
                report["job_store"] = "ok"
                # Reported, not a reason to stop routing frames here: /pose does not need a worker.
                report["adapt_queue"] = self.queue_report()
            except Exception as exc:  # noqa: BLE001
                report["job_store"] = f"unreachable ({type(exc).__name__})"
                ok = False
        report["ready"] = ok
        return report
