"""Tables 4-5 of the paper from the adaptation benchmark's runs, and the error-vs-iteration plot.

    python -m bench.adaptation_report [--runs runs/bench_adaptation]

Reads every ``<runs>/<shift>/<variant>.json`` that :mod:`bench.bench_adaptation` has written
(whatever is done so far: missing cells say so) and writes the ``adaptation-bench`` section of
docs/RESULTS.md and docs/adaptation_curves.png. Also reports how well the unsupervised health
score (held-out IoU) tracks PA-MPJPE, and how often the service's gate would have decided right.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from bench.report import file_digest, write_section
from models.health import Health

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHIFTS = ("lr-96", "lr-52", "lr-32", "uap-4", "uap-8", "uap-16", "gray", "thermal")
COLUMNS = ("clean", *SHIFTS)
VARIANTS = ("source", "mean-shape", "prior", "b1", "b2", "b3", "a2", "ours", "oracle")
NAMES = {
    "source": "Source model (no adaptation)",
    "mean-shape": "Source model with the mean shape (beta = 0; no adaptation)",
    "prior": "Control: the shape prior alone (no silhouette gradient)",
    "b1": "B1: pixel L2 on silhouettes",
    "b2": "B2: L_S only",
    "b3": "B3: L_S + L2 on skeletons",
    "a2": "A2: point-set Chamfer fitting loss",
    "ours": "**Ours: L_S + L_T**",
    "oracle": "Ours with true masks (oracle)",
}


def load_runs(runs: Path, checkpoint_sha256: str | None = None) -> dict[tuple[str, str], dict]:
    """Every cell under ``runs``, or only those run on the checkpoint with this digest."""
    cells = {(p.parent.name, p.stem): json.loads(p.read_text()) for p in sorted(runs.glob("*/*.json"))}
    if checkpoint_sha256 is None:
        return cells
    return {k: r for k, r in cells.items() if r.get("checkpoint_sha256") == checkpoint_sha256}


def table(rows: dict, metric: str, shifts: list[str]) -> str:
    head = "| variant | " + " | ".join(shifts) + " |\n|---|" + "---|" * len(shifts) + "\n"
    lines = []
    for v in VARIANTS:
        cells = []
        for s in shifts:
            r = rows.get((s, v))
            if r is None or metric not in r["pre"]:  # cells recorded before the metric was
                cells.append("not run")
            elif v == "source":
                cells.append(f"{r['pre'][metric]:.1f}")
            else:
                pre, post = r["pre"][metric], r["post"][metric]
                cells.append(f"{post:.1f} ({100 * (post - pre) / pre:+.0f}%)")
        if any(c != "not run" for c in cells):
            lines.append(f"| {NAMES[v]} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines)


def health_tracking(rows: dict) -> str:
    adapted = [r for (s, v), r in rows.items() if v != "source" and "health_after" in r]
    if len(adapted) < 2:
        return "Too few adapted runs to say how the health score tracks PA-MPJPE."
    d_iou = np.array([r["health_after"]["iou"] - r["health_before"]["iou"] for r in adapted])
    d_top = np.array([r["health_after"]["topology"] - r["health_before"]["topology"] for r in adapted])
    d_pa = np.array([r["post"]["pa_mpjpe_mm"] - r["pre"]["pa_mpjpe_mm"] for r in adapted])
    better = d_pa < 0
    gate = np.array([Health(**r["health_after"]).beats(Health(**r["health_before"])) for r in adapted])
    corr_iou = np.corrcoef(d_iou, d_pa)[0, 1] if d_iou.std() > 0 and d_pa.std() > 0 else float("nan")
    corr_top = np.corrcoef(d_top, d_pa)[0, 1] if d_top.std() > 0 and d_pa.std() > 0 else float("nan")
    return (
        f"Over {len(adapted)} adapted runs (every variant and site above): correlation of the change in "
        f"held-out IoU with the change in PA-MPJPE {corr_iou:+.2f} (negative is good: IoU up, error down); "
        f"of the change in L_T per skeleton pixel {corr_top:+.2f} (positive is good). The service's gate "
        f"(`Health.beats`: IoU up by more than 0.005, L_T per skeleton pixel at most twice as bad) would have activated {int(gate.sum())} "
        f"of them; it agreed with the sign of the PA-MPJPE change in {int((gate == better).sum())} of "
        f"{len(adapted)} (activated a worse model {int((gate & ~better).sum())} times, refused a better "
        f"one {int((~gate & better).sum())} times)."
    )


def gap_recovered(rows: dict) -> str:
    clean = rows.get(("clean", "source"))
    if clean is None:
        return "The clean site (`--shifts clean --variants source`) has not been run, so the gap is not known."
    c = clean["pre"]["pa_mpjpe_mm"]
    costs = [
        f"{s} {100 * (rows[(s, 'source')]['pre']['pa_mpjpe_mm'] - c) / c:+.0f}%"
        for s in SHIFTS
        if (s, "source") in rows
    ]

    def recovered(variant: str) -> list[str]:
        parts = []
        for s in SHIFTS:
            r = rows.get((s, variant))
            if r is None:
                continue
            pre, post = r["pre"]["pa_mpjpe_mm"], r["post"]["pa_mpjpe_mm"]
            gap = pre - c
            parts.append(
                f"{s} {100 * (pre - post) / gap:.0f}%" if gap > 1.0 else f"{s} no gap ({pre:.1f} vs clean {c:.1f})"
            )
        return parts

    text = (
        f"What each shift costs the source model on this site (PA-MPJPE against the clean site's {c:.1f} mm): "
        + ", ".join(costs)
        + ".\n\nGap recovered by Ours, (pre - post) / (pre - clean): "
        + ", ".join(recovered("ours"))
        + "."
    )
    if prior_only := recovered("prior"):
        text += (
            " The same for the control adapted on the shape prior alone, with no silhouette gradient: "
            + ", ".join(prior_only)
            + "."
        )
    return text


def plot_curves(rows: dict, out: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shifts = [s for s in COLUMNS if any((s, v) in rows and rows[(s, v)].get("curve") for v in VARIANTS)]
    if not shifts:
        return False
    cols = min(len(shifts), 5)
    rows_n = -(-len(shifts) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.9 * rows_n), squeeze=False)
    for ax in axes.flat[len(shifts) :]:
        ax.axis("off")
    for ax, s in zip(axes.flatten()[: len(shifts)], shifts, strict=True):
        for k, v in enumerate(("b1", "b2", "b3", "a2", "ours", "oracle", "prior")):
            r = rows.get((s, v))
            if r and r.get("curve"):
                it = [c["iteration"] for c in r["curve"]]
                # one colour per variant in every panel, even where some variants did not run
                ax.plot(
                    it,
                    [c["pa_mpjpe_mm"] for c in r["curve"]],
                    label=v,
                    color=f"C{k}",
                    lw=2.2 if v == "ours" else 1.2,
                    ls=":" if v == "prior" else "-",
                )
        ax.set_title(s)
        ax.set_xlabel("adaptation iteration")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("held-out PA-MPJPE (mm)")
    # the legend of the panel that shows the most variants
    fullest = max(range(len(shifts)), key=lambda i: len(axes.flat[i].get_lines()))
    axes.flat[fullest].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def write_report(
    runs: Path,
    command: str,
    section: str = "adaptation-bench",
    title: str = "Adaptation benchmark (Tables 4 and 5)",
    plot: str = "adaptation_curves.png",
    checkpoint_sha256: str | None = None,
) -> str:
    """Rebuild one section of docs/RESULTS.md (and its plot under docs/) from the cells under ``runs``
    (only those of one checkpoint when its digest is given: a table never mixes two models)."""
    rows = load_runs(runs, checkpoint_sha256)
    shifts = [s for s in COLUMNS if any((s, v) in rows for v in VARIANTS)]
    if not shifts:
        return ""
    any_row = next((r for r in rows.values() if "wall_s" in r), next(iter(rows.values())))  # an adapted run's config
    cfg = any_row.get("config", {})
    walls = [r["wall_s"] for r in rows.values() if "wall_s" in r]
    fits = [r["ms_per_fit_iteration"] for r in rows.values() if r.get("ms_per_fit_iteration")]
    has_plot = plot_curves(rows, DOCS / plot)
    counts = Counter(r.get("machine", "not recorded") for r in rows.values())
    machines = "; ".join(f"{m} ({n})" for m, n in counts.most_common())
    text = f"""## {title}

Command: `{command}` (resumable; each cell is one JSON under `{runs}/`; the tables are
rebuilt from whatever has run by `python -m bench.adaptation_report --runs {runs}`). Machines (cells): {machines}.
Checkpoint: `{any_row.get("checkpoint", "?")}` (sha256 {any_row.get("checkpoint_sha256", "not recorded")[:16]}...).
Site: one synthetic camera site (256 frames, seed {any_row.get("site_seed", "?")}) seen clean and through every shift,
MOG2 silhouettes; adapted on the crops of the first 70% of the frames, scored on the MOG2 crops of the
last 30% (the clean column runs the source model, its mean-shape row, the prior control and Ours only). Engine settings:
{cfg.get("iterations")} iterations, batch {cfg.get("batch")}, K {cfg.get("K")}, MaxIter_opt {cfg.get("max_iter_opt")},
CNN lr {cfg.get("lr")}, fitting lr {cfg.get("lr_opt")}, optimisers `{cfg.get("optimisers", "separate")}`,
batch norm `{cfg.get("batchnorm")}`, S2D gradient `{cfg.get("s2d_gradient", "erosions")}`, walk facing weight
`w_facing` {cfg.get("w_facing", 0.0):g}. "not run" cells were not run (time), not failed.

PA-MPJPE (mm) after adaptation on held-out frames (change from the source model in brackets):

{table(rows, "pa_mpjpe_mm", shifts)}

MPJPE (mm), same runs:

{table(rows, "mpjpe_mm", shifts)}

MPJPE (mm) with the site camera's tilt known, the bodies turned by it as a site told its tilt
serves them (`PUT /v1/sites/{{site}}/camera`, models/camera_tilt.py), same runs:

{table(rows, "mpjpe_tilt_mm", shifts)}

MPJPE (mm) as the service answers them: turned by the tilt, and turned round where a body faces
against its person's walk (the finder's track: towards the camera or away from it; models/heading.py,
on by default), same runs:

{table(rows, "mpjpe_served_mm", shifts)}

{gap_recovered(rows)}

{health_tracking(rows)}

Adaptation wall time per run: {min(walls, default=0):.0f}-{max(walls, default=0):.0f} s for {cfg.get("iterations")} iterations;
{np.median(fits) if fits else float("nan"):.0f} ms per fitting iteration (median over runs; batch {cfg.get("batch")}, 64-px silhouettes).
{f"![held-out PA-MPJPE against adaptation iteration]({plot})" if has_plot else ""}
"""
    write_section(text, section, DOCS / "RESULTS.md")
    return text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs/bench_adaptation"))
    ap.add_argument("--command", default="python -m bench.bench_adaptation")
    ap.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="only the cells run on this checkpoint (default: every cell under --runs)",
    )
    add_section_arguments(ap)
    args = ap.parse_args(argv)
    digest = None
    if args.checkpoint is not None:
        digest = file_digest(args.checkpoint)
    print(
        write_report(args.runs, args.command, args.section, args.title, args.plot, digest)
        or f"nothing under {args.runs} yet"
    )


def add_section_arguments(ap: argparse.ArgumentParser) -> None:
    """Where a run's tables go: an ablation keeps its own runs, section and plot."""
    ap.add_argument("--section", default="adaptation-bench", help="docs/RESULTS.md section to (re)write")
    ap.add_argument("--title", default="Adaptation benchmark (Tables 4 and 5)")
    ap.add_argument("--plot", default="adaptation_curves.png", help="file name under docs/")


if __name__ == "__main__":
    main()
