"""Real photographs as backgrounds of source crops, taken from Debian's wallpaper packages.

    python -m models.synth.photo_backgrounds --out runs/photos     # apt-get download, extract, shrink

Rendered scenes alone teach the regressor what a rendered room looks like; real cameras see
real textures. No licensed data may be used, so the photographs come from free Debian packages.
Most wallpapers are abstract art; ``PHOTOS`` names the ones that are photographs (checked by eye on a
contact sheet of all five candidate packages on 2026-12-03: gnome-backgrounds, ukui-wallpapers
and lomiri-wallpapers hold none). They are outdoor and close-up nature shots, a wooden floor,
architecture and cups: textures and light, not people (none shows a person).
The files are not kept in the repository: this command fetches them again (about 140 MB of
packages for 23 photographs, shrunk to ``LONG_SIDE`` px JPEGs, about 5 MB).
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

LONG_SIDE = 1280
# Debian package -> the photographs in it (paths inside the package, globs allowed).
_PLASMA = "usr/share/wallpapers/{}/contents/images/*.jpg"  # one file per size: the largest is kept
_PLASMA_PHOTOS = (
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
    "summer_1am",
)
PHOTOS: dict[str, tuple[str, ...]] = {
    "mate-backgrounds": ("usr/share/backgrounds/mate/nature/*.jpg",),
    "plasma-workspace-wallpapers": tuple(_PLASMA.format(n) for n in _PLASMA_PHOTOS),
}


def _package_root(package: str, work: Path) -> Path:
    """Where the package's files are: the installed system if it is installed, else an extracted download."""
    installed = subprocess.run(["dpkg", "-s", package], capture_output=True).returncode == 0
    if installed:
        return Path("/")
    subprocess.run(["apt-get", "download", "-qq", package], cwd=work, check=True)
    (deb,) = work.glob(f"{package}_*.deb")
    root = work / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def fetch(out: Path) -> list[Path]:
    """Download (or find installed) the wallpaper packages and write their photographs to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written, manifest = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for package, patterns in PHOTOS.items():
            root = _package_root(package, Path(tmp))
            for pattern in patterns:
                sources = sorted(glob.glob(str(root / pattern)), key=lambda f: Path(f).stat().st_size)
                for src in sources if "mate" in package else sources[-1:]:
                    image = cv2.imread(src)
                    if image is None:
                        raise ValueError(f"{src} is not an image")
                    scale = LONG_SIDE / max(image.shape[:2])
                    if scale < 1:
                        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                    name = Path(src).stem if "mate" in package else Path(src).parts[-4]
                    dst = out / f"{name}.jpg"
                    cv2.imwrite(str(dst), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
                    written.append(dst)
                    manifest[dst.name] = {"package": package, "path": str(Path(src).relative_to(root))}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    return written


def load_photos(folder: str | Path) -> list[np.ndarray]:
    """The photographs in ``folder`` as RGB uint8 arrays; a ValueError names the folder when there are none."""
    paths = sorted(Path(folder).glob("*.jpg"))
    if not paths:
        raise ValueError(f"no photographs in {folder!r}: run python -m models.synth.photo_backgrounds --out {folder}")
    photos = []
    for p in paths:
        image = cv2.imread(str(p))
        if image is None:
            raise ValueError(f"{p} is not an image")
        photos.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return photos


def photo_patch(photos: list[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square of a random photograph, (size, size, 3) uint8: any scale from a tenth of the
    photo's short side to all of it, mirrored half of the time."""
    photo = photos[rng.integers(len(photos))]
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.1, 1.0))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    patch = cv2.resize(photo[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(patch[:, ::-1] if rng.random() < 0.5 else patch)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/photos")
    written = fetch(Path(ap.parse_args().out))
    log.info("%d photographs written", len(written))


if __name__ == "__main__":
    main()
