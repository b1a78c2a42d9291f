"""The unsupervised health score: how well a regressor's meshes explain a site's silhouettes.

    h = health_score(regressor, held_out)     # held_out: TargetSet (crops + MOG2 silhouettes)
    h.iou, h.topology                         # higher IoU and lower L_T are better

No labels are needed, so the service can judge a freshly adapted model on frames it did not
adapt on and refuse it when it explains them worse than the model it would replace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from models.flip_average import FlipAveraged
from models.m2s import SilhouetteSettings, m2s
from models.preprocess import crops_to_input
from models.regressor import PoseRegressor
from models.target_data import TargetSet
from models.topology import skeleton, topology_loss


@dataclass(frozen=True)
class Health:
    """iou: mean silhouette IoU; topology: mean L_T per target skeleton pixel (px); crops: how many."""

    iou: float
    topology: float
    crops: int

    def as_dict(self) -> dict:
        return asdict(self)

    def beats(self, other: Health, margin: float = 0.005, topology_guard: float = 2.0) -> bool:
        """Replace ``other`` on a clear IoU gain, unless the skeletons got grossly worse.

        IoU decides: on the tuning site (seed 999; lr-32 and thermal) adaptation lowered held-out
        PA-MPJPE by 20% and 11% while IoU rose both times and L_T per skeleton pixel also *rose*
        (+6%, +15%), so L_T only guards against collapse (``topology_guard`` times worse)."""
        return self.iou > other.iou + margin and self.topology <= other.topology * topology_guard


def images_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N, 3, S, S) float in [0, 1] on ``device`` (:func:`crops_to_input` as a tensor)."""
    return torch.from_numpy(crops_to_input(images)).to(device)


@torch.no_grad()
def per_crop_health(
    regressor: PoseRegressor | FlipAveraged, target: TargetSet, batch: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) IoU and (N,) L_T per skeleton pixel, one per crop, of the regressor's answers (or of
    its flip-averaged answers, as served: models.flip_average)."""
    device = next(regressor.parameters()).device
    was_training = regressor.training
    regressor.eval()
    ious, tops = [], []
    size = target.silhouettes.shape[-1]
    for s in range(0, len(target), batch):
        out = regressor(images_tensor(target.images[s : s + batch], device))
        S_hat = m2s(
            regressor.body.proxy_vertices(out.vertices),
            regressor.body.proxy_faces.to(device),
            out.camera,
            SilhouetteSettings(image_size=size),
        )
        S = torch.as_tensor(target.silhouettes[s : s + batch], device=device).float().unsqueeze(1)
        inter = (S_hat * S).sum((1, 2, 3))
        union = ((S_hat + S) > 0).float().sum((1, 2, 3))
        ious.append((inter / union.clamp_min(1)).cpu())
        T = skeleton(S)
        tops.append((topology_loss(skeleton(S_hat), T) / T.sum((1, 2, 3)).clamp_min(1)).cpu())
    regressor.train(was_training)
    if not ious:
        return np.zeros(0), np.zeros(0)
    return torch.cat(ious).numpy(), torch.cat(tops).numpy()


def health_score(regressor: PoseRegressor | FlipAveraged, target: TargetSet, batch: int = 32) -> Health:
    if len(target) == 0:
        raise ValueError("no crops to score: the held-out set is empty")
    iou, top = per_crop_health(regressor, target, batch)
    return Health(iou=float(iou.mean()), topology=float(top.mean()), crops=len(target))
