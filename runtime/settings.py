"""Settings for the API and the workers, read from the environment (prefix ``SILHOUETTE_``).

SILHOUETTE_BODY_MODEL_PATH=/data/smpl/SMPL_NEUTRAL.pkl   # a licensed SMPL file; unset: open model
SILHOUETTE_REDIS_URL=redis://redis:6379/0                # unset: embedded, in-process mode
SILHOUETTE_API_KEY=...                                   # unset: no authentication (embedded demo)
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models import ASSETS
from models.people.finder import DEFAULT_ABSORBED, FinderConfig, PersonCheck
from models.people.foreground import Subtractor

SHIPPED_CHECKPOINT = ASSETS / "source_cpu.pt"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"  # where a worker started without SILHOUETTE_REDIS_URL looks
# Redis re-delivers an unacknowledged task, and a site's adaptation lock expires, this long after
# the longest job may end: a job still running at its time limit is never run twice.
JOB_TIME_MARGIN_S = 600


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SILHOUETTE_", extra="ignore")

    body_model_path: Path | None = Field(
        default=None,
        description="Licensed SMPL model (.pkl, .npz or a folder with SMPL_NEUTRAL.pkl); "
        "unset uses the shipped open body model.",
    )
    source_checkpoint: Path = Field(
        default=SHIPPED_CHECKPOINT, description="Source-trained regressor every new site starts from."
    )
    redis_url: str | None = Field(
        default=None, description="Celery broker, result backend and job store; unset: embedded."
    )
    artifact_dir: Path = Field(default=Path("artifacts"), description="Model versions per site (shared with workers).")
    adapt_queue: str = Field(default="adapt", description="Celery queue the adaptation workers consume.")
    api_key: SecretStr | None = Field(default=None, description="Required in X-API-Key on every non-health endpoint.")
    require_api_key: bool = Field(default=False, description="Refuse to start without api_key (deployments).")
    max_job_seconds: int = Field(default=3600, gt=0, description="Longest adaptation a worker may run.")
    job_silence_s: float = Field(
        default=300.0,
        gt=0,
        description="A running job that reports nothing for this "
        "long has lost its worker: it is marked failed and its site unlocked.",
    )
    queue_stall_s: float = Field(
        default=600.0,
        gt=0,
        description="A job waiting in the queue this long says no "
        "worker is taking work (none up, or one that stopped consuming after a broker restart).",
    )
    # Input bounds
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_pixels: int = Field(default=4096 * 4096, gt=0)
    # Background subtraction and crops
    warmup_frames: int = Field(default=30, ge=0)
    background_method: Subtractor = Field(
        default="mog2",
        description="OpenCV's background subtractor of new sites: mog2 or knn (PUT /v1/sites/{site}/background sets one site's)",
    )
    person_check: PersonCheck = Field(
        default=FinderConfig.person_check,
        description="Which tracks the silhouette classifier may refuse as no person: unmoved (those that "
        "never went far: plants, flags), always, or off",
    )
    absorbed_people: bool = Field(
        default=DEFAULT_ABSORBED,
        description="Look for people who were in view while a site learnt its background and stay on the "
        "spot exercising, by GrabCut over where the foreground keeps moving (models.people.absorbed; "
        "docs/REAL_FOOTAGE.md, 'People in view from the first frame')",
    )
    heading_from_motion: bool = Field(
        default=True,
        description="Serve a body turned round where the model has it face away from the camera while "
        "its track comes towards it, or the other way (models.heading; docs/REAL_POSE.md)",
    )
    face_walk: bool = Field(
        default=True,
        description="With heading_from_motion, also turn a body whose track comes towards the camera (or goes "
        "away) about the vertical, to within 60 degrees of facing it (away): the model answers people seen "
        "from the front or back as side-on (models.heading.FaceWalk; docs/REAL_POSE.md, 'Facing the walk')",
    )
    crop_past_edge: bool = Field(
        default=True,
        description="Cut the crop of a person the frame's edge cuts around the whole of them, reaching past the "
        "edge by the site's ground line or the track's shape while whole (models.people.extent): cut around the "
        "part in view, the model squeezes a whole body into it (docs/REAL_POSE.md, 'People the frame cuts')",
    )
    camera_fit: bool = Field(
        default=True,
        description="Serve each body under the camera (scale and place in its crop) that best lays its mesh "
        "over the person's silhouette (models.silhouette_camera; docs/REAL_POSE.md)",
    )
    limb_fit: bool = Field(
        default=True,
        description="Then fit each body's limbs and spine (hips, knees, shoulders, elbows, spine) and camera to the "
        "person's silhouette, a few least-squares steps without torch, and serve the fitted body where its mesh "
        "covers the silhouette better; people the camera's frames resolve too coarsely "
        "(PoseFitConfig.min_detail_px) are left as the model has them (models.pose_fit, models.detail; "
        "docs/REAL_POSE.md, 'Limbs fitted to the silhouette')",
    )
    flip_average: bool = Field(
        default=True,
        description="Answer each person as the average of the model on the crop and on its mirror image "
        "(models.flip_average: twice the network's work; docs/REAL_POSE.md). Applies to the graphs exported "
        "from then on: the source model's at start, each adapted version as a worker writes it",
    )
    max_persons: int = Field(default=32, gt=0, description="People answered per frame, largest first.")
    # Adaptation buffer per site (frames of people are personal data: bounded in count, bytes and age)
    buffer_max_crops: int = Field(default=2048, gt=0)
    buffer_max_bytes: int = Field(default=128 * 1024 * 1024, gt=0)
    buffer_max_age_s: float = Field(default=24 * 3600.0, gt=0)
    min_adapt_crops: int = Field(default=32, gt=0)
    # Track history per site, for exports: people's bodies frame by frame are personal data too,
    # so bounded in frames per track, tracks, bytes and age (a frame with its float16 mesh is ~43 kB).
    track_max_frames: int = Field(default=1800, gt=0, description="Most recent frames kept per track.")
    track_max_tracks: int = Field(default=64, gt=0, description="Tracks kept per site (least recently seen go).")
    track_max_bytes: int = Field(default=256 * 1024 * 1024, gt=0, description="Bytes of track history per site.")
    track_max_age_s: float = Field(default=3600.0, gt=0, description="Frames older than this are forgotten.")
    # Serving
    max_loaded_versions: int = Field(default=8, gt=0, description="ONNX sessions kept in memory, across sites.")
    model_poll_s: float = Field(default=0.5, gt=0, description="How often active versions are checked for a swap.")
    onnx_providers: str | None = Field(
        default=None, description="Comma-separated ONNX Runtime providers; unset: best available."
    )

    @property
    def job_lock_ttl_s(self) -> int:
        """How long a site's adaptation lock and a queued task's visibility last: past the longest job."""
        return self.max_job_seconds + JOB_TIME_MARGIN_S

    @property
    def broker_url(self) -> str:
        """Celery's broker and the job store for the workers (the API runs embedded without ``redis_url``)."""
        return self.redis_url or DEFAULT_REDIS_URL

    def accepts_key(self, given: str) -> bool:
        """Whether an X-API-Key header value may pass (any, when no key is set): compared in
        constant time, for HTTP routes and the WebSocket stream alike."""
        if self.api_key is None:
            return True
        return hmac.compare_digest(given.encode(), self.api_key.get_secret_value().encode())


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, read once per process (tests build their own ``Settings``)."""
    return Settings()
