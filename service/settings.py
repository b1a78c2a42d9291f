"""Settings for the API and the workers, read from the environment (prefix ``SILHOUETTE_``).

    SILHOUETTE_BODY_MODEL_PATH=/data/smpl/SMPL_NEUTRAL.pkl   # a licensed SMPL file; unset: open model
    SILHOUETTE_REDIS_URL=redis://redis:6379/0                # unset: embedded, in-process mode
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SILHOUETTE_", extra="ignore")

    body_model_path: Path | None = Field(
        default=None, description="Licensed SMPL model (.pkl, .npz or a folder with SMPL_NEUTRAL.pkl); "
        "unset uses the shipped open body model.")
    redis_url: str | None = Field(default=None, description="Celery broker and result backend.")
    artifact_dir: Path = Field(default=Path("artifacts"), description="Model versions per site.")
    max_job_seconds: int = Field(default=3600, gt=0, description="Longest adaptation a worker may run.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
