"""Deterministic generator of phimesh's labelled synthetic PHI corpus.

    python3 corpus/gen.py --out DIR --seed N --per-format K [--family train|holdout|fresh|blind4|blind5|blind6|blind7|evasion|both|all]

Writes one file per sample under DIR/<format>/ and DIR/labels.jsonl, one JSON object a line:
{"file": "<path relative to DIR>", "format": "...", "family": "...", "phi": bool,
 "kinds": [...], "note": "..."}.

Everything is synthetic: names, streets and numbers come from small built-in lists and a seeded
PRNG. No real person's data is in this file or in its output. Standard library only (Python 3.11).

The two families use *separate* template sets (envelopes, key names, phrasings, value formats,
name lists) so that numbers measured on `holdout` estimate how a detector tuned on `train`
generalises to a corpus written by someone else; `fresh`, `blind4`, `blind5`, `blind6` and `blind7` are
further template sets kept out of tuning (`blind4`, `blind5`, `blind6` and `blind7` were written blind,
without reading the detection rules). `evasion` carries patient data in the encodings careless
clients produce (base64, UTF-16, HTML references, double percent-encoding, Unicode look-alikes,
quoted-printable, nested compression) in formats of its own; it is not part of `all`. See
corpus/README.md for the labelling rules.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

from .families import FAMILIES, GROUPS
from .oracle import self_test


def generate(out: str, seed: int, per_format: int, families: list[str], formats: list[str] | None,
             large_every: int = 20) -> dict:
    """Writes the samples of `families` x `formats` (None: every format of each family; a family
    skips the formats it does not have) and labels.jsonl."""
    labels = []
    stats = {"rerolled": 0}
    for fam in families:
        family = FAMILIES[fam]
        for fmt in (family.formats if formats is None else formats):
            if fmt not in family.gen:
                continue
            os.makedirs(os.path.join(out, fmt), exist_ok=True)
            for i in range(per_format):
                pos = i % 2 == 0
                for attempt in range(50):
                    rng = random.Random(f"{seed}/{fam}/{fmt}/{i}/{attempt}")
                    f = family.faker(rng, fam)
                    large = rng.randint(100_000, 400_000) if i % large_every in (7, 12) else 0
                    where = ["start", "middle", "end"][(i // large_every + i) % 3]
                    s = family.gen[fmt](f, i, pos, large, where)
                    assert s.phi == pos, (fmt, s.note)
                    if pos:
                        errs = family.check_positive(s)
                        if errs:
                            raise AssertionError(f"{fmt}/{fam}/{i}: {s.note}: {errs}")
                        break
                    bad = family.negative_violations(s.data)
                    if not bad:
                        break
                    stats["rerolled"] += 1
                    stats.setdefault("reroll_reasons", {}).setdefault(",".join(bad), 0)
                    stats["reroll_reasons"][",".join(bad)] += 1
                else:
                    raise AssertionError(f"{fmt}/{fam}/{i}: cannot make a clean negative")
                name = f"{fmt}/{fam}-{i:04d}.{s.ext}"
                with open(os.path.join(out, name), "wb") as fh:
                    fh.write(s.data)
                note = s.note + (f"/large:{where}" if large else "") + "".join(f" {x}" for x in sorted(f.flags))
                labels.append({"file": name, "format": fmt, "family": fam, "phi": s.phi,
                               "kinds": s.kinds, "note": note})
    labels.sort(key=lambda x: x["file"])
    with open(os.path.join(out, "labels.jsonl"), "w") as fh:
        for lab in labels:
            fh.write(json.dumps(lab) + "\n")
    stats["samples"] = len(labels)
    return stats


def main(argv=None):
    ap = argparse.ArgumentParser(prog="gen.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-format", type=int, default=40)
    ap.add_argument("--family", choices=[*FAMILIES, *GROUPS], default="train",
                    help="both = train + holdout; all = train + holdout + fresh + blind4 + blind5 + blind6 + blind7 "
                         "(evasion has formats of its own and is not in all)")
    ap.add_argument("--formats", default=None,
                    help="comma-separated subset (default: every format of the chosen families)")
    ap.add_argument("--large-every", type=int, default=20,
                    help="two samples in every N are large bodies (100-400 KB)")
    a = ap.parse_args(argv)
    self_test()
    fams = GROUPS.get(a.family, [a.family])
    fmts = None
    if a.formats is not None:
        fmts = [x for x in a.formats.split(",") if x]
        known = {x for fam in fams for x in FAMILIES[fam].gen}
        for x in fmts:
            if x not in known:
                ap.error(f"unknown format {x} (family {a.family} has {', '.join(sorted(known))})")
    os.makedirs(a.out, exist_ok=True)
    stats = generate(a.out, a.seed, a.per_format, fams, fmts, a.large_every)
    print(f"gen.py: {stats['samples']} samples in {a.out} (families {','.join(fams)}, seed {a.seed}; "
          f"{stats['rerolled']} negatives re-drawn by the self-check)", file=sys.stderr)
