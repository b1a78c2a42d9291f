"""Tune the adaptation learning rates on a tuning site (seed 999: no benchmark, demo or test uses it).

    PYTHONPATH=. python bench/tune_adaptation.py models/assets/source_cpu.pt lr-32 60 '{"lr": 2e-5, "lr_opt": 2e-2}' ...

Prints held-out MPJPE / PA-MPJPE and health before and after each config. This is the script that
produced the tuning table of docs/RESULTS.md (run then from /tmp, unchanged but for this docstring).
"""
import sys, time, torch, numpy as np, json
from pathlib import Path
from bench.bench_adaptation import errors
from models.adaptation import AdaptConfig, adapt
from models.health import health_score
from models.body_model import load_body_model
from models.camera_site import SiteConfig, make_site
from models.regressor import load_regressor
from models.target_data import site_target
body=load_body_model()
r=load_regressor(Path(sys.argv[1]), body)
shift=sys.argv[2]; iters=int(sys.argv[3])
site=make_site(SiteConfig(frames=120, seed=999), shift=shift, body=body, progress=False)
truth=site.eval_joints-site.joints[:,:1]
tg=site_target(site.frames, 128, 64, True)
tr,ho=tg.split(0.7)
print(shift, 'crops', len(tr), len(ho), 'pre', {k: round(v,1) for k,v in errors(r, ho, truth).items()}, 'train health', health_score(r,tr), flush=True)
for spec in sys.argv[4:]:
    kw=json.loads(spec)
    t=time.time()
    res=adapt(r, tr, AdaptConfig(iterations=iters, **kw), held_out=ho)
    e=errors(res.regressor, ho, truth)
    hb, ha = res.report.health_before, res.report.health_after
    print(kw, 'post', {k: round(v,1) for k,v in e.items()}, 'iou %.3f->%.3f'%(hb.iou, ha.iou), 'L_T/px %.2f->%.2f'%(hb.topology, ha.topology), 'gate', ha.beats(hb),
          'train iou %.3f'%health_score(res.regressor,tr).iou, '%.0f s'%(time.time()-t), flush=True)
