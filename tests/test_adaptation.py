"""Algorithm 1 on a tiny shifted MOG2 site: losses fall, predictions move towards the truth,
progress and cancellation work, and the input regressor is never touched."""

import numpy as np
import pytest
import torch

from models.adaptation import AdaptConfig, adapt
from models.body_model import load_body_model
from models.crops import pixels_to_crop
from models.regressor import load_regressor
from models.synth.camera_site import SiteConfig, make_site
from models.target_data import site_target
from runtime.settings import SHIPPED_CHECKPOINT

SIZE = 128  # the shipped model's crops; silhouettes at 32 px keep the test quick


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def site(body):
    # Shifted (lr-52), as the sites adaptation is for are. On this tiny site seen clean the shipped
    # model is already accurate (PA-MPJPE 58 mm) and 16 quick iterations cost it (97 mm, with the
    # held-out IoU falling, so the service's gate refuses that model): docs/RESULTS.md.
    return make_site(
        SiteConfig(width=160, height=120, focal=190.0, frames=60, seed=3), shift="lr-52", body=body, progress=False
    )


@pytest.fixture(scope="module")
def target(site):
    return site_target(site.frames, image_size=SIZE, silhouette_size=32, largest_only=True)


@pytest.fixture(scope="module")
def decoder(body):
    return load_regressor(SHIPPED_CHECKPOINT, body).decoder  # the shipped prior Psi


def fresh_regressor(body, decoder):
    """The shipped source-trained regressor (a fresh copy each time)."""
    return load_regressor(SHIPPED_CHECKPOINT, body)


def spread_batch(target, n):
    """n crops spread over the site, as images (n, 3, S, S) and their alignment target."""
    from models.alignment import AlignmentTarget
    from models.health import images_tensor

    idx = np.arange(0, len(target), max(1, len(target) // n))[:n]
    return images_tensor(target.images[idx]), AlignmentTarget.from_silhouettes(torch.as_tensor(target.silhouettes[idx]))


def joint_error_2d(regressor, target, site):
    """Mean distance (crop units) between predicted and true 2D joints of every crop."""
    with torch.no_grad():
        out = regressor(torch.as_tensor(target.images).permute(0, 3, 1, 2).float() / 255)
    s, t = out.camera[:, None, :1], out.camera[:, None, 1:]
    pred = (s * out.joints[..., :2] + t).numpy()
    true = np.stack(
        [pixels_to_crop(site.joints_2d[f], sq) for f, sq in zip(target.frame_index, target.squares, strict=True)]
    )
    return float(np.linalg.norm(pred - true, axis=-1).mean())


def test_target_crops_come_from_mog2_blobs(target, site):
    assert len(target) >= 0.8 * len(site.frames)
    assert target.images.shape[1:] == (SIZE, SIZE, 3) and target.silhouettes.shape[1:] == (32, 32)
    fill = target.silhouettes.mean((1, 2))
    assert 0.05 < np.median(fill) < 0.6  # a person fills a tenth of a square 1.2 times their height
    first, rest = target.split(0.7)
    assert first.frame_index.max() < rest.frame_index.min()


@pytest.mark.parametrize("variant", ["ours"])
def test_adaptation_lowers_the_loss_and_moves_towards_the_truth(body, decoder, site, target, variant):
    regressor = fresh_regressor(body, decoder)
    before = {k: v.clone() for k, v in regressor.state_dict().items()}
    err_before = joint_error_2d(regressor, target, site)
    cfg = AdaptConfig(variant=variant, iterations=16, batch=8, K=4, max_iter_opt=4)
    events = []
    result = adapt(regressor, target, cfg, held_out=target, progress=events.append)
    h0, h1 = result.report.health_before, result.report.health_after
    # the meshes explain the silhouettes better (more overlap), and the service's gate would take
    # them. Not "closer skeletons": held-out L_T per skeleton pixel can rise while the pose improves
    # (Health.beats' docstring; here +9% with source model v3-mix, -5% or more with v2).
    assert h1.iou > h0.iou + 0.01, (h0, h1)
    assert h1.beats(h0), (h0, h1)
    # and the 2D joints, which adaptation never sees, move towards the truth
    err_after = joint_error_2d(result.regressor, target, site)
    assert err_after < err_before, (err_before, err_after)
    # progress: one event per iteration, counting up, with an estimate of the rest
    assert [e.iteration for e in events] == list(range(1, 17))
    assert events[-1].remaining_s == 0 and events[0].remaining_s > 0
    assert {h["kind"] for h in result.report.history} == {"fit", "direct"}
    assert result.report.ms_per_fit_iteration > 0
    # the input regressor is untouched: adaptation works on a copy
    for k, v in regressor.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("variant", ["b1", "b2", "b3", "a2"])
def test_every_baseline_runs_through_the_same_engine(body, decoder, target, variant):
    result = adapt(
        fresh_regressor(body, decoder),
        target.subset(np.arange(8)),
        AdaptConfig(variant=variant, iterations=2, batch=4, max_iter_opt=2),
    )
    assert result.report.iterations_done == 2 and result.report.history[1]["kind"] == "direct"
    assert all(np.isfinite(v) for h in result.report.history for k, v in h.items() if k not in ("kind",))


def test_cancellation_stops_cleanly(body, decoder, target):
    regressor = fresh_regressor(body, decoder)
    calls = []
    result = adapt(
        regressor,
        target,
        AdaptConfig(iterations=50, batch=4, max_iter_opt=2),
        should_stop=lambda: len(calls) >= 3,
        progress=calls.append,
    )
    assert result.report.cancelled and result.report.iterations_done == 3
    assert len(result.report.history) == 3


def test_bad_configs_and_empty_targets_are_refused(body, decoder, target):
    with pytest.raises(ValueError, match="variant"):
        AdaptConfig(variant="nope")
    with pytest.raises(ValueError, match="s2d_gradient"):
        AdaptConfig(s2d_gradient="nope")
    with pytest.raises(ValueError, match="skeleton_paths"):
        AdaptConfig(skeleton_paths="limbs")
    with pytest.raises(ValueError, match="no target crops"):
        adapt(fresh_regressor(body, decoder), target.subset(np.zeros(0, dtype=int)), AdaptConfig(iterations=1))


# Worst loss after the fit, as a share of the start, over the batch and two copies perturbed by
# 1e-4 (below one grey level). Measured with source model v2 over 8 such runs at 1 and 2 torch
# threads: joint+erosions 0.41-0.44, joint+distance (the default) 0.46-0.56, balanced+erosions
# 0.58-0.84; with v3-mix (shipped 2026-12-04), whose first guess is closer, joint+erosions
# 0.49-0.50. "balanced" gives the topology term half the step, and that term's gradient jumps when
# an erosion changes a pixel, so its path depends on float rounding (thread count, CPU): one input
# gave 0.64 at one thread and 0.69 at two. The bounds sit above the measured worst, so the test
# checks the fit, not rounding.
FIT_BOUNDS = {("joint", "erosions"): 0.6, ("joint", "distance"): 0.62, ("balanced", "erosions"): 0.9}


@pytest.mark.parametrize("optimisers,s2d_gradient", list(FIT_BOUNDS))
def test_the_theta_opt_fit_descends_with_the_default_optimiser(body, decoder, target, optimisers, s2d_gradient):
    """Algorithm 1's inner fit must lower L_S + L_T: with one Adam per term at these learning
    rates it climbed instead (bench/fit_optimisers.py), which is why the default is one Adam."""
    from models.adaptation import fit_parameters, predicted_terms

    regressor = fresh_regressor(body, decoder).eval()
    images, aim = spread_batch(target, 12)
    cfg = AdaptConfig(max_iter_opt=30, optimisers=optimisers, s2d_gradient=s2d_gradient)

    def loss(params) -> float:
        with torch.no_grad():
            return sum(
                t.mean().item() for t in predicted_terms(regressor, regressor.decode(*params), aim, cfg).values()
            )

    with torch.no_grad():
        start = loss(regressor.predict_parameters(images))
    noise = torch.Generator().manual_seed(0)
    ratios = []
    for copy in range(3):
        nudged = images + 1e-4 * torch.randn(images.shape, generator=noise) if copy else images
        fitted, _ = fit_parameters(regressor, nudged, aim, cfg)
        ratios.append(loss(fitted) / start)
    assert max(ratios) < FIT_BOUNDS[optimisers, s2d_gradient], ratios


@pytest.mark.parametrize("variant,term", [("ours", "topology"), ("b3", "skeleton_l2")])
def test_articulation_paths_keep_the_skeleton_term_off_the_global_placement(body, decoder, target, variant, term):
    """skeleton_paths="articulation": the same loss values, and the skeleton term's gradient equals
    the brute-force one (the whole graph with root rotation and camera given as constants) on the
    pose latent and shape, and is zero on root rotation and camera; the silhouette term is untouched."""
    from models.adaptation import predicted_terms

    regressor = fresh_regressor(body, decoder).eval()
    images, aim = spread_batch(target, 6)
    with torch.no_grad():
        phi, orient, betas, camera = regressor.predict_parameters(images)

    def grads(cfg, frozen=()):
        params = [t.clone().requires_grad_(k not in frozen) for k, t in enumerate((phi, orient, betas, camera))]
        terms = predicted_terms(regressor, regressor.decode(*params), aim, cfg)
        live = [p for p in params if p.requires_grad]
        g = {
            name: torch.autograd.grad(t.mean(), live, retain_graph=True, allow_unused=True) for name, t in terms.items()
        }
        return {k: v.mean().item() for k, v in terms.items()}, g

    values_all, g_all = grads(AdaptConfig(variant=variant))
    values_art, g_art = grads(AdaptConfig(variant=variant, skeleton_paths="articulation"))
    _, g_ref = grads(AdaptConfig(variant=variant), frozen=(1, 3))
    assert values_art == pytest.approx(values_all)
    phi_g, orient_g, betas_g, camera_g = g_art[term]
    assert torch.allclose(phi_g, g_ref[term][0], atol=1e-6) and torch.allclose(betas_g, g_ref[term][1], atol=1e-6)
    assert phi_g.abs().sum() > 0
    assert (orient_g is None or not orient_g.any()) and (camera_g is None or not camera_g.any())
    assert g_all[term][3].abs().sum() > 0  # with every path, the term does move the camera
    for a, b in zip(g_art["silhouette"], g_all["silhouette"], strict=True):
        assert torch.allclose(a, b)


def test_the_prior_control_moves_only_the_shape(body, decoder, target):
    """variant="prior": the shape prior alone, scaled as in every variant by the silhouette loss,
    which itself gives no gradient; so nothing but the shape output is pulled, towards the mean."""
    from models.adaptation import predicted_terms
    from models.alignment import alignment_terms

    regressor = fresh_regressor(body, decoder).eval()
    images, aim = spread_batch(target, 6)
    with torch.no_grad():
        leaves = [t.clone().requires_grad_(True) for t in regressor.predict_parameters(images)]
    prior = predicted_terms(regressor, regressor.decode(*leaves), aim, AdaptConfig(variant="prior"))
    b2 = predicted_terms(regressor, regressor.decode(*leaves), aim, AdaptConfig(variant="b2"))
    assert prior["silhouette"].mean().item() == pytest.approx(b2["silhouette"].mean().item())
    phi_g, orient_g, betas_g, camera_g = torch.autograd.grad(prior["silhouette"].mean(), leaves, allow_unused=True)
    assert all(g is None or not g.any() for g in (phi_g, orient_g, camera_g))
    # brute force: the prior's own gradient, at the scale of the raw silhouette loss
    out = regressor.decode(*leaves)
    raw = alignment_terms("b2", body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, aim)["silhouette"]
    prior_only = (AdaptConfig().w_betas * raw.mean().detach().clamp_min(1.0) * leaves[2].pow(2).mean(-1)).mean()
    (reference,) = torch.autograd.grad(prior_only, leaves[2])
    assert torch.allclose(betas_g, reference, rtol=1e-4, atol=1e-6) and betas_g.abs().sum() > 0


def test_the_root_anchor_pulls_only_the_root_towards_the_source(body, decoder, target):
    """w_root adds w_root x the silhouette loss's scale x ||R - R_source||_F^2 to the first term: its
    gradient (brute force, through the 6-D root only) and nothing without an anchor."""
    from pytorch3d.transforms import rotation_6d_to_matrix

    from models.adaptation import predicted_terms
    from models.alignment import alignment_terms

    regressor = fresh_regressor(body, decoder).eval()
    images, aim = spread_batch(target, 6)
    with torch.no_grad():
        leaves = [t.clone().requires_grad_(True) for t in regressor.predict_parameters(images)]
    anchor = rotation_6d_to_matrix(leaves[1].detach().roll(1, dims=0))  # another crop's root: a real pull
    cfg = AdaptConfig(variant="b2", w_root=0.5)
    plain = predicted_terms(regressor, regressor.decode(*leaves), aim, AdaptConfig(variant="b2"))
    assert predicted_terms(regressor, regressor.decode(*leaves), aim, cfg)["silhouette"].mean().item() == pytest.approx(
        plain["silhouette"].mean().item()
    )  # no anchor given: no term
    anchored = predicted_terms(regressor, regressor.decode(*leaves), aim, cfg, anchor)
    out = regressor.decode(*leaves)
    raw = alignment_terms("b2", body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, aim)["silhouette"]
    pull = (
        cfg.w_root
        * raw.mean().detach().clamp_min(1.0)
        * (rotation_6d_to_matrix(leaves[1]) - anchor).pow(2).sum((-1, -2))
    )
    assert torch.allclose(anchored["silhouette"] - plain["silhouette"], pull, rtol=1e-4, atol=1e-5) and pull.min() > 0
    (got,) = torch.autograd.grad((anchored["silhouette"] - plain["silhouette"]).mean(), leaves[1])
    (reference,) = torch.autograd.grad(pull.mean(), leaves[1])
    assert torch.allclose(got, reference, rtol=1e-4, atol=1e-6) and reference.abs().sum() > 0


def test_a_negative_root_weight_is_a_value_error_that_names_it():
    with pytest.raises(ValueError, match="w_root must be non-negative, got -1"):
        AdaptConfig(w_root=-1.0)
    with pytest.raises(ValueError, match="w_facing must be non-negative, got -2"):
        AdaptConfig(w_facing=-2.0)


def test_the_facing_hinge_adds_to_the_first_term_where_the_walk_is_known(body, decoder, target):
    """w_facing adds w_facing x the silhouette loss's scale x the facing hinge of the predicted
    joints (models.facing_loss) to the first term: value and gradient against the hinge itself,
    nothing where every walk is unknown or no walks are given."""
    from models.adaptation import predicted_terms
    from models.alignment import alignment_terms
    from models.facing_loss import facing_hinge, facing_spread
    from models.heading import AWAY, TOWARDS, UNKNOWN

    regressor = fresh_regressor(body, decoder).eval()
    images, aim = spread_batch(target, 6)
    with torch.no_grad():
        leaves = [t.clone().requires_grad_(True) for t in regressor.predict_parameters(images)]
        faces = torch.sign(facing_spread(regressor.decode(*leaves).joints)).long()
    walks = -faces  # every body faces against its walk: the hinge is live on each
    walks[0] = UNKNOWN
    assert set(walks[1:].tolist()) <= {TOWARDS, AWAY}
    cfg = AdaptConfig(variant="b2", w_facing=2.0)
    plain = predicted_terms(regressor, regressor.decode(*leaves), aim, AdaptConfig(variant="b2"))["silhouette"]
    for none in (None, torch.zeros(6, dtype=torch.long)):
        same = predicted_terms(regressor, regressor.decode(*leaves), aim, cfg, approach=none)["silhouette"]
        assert torch.allclose(same, plain)
    hinged = predicted_terms(regressor, regressor.decode(*leaves), aim, cfg, approach=walks)["silhouette"]
    out = regressor.decode(*leaves)
    raw = alignment_terms("b2", body.proxy_vertices(out.vertices), body.proxy_faces, out.camera, aim)["silhouette"]
    push = cfg.w_facing * raw.mean().detach().clamp_min(1.0) * facing_hinge(out.joints, walks)
    assert torch.allclose(hinged - plain, push, rtol=1e-4, atol=1e-5) and push[1:].min() > 0 and push[0] == 0
    (got,) = torch.autograd.grad((hinged - plain).mean(), leaves[1])
    (reference,) = torch.autograd.grad(push.mean(), leaves[1])
    assert torch.allclose(got, reference, rtol=1e-4, atol=1e-6) and reference.abs().sum() > 0


def test_adapt_keeps_bodies_facing_their_walk(body, decoder, target):
    """Through adapt(): on this tiny site quick adaptation turns the source model's bodies round;
    told their people walk the way the source model faces them, a heavy w_facing keeps them so."""
    from models.facing_loss import facing_spread
    from models.health import images_tensor

    regressor = fresh_regressor(body, decoder).eval()
    crops = target.subset(np.arange(8))
    x = images_tensor(crops.images)
    with torch.no_grad():
        crops.approach[:] = torch.sign(facing_spread(regressor(x).joints)).long().numpy()

    def facing_the_walk(w_facing: float) -> float:
        cfg = AdaptConfig(iterations=8, batch=8, max_iter_opt=4, lr=1e-3, w_facing=w_facing)
        adapted = adapt(regressor, crops, cfg).regressor.eval()
        with torch.no_grad():
            return float((torch.sign(facing_spread(adapted(x).joints)).numpy() == crops.approach).mean())

    free, hinged = facing_the_walk(0.0), facing_the_walk(30.0)
    assert hinged >= 0.75 and hinged > free, (free, hinged)


def test_adapt_anchors_the_root_to_the_source_model(body, decoder, target):
    """Through adapt(): with a heavy w_root the adapted model's root rotations stay nearer the
    source model's than without, on the very crops it adapted on."""
    from models.health import images_tensor

    regressor = fresh_regressor(body, decoder).eval()
    crops = target.subset(np.arange(8))
    with torch.no_grad():
        x = images_tensor(crops.images)
        source_root = regressor(x).rotmats[:, 0]

    def root_drift(w_root: float) -> float:
        cfg = AdaptConfig(iterations=8, batch=8, max_iter_opt=4, lr=1e-3, w_root=w_root)
        adapted = adapt(regressor, crops, cfg).regressor.eval()
        with torch.no_grad():
            return (adapted(x).rotmats[:, 0] - source_root).pow(2).sum((-1, -2)).mean().item()

    free, anchored = root_drift(0.0), root_drift(100.0)
    assert free > 1e-4 and anchored < 0.5 * free, (free, anchored)


def test_the_held_out_health_is_that_of_the_model_as_served(body, decoder, target):
    """With flip_average, adapt() scores the held-out crops as flip-averaged serving answers them."""
    from models.flip_average import FlipAveraged
    from models.health import health_score

    regressor = fresh_regressor(body, decoder).eval()
    train, held = target.subset(np.arange(8)), target.subset(np.arange(8, 14))
    cfg = AdaptConfig(iterations=2, batch=8, max_iter_opt=2, lr=1e-3)
    served = adapt(regressor, train, cfg, held_out=held, flip_average=True)
    plain = adapt(regressor, train, cfg, held_out=held)
    assert served.report.health_before == health_score(FlipAveraged(regressor), held)
    assert served.report.health_after == health_score(FlipAveraged(served.regressor), held)
    assert plain.report.health_before == health_score(regressor, held)
    assert served.report.health_before != plain.report.health_before
    assert not served.regressor.training and not plain.regressor.training  # both handed back in eval mode
