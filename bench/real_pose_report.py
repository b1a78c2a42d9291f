"""The real-pose report: a run's markdown section (written into ``docs/REAL_POSE.md``) and the
overlays that draw the meshes before and after with BlazePose's skeleton (to a folder outside the
repository)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench import footage_scores as fs
from bench import pose_scores as ps
from bench.footage_report import section_header
from bench.real_pose_data import MIN_PERSON_HEIGHT_PX, Answer, Pass
from bench.report import write_section
from models.body_layout import PARENTS
from service.overlay import draw_mesh

REFUSED = "refused"  # a job state of our own: the service answered /adapt with a 4xx and its reason
DOC_HEADER = "# Real-footage pose evaluation\n\nEach run's section is written by the command it names.\n"
OVERLAY_SCALE = 3
OVERLAY_MARGIN = 0.25  # of the people's extent, around them in an overlay
OVERLAY_TITLE_PX = 28
OVERLAY_MIN_WIDTH_PX = 110  # frame pixels: a narrower region leaves no room for the title
MESH_COLOURS = {"served": (60, 140, 255), "before": (60, 140, 255), "after": (60, 230, 90)}
SERVICE_SKELETON_COLOUR = (255, 255, 255)
BLAZEPOSE_COLOUR = (255, 230, 0)
LABEL_COLOUR = (255, 0, 255)
# BlazePose's limb segments between its landmarks (shoulders, arms, torso sides, hips, legs).
BLAZEPOSE_SEGMENTS = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24), (23, 25))
BLAZEPOSE_SEGMENTS += ((25, 27), (24, 26), (26, 28))


# -- overlays (to a folder outside the repository) ------------------------------------------------


def scale_points(points: np.ndarray, k: int) -> np.ndarray:
    """Frame pixels (centres at integers) -> the pixels of the frame upscaled k times."""
    return (np.asarray(points, np.float64) + 0.5) * k - 0.5


def draw_segments(img: np.ndarray, points: np.ndarray, pairs, colour, ok=None) -> None:
    for a, b in pairs:
        if ok is not None and not (ok[a] and ok[b]):
            continue
        pa, pb = (tuple(int(v) for v in np.round(points[i])) for i in (a, b))
        cv2.line(img, pa, pb, colour, 2, cv2.LINE_AA)


def draw_panel(
    frame: np.ndarray, answers: list[Answer], meshes: list[np.ndarray], faces, colour, marks, mask
) -> np.ndarray:
    """One (kH, kW, 3) RGB panel: meshes filled, the service's skeleton in white, BlazePose's limbs
    (landmarks with visibility > 0.5) in yellow, the labelled people's outline in magenta."""
    k = OVERLAY_SCALE
    img = cv2.resize(frame, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    for a, m in zip(answers, meshes, strict=True):
        img = draw_mesh(img, scale_points(m, k), faces, colour, alpha=0.45)
        j = scale_points(a.joints_2d, k)
        draw_segments(img, j, [(c, p) for c, p in enumerate(PARENTS) if p >= 0], SERVICE_SKELETON_COLOUR)
    if marks is not None and answers:
        found, image, visibility, _ = marks.of(answers)
        for f, lm, vis in zip(found, image, visibility, strict=True):
            if f:
                draw_segments(img, scale_points(lm, k), BLAZEPOSE_SEGMENTS, BLAZEPOSE_COLOUR, vis > ps.VISIBILITY_MIN)
    if mask is not None:
        big = cv2.resize((mask == fs.GT_FOREGROUND).astype(np.uint8), None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, LABEL_COLOUR, 1)
    return img


def people_region(boxes: list[np.ndarray], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer frame pixels around every (4,) box, with a margin, clipped to (H, W)."""
    b = np.stack(boxes)
    x0, y0 = b[:, :2].min(0)
    x1, y1 = b[:, 2:].max(0)
    m = OVERLAY_MARGIN * max(x1 - x0, y1 - y0)
    x0, x1 = x0 - m, x1 + m
    widen = max(0.0, OVERLAY_MIN_WIDTH_PX - (x1 - x0)) / 2  # room for the panel's title
    h, w = shape
    x0, x1 = max(0, int(x0 - widen)), min(w, int(np.ceil(x1 + widen)))
    return x0, max(0, int(y0 - m)), x1, min(h, int(np.ceil(y1 + m)))


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """A dark strip with ``title`` above an (H, W, 3) panel."""
    strip = np.zeros((OVERLAY_TITLE_PX, panel.shape[1], 3), np.uint8)
    cv2.putText(
        strip, title, (6, OVERLAY_TITLE_PX - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA
    )
    return np.concatenate([strip, panel], 0)


def write_overlays(
    folder: Path, name: str, frames: dict[int, np.ndarray], passes: list[Pass], faces, marks, gt
) -> list[Path]:
    """For each overlay frame, the passes' panels side by side, cut around the people -> PNG files in ``folder``."""
    written = []
    k = OVERLAY_SCALE
    for t in sorted(set.intersection(*(set(p.meshes) for p in passes))):
        boxes = [a.box for p in passes for a in p.answers if a.frame == t]
        if not boxes:
            continue
        x0, y0, x1, y1 = people_region(boxes, frames[t].shape[:2])
        panels = []
        for p in passes:
            answers = [a for a in p.answers if a.frame == t]
            ious = ", ".join(f"{a.mesh_iou:.2f}" for a in answers if a.mesh_iou is not None)
            title = f"{p.name}, frame {t}" + (f", mesh IoU {ious}" if ious else "")
            mask = gt.masks.get(t) if gt is not None else None
            colour = MESH_COLOURS.get(p.name, MESH_COLOURS["before"])
            panel = draw_panel(frames[t], answers, p.meshes[t], faces, colour, marks, mask)
            panels.append(titled(panel[k * y0 : k * y1, k * x0 : k * x1], title))
        path = folder / f"{name}_{t:06d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(panels, 1), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


# -- report ---------------------------------------------------------------------------------------


def fmt(x, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def band_name(band: dict) -> str:
    """A band of a summary's ``by_height`` or ``by_detail`` -> "50-70", or "150+" for the open one."""
    lo = f"{band['from_px']:g}"
    return f"{lo}+" if band["to_px"] is None else f"{lo}-{band['to_px']:g}"


def band_cells(bands: list[dict]) -> str:
    """A summary's ``by_height`` or ``by_detail`` -> one cell: each band with boxes in it, PCK model /
    fixed skeleton and its boxes ("50-70: 0.48 / 0.37 (145); ...")."""
    return "; ".join(
        f"{band_name(b)}: {fmt(b['pck_model'])} / {fmt(b['pck_fixed'])} ({b['boxes']})" for b in bands if b["boxes"]
    )


def rows_of(s: dict) -> dict[str, str]:
    """One pass's summary -> the report's cells."""
    cells = {"people answered (frames)": f"{s['people']} ({s['frames']})"}
    cells["box height, median px"] = fmt(s["box_height_px_median"], 0)
    if "masks" in s:
        m = s["masks"]
        cells["(a) mesh IoU vs labelled person, mean (median)"] = f"{fmt(m['mesh_iou'])} ({fmt(m['mesh_iou_median'])})"
        cells["(a) filled box IoU, mean"] = fmt(m["box_iou"])
        cells["(a) people scored (whole boxes)"] = f"{m['people']} ({m['whole_people']})"
        cells["(a) mesh / box IoU, whole boxes only"] = f"{fmt(m['mesh_iou_whole'])} / {fmt(m['box_iou_whole'])}"
        if "cut_by_edge" in m:  # records from before 2026-12-07 lack it
            cells["(a) mesh / box IoU, boxes the frame's edge cuts (boxes)"] = (
                f"{fmt(m['mesh_iou_cut'])} / {fmt(m['box_iou_cut'])} ({m['cut_by_edge']})"
            )
    if "pose" in s:
        p, c, t = s["pose"], s["pose"]["clear_of_edge"], s["pose"]["tall"]
        cells["(b) BlazePose found a person in (of boxes)"] = f"{p['blazepose_found']} ({p['boxes']})"
        cells["(b) PCK@0.1, model / fixed skeleton"] = f"{fmt(p['pck_model'])} / {fmt(p['pck_fixed'])}"
        cells["(b) joints counted (visibility > 0.5)"] = str(p["joints_counted"])
        cells["(b) the same, boxes clear of the frame's edge (boxes)"] = (
            f"{fmt(c['pck_model'])} / {fmt(c['pck_fixed'])} ({c['boxes']})"
        )
        if "cut_by_edge" in p:  # records from before 2026-12-07 lack it
            e = p["cut_by_edge"]
            cells["(b) the same, boxes the frame's edge cuts (boxes)"] = (
                f"{fmt(e['pck_model'])} / {fmt(e['pck_fixed'])} ({e['boxes']})"
            )
        cells[f"(b) the same, boxes >= {MIN_PERSON_HEIGHT_PX} px tall (boxes)"] = (
            f"{fmt(t['pck_model'])} / {fmt(t['pck_fixed'])} ({t['boxes']})"
        )
        if "by_height" in p:  # records from before 2026-12-07 night lack it
            cells["(b) the same by box height, px: model / fixed skeleton (boxes)"] = band_cells(p["by_height"])
        if "by_detail" in p:  # records from before 2026-12-07 late night lack it
            cells[
                f"(b) the same by pixels of detail (box height / the site's blow-up, {fmt(p['detail_factor'], 1)}): "
                "model / fixed skeleton (boxes)"
            ] = band_cells(p["by_detail"])
        cells["(b) PCK@0.1, model with left and right swapped"] = fmt(p["pck_model_mirrored"])
        if "facing_compared" in p:  # records from before 2026-12-04 lack it
            n = p["facing_compared"]
            share = fmt(p["facing_agree"] / n) if n else "n/a"
            cells["(b) facing the camera or away, as BlazePose has it (boxes both see clearly)"] = f"{share} ({n})"
            cells["(b) PCK@0.1, model turned round where it faces the other way from BlazePose"] = fmt(
                p["pck_model_facing_as_blazepose"]
            )
        if "torso_width_model" in p:  # records from before 2026-12-07 evening lack it
            cells["(b) shoulders and hips apart in the image, over BlazePose's (median)"] = fmt(p["torso_width_model"])
        cells["(b) limb joints from the fixed skeleton, box heights: model / BlazePose"] = (
            f"{fmt(p['model_from_fixed'], 3)} / {fmt(p['blazepose_from_fixed'], 3)}"
        )
        cells["(c) PA error mm, model / fixed skeleton"] = f"{fmt(p['pa_mm_model'], 0)} / {fmt(p['pa_mm_fixed'], 0)}"
        cells["(c) the same, boxes clear of the frame's edge"] = (
            f"{fmt(c['pa_mm_model'], 0)} / {fmt(c['pa_mm_fixed'], 0)}"
        )
    if "truth" in s:
        r, t = s["truth"], s["truth"]["tall"]
        cells["(t) boxes showing a rendered person (of boxes)"] = f"{r['matched']} ({r['boxes']})"
        cells["(t) PCK@0.1 against the true joints, model / fixed skeleton"] = (
            f"{fmt(r['pck_model'])} / {fmt(r['pck_fixed'])}"
        )
        cells[f"(t) the same, boxes >= {MIN_PERSON_HEIGHT_PX} px tall (boxes)"] = (
            f"{fmt(t['pck_model'])} / {fmt(t['pck_fixed'])} ({t['boxes']})"
        )
        if "pck_blazepose" in r:
            cells["(t) BlazePose against the true joints, its visible ones (joints)"] = (
                f"{fmt(r['pck_blazepose'])} ({r['blazepose_joints_counted']})"
            )
    cells["model versions answering"] = ", ".join(f"`{v}`" for v in s["model_versions"]) or "n/a"
    return cells


def job_line(job: dict | None) -> str:
    if job is None:
        return ""
    if job["state"] == REFUSED:
        return f"`/adapt`: **refused** ({job['status_code']}): {job['detail']}; no after pass.  "
    r = job.get("result") or {}
    hb, ha = (r.get(k) or {} for k in ("health_before", "health_after"))
    health = ", ".join(
        f"{k} {hb[k]} -> {ha.get(k)}" if isinstance(hb[k], int) else f"{k} {fmt(hb[k], 3)} -> {fmt(ha.get(k), 3)}"
        for k in hb
        if isinstance(hb[k], int | float)
    )
    cfg = r.get("config") or {}
    return (
        f"`/adapt`: {job['state']}, {cfg.get('iterations', '?')} iterations of {cfg.get('variant', '?')} on "
        f"{r.get('train_crops')} buffered crops in {fmt(r.get('wall_s'), 0)} s; held-out health {health}; "
        f"**activated: {r.get('activated')}**" + (f" ({r['reason']})" if r.get("reason") else "") + ".  "
    )


def markdown_section(record: dict) -> str:
    s = record["summary"]
    phases = list(s)
    cells = {name: rows_of(s[name]) for name in phases}
    labels = list(dict.fromkeys(k for name in phases for k in cells[name]))
    refused = record["job"] is not None and record["job"]["state"] == REFUSED
    frames = (
        f"Frames: {record['frames']}; scored: the held-out frames {record['held_out_from']}-{record['frames'] - 1}, "
        + ("before `/adapt` only (refused)." if refused else "before and after `/adapt`.")
        if record["adapt"]
        else f"Frames: {record['frames']}; scored: every answered frame (no adaptation)."
    )
    lines = [
        *section_header(record),
        frames + "  ",
    ]
    if record.get("source_checkpoint"):
        lines.append(f"Source model: `{record['source_checkpoint']}`.  ")
    if record["job"] is not None:
        lines.append(job_line(record["job"]))
    if "boxes_agreement" in record:
        a = record["boxes_agreement"]
        lines.append(f"Both passes answered the same boxes on {a['same_boxes']} of {a['frames']} held-out frames.  ")
    if record["blazepose"] is None:
        lines.append("(b) and (c) skipped: `.venv-eval` is missing (`make eval-env`).  ")
    lines += ["", "| figure | " + " | ".join(phases) + " |", "|---|" + "---|" * len(phases)]
    lines += [f"| {k} | " + " | ".join(cells[p].get(k, "n/a") for p in phases) + " |" for k in labels]
    return "\n".join(lines)


def write_doc(record: dict, path: Path) -> None:
    write_section(markdown_section(record), f"real-pose-{record['name']}", path, DOC_HEADER)
