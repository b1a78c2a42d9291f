"""docker-compose.yml: the deployment's promises, checked on the file and by ``docker compose config``
(or ``docker-compose config``: CI machines have the docker CLI without the compose plugin)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def gpu_reserved(service: dict) -> bool:
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
    return any("gpu" in d.get("capabilities", []) for d in devices)


def test_services_share_the_artifact_volume_and_redis_persists():
    s = COMPOSE["services"]
    assert set(s) == {"redis", "prepare", "api", "worker"}
    assert "--appendonly" in s["redis"]["command"] and "yes" in s["redis"]["command"]
    assert any(v.endswith(":/data") for v in s["redis"]["volumes"])
    for name in ("prepare", "api", "worker"):
        assert "artifacts:/artifacts" in s[name]["volumes"]
        assert s[name]["environment"]["SILHOUETTE_REDIS_URL"].startswith("redis://redis:")


def test_worker_runs_one_adaptation_per_gpu_and_stops_gracefully():
    w = COMPOSE["services"]["worker"]
    cmd = w["command"]
    assert cmd[cmd.index("--concurrency") + 1] == "1" and "prefork" in cmd
    assert gpu_reserved(w) and gpu_reserved(COMPOSE["services"]["api"])
    assert w["stop_signal"] == "SIGTERM" and int(w["stop_grace_period"].rstrip("s")) >= 60


def test_the_workers_tests_start_run_as_the_deployments_do():
    """The tests' and benchmarks' workers (worker.command) take the deployment's app, pool and
    concurrency, with a queue of their own."""
    from worker.command import worker_command

    deployed = COMPOSE["services"]["worker"]["command"]
    local = worker_command("adapt-test")
    for option in ("-A", "--concurrency", "--pool"):
        assert local[local.index(option) + 1] == deployed[deployed.index(option) + 1]
    assert local[local.index("-Q") + 1] == "adapt-test" and deployed[deployed.index("-Q") + 1] == "adapt"
    with pytest.raises(ValueError, match="queue"):
        worker_command("")


def test_api_key_is_mandatory():
    env = COMPOSE["services"]["api"]["environment"]
    assert ":?" in env["SILHOUETTE_API_KEY"]  # compose refuses to start without it
    assert env["SILHOUETTE_REQUIRE_API_KEY"] == "true"
    from runtime.settings import Settings
    from service.core import PoseService

    with pytest.raises(RuntimeError, match="API_KEY"):
        PoseService(Settings(require_api_key=True, api_key=None))


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose)")


def test_docker_compose_config():
    cmd = [*compose_command(), "config", "-q"]
    env = {**os.environ, "SILHOUETTE_API_KEY": "k"}
    ok = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    env.pop("SILHOUETTE_API_KEY")
    refused = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "SILHOUETTE_API_KEY" in refused.stderr


def test_the_api_image_carries_no_torch_and_starts_after_the_source_model_is_exported():
    s = COMPOSE["services"]
    assert s["api"]["build"]["target"] == "api" and s["worker"]["build"]["target"] == "worker"
    assert s["prepare"]["build"]["target"] == "worker" and s["prepare"]["command"][-1] == "runtime.prepare"
    assert s["api"]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    api_stage = (ROOT / "Dockerfile").read_text().split("FROM api AS worker")[0]
    assert "requirements/api.lock" in api_stage and "worker.lock" not in api_stage
    api_lock = (ROOT / "requirements" / "api.lock").read_text().splitlines()
    pinned = {line.split("==")[0] for line in api_lock if "==" in line and not line.startswith(" ")}
    assert not pinned & {"torch", "torchvision", "easypytorch3d", "smplx", "matplotlib", "moderngl", "anny", "tqdm"}
    assert {"onnxruntime-gpu", "fastapi", "opencv-python-headless", "celery"} <= pinned


SERVE_WITHOUT_TORCH = """
import sys
from runtime.settings import Settings
from service.core import PoseService

svc = PoseService(Settings(redis_url=sys.argv[1], artifact_dir=sys.argv[2], source_checkpoint=sys.argv[3]))
svc.start()
loaded = [m for m in ("torch", "torchvision", "pytorch3d", "smplx") if m in sys.modules]
assert not loaded, loaded
print(len(svc.faces()), svc.server.base.version)
svc.stop()
"""


def test_a_celery_mode_api_serves_a_prepared_store_without_importing_torch(tmp_path, redis_url):
    """The API process, given a store whose source model is exported (what `prepare` does), loads
    its ONNX session and the mesh faces with no torch, PyTorch3D or smplx in the process."""
    import sys

    from runtime.model_store import ModelStore
    from runtime.settings import SHIPPED_CHECKPOINT

    ModelStore(tmp_path, SHIPPED_CHECKPOINT).ensure_base()
    run = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_TORCH, redis_url, str(tmp_path), str(SHIPPED_CHECKPOINT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["13776", "source"]
