"""models/preprocess.py: crops_to_input, the one conversion from crops to the regressor's input."""

from __future__ import annotations

import numpy as np
import pytest

from models.preprocess import crops_to_input


def random_crops(b: int = 2, s: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (b, s, s, 3), dtype=np.uint8)


def test_values_are_the_pixels_over_255_in_channel_first_layout():
    crops = random_crops()
    x = crops_to_input(crops)
    assert x.shape == (2, 3, 5, 5) and x.dtype == np.float32
    for b in range(2):
        for c in range(3):
            for i in range(5):
                for j in range(5):
                    assert x[b, c, i, j] == np.float32(crops[b, i, j, c]) / np.float32(255.0)


def test_black_and_white_map_to_exactly_zero_and_one():
    crops = np.zeros((1, 2, 2, 3), np.uint8)
    crops[0, 1] = 255
    x = crops_to_input(crops)
    assert np.all(x[0, :, 0] == 0.0) and np.all(x[0, :, 1] == 1.0)


def test_output_is_c_contiguous_and_independent_of_the_input_even_for_strided_views():
    big = random_crops(b=4, s=9, seed=1)
    view = big[::2, ::2, 1::2]  # a non-contiguous (2, 5, 4, 3) view
    assert not view.flags.c_contiguous
    x = crops_to_input(view)
    assert x.flags.c_contiguous and x.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(x, view.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0))
    assert not np.shares_memory(x, big)


def test_an_empty_batch_is_an_empty_input():
    assert crops_to_input(np.zeros((0, 4, 4, 3), np.uint8)).shape == (0, 3, 4, 4)


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 5, 5, 4), (1, 5, 5), (1, 3, 5, 5)])
def test_a_bad_shape_is_a_value_error_naming_the_shape(shape):
    with pytest.raises(ValueError, match=r"shape " + str(shape).replace("(", r"\(").replace(")", r"\)")):
        crops_to_input(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.uint16, np.int64, bool])
def test_a_bad_dtype_is_a_value_error_naming_the_dtype(dtype):
    with pytest.raises(ValueError, match=f"uint8, got {np.dtype(dtype)}"):
        crops_to_input(np.zeros((1, 4, 4, 3), dtype))
