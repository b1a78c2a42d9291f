"""The learning core: body model, regressor, topology losses, adaptation (Algorithm 1).

Serving needs only the modules outside :mod:`models.synth` (the synthetic world, training and
evaluation); ``models`` never imports the service, the runtime or the workers.
"""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"  # the shipped body model, checkpoint and UAPs
