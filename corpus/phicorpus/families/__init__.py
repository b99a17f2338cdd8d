"""The template families and their registry.

Each family is a `Family`: the `Faker` subclass that draws its values and a table of generators,
one per format (`gen(f, idx, pos, large, where) -> Sample`). A family may bring its own self-check
(`check_positive`, `negative_violations`) when the shared oracle cannot see inside its encodings.
Modules are imported in the order the families were written: later families add their vocabulary
to the shared tables in `core` and reuse earlier families' helpers.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from .. import oracle
from ..core import Faker
from .train_holdout import GEN
from .fresh import FreshFaker, FRESH_GEN
from .blind4 import Blind4Faker, B4_GEN
from .blind5 import Blind5Faker, B5_GEN
from .blind6 import Blind6Faker, B6_GEN
from .blind7 import Blind7Faker, B7_GEN
from . import evasion


class Family(NamedTuple):
    faker: type
    gen: dict
    check_positive: Callable = oracle.check_positive
    negative_violations: Callable = oracle.negative_violations

    @property
    def formats(self) -> list[str]:
        return list(self.gen)


FAMILIES: dict[str, Family] = {
    "train": Family(Faker, GEN),
    "holdout": Family(Faker, GEN),
    "fresh": Family(FreshFaker, FRESH_GEN),
    "blind4": Family(Blind4Faker, B4_GEN),
    "blind5": Family(Blind5Faker, B5_GEN),
    "blind6": Family(Blind6Faker, B6_GEN),
    "blind7": Family(Blind7Faker, B7_GEN),
    # not in `all`: its own formats (encoding groups) and its own decoding self-check
    "evasion": Family(evasion.EvasionFaker, evasion.EVASION_GEN, evasion.check_positive,
                      evasion.negative_violations),
}

# --family names that stand for several families
GROUPS: dict[str, list[str]] = {
    "both": ["train", "holdout"],
    "all": ["train", "holdout", "fresh", "blind4", "blind5", "blind6", "blind7"],
}
