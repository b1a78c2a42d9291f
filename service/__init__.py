"""FastAPI front end: frames in, SMPL bodies out, per-site adaptation jobs (see README)."""
