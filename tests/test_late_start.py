"""bench.late_start: its arguments, and its section where no labelled clip is present (the clip
figures themselves are asserted in tests/test_ghosts.py, where ../shared/data/real is present)."""

from __future__ import annotations

import argparse

import pytest

from bench import late_start


def test_starts_are_frame_numbers():
    assert late_start.start_list("0,50,100") == [0, 50, 100]
    for bad in ("", "-5", "0,-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="frame numbers"):
            late_start.start_list(bad)


def test_without_labelled_clips_the_section_says_so(tmp_path):
    out = tmp_path / "REAL_FOOTAGE.md"
    assert late_start.main(["--real-dir", str(tmp_path), "--out", str(out)]) == {}
    doc = out.read_text()
    assert "<!-- late-start:start -->" in doc and "python -m bench.late_start --real-dir" in doc
    assert "(no labelled clip found)" in doc
