"""service/core.py: PoseService in embedded mode (no Redis), through its public methods."""

from __future__ import annotations

import time

import numpy as np
import pytest

from runtime.jobs import new_job
from runtime.model_store import SOURCE
from runtime.settings import Settings
from runtime.site_ids import BadSiteId
from service.core import EMBEDDED, PoseService
from service.errors import Conflict, NotFound
from service.imaging import encode_jpeg
from service.sites import BufferedCrop
from tests.service_helpers import tiny_checkpoint

MIN_CROPS = 4


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    root = tmp_path_factory.mktemp("core")
    settings = Settings(
        artifact_dir=root / "artifacts",
        source_checkpoint=tiny_checkpoint(root / "source.pt"),
        warmup_frames=2,
        min_adapt_crops=MIN_CROPS,
        model_poll_s=3600.0,
        onnx_providers="CPUExecutionProvider",
    )
    svc = PoseService(settings)
    svc.start()
    yield svc
    svc.stop()


def add_crops(svc: PoseService, site: str, n: int) -> None:
    for k in range(n):
        svc.sites.get(site).buffer.add(
            BufferedCrop(
                time=time.time(),
                frame_index=k,
                image=np.zeros((64, 64, 3), np.uint8),
                silhouette=np.ones((64, 64), bool),
                square=(50.0, 50.0, 40.0),
            )
        )


def unknown_site_untouched(svc: PoseService, site: str) -> bool:
    return svc.sites.find(site) is None and not svc.store.site_dir(site).exists()


def test_the_service_runs_embedded_and_serves_the_source(svc):
    assert svc.mode == EMBEDDED
    assert svc.server.base is not None and svc.server.base.version == SOURCE
    assert len(svc.faces()) > 0 and len(svc.faces()[0]) == 3


# -- sites ----------------------------------------------------------------------------------------
def test_site_status_of_an_unknown_site_is_not_found_and_does_not_create_it(svc):
    with pytest.raises(NotFound, match="nobody-here"):
        svc.site_status("nobody-here")
    assert unknown_site_untouched(svc, "nobody-here")
    assert "nobody-here" not in svc.sites.ids()


def test_site_status_refuses_a_bad_site_id(svc):
    with pytest.raises(BadSiteId):
        svc.site_status("../artifacts")


def test_site_status_after_a_frame(svc):
    frame = np.full((120, 160, 3), 90, np.uint8)
    result = svc.pose("seen-once", encode_jpeg(frame), "image/jpeg")
    assert result.warming_up and result.frame_index == 0 and result.persons == []
    status = svc.site_status("seen-once")
    assert status.id == "seen-once" and status.frames_seen == 1 and status.warming_up
    assert status.active_version == SOURCE and status.serving_version == SOURCE
    assert status.buffered_crops == 0 and status.buffered_bytes == 0 and status.ghosts == 0
    assert status.detail_factor == 1.0  # a flat frame holds nothing to lose


def test_site_status_of_a_site_known_only_from_the_artifact_store(svc):
    svc.store.site_dir("stored-only").mkdir(parents=True)
    status = svc.site_status("stored-only")
    assert status.frames_seen == 0 and status.warming_up and status.buffered_crops == 0
    assert status.active_version == SOURCE and status.serving_version is None and status.detail_factor is None
    assert svc.sites.find("stored-only") is None  # reading the status made no site


def test_site_status_counts_the_buffer_and_clear_buffer_empties_it(svc):
    add_crops(svc, "buffered", 3)
    status = svc.site_status("buffered")
    assert status.buffered_crops == 3 and status.buffered_bytes == 3 * (64 * 64 * 3 + 64 * 64)
    assert svc.clear_buffer("buffered") == 3
    assert svc.site_status("buffered").buffered_crops == 0
    assert svc.clear_buffer("never-seen") == 0 and unknown_site_untouched(svc, "never-seen")


# -- adaptation -----------------------------------------------------------------------------------
def test_adapt_of_an_unknown_site_is_a_conflict_and_creates_nothing(svc):
    with pytest.raises(Conflict, match="0 buffered"):
        svc.adapt("no-frames", {})
    assert unknown_site_untouched(svc, "no-frames")


def test_adapt_with_too_few_crops_is_a_conflict_naming_the_counts(svc):
    add_crops(svc, "few-crops", MIN_CROPS - 1)
    with pytest.raises(Conflict, match=f"{MIN_CROPS - 1} buffered person crops; at least {MIN_CROPS}"):
        svc.adapt("few-crops", {})
    assert not svc.store.snapshot_path("few-crops", "x").parent.exists()  # no snapshot was handed out


def test_adapt_while_a_job_runs_on_the_site_returns_that_job(svc):
    add_crops(svc, "busy", MIN_CROPS)
    running = new_job("busy", {"iterations": 5}).model_copy(update={"state": "running"})
    svc.jobs.put(running)
    svc.jobs.beat(running.id)
    assert svc.jobs.lock_site("busy", running.id) is None
    try:
        job, created = svc.adapt("busy", {"iterations": 7})
        assert not created and job.id == running.id and job.state == "running"
        assert not svc.store.snapshot_path("busy", running.id).parent.exists()
    finally:
        svc.jobs.update(running.id, state="cancelled")
        svc.jobs.unlock_site("busy", running.id)


# -- jobs -----------------------------------------------------------------------------------------
def test_job_of_an_unknown_id_is_not_found(svc):
    with pytest.raises(NotFound, match="no job"):
        svc.job("0123456789abcdef")
    with pytest.raises(NotFound):
        svc.cancel("0123456789abcdef")


def test_a_running_job_whose_worker_went_silent_is_failed_and_its_site_unlocked(svc):
    silent = svc.settings.job_silence_s + 60
    job = new_job("silent", {}).model_copy(update={"state": "running", "updated": time.time() - silent})
    svc.jobs.put(job)
    assert svc.jobs.lock_site("silent", job.id) is None
    got = svc.job(job.id)
    assert got.state == "failed" and "worker lost" in got.error
    other = new_job("silent", {})
    svc.jobs.put(other)
    assert svc.jobs.lock_site("silent", other.id) is None  # the lock was released
    svc.jobs.update(other.id, state="cancelled")
    svc.jobs.unlock_site("silent", other.id)


def test_cancel_of_a_queued_job_cancels_it(svc):
    job = new_job("to-cancel", {})
    svc.jobs.put(job)
    assert svc.cancel(job.id).state == "cancelled"
    assert svc.jobs.cancel_reason(job.id) == "cancelled"
    assert svc.cancel(job.id).state == "cancelled"  # cancelling twice changes nothing


# -- versions -------------------------------------------------------------------------------------
def test_versions_of_a_new_site_list_the_source_as_active(svc):
    ((version, active),) = svc.versions("fresh-site")
    assert version.id == SOURCE and active
    assert unknown_site_untouched(svc, "fresh-site")


def test_activate_of_an_unknown_version_is_not_found_and_keeps_the_pointer(svc):
    with pytest.raises(NotFound, match="v20990101T000000-abcdef"):
        svc.activate("pointer-site", "v20990101T000000-abcdef")
    with pytest.raises(NotFound):
        svc.activate("pointer-site", "../../base")
    assert svc.store.active("pointer-site") == SOURCE


def test_activate_of_the_source_serves_the_source(svc):
    version = svc.activate("back-to-source", SOURCE)
    assert version.id == SOURCE
    assert svc.store.active("back-to-source") == SOURCE
    assert svc.server.serving_version("back-to-source") == SOURCE
