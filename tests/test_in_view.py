"""bench.in_view's report: one row per case and configuration, the figures where they belong."""

from bench.in_view import markdown, table


def test_a_table_has_a_row_per_key_and_configuration():
    lines = table(
        ["k", "config", "x"], {"a": {"off": {"x": 1}, "on": {"x": 2}}, "b": {"on": {"x": 3}}}, lambda r: [str(r["x"])]
    )
    assert lines == ["| k | config | x |", "|---|---|---|", "| a | off | 1 |", "| a | on | 2 |", "| b | on | 3 |"]


def test_the_report_writes_unlabelled_clips_with_dashes():
    case = {"answered": 5, "still": 10, "median_share": 0.91, "out_answered": 3, "out": 4, "false": 1}
    plant = {"on_plant": 2, "missed": 3, "people": 100}
    clip = {"answers": 30, "frames": 10, "people": 0, "false": 0, "fragment": 0, "missed": 0, "ms_per_frame": 8.25}
    text = markdown({"jumping_jacks, 7": {"on": case}}, {202: {"on": plant}}, {"pets-walk": {"on": clip}}, "cmd")
    assert "| jumping_jacks, 7 | on | 5 of 10 | 0.91 | 3 of 4 | 1 |" in text
    assert "| 202 | on | 2 | 3 of 100 |" in text
    assert "| pets-walk | on | 3.00 | - | - | - | 8.2 |" in text
    assert text.startswith("Command: `cmd`")
