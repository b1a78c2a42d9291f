"""The README's layout table names every module of the packages it lists, and nothing that is not there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "runtime", "service", "worker", "scripts")  # the installed code; tests and bench are not listed


def layout_rows() -> dict[str, set[str]]:
    """{package folder: the ``*.py`` names its row mentions}, for rows whose folder holds Python modules."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        m = re.match(r"\| `([a-z_/]+/)` \| (.*) \|$", line)
        if m and m.group(1).split("/")[0] in PACKAGES and any((ROOT / m.group(1)).glob("*.py")):
            rows[m.group(1)] = set(re.findall(r"`([a-z_0-9]+\.py)`", m.group(2)))
    return rows


def test_every_module_is_in_the_layout_table_and_every_named_module_exists():
    rows = layout_rows()
    assert {"models/", "models/synth/", "runtime/", "service/", "service/routers/", "worker/", "scripts/"} <= set(rows)
    for folder, named in rows.items():
        present = {p.name for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
        assert named == present, (
            f"{folder}: missing from the table {present - named}, named but absent {named - present}"
        )
