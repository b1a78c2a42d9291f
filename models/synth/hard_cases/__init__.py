"""Hard cases for the person finder: labelled synthetic clips of what real static cameras meet.

    python -m models.synth.hard_cases light-on --out /tmp/hard_cases/light-on
    python -m models.synth.hard_cases shake-3 --out /tmp/hard_cases/shake-3 --frames 200 --seed 1
    python -m models.synth.hard_cases standstill --activity tai_chi --from-start --out /tmp/hard_cases/tai_chi

Each case is the camera site's world (:mod:`models.synth.camera_site`: the same camera, floor and
wall, clothed bodies from :mod:`models.synth.scene_renderer`, motion from
:mod:`models.synth.motion`) with one thing that fools background subtraction:

* ``light-on``: the whole image brightens and shifts its colour balance within 1-2 frames (a lamp
  switched on, auto exposure) and stays so; one person walking throughout.
* ``shake-N``: the camera shakes, every frame translated by a smooth random offset of at most
  ``N`` px (band-limited noise); one person walking.
* ``sway``: a tall leafy plant sways a few to ~15 px with some irregularity; it is not a person
  (0 in every mask); one person walking.
* ``standstill``: a person walks in, stands still for 10 s with only breathing and a little sway,
  then walks out; ``--activity`` has them do jumping jacks, bend or a slow tai chi form instead,
  ``--from-start`` puts them on the spot from frame 0 (absorbed into the learnt background).
* ``crossing``: two people walk in opposite directions at different depths; they overlap in the
  image for a while, the nearer one in front.
* ``group``: two to four people walk across the view together, one behind the other, their
  silhouettes touching as a group's do on a street.

The first ``quiet`` frames (40 by default) hold no event, so a background model can settle.

A folder written by :func:`save` holds ``video.avi`` (FFV1, lossless), ``groundtruth.tar`` in the
CDnet/SBI layout (``groundtruth/gt%06d.png``, frame i <-> gt i; uint8: 0 background, 255 person,
170 a 2 px uncertain band across each person's boundary), ``instances.npz`` (``instances``
(T, H, W) int16: 0 background, k for person k, the same k in every frame; ``amodal`` each
person's whole silhouette, occluded parts included, bit-packed along the width), ``case.json``
(case, seed, frames, events with frame numbers, the case's settings and per-frame parameters),
``background.png`` (the empty scene as frame 0 shows it) and ``joints.npz`` (``joints_2d`` (T, P, 24, 2):
each person's SMPL joints in the frame's pixels, for scoring served poses against the truth).

People are rendered one at a time and composited per pixel by their rendered depth, so each
person's mask comes from its own render and an arm in front of the other person is in front.
"""

from models.synth.hard_cases.cases import (
    CASES,
    DEFAULT_FRAMES,
    crossing,
    default_frames,
    group,
    light_on,
    parse_case,
    plant,
    render_case,
    shake,
    standstill,
    sway,
)
from models.synth.hard_cases.cli import main
from models.synth.hard_cases.files import (
    JOINTS_FILE,
    PREVIEW_MAX_WIDTH,
    overlay,
    preview,
    read_groundtruth,
    read_instances,
    read_joints,
    save,
)
from models.synth.hard_cases.labels import BACKGROUND, PERSON, UNCERTAIN, HardCase, groundtruth
from models.synth.hard_cases.movement import (
    ease_in,
    floor_point,
    floor_x,
    smooth_noise,
    stand,
    stroll,
    view_half_width,
    walk_across,
)
from models.synth.hard_cases.settings import (
    FADE,
    FAR_M,
    FOCAL_PER_WIDTH,
    MAX_WALK_SPEED,
    NEAR_M,
    OFFSCREEN_M,
    QUIET_FRAMES,
    Activity,
    Crossing,
    Group,
    LightOn,
    SceneSettings,
    Shake,
    Standstill,
    Sway,
)
from models.synth.hard_cases.world import AMBIENT, BODY_BATCH, Plate

__all__ = [
    "AMBIENT",
    "BACKGROUND",
    "BODY_BATCH",
    "CASES",
    "DEFAULT_FRAMES",
    "FADE",
    "FAR_M",
    "FOCAL_PER_WIDTH",
    "JOINTS_FILE",
    "MAX_WALK_SPEED",
    "NEAR_M",
    "OFFSCREEN_M",
    "PERSON",
    "PREVIEW_MAX_WIDTH",
    "QUIET_FRAMES",
    "UNCERTAIN",
    "Activity",
    "Crossing",
    "Group",
    "HardCase",
    "LightOn",
    "Plate",
    "SceneSettings",
    "Shake",
    "Standstill",
    "Sway",
    "crossing",
    "default_frames",
    "ease_in",
    "floor_point",
    "floor_x",
    "groundtruth",
    "group",
    "light_on",
    "main",
    "overlay",
    "parse_case",
    "plant",
    "preview",
    "read_groundtruth",
    "read_instances",
    "read_joints",
    "render_case",
    "save",
    "shake",
    "smooth_noise",
    "stand",
    "standstill",
    "stroll",
    "sway",
    "view_half_width",
    "walk_across",
]
