"""``python -m models.synth.hard_cases CASE --out DIR ...`` (see :mod:`models.synth.hard_cases.cli`)."""

from models.synth.hard_cases.cli import main

if __name__ == "__main__":
    main()
