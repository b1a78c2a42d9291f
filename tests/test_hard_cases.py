"""Hard cases for the person finder: files that read back, masks that match the pixels, and each
case's event where case.json says it is (small clips: 96x72, 50 frames, short events)."""

import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.body_model import load_body_model
from models.synth import hard_cases as hc
from models.synth.hard_cases.world import start_world

BODY_WITHOUT_HANDS = 22  # SMPL's joints 22 and 23 are the hands
SCENE = hc.SceneSettings(width=96, height=72, frames=50, quiet=10, noise=0.0)
# the sway case's person walks across to pass in front of the plant: that takes longer than 2 s
SCENES = {"sway": hc.SceneSettings(width=96, height=72, frames=90, quiet=10, noise=0.0)}
SETTINGS = {
    "light-on": hc.LightOn(frame=25),
    "shake-3": hc.Shake(amplitude=3.0),
    "sway": hc.Sway(amplitude=6.0),
    "standstill": hc.Standstill(still_frames=24, walk_frames=7),
    "crossing": hc.Crossing(),
    "group": hc.Group(people=3, gap_m=0.1, speed_mps=2.0),
}
RENDER = {
    "light-on": hc.light_on,
    "shake-3": hc.shake,
    "sway": hc.sway,
    "standstill": hc.standstill,
    "crossing": hc.crossing,
    "group": hc.group,
}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def rendered(body, tmp_path_factory):
    """{case: (HardCase, folder it was saved in)}, each rendered once."""
    out = {}
    for name, settings in SETTINGS.items():
        case = RENDER[name](SCENES.get(name, SCENE), settings, body)
        folder = tmp_path_factory.mktemp(name)
        hc.save(case, folder)
        out[name] = (case, folder)
    return out


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_files_read_back_as_rendered(rendered, name):
    case, folder = rendered[name]
    T, H, W = case.info["frames"], SCENE.height, SCENE.width
    cap = cv2.VideoCapture(str(folder / "video.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == T
    for t in range(T):
        ok, f = cap.read()
        assert ok and np.array_equal(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), case.frames[t])  # lossless
    assert not cap.read()[0]
    cap.release()
    with tarfile.open(folder / "groundtruth.tar") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {f"groundtruth/gt{t:06d}.png" for t in range(T)}
    masks = hc.read_groundtruth(folder / "groundtruth.tar")
    assert masks.shape == (T, H, W) and masks.dtype == np.uint8
    assert np.array_equal(masks, case.groundtruth())
    instances, amodal = hc.read_instances(folder / "instances.npz")
    assert instances.dtype == np.int16 and np.array_equal(instances, case.instances)
    assert np.array_equal(amodal, case.amodal)
    joints = hc.read_joints(folder / hc.JOINTS_FILE)
    assert joints.dtype == np.float32 and np.array_equal(joints, case.joints_2d)
    info = json.loads((folder / "case.json").read_text())
    assert info["case"] == name and info["seed"] == SCENE.seed and info["frames"] == T
    assert all(0 <= e["frame"] <= T for e in info["events"]) and info["events"]
    assert cv2.imread(str(folder / "background.png")).shape == (H, W, 3)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_masks_are_cdnet_and_match_the_instances(rendered, name):
    case, _ = rendered[name]
    masks, inst = case.groundtruth(), case.instances
    assert set(np.unique(masks)) <= {0, 170, 255}
    assert (inst[masks == 255] > 0).all() and (inst[masks == 0] == 0).all() and (masks[inst > 0] > 0).all()
    people = case.info["people"]
    assert set(np.unique(inst)) <= set(range(people + 1)) and case.amodal.shape[1] == people
    # every person pixel is that person's own render, and people are drawn wherever rendered
    for k in range(1, people + 1):
        assert (case.amodal[:, k - 1][inst == k]).all()
    assert np.array_equal(inst > 0, case.amodal.any(1))
    # the band is 1 px either side of each person's boundary: eroding each by 1 px leaves only 255
    for t in range(0, len(inst), 7):
        person = (inst[t] > 0).astype(np.uint8)
        for k in range(1, people + 1):
            assert (masks[t][cv2.erode((inst[t] == k).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0] == 255).all()
        outside = cv2.dilate(person, np.ones((3, 3), np.uint8)) == 0
        assert (masks[t][outside] == 0).all()


@pytest.mark.parametrize("name", list(SETTINGS))
def test_ids_are_stable_people_move_smoothly_and_stay_whole(rendered, name):
    case, _ = rendered[name]
    for k in range(1, case.info["people"] + 1):
        seen = [t for t in range(len(case.frames)) if (case.instances[t] == k).any()]
        assert len(seen) > 10
        assert seen == list(range(seen[0], seen[-1] + 1))  # one visit each, no id gaps
        c = np.array([centroid(case.amodal[t, k - 1]) for t in seen])
        # whole in view (no edges): the centre moves less than ~a fifth of the image per frame
        inside = [i for i, t in enumerate(seen) if 0 < i < len(seen) - 1]
        assert np.abs(np.diff(c[inside], axis=0)).max() < SCENE.width / 5


@pytest.mark.parametrize("name", ["standstill", "crossing"])
def test_the_composite_is_the_background_outside_the_people(rendered, name):
    case, _ = rendered[name]
    bg = case.instances == 0
    assert np.array_equal(case.frames[bg], np.broadcast_to(case.background, case.frames.shape)[bg])
    changed = (case.frames != case.background).any(-1)
    assert changed[~bg].mean() > 0.9  # bodies look unlike the wall and floor behind them
    assert (case.instances[: SCENE.quiet] == 0).all()  # nobody in view while the background settles


def test_light_on_changes_the_image_not_the_masks(rendered, body):
    case, _ = rendered["light-on"]
    e = SETTINGS["light-on"].frame
    ramp = SETTINGS["light-on"].ramp
    event = case.info["events"][0]
    assert event["frame"] == e and event["until"] == e + ramp - 1
    brightness = case.frames.reshape(SCENE.frames, -1).mean(1)
    assert np.abs(np.diff(brightness[: e - 1])).max() < 2.0  # steady before
    assert brightness[e + ramp - 1] > 1.25 * brightness[e - 1]
    assert brightness[e - 1] < brightness[e] < brightness[e + ramp - 1]  # within 2 frames
    assert np.abs(np.diff(brightness[e + ramp :])).max() < 2.0  # and it stays
    before, after = case.frames[e - 1].astype(float), case.frames[e + 1].astype(float)
    ratio = after[..., 0].mean() / after[..., 2].mean() / (before[..., 0].mean() / before[..., 2].mean())
    assert ratio > 1.1  # the colour balance moves too (warmer)
    # the masks are those of the same clip with the light left alone
    unlit = hc.light_on(SCENE, hc.LightOn(frame=e, before=(1.0, 1.0, 1.0), after=(1.0, 1.0, 1.0)), body)
    assert np.array_equal(unlit.instances, case.instances)
    steady = unlit.frames.reshape(SCENE.frames, -1).mean(1)
    assert abs(steady[e + ramp - 1] - steady[e - 1]) < 2.0


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_true_joints_lie_on_their_person(rendered, name):
    """Each person's projected joints are inside their own render wherever the whole of them is in
    view (a joint is inside the body, so its image is inside the silhouette; 2 px for the raster,
    and not the hands' joints: at 96x72 a hand is under a pixel wide and the raster can miss it)."""
    case, _ = rendered[name]
    T, P = case.info["frames"], case.info["people"]
    assert case.joints_2d is not None and case.joints_2d.shape == (T, P, 24, 2)
    grown = np.ones((5, 5), np.uint8)
    checked = 0
    for t in range(0, T, 3):
        for k in range(P):
            mask = case.amodal[t, k]
            if not mask.any() or touches_border(mask):
                continue
            near = cv2.dilate(mask.astype(np.uint8), grown) > 0
            x, y = np.rint(case.joints_2d[t, k, :BODY_WITHOUT_HANDS]).astype(int).T
            assert ((x >= 0) & (x < SCENE.width) & (y >= 0) & (y < SCENE.height)).all()
            assert near[y, x].all(), (name, t, k)
            checked += 1
    assert checked >= 5


def test_the_true_joints_are_a_pinhole_projection(body):
    """The joints agree with OpenCV's projectPoints of the same camera-frame joints, the shake's
    offset added: an independent reference for World.project."""
    scene = SCENES.get("shake-3", SCENE)
    world, rng = start_world(scene, body)
    person = world.person(hc.stroll(scene, rng), rng)
    _, joints = world.posed(person)
    offsets = rng.normal(0, 2, (len(joints), 2))
    got = world.project(joints, offsets)
    for t in (0, len(joints) // 2, len(joints) - 1):
        want, _ = cv2.projectPoints(joints[t].astype(np.float64), np.zeros(3), np.zeros(3), world.K, None)
        np.testing.assert_allclose(got[t], want[:, 0] + offsets[t], atol=1e-3)


def test_shake_stays_within_its_amplitude(rendered):
    case, _ = rendered["shake-3"]
    amplitude = SETTINGS["shake-3"].amplitude
    offsets = np.array(case.info["offsets"])
    assert offsets.shape == (SCENE.frames, 2)
    assert (offsets[: SCENE.quiet] == 0).all()
    assert np.linalg.norm(offsets, axis=1).max() == pytest.approx(amplitude, abs=1e-3)
    grey = lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float64)  # noqa: E731
    hanning = cv2.createHanningWindow((SCENE.width, SCENE.height), cv2.CV_64F)
    errors = []
    for t in range(SCENE.quiet, SCENE.frames, 3):
        # the background only: both frames' people (and a margin) weighted out, with a soft edge
        people = (case.instances[0] > 0) | (case.instances[t] > 0)
        keep = cv2.dilate(people.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
        window = hanning * cv2.GaussianBlur(keep.astype(np.float64), (0, 0), 3) * keep
        a, b = grey(case.frames[0]), grey(case.frames[t])
        (dx, dy), _ = cv2.phaseCorrelate(a - a[keep].mean(), b - b[keep].mean(), window)
        assert np.hypot(dx, dy) <= amplitude + 0.5
        errors.append(np.hypot(dx - offsets[t, 0], dy - offsets[t, 1]))
    # 96x72 frames hold little texture (seed 1's floor has almost none): the estimates are rough
    # (at 640x480 they are within 0.3 px), the exact check follows
    assert max(errors) < 1.5 and np.median(errors) < 0.5
    # exactly: each frame's background is the empty scene moved by its offset (away from the
    # borders, which the empty frame 0 lacks), and the people are drawn where the masks say
    inner = (slice(4, SCENE.height - 4), slice(4, SCENE.width - 4))
    for t in range(SCENE.quiet, SCENE.frames):
        moved = cv2.warpAffine(
            case.background, np.array([[1.0, 0, offsets[t, 0]], [0, 1.0, offsets[t, 1]]]), (SCENE.width, SCENE.height)
        )
        diff = np.abs(moved.astype(int) - case.frames[t]).max(-1)
        assert diff[inner][case.instances[t][inner] == 0].max() <= 1
        assert (diff[case.instances[t] > 0] > 0).mean() > 0.9


def test_sway_moves_a_plant_that_is_never_a_person(rendered):
    case, _ = rendered["sway"]
    x0, y0, x1, y1 = case.info["sway"]["box"]
    top = np.array(case.info["sway"]["top_px"])
    amplitude = SETTINGS["sway"].amplitude
    assert (top[: SCENE.quiet] == 0).all() and np.abs(top).max() <= amplitude and np.abs(top).max() > 0.3 * amplitude
    box = case.frames[:, y0:y1, x0:x1].astype(float)
    free = (case.amodal[:, 0, y0:y1, x0:x1] == 0)[..., None]  # not behind the person
    diffs = [np.abs(box[t] - box[0])[(free[t] & free[0])[..., 0]].mean() for t in range(len(box))]
    assert max(diffs[: SCENE.quiet]) == 0.0  # still while the background settles
    swung = int(np.argmax(np.abs(top)))
    assert diffs[swung] > 3.0  # then it moves
    masks = case.groundtruth()
    person_near = cv2.dilate(case.amodal[swung, 0].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert (masks[swung][~person_near] == 0).all()  # the moving plant is background in the masks
    moved = np.zeros((SCENE.height, SCENE.width), bool)
    moved[y0:y1, x0:x1] = np.abs(case.frames[swung] - case.frames[0].astype(int)).max(-1)[y0:y1, x0:x1] > 20
    assert (moved & ~person_near).sum() > 20 and (masks[swung][moved & ~person_near] == 0).all()
    # the person walks in front of the plant once: there the mask is the person's, not the plant's
    passing = next(e for e in case.info["events"] if e["event"] == "person in front of the plant")
    for t in range(passing["frame"], passing["until"]):
        assert np.array_equal(case.instances[t, y0:y1, x0:x1] > 0, case.amodal[t, 0, y0:y1, x0:x1])


def test_standstill_person_barely_moves_while_still(rendered):
    case, _ = rendered["standstill"]
    first, end = case.info["still"]
    assert end - first >= 8
    masks = case.amodal[:, 0]
    for t in range(first, end):
        assert iou(masks[t], masks[first]) > 0.8
        assert np.abs(centroid(masks[t]) - centroid(masks[first])).max() < 1.0
    events = {e["event"]: e["frame"] for e in case.info["events"]}
    walking = [
        np.abs(centroid(masks[t + 1]) - centroid(masks[t]))[0] for t in range(events["enters"], events["stops"] - 1)
    ]
    assert min(walking) > 1.0  # walking in, it moves more than that every frame
    assert events["enters"] >= SCENE.quiet - 1 and events["walks on"] == end


def test_crossing_has_two_ids_that_overlap_the_nearer_in_front(rendered):
    case, _ = rendered["crossing"]
    inst, amodal = case.instances, case.amodal
    assert case.info["people"] == 2 and set(np.unique(inst)) == {0, 1, 2}
    both = amodal[:, 0] & amodal[:, 1]
    overlapping = np.flatnonzero(both.reshape(SCENE.frames, -1).any(1))
    assert len(overlapping) >= 2
    events = {e["event"]: e["frame"] for e in case.info["events"]}
    assert events["overlap starts"] == overlapping[0] and events["overlap ends"] == overlapping[-1] + 1
    assert (inst[both] == 1).all()  # person 1 walks nearer the camera
    # person 1 walks to the image's right, person 2 to the left, each keeping its id
    for k, sign in ((1, 1), (2, -1)):
        whole = [t for t in range(SCENE.frames) if amodal[t, k - 1].any() and not touches_border(amodal[t, k - 1])]
        xs = np.array([centroid(amodal[t, k - 1])[0] for t in whole])
        assert (sign * np.diff(xs) > -0.5).all() and sign * (xs[-1] - xs[0]) > SCENE.width / 3


def test_a_group_walks_in_file_ids_front_to_back_their_silhouettes_touching(rendered):
    case, _ = rendered["group"]
    amodal = case.amodal
    assert case.info["people"] == 3 and set(np.unique(case.instances)) == {0, 1, 2, 3}
    grown = [cv2.dilate(amodal[:, k].reshape(-1, SCENE.width).astype(np.uint8), np.ones((3, 3))) for k in range(3)]
    touching = sum(
        bool((grown[0][t * SCENE.height : (t + 1) * SCENE.height] & amodal[t, 1]).any()) for t in range(SCENE.frames)
    )
    assert touching >= 5  # one silhouette row of people on those frames
    for t in range(SCENE.frames):  # person 1 leads (rightwards), the others follow in order
        xs = [centroid(amodal[t, k])[0] for k in range(3) if amodal[t, k].any() and not touches_border(amodal[t, k])]
        assert xs == sorted(xs, reverse=True)


def test_noise_is_per_frame_and_seeded(body):
    scene = hc.SceneSettings(width=64, height=48, frames=6, quiet=2, noise=2.0)
    a = hc.light_on(scene, body=body)
    b = hc.light_on(scene, body=body)
    clean = hc.light_on(hc.SceneSettings(width=64, height=48, frames=6, quiet=2, noise=0.0), body=body)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.instances, clean.instances)
    d = a.frames.astype(float) - clean.frames
    assert 1.5 < d.std() < 2.5 and not np.array_equal(d[0], d[1])


def test_unknown_cases_and_bad_settings_are_refused(body):
    assert hc.parse_case("shake-2.5") == ("shake", 2.5) and hc.parse_case("sway") == ("sway", None)
    for bad in ("rain", "shake-", "shake-0", "Shake-3", "light_on"):
        with pytest.raises(ValueError, match=repr(bad)):
            hc.parse_case(bad)
    with pytest.raises(ValueError, match="frames=50"):
        hc.standstill(SCENE, hc.Standstill(still_frames=40, walk_frames=10), body)
    with pytest.raises(ValueError, match="light change at frame 5"):
        hc.light_on(SCENE, hc.LightOn(frame=5), body)
    with pytest.raises(ValueError, match="quiet=60"):
        hc.SceneSettings(frames=50, quiet=60)
    with pytest.raises(ValueError, match="'yoga'"):
        hc.Standstill(activity="yoga")
    with pytest.raises(ValueError, match="depth_m=0"):
        hc.Standstill(depth_m=0.0)
    with pytest.raises(ValueError, match="people=5"):
        hc.Group(people=5)
    with pytest.raises(ValueError, match=r"gap_m=-0\.1"):
        hc.Group(gap_m=-0.1)
    with pytest.raises(SystemExit):
        hc.main(["drizzle", "--out", "/nonexistent"])
    with pytest.raises(SystemExit):  # the standstill's flags on another case
        hc.main(["crossing", "--from-start", "--out", "/nonexistent"])
    with pytest.raises(SystemExit):  # too few frames for the walk out and the still frames
        hc.main(["standstill", "--from-start", "--frames", "40", "--quiet", "4", "--out", "/nonexistent"])


def test_the_command_line_writes_a_case(tmp_path: Path):
    out = tmp_path / "case"
    hc.main(["crossing", "--out", str(out), "--frames", "14", "--width", "64", "--height", "48", "--quiet", "4"])
    assert {p.name for p in out.iterdir()} == {
        "video.avi",
        "groundtruth.tar",
        "instances.npz",
        "case.json",
        "background.png",
        "joints.npz",
    }
    assert json.loads((out / "case.json").read_text())["frames"] == 14


def test_the_command_line_renders_a_standstill_with_its_flags(tmp_path: Path):
    out = tmp_path / "tai_chi"
    args = ["standstill", "--activity", "tai_chi", "--from-start", "--depth", "5", "--still-frames", "16"]
    hc.main([*args, "--out", str(out), "--frames", "100", "--width", "64", "--height", "48", "--quiet", "4"])
    info = json.loads((out / "case.json").read_text())
    assert info["settings"]["activity"] == "tai_chi" and info["settings"]["from_start"] is True
    assert info["settings"]["depth_m"] == 5.0 and info["settings"]["still_frames"] == 16
    assert info["events"][0] == {"frame": 0, "event": "in view"}
