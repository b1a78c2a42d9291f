"""The artifact store: every site's model versions, and which one is active.

    artifacts/
      base/<sha>/regressor.pt, model.onnx       the source model, exported once per checkpoint
      sites/<site>/versions/<id>/               regressor.pt, model.onnx, meta.json (one ModelVersion)
      sites/<site>/active                       {"version": "<id>"}; absent: the source model
      sites/<site>/snapshots/<job>.npz          a buffer handed to an adaptation job
      sites/<site>/settings.json                what the operator set for the site (camera tilt, subtractor)

Nothing half-written is ever visible: a version is written into a hidden folder and renamed
into place, and the active pointer is replaced atomically. Workers and API processes share the
store (a volume in docker compose); API processes notice a changed pointer and swap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from models.atomic import atomic_path
from models.onnx_runtime import EXPORT_FORMAT
from runtime.site_ids import SITE_ID, check_site_id

SOURCE = "source"
SITE_SETTINGS = "settings.json"
log = logging.getLogger(__name__)


@dataclass
class ModelVersion:
    id: str
    site: str
    created: float
    parent: str | None
    health: dict | None  # the unsupervised score it earned on held-out frames
    report: dict | None = None
    onnx: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class ModelStore:
    def __init__(self, root: Path, source_checkpoint: Path, flip_average: bool = True):
        """``flip_average``: every graph this store exports answers with flip averaging
        (models.flip_average); the source model's graph is kept apart for each choice."""
        self.root = Path(root)
        self.source_checkpoint = Path(source_checkpoint)
        self.flip_average = flip_average
        self.root.mkdir(parents=True, exist_ok=True)
        # The checkpoint does not change while the process runs: hash its 20+ MB once, not per request.
        # The export format and the flip choice are part of the key, so a graph exported otherwise is never reused.
        digest = hashlib.sha256(self.source_checkpoint.read_bytes()).hexdigest()[:12]
        self._base_dir = self.root / "base" / f"{digest}-x{EXPORT_FORMAT}{'-flip' if flip_average else ''}"

    # -- the source model ---------------------------------------------------------------------
    def base_dir(self) -> Path:
        return self._base_dir

    def base_onnx(self) -> Path:
        return self.base_dir() / "model.onnx"

    def base_ready(self) -> bool:
        """Whether the source model's ONNX graph is already exported (serving then needs no torch)."""
        return self.base_onnx().exists()

    def ensure_base(self) -> Path:
        """Export the source checkpoint to ONNX once (atomically); returns the ONNX path."""
        folder = self.base_dir()
        onnx = self.base_onnx()
        if not onnx.exists():
            # Torch only when an export is needed: a prepared store serves with ONNX Runtime alone.
            from models.export import export_onnx
            from models.regressor import load_regressor

            folder.mkdir(parents=True, exist_ok=True)
            export_onnx(load_regressor(self.source_checkpoint), onnx, flip=self.flip_average)
        return onnx

    # -- versions -----------------------------------------------------------------------------
    def site_dir(self, site: str) -> Path:
        return self.root / "sites" / check_site_id(site)

    def sites(self) -> list[str]:
        """The sites that have a folder in the store (versions, an active pointer or snapshots)."""
        folder = self.root / "sites"
        if not folder.exists():
            return []
        return sorted(d.name for d in folder.iterdir() if d.is_dir() and SITE_ID.fullmatch(d.name))

    def version_dir(self, site: str, version: str) -> Path:
        if version == SOURCE:
            return self.base_dir()
        if not version.startswith("v") or not version[1:].replace("-", "").isalnum():
            raise KeyError(version)
        return self.site_dir(site) / "versions" / version

    def versions(self, site: str) -> list[ModelVersion]:
        base = ModelVersion(
            id=SOURCE,
            site=site,
            created=self.source_checkpoint.stat().st_mtime,
            parent=None,
            health=None,
            onnx=str(self.base_onnx()),
        )
        folder = self.site_dir(site) / "versions"
        found = []
        if folder.exists():
            for d in sorted(folder.iterdir()):
                meta = d / "meta.json"
                if d.name.startswith(".") or not meta.exists():
                    continue
                found.append(ModelVersion(**json.loads(meta.read_text())))
        return [base, *sorted(found, key=lambda v: v.created)]

    def get(self, site: str, version: str) -> ModelVersion:
        for v in self.versions(site):
            if v.id == version:
                return v
        raise KeyError(version)

    def checkpoint(self, site: str, version: str) -> Path:
        return self.source_checkpoint if version == SOURCE else self.version_dir(site, version) / "regressor.pt"

    def write_version(
        self, site: str, regressor, parent: str, health: dict | None, report: dict | None
    ) -> ModelVersion:
        """Save a regressor (half-precision checkpoint + ONNX) as a new, not yet active, version."""
        # Torch only in the process that adapted (a worker's child, or the embedded job thread).
        from models.export import export_onnx
        from models.regressor import save_regressor

        vid = time.strftime("v%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        final = self.site_dir(site) / "versions" / vid
        tmp = final.parent / f".tmp-{vid}"
        tmp.mkdir(parents=True)
        try:
            save_regressor(regressor, tmp / "regressor.pt", half=True)
            export_onnx(regressor, tmp / "model.onnx", flip=self.flip_average)
            version = ModelVersion(
                id=vid,
                site=site,
                created=time.time(),
                parent=parent,
                health=health,
                report=report,
                onnx=str(final / "model.onnx"),
            )
            (tmp / "meta.json").write_text(json.dumps(version.as_dict()))
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return version

    # -- the active pointer -------------------------------------------------------------------
    def active(self, site: str) -> str:
        pointer = self.site_dir(site) / "active"
        try:
            return json.loads(pointer.read_text())["version"]
        except FileNotFoundError:
            return SOURCE

    def activate(self, site: str, version: str) -> ModelVersion:
        v = self.get(site, version)  # KeyError for unknown versions
        pointer = self.site_dir(site) / "active"
        pointer.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(pointer) as tmp:
            tmp.write_text(json.dumps({"version": version, "since": time.time()}))
        return v

    # -- what the operator set for a site ---------------------------------------------------------
    def site_settings(self, site: str) -> dict:
        """The site's saved settings ({} when none were saved, or the file cannot be read as JSON:
        the site then runs on the defaults, which the operator can set again)."""
        try:
            saved = json.loads((self.site_dir(site) / SITE_SETTINGS).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("site %s: settings unreadable, defaults used: %s", site, e)
            return {}
        return saved if isinstance(saved, dict) else {}

    def save_site_settings(self, site: str, settings: dict) -> None:
        """Replace the site's saved settings atomically (they outlive the API process)."""
        path = self.site_dir(site) / SITE_SETTINGS
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(settings))

    # -- buffer snapshots for jobs ------------------------------------------------------------
    def snapshot_path(self, site: str, job_id: str) -> Path:
        return self.site_dir(site) / "snapshots" / f"{job_id}.npz"
