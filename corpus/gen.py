#!/usr/bin/env python3
"""Deterministic generator of phimesh's labelled synthetic PHI corpus (entry point).

    python3 corpus/gen.py --out DIR --seed N --per-format K [--family NAME] [--formats a,b] [--large-every N]

The generator lives in the package corpus/phicorpus/ (core, oracle, one module per template family,
cli); this file only runs its command line. See corpus/README.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from phicorpus.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
