"""The synthetic world: poses, motion, renderer, camera sites, shifts, source data, training and evaluation.

Research code: the serving path (``models`` outside this package) never imports it.
"""
