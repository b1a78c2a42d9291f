"""What a hard case is rendered with: the scene every case shares and each case's own settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

QUIET_FRAMES = 40  # frames before any event, for the background model to settle
FOCAL_PER_WIDTH = 380.0 / 320.0  # camera_site's focal length at its default width: the same view at any size
NEAR_M, FAR_M = 5.0, 7.5  # floor depths (m) at which a whole person is in view: about 155-245 px tall at 640x480
OFFSCREEN_M = 0.7  # how far beyond the view's edge a person starts (m): half a body and a margin
FADE = 12  # frames over which motion.concatenate blends one part into the next
MAX_WALK_SPEED = 2.5  # m/s; above this a derived walk is a run (fine in tests, logged)
BODY_DEPTH_M = 0.45  # a walker's extent along their walk, swinging arms and legs included


@dataclass(frozen=True)
class SceneSettings:
    """What every case shares: image size, length, frame rate, seed, sensor noise (grey levels, per
    frame) and the number of event-free frames at the start."""

    width: int = 640
    height: int = 480
    frames: int = 200
    fps: float = 25.0
    seed: int = 0
    noise: float = 2.0
    quiet: int = QUIET_FRAMES

    def __post_init__(self) -> None:
        if self.width < 32 or self.height < 32:
            raise ValueError(f"image size {self.width}x{self.height} is too small; at least 32x32")
        if self.frames < 2:
            raise ValueError(f"frames={self.frames}: a clip needs at least 2 frames")
        if not 0 <= self.quiet < self.frames:
            raise ValueError(f"quiet={self.quiet} must lie in [0, frames={self.frames})")
        if self.noise < 0:
            raise ValueError(f"noise={self.noise} must be >= 0")

    @property
    def focal(self) -> float:
        return FOCAL_PER_WIDTH * self.width


@dataclass(frozen=True)
class LightOn:
    """A global light change at ``frame`` (None: the clip's middle, or ``quiet`` if later): each
    channel's gain goes linearly from ``before`` to ``after`` over ``ramp`` frames (frame
    ``frame + ramp - 1`` is fully ``after``) and stays."""

    frame: int | None = None
    ramp: int = 2
    before: tuple[float, float, float] = (0.72, 0.72, 0.75)  # RGB gains: a dim, slightly cool room
    after: tuple[float, float, float] = (1.12, 1.04, 0.88)  # brighter and warmer: a lamp


@dataclass(frozen=True)
class Shake:
    """Camera shake from frame ``quiet`` on, eased in over ``ramp_s`` seconds: the image content
    moves by a smooth random offset whose length is at most ``amplitude`` px, band-limited to
    ``cutoff_hz``."""

    amplitude: float = 3.0
    cutoff_hz: float = 3.0
    ramp_s: float = 0.4


@dataclass(frozen=True)
class Sway:
    """A tall leafy plant in a pot, ``size`` (width, height) as fractions of the image, swaying
    from frame ``quiet`` on: its top moves sideways by up to ``amplitude`` px at about
    ``frequency_hz``, the amplitude and frequency wandering by ``irregularity``."""

    amplitude: float = 12.0
    frequency_hz: float = 0.5
    irregularity: float = 0.35
    size: tuple[float, float] = (0.24, 0.6)
    ramp_s: float = 1.0


Activity = Literal["stand", "jumping_jacks", "bending", "tai_chi"]  # what a Standstill's person does on the spot


@dataclass(frozen=True)
class Standstill:
    """A person walks in (entering at frame ``quiet``, ``walk_frames`` to reach the spot), stays
    ``still_frames`` there, standing and breathing and swaying a little (``activity`` "stand"),
    doing jumping jacks facing the camera ("jumping_jacks") or bending to the floor and up again,
    seen in profile ("bending") or a slow tai chi form facing the camera ("tai_chi"), then walks out
    the other side. With ``from_start`` there is no walk in: the person is on the spot from the
    first frame (so in the frames a site learns its background from) and walks out after
    ``still_frames``."""

    still_frames: int = 250
    walk_frames: int = 75
    depth_m: float = 6.0
    breathing: float = 1.0  # scales the breathing and sway angles
    activity: Activity = "stand"
    from_start: bool = False

    def __post_init__(self) -> None:
        if self.activity not in get_args(Activity):
            raise ValueError(f"activity={self.activity!r}; choose from {', '.join(get_args(Activity))}")
        if not self.depth_m > 0:
            raise ValueError(f"depth_m={self.depth_m} must be > 0")

    def frames_besides_still(self, quiet: int) -> int:
        """The frames a clip needs besides the still ones: ``quiet`` and the walk in, unless
        ``from_start``, and the walk out."""
        return self.walk_frames if self.from_start else quiet + 2 * self.walk_frames


@dataclass(frozen=True)
class Crossing:
    """Two people at depths ``near_m`` (id 1) and ``far_m`` (id 2) walk in opposite directions,
    entering at frame ``quiet`` and passing the image's centre together midway through the rest."""

    near_m: float = 5.3
    far_m: float = 6.8


@dataclass(frozen=True)
class Group:
    """``people`` walk across the view together, one behind the other along their walk, ``gap_m``
    between one's back and the next one's front (a body is about ``BODY_DEPTH_M`` deep along a
    walk), at depth ``depth_m``, entering at frame ``quiet`` and walking at ``speed_mps``: in the
    image a row of people whose silhouettes touch, as groups on a street do."""

    people: int = 3
    gap_m: float = 0.1  # with 0.3 the finder keeps two people apart on all but 3 of 253 (a throwaway run)
    depth_m: float = 6.0
    speed_mps: float = 1.1

    def __post_init__(self) -> None:
        if not 2 <= self.people <= 4:
            raise ValueError(f"people={self.people} must lie in [2, 4]")
        if self.gap_m < 0 or not self.depth_m > 0 or not self.speed_mps > 0:
            raise ValueError(
                f"gap_m={self.gap_m}, depth_m={self.depth_m}, speed_mps={self.speed_mps}: gap >= 0, the rest > 0"
            )
