"""Photo backgrounds: patches cut from whatever photographs the folder holds (here, made-up ones)."""

import cv2
import numpy as np
import pytest

from models.synth.photo_backgrounds import PHOTOS, load_photos, photo_patch


def test_patches_come_from_the_photographs(tmp_path):
    rng = np.random.default_rng(0)
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, :200] = (255, 0, 0)  # left half red, right half blue (RGB)
    photo[:, 200:] = (0, 0, 255)
    cv2.imwrite(str(tmp_path / "a.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    photos = load_photos(tmp_path)
    assert len(photos) == 1 and photos[0].shape == (300, 400, 3)
    assert photos[0][150, 50, 0] > 200 and photos[0][150, 50, 2] < 50  # loaded as RGB
    patches = np.stack([photo_patch(photos, 64, rng) for _ in range(50)])
    assert patches.shape == (50, 64, 64, 3) and patches.dtype == np.uint8
    reds, blues = patches[..., 0] > 128, patches[..., 2] > 128
    assert (reds | blues).mean() > 0.95  # nothing but the photo's colours (and JPEG edges)
    assert reds.all(axis=(1, 2)).any() and blues.all(axis=(1, 2)).any()  # small cuts of one half
    assert (reds.any(axis=(1, 2)) & blues.any(axis=(1, 2))).any()  # and large cuts of both


def test_an_empty_folder_says_how_to_fill_it(tmp_path):
    with pytest.raises(ValueError, match="photo_backgrounds"):
        load_photos(tmp_path)


def test_the_list_names_packages_and_photographs():
    assert set(PHOTOS) == {"mate-backgrounds", "plasma-workspace-wallpapers"}
    assert sum(len(p) for p in PHOTOS.values()) >= 12
