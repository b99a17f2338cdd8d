#!/usr/bin/env python3
"""Deterministic generator of phimesh's labelled synthetic PHI corpus.

    python3 corpus/gen.py --out DIR --seed N --per-format K [--family train|holdout|fresh|blind4|blind5|blind6|blind7|both|all]

Writes one file per sample under DIR/<format>/ and DIR/labels.jsonl, one JSON object a line:
{"file": "<path relative to DIR>", "format": "...", "family": "...", "phi": bool,
 "kinds": [...], "note": "..."}.

Everything is synthetic: names, streets and numbers come from small built-in lists and a seeded
PRNG. No real person's data is in this file or in its output. Standard library only (Python 3.11).

The two families use *separate* template sets (envelopes, key names, phrasings, value formats,
name lists) so that numbers measured on `holdout` estimate how a detector tuned on `train`
generalises to a corpus written by someone else; `fresh`, `blind4`, `blind5`, `blind6` and `blind7` are
further template sets kept out of tuning (`blind4`, `blind5`, `blind6` and `blind7` were written blind,
without reading the detection rules). See corpus/README.md for the labelling rules.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import re
import sys
import urllib.parse
import zlib

KINDS = [
    "ssn", "mbi", "mrn", "member_id", "account_number", "dob", "credit_card", "npi", "dea",
    "hl7_pid", "fhir_patient", "patient_email", "patient_phone", "patient_name",
]
FORMATS = [
    "json", "fhir", "hl7", "csv", "form", "multipart", "note", "log", "prometheus", "source",
    "gzip", "json_escape", "percent",
]
EXT = {
    "json": "json", "fhir": "json", "hl7": "hl7", "csv": "csv", "form": "txt", "multipart": "txt",
    "note": "txt", "log": "log", "prometheus": "prom", "source": "txt", "json_escape": "json",
    "percent": "txt",
}

# --------------------------------------------------------------------------------------------
# Validators (used to build values and to self-check every sample)
# --------------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    for c in "0123456789":
        if luhn_ok(partial + c):
            return partial + c
    raise AssertionError("unreachable")


def ssn_ok(d9: str) -> bool:
    if len(d9) != 9 or not d9.isdigit():
        return False
    a, g, s = int(d9[:3]), int(d9[3:5]), int(d9[5:])
    return a not in (0, 666) and a < 900 and g != 0 and s != 0


MBI_L = "ACDEFGHJKMNPQRTUVWXY"  # letters allowed by CMS (no S, L, O, I, B, Z)
_L = "[AC-HJKMNP-RT-Y]"
_A = "[AC-HJKMNP-RT-Y0-9]"
MBI_RE = re.compile(f"[1-9]{_L}{_A}[0-9]{_L}{_A}[0-9]{_L}{_L}[0-9][0-9]")


def mbi_ok(s: str) -> bool:
    t = s.replace("-", "")
    if "-" in s and not re.fullmatch(r"\w{4}-\w{3}-\w{4}", s):
        return False
    return len(t) == 11 and MBI_RE.fullmatch(t) is not None


def npi_ok(n: str) -> bool:
    return len(n) == 10 and n.isdigit() and n[0] in "12" and luhn_ok("80840" + n)


def dea_ok(s: str) -> bool:
    if len(s) != 9 or not s[0].isalpha() or not (s[1].isalpha() or s[1] == "9"):
        return False
    d = s[2:]
    if not d.isdigit():
        return False
    n = [int(c) for c in d]
    return (n[0] + n[2] + n[4] + 2 * (n[1] + n[3] + n[5])) % 10 == n[6]


def card_issuer(d: str) -> str | None:
    n = len(d)
    if d.startswith("4") and n in (13, 16, 19):
        return "visa"
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if n == 15 and d[:2] in ("34", "37"):
        return "amex"
    if n in (16, 19) and (d.startswith("6011") or d.startswith("65") or 644 <= int(d[:3]) <= 649):
        return "discover"
    if n == 16 and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    if n == 14 and (d[:2] in ("36", "38") or 300 <= int(d[:3]) <= 305):
        return "diners"
    return None


def card_ok(d: str) -> bool:
    return d.isdigit() and card_issuer(d) is not None and luhn_ok(d)


# --------------------------------------------------------------------------------------------
# Synthetic vocabulary. The two families use disjoint lists.
# --------------------------------------------------------------------------------------------

NAMES = {
    "train": (
        "Avery Blake Carmen Dalia Emeka Farah Gideon Hana Imani Jonas Keiko Luis Marisol Nikhil "
        "Odette Priya Quentin Rosalind Soren Tamsin Uma Viktor Wren Xiomara Yusuf Zelda Amara "
        "Bastian Celine Dmitri Esther Felix Greta Hector Ingrid Jasper".split(),
        "Abernathy Brightwater Calloway Delacroix Eastwood Fairbanks Galloway Hollister Iverson "
        "Jablonski Kowalczyk Lindqvist Montague Nakamura Okonkwo Pemberton Quintero Rasmussen "
        "Stellwagen Thornbury Underhill Vasquez Whitcombe Yamashita Zielinski Ashcombe Bellweather "
        "Castellanos Dunmore Everhart".split(),
    ),
    "holdout": (
        "Adaeze Bartholomew Cosima Desmond Eloise Florian Genevieve Horatio Isadora Jericho "
        "Kasimir Leocadia Mireille Nathaniel Ottoline Percival Rosamund Sebastien Theodora "
        "Ulysses Valentina Wilhelmina Yevgeny Zenobia Anselm Beatrix Cyprian Dorothea "
        "Evander Fenella".split(),
        "Ashdown Blackthorne Carrington Drummond Ellingham Fitzwilliam Grantham Harrowgate "
        "Inglewood Jessamine Kirkpatrick Lockhart Marchetti Nightingale Ostrowski Penhaligon "
        "Quartermaine Ravensworth Sandoval Trevelyan Vanderbilt Wetherby Yarborough Zabrowski "
        "Aldridge Boateng Cienfuegos Dragomir".split(),
    ),
}
STREETS = {
    "train": ["Maple Ave", "Cedar Lane", "Harbor St", "Willow Ct", "Granite Rd", "Juniper Way"],
    "holdout": ["Old Mill Road", "Larkspur Terrace", "Quarry Hill Dr", "Beacon Parkway", "Elm Row"],
}
CITIES = {
    "train": [("Springfield", "IL"), ("Riverton", "WY"), ("Fairview", "OR"), ("Madison", "WI")],
    "holdout": [("Brookhaven", "GA"), ("Lakewood", "CO"), ("Greenville", "SC"), ("Salem", "MA")],
}
PROVIDER_SPECIALTIES = ["Cardiology", "Family Medicine", "Dermatology", "Pediatrics",
                        "Orthopedic Surgery", "Internal Medicine", "Neurology", "Radiology"]
CONDITIONS = ["type 2 diabetes mellitus", "essential hypertension", "community-acquired pneumonia",
              "acute otitis media", "chronic kidney disease stage 3", "migraine without aura",
              "atrial fibrillation", "asthma, moderate persistent", "lumbar radiculopathy"]
MEDS = ["metformin 500 mg BID", "lisinopril 10 mg daily", "amoxicillin 875 mg BID",
        "atorvastatin 40 mg nightly", "albuterol HFA 2 puffs q4h PRN", "apixaban 5 mg BID"]

# Keyword word-lists per kind and family; rendered with a key style (snake, camel, ...).
KW = {
    "train": {
        "ssn": [["ssn"], ["social", "security", "number"], ["patient", "ssn"], ["ssn", "number"]],
        "mbi": [["mbi"], ["medicare", "id"], ["medicare", "beneficiary", "id"]],
        "mrn": [["mrn"], ["medical", "record", "number"], ["patient", "mrn"]],
        "member_id": [["member", "id"], ["subscriber", "id"], ["insurance", "member", "id"]],
        "account_number": [["account", "number"], ["acct", "no"], ["patient", "account", "number"]],
        "dob": [["dob"], ["date", "of", "birth"], ["birth", "date"]],
        "credit_card": [["card", "number"], ["credit", "card"], ["cc", "number"]],
        "patient_email": [["patient", "email"]],
        "patient_phone": [["patient", "phone"]],
        "patient_name": [["patient", "name"]],
        "npi": [["npi"], ["provider", "npi"]],
        "dea": [["dea"], ["dea", "number"]],
    },
    "holdout": {
        "ssn": [["social", "security", "no"], ["ssn", "nbr"], ["member", "ssn"],
                ["subscriber", "ssn"], ["insured", "ssn"]],
        "mbi": [["medicare", "mbi"], ["medicare", "number"], ["mbi", "number"],
                ["beneficiary", "mbi"]],
        "mrn": [["medical", "record", "no"], ["mrn", "id"], ["chart", "mrn"], ["emr", "mrn"]],
        "member_id": [["member", "number"], ["member", "no"], ["subscriber", "number"],
                      ["plan", "member", "id"]],
        "account_number": [["account", "no"], ["billing", "account", "number"],
                           ["guarantor", "account", "number"], ["acct", "num"]],
        "dob": [["birthdate"], ["patient", "dob"], ["member", "dob"], ["birthday"]],
        "credit_card": [["pan"], ["card", "no"], ["payment", "card"], ["cc", "num"]],
        "patient_email": [["patient", "contact", "email"], ["patient", "email", "address"]],
        "patient_phone": [["patient", "mobile"], ["patient", "home", "phone"],
                          ["patient", "cell"]],
        "patient_name": [["patient", "full", "name"], ["patient", "legal", "name"]],
        "npi": [["rendering", "npi"], ["npi", "number"]],
        "dea": [["prescriber", "dea"], ["dea", "registration"]],
    },
}
STYLES = {"train": ["snake", "camel"], "holdout": ["kebab", "pascal", "upper", "flat", "dotted"]}
# Kinds that are identifiers without any keyword (separated SSN, MBI, card); sometimes put under a
# neutral key or phrase to check that they are found anywhere.
CONTEXT_FREE = ("ssn", "mbi", "credit_card")
NEUTRAL_KEYS = {"train": [["ref"], ["value"], ["identifier"]],
                "holdout": [["token"], ["external", "ref"], ["id", "value"], ["x"]]}
NEUTRAL_PHRASES = {"train": ["ID {v}", "(ref {v})", "id={v}"],
                   "holdout": ["verified {v}", "#{v}", "ref. {v}", "[{v}]"]}


def style_key(words: list[str], style: str) -> str:
    if style == "snake":
        return "_".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "kebab":
        return "-".join(words)
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "upper":
        return "_".join(words).upper()
    if style == "flat":
        return "".join(words)
    if style == "dotted":
        return ".".join(words)
    if style == "title":
        return " ".join(w.capitalize() for w in words)
    raise ValueError(style)


class Faker:
    """Seeded synthetic data for one sample."""

    def __init__(self, rng: random.Random, fam: str):
        self.r = rng
        self.fam = fam
        self.style = rng.choice(STYLES[fam])
        self.flags: set[str] = set()  # variant markers appended to the label's note

    # ---- people and places
    def first(self):
        return self.r.choice(NAMES[self.fam][0])

    def last(self):
        return self.r.choice(NAMES[self.fam][1])

    def name_parts(self):
        return self.first(), self.last()

    def fmt_name(self, first, last):
        if self.fam == "train":
            return f"{first} {last}"
        return self.r.choice([f"{last.upper()}, {first.upper()}", f"{last}, {first}",
                              f"{first} {self.r.choice('ABCDEFGHJKMNPRSTW')}. {last}"])

    def street(self):
        return f"{self.r.randint(10, 9899)} {self.r.choice(STREETS[self.fam])}"

    def city(self):
        return self.r.choice(CITIES[self.fam])

    def zipcode(self):
        return f"{self.r.randint(10000, 99899):05d}"

    def email(self, first, last):
        dom = self.r.choice(["example.com", "example.org", "mail.example.net"] if self.fam == "train"
                            else ["inbox.example", "example.co", "webmail.example.org"])
        sep = self.r.choice([".", "_", ""])
        return f"{first.lower()}{sep}{last.lower()}{self.r.randint(1, 99)}@{dom}"

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        if self.fam == "train":
            return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}"])
        return self.r.choice([f"+1 {a} {e} {n:04d}", f"{a}.{e}.{n:04d}", f"+1-{a}-{e}-{n:04d}"])

    # ---- dates
    def birth(self) -> dt.date:
        return dt.date(1930, 1, 1) + dt.timedelta(days=self.r.randint(0, 365 * 75))

    def fmt_date(self, d: dt.date) -> str:
        if self.fam == "train":
            return self.r.choice([d.isoformat(), d.strftime("%m/%d/%Y")])
        return self.r.choice([d.strftime("%B %d, %Y").replace(" 0", " "), d.strftime("%d-%b-%Y"),
                              d.strftime("%Y/%m/%d"), f"{d.month}/{d.day}/{d.year}",
                              d.strftime("%d.%m.%Y")])

    def recent(self) -> dt.datetime:
        return dt.datetime(2023, 1, 1) + dt.timedelta(seconds=self.r.randint(0, 86400 * 700))

    def iso_ts(self):
        return self.recent().strftime("%Y-%m-%dT%H:%M:%S") + self.r.choice(["Z", ".%03dZ" % self.r.randint(0, 999)])

    def epoch(self):
        return int(self.recent().replace(tzinfo=dt.timezone.utc).timestamp())

    # ---- identifiers (valid)
    def ssn_digits(self):
        while True:
            d = f"{self.r.randint(1, 899):03d}{self.r.randint(1, 99):02d}{self.r.randint(1, 9999):04d}"
            if ssn_ok(d) and d[:3] != "666" and d not in ("078051120", "123456789", "219099999"):
                return d

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        opts = ["dash", "dash", "bare"] if self.fam == "train" else ["dash", "space", "bare", "dot"]
        if not bare_ok:
            opts = [o for o in opts if o != "bare"]
        o = self.r.choice(opts)
        sep = {"dash": "-", "space": " ", "dot": ".", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        L, A = MBI_L, MBI_L + "0123456789"
        r = self.r
        s = (str(r.randint(1, 9)) + r.choice(L) + r.choice(A) + str(r.randint(0, 9)) + r.choice(L)
             + r.choice(A) + str(r.randint(0, 9)) + r.choice(L) + r.choice(L)
             + f"{r.randint(0, 99):02d}")
        if dashed is None:
            dashed = r.random() < (0.2 if self.fam == "train" else 0.6)
        return f"{s[:4]}-{s[4:7]}-{s[7:]}" if dashed else s

    def mrn(self):
        r = self.r
        if self.fam == "train":
            return r.choice([str(r.randint(1000000, 99999999)), f"MRN{r.randint(100000, 9999999)}",
                             f"E{r.randint(1000000, 9999999)}"])
        return r.choice([f"{r.randint(10, 99)}-{r.randint(100000, 999999)}",
                         f"H{r.randint(100000000, 999999999)}", str(r.randint(100000, 9999999))])

    def member_id(self):
        r = self.r
        if self.fam == "train":
            return r.choice([f"W{r.randint(100000000, 999999999)}", f"XJH{r.randint(10000000, 99999999)}"])
        return r.choice([f"{r.choice(['ZGP', 'QMB', 'U'])}{r.randint(1000000000, 9999999999)}",
                         f"{r.randint(100000000, 999999999)}-{r.randint(1, 9):02d}"])

    def account(self):
        r = self.r
        if self.fam == "train":
            return str(r.randint(10000000, 999999999999))
        return r.choice([f"{r.randint(1000, 9999)}-{r.randint(100000, 999999)}",
                         f"A{r.randint(10000000, 99999999)}"])

    def card(self):
        r = self.r
        if self.fam == "train":
            kind = r.choice(["visa", "mc"])
        else:
            kind = r.choice(["visa", "mc2", "amex", "discover", "mc"])
        pre, n = {"visa": ("4", 16), "mc": (str(r.randint(51, 55)), 16),
                  "mc2": (str(r.randint(2221, 2720)), 16), "amex": (r.choice(["34", "37"]), 15),
                  "discover": (r.choice(["6011", "65"]), 16)}[kind]
        body = pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1))
        d = luhn_complete(body)
        assert card_ok(d)
        if n == 15:
            groups = [d[:4], d[4:10], d[10:]]
        else:
            groups = [d[i:i + 4] for i in range(0, n, 4)]
        if self.fam == "train":
            sep = r.choice(["", " "])
        else:
            sep = r.choice(["-", " ", ""])
        return sep.join(groups)

    def npi(self):
        while True:
            p = str(self.r.randint(1, 2)) + "".join(str(self.r.randint(0, 9)) for _ in range(8))
            full = luhn_complete("80840" + p)
            n = full[5:]
            if npi_ok(n):
                return n

    def dea(self, last):
        r = self.r
        n = [r.randint(0, 9) for _ in range(6)]
        c = (n[0] + n[2] + n[4] + 2 * (n[1] + n[3] + n[5])) % 10
        s = r.choice("ABFGM") + last[0].upper() + "".join(map(str, n)) + str(c)
        assert dea_ok(s)
        return s

    # ---- hard-negative values
    def invalid_ssn(self):
        r = self.r
        why = r.choice(["area000", "area666", "area9xx", "group00", "serial0000"])
        a, g, s = r.randint(1, 899), r.randint(1, 99), r.randint(1, 9999)
        if a == 666:
            a = 665
        if why == "area000":
            a = 0
        elif why == "area666":
            a = 666
        elif why == "area9xx":
            a = r.randint(900, 999)
        elif why == "group00":
            g = 0
        else:
            s = 0
        d = f"{a:03d}{g:02d}{s:04d}"
        assert not ssn_ok(d)
        sep = r.choice(["-", "-", ""])
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", why

    def id9(self):
        return str(self.r.randint(100000000, 999999999))

    def luhn_bad16(self):
        r = self.r
        pre = r.choice(["4", "5" + str(r.randint(1, 5)), "6011", "37"])
        body = pre + "".join(str(r.randint(0, 9)) for _ in range(15 - len(pre)))
        good = luhn_complete(body)
        bad = body + str((int(good[-1]) + r.randint(1, 9)) % 10)
        assert not luhn_ok(bad)
        return bad

    def imei(self):  # Luhn-valid 15 digits, but no card issuer uses a 15-digit 35/86 prefix
        return luhn_complete(self.r.choice(["35", "86"]) + "".join(str(self.r.randint(0, 9)) for _ in range(12)))

    def loyalty_number(self):  # Luhn-valid but no card issuer starts with 9 or 1
        return luhn_complete(self.r.choice(["9", "1"]) + "".join(str(self.r.randint(0, 9)) for _ in range(14)))

    def masked_ssn(self):
        tail = f"{self.r.randint(1, 9999):04d}"
        if self.fam == "train":
            return self.r.choice([f"***-**-{tail}", f"XXX-XX-{tail}"])
        return self.r.choice([f"xxx-xx-{tail}", f"•••-••-{tail}", f"#########{tail[-2:]}"[-9:], f"*****{tail}"])

    def masked_card(self):
        last = f"{self.r.randint(0, 9999):04d}"
        return self.r.choice([f"**** **** **** {last}", f"411111******{last}", f"XXXX-XXXX-XXXX-{last}"])

    def masked_account(self):  # a receipt shows the last digits of an account only
        last = f"{self.r.randint(0, 9999):04d}"
        return self.r.choice([f"****{last}", f"XXXX-{last}", f"xxxxxx{last}"])

    def confirmation(self):  # 3-3-3 digits: not an SSN shape
        return f"{self.r.randint(100, 999)}-{self.r.randint(100, 999)}-{self.r.randint(100, 999)}"

    def uuid(self):
        return "%08x-%04x-4%03x-%04x-%012x" % (self.r.getrandbits(32), self.r.getrandbits(16),
                                                self.r.getrandbits(12), 0x8000 | self.r.getrandbits(14),
                                                self.r.getrandbits(48))

    def hexhash(self, n=64):
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def b64(self, nbytes=32):
        return base64.b64encode(bytes(self.r.getrandbits(8) for _ in range(nbytes))).decode()

    def ip(self):
        return f"10.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"

    def order_id(self):
        r = self.r
        return r.choice([self.id9(), f"ORD-{r.randint(100000, 9999999)}", str(r.randint(10**9, 4 * 10**9))])

    def key(self, words):
        return style_key(words, self.style)

    def kw(self, kind):
        words = self.r.choice(KW[self.fam][kind])
        if self.style == "dotted" and kind not in ("npi", "dea") and words[0] != "patient":
            return "patient." + style_key(words, "snake")  # patient.ssn, patient.birthdate
        return self.key(words)

    def neutral_key(self):
        return self.key(self.r.choice(NEUTRAL_KEYS[self.fam]))


# --------------------------------------------------------------------------------------------
# Patient records: a list of fields (key, value, kind). kind None = not an identifier.
# --------------------------------------------------------------------------------------------

ID_KINDS = ["ssn", "mbi", "mrn", "member_id", "account_number", "dob", "credit_card",
            "patient_email", "patient_phone", "patient_name"]


class Rec:
    def __init__(self):
        self.fields: list[tuple[str, object, str | None]] = []
        self.kinds: set[str] = set()
        self.values: list[tuple[str, str]] = []  # (kind, value) for the self-check

    def add(self, key, value, kind=None):
        if any(k == key for k, _, _ in self.fields):  # two values under one neutral key: keep both
            key = f"{key}{sum(1 for k, _, _ in self.fields if str(k).startswith(str(key))) + 1}"
        self.fields.append((key, value, kind))
        if kind:
            self.kinds.add(kind)
            self.values.append((kind, str(value)))


def ident_value(f: Faker, kind: str, person=None):
    """A value of `kind` that is an identifier next to its keyword."""
    first, last = person or f.name_parts()
    if kind == "ssn":
        return f.ssn()[0]
    if kind == "mbi":
        return f.mbi()
    if kind == "mrn":
        return f.mrn()
    if kind == "member_id":
        return f.member_id()
    if kind == "account_number":
        return f.account()
    if kind == "dob":
        return f.fmt_date(f.birth())
    if kind == "credit_card":
        return f.card()
    if kind == "patient_email":
        return f.email(first, last)
    if kind == "patient_phone":
        return f.phone()
    if kind == "patient_name":
        return f.fmt_name(first, last)
    if kind == "npi":
        return f.npi()
    if kind == "dea":
        return f.dea(last)
    raise ValueError(kind)


def patient_record(f: Faker, kinds: list[str], extras=True) -> Rec:
    rec = Rec()
    person = f.name_parts()
    r = f.r
    if extras and r.random() < 0.5:
        rec.add(f.key(["visit", "id"]) if f.fam == "train" else f.key(["encounter", "ref"]), f.uuid())
    for k in kinds:
        v = ident_value(f, k, person)
        if k in CONTEXT_FREE and r.random() < 0.2:
            if k == "ssn":
                v = f.ssn(bare_ok=False)[0]
            rec.add(f.neutral_key(), v, k)  # found anywhere, no keyword needed
            f.flags.add(f"nokw:{k}")
            continue
        if k == "ssn" and f.fam == "holdout" and r.random() < 0.15 and v.isdigit() and v[0] != "0":
            v = int(v)  # numeric JSON value
        rec.add(f.kw(k), v, k)
    if extras and r.random() < 0.5:
        rec.add(f.key(["updated", "at"]), f.iso_ts())
    if extras and r.random() < 0.3:
        rec.add(f.key(["status"]), r.choice(["active", "pending", "discharged"]))
    return rec


def pick_kinds(f: Faker, idx: int) -> list[str]:
    """Every other positive carries a single identifier, round-robin over the kinds (so per-kind
    recall is measured on identifiers alone); the others are records of 2-5 identifiers."""
    p = idx // 2
    if p % 2 == 0:
        return [ID_KINDS[(p // 2) % len(ID_KINDS)]]
    return f.r.sample(ID_KINDS, f.r.randint(2, 5))


# --------------------------------------------------------------------------------------------
# Phrases (free text: notes, log messages, CSV comments). Every phrase keeps its keyword.
# --------------------------------------------------------------------------------------------

PHRASES = {
    "train": {
        "ssn": ["SSN: {v}", "social security number {v}", "SSN {v}"],
        "mbi": ["Medicare ID {v}", "MBI: {v}"],
        "mrn": ["MRN: {v}", "medical record number {v}"],
        "member_id": ["member ID {v}", "subscriber id: {v}"],
        "account_number": ["account number {v}", "acct no. {v}"],
        "dob": ["DOB: {v}", "date of birth {v}"],
        "credit_card": ["card {v}", "paid with credit card {v}"],
        "patient_email": ["patient email: {v}", "patient e-mail {v}"],
        "patient_phone": ["patient phone {v}", "patient phone number: {v}"],
        "patient_name": ["Patient: {v}", "patient name: {v}"],
    },
    "holdout": {
        "ssn": ["social security # {v}", "SSN {v} on file", "the patient's SSN is {v}"],
        "mbi": ["Medicare beneficiary identifier {v}", "Medicare #: {v}", "(MBI {v})"],
        "mrn": ["medical record # {v}", "(MRN {v})", "Medical Record No: {v}"],
        "member_id": ["Member #: {v}", "insurance member number {v}", "Member No. {v}"],
        "account_number": ["acct # {v}", "account no {v}", "Guarantor account: {v}"],
        "dob": ["D.O.B. {v}", "birthdate {v}", "Date of Birth - {v}"],
        "credit_card": ["CC# {v}", "card on file {v}", "charged to card number {v}"],
        "patient_email": ["patient's e-mail address is {v}", "patient email address {v}"],
        "patient_phone": ["patient's mobile number {v}", "patient callback number {v}"],
        "patient_name": ["Name of patient: {v}", "patient {v} was seen", "PATIENT NAME {v}"],
    },
}


def phrase(f: Faker, kind: str, v) -> str:
    r = f.r
    v = str(v)
    if kind in CONTEXT_FREE and r.random() < 0.2 and not (kind == "ssn" and v.isdigit()):
        f.flags.add(f"nokw:{kind}")
        return r.choice(NEUTRAL_PHRASES[f.fam]).format(v=v)
    t = r.choice(PHRASES[f.fam][kind])
    if f.fam == "holdout":  # spacing and casing variants
        x = r.random()
        if x < 0.15:
            t = t.upper().replace("{V}", "{v}")
        elif x < 0.3:
            t = t.lower()
        if ": " in t and r.random() < 0.4:
            t = t.replace(": ", r.choice([":", " : ", ":\t", ":  "]))
    return t.format(v=v)


# --------------------------------------------------------------------------------------------
# JSON writer with pluggable string escaping (for the \\u evasion)
# --------------------------------------------------------------------------------------------


def esc_default(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)[1:-1]


_DIGDASH = re.compile(r"[0-9-]")


def esc_digits(s: str, upper=False) -> str:
    fmt = "\\u%04X" if upper else "\\u%04x"
    return _DIGDASH.sub(lambda m: fmt % ord(m.group(0)), esc_default(s))


def esc_all(s: str, upper=True) -> str:
    return "".join(("\\u%04X" if upper else "\\u%04x") % ord(c) for c in s)


def jdump(o, indent=None, esc=esc_default, kesc=esc_default, level=0) -> str:
    nl = "" if indent is None else "\n" + " " * (indent * (level + 1))
    end = "" if indent is None else "\n" + " " * (indent * level)
    sep = ", " if indent is None else ","
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [nl + '"' + kesc(str(k)) + '": ' + jdump(v, indent, esc, kesc, level + 1) for k, v in o.items()]
        return "{" + sep.join(items) + end + "}"
    if isinstance(o, list):
        if not o:
            return "[]"
        items = [nl + jdump(v, indent, esc, kesc, level + 1) for v in o]
        return "[" + sep.join(items) + end + "]"
    if isinstance(o, str):
        return '"' + esc(o) + '"'
    return json.dumps(o)


class Sample:
    def __init__(self, data: bytes | str, phi: bool, kinds, note: str, ext: str, values=()):
        self.data = data.encode() if isinstance(data, str) else data
        self.phi = phi
        self.kinds = sorted(set(kinds))
        self.note = note
        self.ext = ext
        self.values = list(values)  # (kind, value) pairs put in, for the self-check only


def place(core: list, filler, target: int, where: str, unit_len=None) -> list:
    """core units placed at the start/middle/end of filler units totalling about target bytes."""
    units = []
    size = 0
    while size < target:
        u = filler()
        units.append(u)
        size += unit_len(u) if unit_len else len(str(u))
    if where == "start":
        return core + units
    if where == "end":
        return units + core
    m = len(units) // 2
    return units[:m] + core + units[m:]


# --------------------------------------------------------------------------------------------
# JSON REST bodies
# --------------------------------------------------------------------------------------------


def clean_order(f: Faker) -> dict:
    r = f.r
    d = {f.key(["order", "id"]): f.order_id() if r.random() < 0.7 else int(f.id9()),
         f.key(["created", "at"]): f.epoch() if r.random() < 0.5 else f.iso_ts(),
         "sku": f"SKU-{r.randint(1000, 99999)}", "qty": r.randint(1, 12),
         f.key(["amount", "cents"]): r.randint(100, 999999),
         f.key(["request", "id"]): f.uuid()}
    if r.random() < 0.3:
        d[f.key(["tracking", "number"])] = f.luhn_bad16()
    if r.random() < 0.3:
        d["etag"] = f.hexhash(32)
    if r.random() < 0.2:
        d[f.key(["confirmation"])] = f.confirmation()
    if r.random() < 0.15:
        d[f.key(["loyalty", "number"])] = f.loyalty_number()
    if r.random() < 0.2:
        d[f.key(["service", "date"])] = f.recent().date().isoformat()
    return d


def provider_entry(f: Faker, with_dea=False) -> dict:
    first, last = f.name_parts()
    d = {f.key(["npi"]): f.npi(), f.key(["provider", "name"]): f"Dr. {first} {last}",
         f.key(["specialty"]): f.r.choice(PROVIDER_SPECIALTIES),
         f.key(["practice", "phone"]): f.phone(),
         f.key(["practice", "address"]): f"{f.street()}, {f.city()[0]}"}
    if with_dea:
        d[f.key(["dea"])] = f.dea(last)
    if f.r.random() < 0.3:  # the practice's employer identification number (NN-NNNNNNN)
        d[f.key(["tax", "id"])] = f"{f.r.randint(10, 99)}-{f.r.randint(1000000, 9999999)}"
    return d


def json_rec(rec: Rec) -> dict:
    return {k: v for k, v, _ in rec.fields}


def gen_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2]) if f.fam == "train" else r.choice([None, 4, 1])
    if pos:
        kinds = pick_kinds(f, idx)
        rec = patient_record(f, kinds)
        body = json_rec(rec)
        if "npi" not in kinds and r.random() < 0.25:
            body[f.kw("npi")] = f.npi()
            rec.kinds.add("npi")
        if f.fam == "train":
            t = r.choice(["data", "patient", "results"])
            if t == "data":
                doc = {"status": "ok", "data": body, f.key(["request", "id"]): f.uuid()}
            elif t == "patient":
                doc = {"patient": body, "encounter": {"id": f.uuid(), "type": "outpatient",
                                                      "date": f.recent().date().isoformat()}}
            else:
                items = [body]
                if large:
                    items = place([body], lambda: clean_order(f), large, where)
                doc = {"results": items, "page": 1, f.key(["page", "size"]): len(items)}
        else:
            t = r.choice(["array", "claim", "cdc", "demographics"])
            if t == "array":
                doc = [body] if not large else place([body], lambda: clean_order(f), large, where)
            elif t == "claim":
                doc = {"payload": {"claim": {f.key(["claim", "ref"]): f.uuid(), "member": body,
                                             "lines": [{"cpt": "99213", "units": 1}]}},
                       "meta": {"version": 3, "generated": f.iso_ts()}}
            elif t == "cdc":
                doc = {"op": "u", "table": "intake_forms", "after": body, "before": None,
                       "ts_ms": f.epoch() * 1000 + r.randint(0, 999)}
            else:
                doc = {"PatientDemographics": body, "Source": {"System": "intake-kiosk", "Ver": "4.2"}}
            if large and t != "array":
                doc = {"events": place([doc], lambda: clean_order(f), large, where)}
        return Sample(jdump(doc, indent, esc, kesc), True, rec.kinds, f"json/{f.fam}/{t}/{f.style}",
                      "json", rec.values)
    # negatives
    vals = []
    if f.fam == "train":
        t = r.choice(["orders", "token", "providers", "invalid_ssn", "dea_alone", "telemetry", "slots",
                      "masked"])
    else:
        t = r.choice(["webhooks", "shipping", "provider_search", "ssn_testcases", "dea_verify",
                      "build", "flags", "audit", "masked_profile", "devices"])
    if t == "orders":
        doc = {"orders": [clean_order(f) for _ in range(r.randint(1, 6))], "next": None}
    elif t == "token":
        doc = {"access_token": f.b64(48), "token_type": "Bearer", "expires_in": 3600,
               "refresh_token": f.b64(32), "id_token_hash": f.hexhash(64), "issued_at": f.epoch()}
    elif t == "providers":
        doc = {"providers": [provider_entry(f) for _ in range(r.randint(1, 5))]}
    elif t == "invalid_ssn":
        v, why = f.invalid_ssn()
        doc = {"error": "validation_failed", "field": f.kw("ssn"), "value": v,
               "message": "SSN rejected: invalid area, group or serial"}
        t += ":" + why
    elif t == "dea_alone":
        first, last = f.name_parts()
        doc = {"prescriber": {f.kw("dea"): f.dea(last), "name": f"{first} {last}, MD",
                              "schedules": ["2", "2N", "3", "4", "5"], "expires": "2026-05-31"}}
    elif t == "telemetry":
        doc = {"host": f"node-{r.randint(1, 40)}", "ts": f.epoch(), "cpu": round(r.random(), 3),
               "bytes_in": r.randint(10**8, 10**9 - 1), "trace_id": f.hexhash(32), "span_id": f.hexhash(16)}
    elif t == "slots":
        doc = {"clinic": {"name": "Northside Family Clinic", "phone": f.phone(),
                          "hours": "Mon-Fri 8:00-17:00"},
               "slots": [f.iso_ts() for _ in range(r.randint(2, 8))]}
    elif t == "webhooks":
        doc = {"deliveries": [{"id": f.uuid(), "event": "invoice.paid", "attempt": r.randint(1, 3),
                               "status": 200, "delivered_at": f.epoch(), "signature": "sha256=" + f.hexhash()}
                              for _ in range(r.randint(1, 4))]}
    elif t == "shipping":
        doc = {"Shipments": [{"TrackingNo": f.luhn_bad16(), "OrderNo": f.id9(), "Weight-g": r.randint(50, 9000),
                              "ShippedAt": f.iso_ts()} for _ in range(r.randint(1, 4))]}
    elif t == "provider_search":
        first, last = f.name_parts()
        doc = {"query": {"taxonomy": "207Q00000X", "zip": f.zipcode()},
               "matches": [{"NPI-Number": f.npi(), "Display": f"{last}, {first} MD",
                            "Office-Phone": f.phone(), "AcceptingNew": True} for _ in range(r.randint(1, 4))]}
    elif t == "ssn_testcases":
        cases = []
        for _ in range(r.randint(2, 5)):
            v, why = f.invalid_ssn()
            cases.append({f.kw("ssn"): v, "expect": "reject", "reason": why})
        doc = {"suite": "ssn-validator", "cases": cases}
    elif t == "dea_verify":
        first, last = f.name_parts()
        doc = {"Registrant": f"{first.upper()} {last.upper()}", "DEA-Registration": f.dea(last),
               "Status": "ACTIVE", "Checked": f.iso_ts()}
    elif t == "build":
        doc = {"commit": f.hexhash(40), "pipeline": r.randint(100000000, 999999999),
               "artifacts": [{"sha256": f.hexhash(), "size": r.randint(10**5, 10**9)} for _ in range(3)],
               "started": f.epoch(), "finished": f.epoch()}
    elif t == "flags":
        doc = {"flags": {"new-checkout": True, "dark-mode": False}, "secret": f.b64(64),
               "rollout-id": f.uuid(), "updated": f.epoch()}
    elif t == "masked":
        doc = {"payment": {"card": f.masked_card(), "brand": "visa", "auth_code": f.b64(6),
                           "acct #": f.masked_account()},
               "verification": {"ssn": f.masked_ssn(), "status": "matched"}, "order_id": f.id9()}
    elif t == "masked_profile":
        doc = {"Profile": {"SSN-Masked": f.masked_ssn(), "CardOnFile": f.masked_card(), "Acct#": f.masked_account(),
                           "Confirmation": f.confirmation(), "EffectiveDate": f.recent().date().isoformat()}}
    elif t == "devices":
        doc = {"devices": [{"imei": f.imei(), "model": "RPM-cuff-2", "firmware": f"4.{r.randint(0, 9)}.{r.randint(0, 99)}",
                            "lastSeen": f.epoch(), "serial": f.hexhash(12).upper()} for _ in range(r.randint(1, 4))]}
    else:
        doc = {"time": f.iso_ts(), "direction": "outbound", "protocol": "http1", "kinds": ["ssn", "dob"],
               "offsets": [[r.randint(0, 900), r.randint(901, 2000)]], "action": "refused",
               "request_id": f.uuid()}
    if large:
        doc = {"items": place([doc], lambda: clean_order(f), large, where)}
    return Sample(jdump(doc, indent, esc, kesc), False, [], f"json/{f.fam}/neg/{t}",
                  "json", vals)


# --------------------------------------------------------------------------------------------
# FHIR R4
# --------------------------------------------------------------------------------------------


def fhir_id(f: Faker):
    return f.uuid() if f.r.random() < 0.5 else f"{f.r.choice(['pt', 'p', 'example'])}-{f.r.randint(1, 99999)}"


def fhir_patient(f: Faker, kinds: set, values: list) -> dict:
    r = f.r
    first, last = f.name_parts()
    birth = f.birth()
    mrn = f.mrn()
    kinds.update(["fhir_patient", "dob"])
    values.append(("dob", birth.isoformat()))
    ids = [{"use": "usual",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
            if f.fam == "train" else {"text": "Medical Record Number"},
            "system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn}]
    if r.random() < 0.4:
        d = f.ssn_digits()
        v = d if r.random() < 0.5 else f"{d[:3]}-{d[3:5]}-{d[5:]}"
        ids.append({"system": "http://hl7.org/fhir/sid/us-ssn", "value": v})
        kinds.add("ssn")
        values.append(("ssn", v))
    if r.random() < 0.3:
        v = f.mbi(dashed=False)
        ids.append({"system": "http://hl7.org/fhir/sid/us-mbi", "value": v})
        kinds.add("mbi")
        values.append(("mbi", v))
    city, state = f.city()
    res = {"resourceType": "Patient", "id": fhir_id(f)}
    if f.fam == "train":
        res.update({"meta": {"lastUpdated": f.iso_ts()}, "identifier": ids, "active": True,
                    "name": [{"use": "official", "family": last, "given": [first]}],
                    "telecom": [{"system": "phone", "value": f.phone(), "use": "home"}],
                    "gender": r.choice(["female", "male", "other", "unknown"]),
                    "birthDate": birth.isoformat(),
                    "address": [{"line": [f.street()], "city": city, "state": state, "postalCode": f.zipcode()}]})
    else:
        res.update({"meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
                    "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
                                   "valueCode": r.choice(["F", "M"])}],
                    "name": [{"text": f"{first} {last}", "family": last, "given": [first, r.choice(NAMES[f.fam][0])]}],
                    "birthDate": birth.isoformat(),
                    "identifier": ids,
                    "address": [{"use": "home", "text": f"{f.street()}, {city}, {state} {f.zipcode()}"}],
                    "telecom": [{"system": "email", "value": f.email(first, last)},
                                {"system": "phone", "value": f.phone(), "use": "mobile"}],
                    "communication": [{"language": {"text": "English"}}]})
        if r.random() < 0.5:  # some producers put resourceType last
            rt = res.pop("resourceType")
            res["resourceType"] = rt
    return res


def fhir_observation(f: Faker, subject: dict) -> dict:
    r = f.r
    code = r.choice([("8867-4", "Heart rate", "/min", 50, 120), ("2339-0", "Glucose", "mg/dL", 60, 250),
                     ("8480-6", "Systolic blood pressure", "mm[Hg]", 95, 180)])
    return {"resourceType": "Observation", "id": fhir_id(f), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code[0], "display": code[1]}]},
            "subject": subject, "effectiveDateTime": f.iso_ts(),
            "valueQuantity": {"value": r.randint(code[3], code[4]), "unit": code[2],
                              "system": "http://unitsofmeasure.org"}}


def fhir_practitioner(f: Faker) -> dict:
    first, last = f.name_parts()
    city, state = f.city()
    return {"resourceType": "Practitioner", "id": fhir_id(f),
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
            "active": True, "name": [{"family": last, "given": [first], "prefix": ["Dr."]}],
            "telecom": [{"system": "phone", "value": f.phone(), "use": "work"}],
            "address": [{"use": "work", "line": [f.street()], "city": city, "state": state}],
            "qualification": [{"code": {"text": "MD"}}]}


def fhir_role(f: Faker) -> dict:
    first, last = f.name_parts()
    return {"resourceType": "PractitionerRole", "id": fhir_id(f), "active": True,
            "practitioner": {"reference": f"Practitioner/{fhir_id(f)}", "display": f"Dr. {first} {last}"},
            "organization": {"reference": "Organization/northside", "display": "Northside Clinic"},
            "specialty": [{"text": f.r.choice(PROVIDER_SPECIALTIES)}],
            "telecom": [{"system": "phone", "value": f.phone(), "use": "work"}],
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}]}


def capability(f: Faker) -> dict:
    return {"resourceType": "CapabilityStatement", "status": "active", "date": f.recent().date().isoformat(),
            "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
            "rest": [{"mode": "server", "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [{"name": "birthdate", "type": "date"}, {"name": "identifier", "type": "token"},
                                 {"name": "family", "type": "string"}, {"name": "telecom", "type": "token"}]},
                {"type": "Observation", "interaction": [{"code": "read"}],
                 "searchParam": [{"name": "patient", "type": "reference"}, {"name": "date", "type": "date"}]},
                {"type": "Practitioner", "interaction": [{"code": "read"}]}]}]}


def bundle(f: Faker, typ: str, resources: list) -> dict:
    entries = []
    for res in resources:
        e = {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": res}
        if typ == "transaction":
            e["request"] = {"method": "POST", "url": res["resourceType"]}
        if typ == "searchset":
            e["search"] = {"mode": "match"}
        entries.append(e)
    return {"resourceType": "Bundle", "id": f.uuid(), "type": typ, "total": len(entries), "entry": entries}


def neg_fhir_resource(f: Faker) -> dict:
    r = f.r
    if f.fam == "train":
        t = r.choice(["Practitioner", "PractitionerRole", "Organization", "Location", "ValueSet"])
    else:
        t = r.choice(["Questionnaire", "HealthcareService", "OperationOutcome", "Medication", "Endpoint",
                      "Practitioner"])
    if t == "Practitioner":
        return fhir_practitioner(f)
    if t == "PractitionerRole":
        return fhir_role(f)
    if t == "Organization":
        return {"resourceType": "Organization", "id": fhir_id(f), "name": "Northside Family Clinic",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "telecom": [{"system": "phone", "value": f.phone()}]}
    if t == "Location":
        city, state = f.city()
        return {"resourceType": "Location", "id": fhir_id(f), "name": "Radiology, 2nd floor",
                "address": {"line": [f.street()], "city": city, "state": state},
                "telecom": [{"system": "phone", "value": f.phone()}]}
    if t == "ValueSet":
        return {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/vitals",
                "status": "active", "compose": {"include": [{"system": "http://loinc.org",
                                                             "concept": [{"code": "8867-4"}, {"code": "8480-6"}]}]}}
    if t == "Questionnaire":
        return {"resourceType": "Questionnaire", "id": fhir_id(f), "status": "active", "title": "New patient intake",
                "item": [{"linkId": "1", "text": "Patient name", "type": "string"},
                         {"linkId": "2", "text": "Date of birth", "type": "date"},
                         {"linkId": "3", "text": "Social Security Number (optional)", "type": "string"},
                         {"linkId": "4", "text": "Medicare number", "type": "string"}]}
    if t == "HealthcareService":
        return {"resourceType": "HealthcareService", "id": fhir_id(f), "name": "Walk-in clinic",
                "telecom": [{"system": "phone", "value": f.phone()}],
                "comment": "Patients are seen without appointment; call the front desk for wait times."}
    if t == "OperationOutcome":
        return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found",
                                                               "diagnostics": "Patient not found for the given identifier"}]}
    if t == "Medication":
        return {"resourceType": "Medication", "id": fhir_id(f),
                "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                     "code": str(r.randint(100000, 999999)), "display": r.choice(MEDS)}]},
                "batch": {"lotNumber": f.id9(), "expirationDate": "2027-03-31"},
                "identifier": [{"system": "http://hl7.org/fhir/sid/ndc",
                                "value": f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}"}]}
    return {"resourceType": "Endpoint", "id": fhir_id(f), "status": "active",
            "connectionType": {"code": "hl7-fhir-rest"}, "address": "https://fhir.example.org/r4",
            "header": [f"X-Api-Key: {f.hexhash(40)}"]}


def _xml_attr(v) -> str:
    return str(v).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def fhir_xml_elems(name: str, v, ind: str, out: list):
    if isinstance(v, list):
        for x in v:
            fhir_xml_elems(name, x, ind, out)
    elif isinstance(v, dict):
        if "resourceType" in v:  # a resource inside another element (entry.resource, contained)
            out.append(f"{ind}<{name}>")
            fhir_xml_resource(v, ind + "  ", out)
            out.append(f"{ind}</{name}>")
            return
        attrs = f' url="{_xml_attr(v["url"])}"' if name == "extension" and "url" in v else ""
        out.append(f"{ind}<{name}{attrs}>")
        for k, x in v.items():
            if not (attrs and k == "url"):
                fhir_xml_elems(k, x, ind + "  ", out)
        out.append(f"{ind}</{name}>")
    else:
        val = ("true" if v else "false") if isinstance(v, bool) else v
        out.append(f'{ind}<{name} value="{_xml_attr(val)}"/>')


def fhir_xml_resource(res: dict, ind: str, out: list, root=False):
    rt = res["resourceType"]
    out.append(f'{ind}<{rt} xmlns="http://hl7.org/fhir">' if root else f"{ind}<{rt}>")
    for k, v in res.items():
        if k != "resourceType":
            fhir_xml_elems(k, v, ind + "  ", out)
    out.append(f"{ind}</{rt}>")


def fhir_xml(res: dict) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    fhir_xml_resource(res, "", out, root=True)
    return "\n".join(out) + "\n"


def gen_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    s = _gen_fhir(f, idx, pos, large, where, esc)
    if esc is esc_default and s.ext == "json" and f.r.random() < 0.2:
        doc = json.loads(s.data)
        if not isinstance(doc, dict) or "resourceType" not in doc:
            return s
        s.data = fhir_xml(doc).encode()
        s.ext = "xml"
        s.note += "/xml"
    return s


def _gen_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([2, None]) if f.fam == "train" else r.choice([None, 3])
    kinds: set = set()
    values: list = []
    filler = lambda: {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": neg_fhir_resource(f)}  # noqa: E731
    ndjson = False
    if pos:
        if f.fam == "train":
            t = r.choice(["patient", "bundle_search", "bundle_obs", "observation_display"])
        else:
            t = r.choice(["transaction", "contained", "coverage", "ndjson", "patient_us_core"])
        if t in ("patient", "patient_us_core"):
            doc = fhir_patient(f, kinds, values)
        elif t == "bundle_search":
            doc = bundle(f, "searchset", [fhir_patient(f, kinds, values) for _ in range(r.randint(1, 3))])
        elif t == "bundle_obs":
            p = fhir_patient(f, kinds, values)
            doc = bundle(f, "collection", [p] + [fhir_observation(f, {"reference": f"Patient/{p['id']}"})
                                                 for _ in range(r.randint(1, 4))])
        elif t == "observation_display":
            first, last = f.name_parts()
            name = f"{first} {last}"
            doc = fhir_observation(f, {"reference": f"Patient/{fhir_id(f)}", "display": name})
            kinds.add("patient_name")
            values.append(("patient_name", name))
        elif t == "transaction":
            p = fhir_patient(f, kinds, values)
            enc = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                   "subject": {"reference": f"urn:uuid:{f.uuid()}"}}
            doc = bundle(f, "transaction", [p, enc])
        elif t == "contained":
            p = fhir_patient(f, kinds, values)
            p["id"] = "pat1"
            doc = {"resourceType": "DiagnosticReport", "id": fhir_id(f), "status": "final", "contained": [p],
                   "code": {"text": "Basic metabolic panel"}, "subject": {"reference": "#pat1"},
                   "issued": f.iso_ts()}
        elif t == "coverage":
            first, last = f.name_parts()
            mid = f.member_id()
            doc = {"resourceType": "Coverage", "id": fhir_id(f), "status": "active",
                   "subscriberId": mid,
                   "beneficiary": {"reference": f"Patient/{fhir_id(f)}", "display": f"{first} {last}"},
                   "payor": [{"display": "Acme Health Plan"}], "relationship": {"text": "self"}}
            kinds.update(["member_id", "patient_name"])
            values.extend([("member_id", mid), ("patient_name", f"{first} {last}")])
        else:  # ndjson bulk export
            ndjson = True
            lines = [jdump(fhir_patient(f, kinds, values), None, esc) for _ in range(r.randint(1, 4))]
            if large:
                lines = place(lines, lambda: jdump(neg_fhir_resource(f), None, esc), large, where)
            return Sample("\n".join(lines) + "\n", True, kinds, f"fhir/{f.fam}/{t}", "ndjson", values)
        if large:
            if doc["resourceType"] == "Bundle":
                doc["entry"] = place(doc["entry"], filler, large, where)
            else:
                doc = bundle(f, "searchset", [doc])
                doc["entry"] = place(doc["entry"], filler, large, where)
        return Sample(jdump(doc, indent, esc), True, kinds, f"fhir/{f.fam}/{t}", "json", values)
    # negatives
    if f.fam == "train":
        t = r.choice(["practitioner", "role_bundle", "capability", "directory_bundle", "other"])
    else:
        t = r.choice(["search_practitioners", "questionnaire", "structuredef", "bulk_manifest", "other", "outcome"])
    if t in ("practitioner",):
        doc = fhir_practitioner(f)
    elif t == "role_bundle":
        doc = bundle(f, "searchset", [fhir_role(f) for _ in range(r.randint(1, 5))])
    elif t == "capability":
        doc = capability(f)
    elif t == "directory_bundle":
        doc = bundle(f, "collection", [fhir_practitioner(f) for _ in range(r.randint(1, 4))] +
                     [neg_fhir_resource(f) for _ in range(2)])
    elif t == "search_practitioners":
        doc = bundle(f, "searchset", [fhir_practitioner(f) if r.random() < 0.6 else fhir_role(f)
                                      for _ in range(r.randint(2, 6))])
    elif t == "questionnaire":
        doc = {
            "resourceType": "Questionnaire", "id": fhir_id(f), "status": "active", "title": "New patient intake",
            "item": [{"linkId": "1", "text": "Patient name", "type": "string"},
                     {"linkId": "2", "text": "Date of birth", "type": "date"},
                     {"linkId": "3", "text": "Social Security Number (optional)", "type": "string"},
                     {"linkId": "4", "text": "Medicare number", "type": "string"}]}
    elif t == "structuredef":
        doc = {"resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/my-patient",
               "type": "Patient", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
               "derivation": "constraint",
               "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1},
                                            {"id": "Patient.identifier", "path": "Patient.identifier", "min": 1},
                                            {"id": "Patient.name", "path": "Patient.name", "min": 1}]}}
    elif t == "bulk_manifest":
        doc = {"transactionTime": f.iso_ts(), "request": "https://fhir.example.org/r4/$export?_type=Patient,Observation",
               "requiresAccessToken": True,
               "output": [{"type": "Patient", "url": f"https://files.example.org/{f.uuid()}/Patient.ndjson", "count": r.randint(10, 90000)},
                          {"type": "Observation", "url": f"https://files.example.org/{f.uuid()}/Observation.ndjson", "count": r.randint(10, 900000)}],
               "error": []}
    elif t == "outcome":
        doc = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
               "diagnostics": "Patient.birthDate: value does not match format YYYY-MM-DD",
               "expression": ["Patient.birthDate"]}]}
    else:
        doc = neg_fhir_resource(f)
    if large:
        if doc.get("resourceType") != "Bundle":
            doc = bundle(f, "searchset", [doc])
        doc["entry"] = place(doc["entry"], filler, large, where)
    return Sample(jdump(doc, indent, esc), False, [], f"fhir/{f.fam}/neg/{t}", "json", values)


# --------------------------------------------------------------------------------------------
# HL7 v2
# --------------------------------------------------------------------------------------------


def hl7_ts(f: Faker):
    return f.recent().strftime("%Y%m%d%H%M%S")


def msh(f: Faker, typ: str, ver="2.5.1"):
    r = f.r
    if f.fam == "train":
        apps = ("EPICADT", "NORTHSIDE", "PHIMESHRCV", "HUB")
        ctl = f"MSG{r.randint(10000, 99999)}"
    else:
        apps = ("CERNER-MILL", "SAINTLUKE^2.16.840.1.113883.3.72^ISO", "INTEGRATION", "LAB01")
        ctl = f.id9()
    return f"MSH|^~\\&|{apps[0]}|{apps[1]}|{apps[2]}|{apps[3]}|{hl7_ts(f)}||{typ}|{ctl}|P|{ver}"


def pid(f: Faker, kinds: set, values: list) -> str:
    r = f.r
    first, last = f.name_parts()
    b = f.birth()
    mrn = f.mrn()
    city, state = f.city()
    ssn = ""
    if r.random() < 0.5:
        d = f.ssn_digits()
        if r.random() < 0.5:
            ssn = f"{d[:3]}-{d[3:5]}-{d[5:]}"
            kinds.add("ssn")
            values.append(("ssn", ssn))
        else:
            ssn = d
    acct = f.account() if r.random() < 0.5 else ""
    phone = f.phone() if f.fam == "train" else f"^PRN^PH^^1^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}"
    sex = r.choice("FMU")
    mid = r.choice(NAMES[f.fam][0])[0]
    kinds.add("hl7_pid")
    values.append(("hl7_pid", "PID|"))
    if f.fam == "train":
        return (f"PID|1||{mrn}^^^NORTHSIDE^MR||{last.upper()}^{first.upper()}^{mid}||{b:%Y%m%d}|{sex}|||"
                f"{f.street()}^^{city}^{state}^{f.zipcode()}||{phone}|||||{acct}|{ssn}")
    return (f"PID|1|{f.id9()}|{mrn}^^^SLH^MR~{f.member_id()}^^^PLAN^MB||{last}^{first}^{mid}^^^^L|"
            f"{r.choice(NAMES[f.fam][1])}|{b:%Y%m%d}{r.choice(['', '0000'])}|{sex}||2106-3^White^CDCREC|"
            f"{f.street()}^^{city}^{state}^{f.zipcode()}^USA^H||{phone}||EN|M||{acct}|{ssn}")


def pv1(f: Faker):
    first, last = f.name_parts()
    return (f"PV1|1|{f.r.choice('IOE')}|{f.r.choice(['4W', 'ICU', 'ED'])}^{f.r.randint(100, 499)}^A|||"
            f"|{f.npi()}^{last.upper()}^{first.upper()}^^^DR^^^NPI||||||||||||{f.r.randint(10000, 99999)}")


def obx(f: Faker, i: int):
    r = f.r
    code = r.choice([("2345-7", "GLUCOSE", "mg/dL", "70-99"), ("2951-2", "SODIUM", "mmol/L", "135-145"),
                     ("718-7", "HEMOGLOBIN", "g/dL", "12.0-16.0")])
    return f"OBX|{i}|NM|{code[0]}^{code[1]}^LN||{r.randint(5, 200)}|{code[2]}|{code[3]}|N|||F|||{hl7_ts(f)}"


def hl7_negative_msg(f: Faker, t: str | None = None) -> tuple[list[str], str]:
    r = f.r
    if t is None:
        t = r.choice(["mfn_m02", "mfn_m05", "ack", "mfn_m08"] if f.fam == "train"
                     else ["mfn_m02_org", "mfk", "ack_err", "mfn_m16", "nmd"])
    segs = []
    if t in ("mfn_m02", "mfn_m02_org"):
        segs.append(msh(f, "MFN^M02^MFN_M02"))
        segs.append(f"MFI|PRA^Practitioner Master File^HL70175||UPD|||{'AL' if t == 'mfn_m02' else 'NE'}")
        for _ in range(r.randint(1, 4)):
            first, last = f.name_parts()
            sid = f"{r.randint(1000, 99999)}"
            npi = f.npi()
            segs.append(f"MFE|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|{sid}^{last}^{first}|CWE")
            segs.append(f"STF|{sid}|{npi}^NPI|{last.upper()}^{first.upper()}^^^DR|MD|||A|"
                        f"{r.choice(PROVIDER_SPECIALTIES).upper()}||{f.phone()}^WPN^PH")
            pra = f"PRA|{sid}|^{r.choice(PROVIDER_SPECIALTIES)}|ST|I||{npi}^NPI"
            if r.random() < 0.5:
                pra += f"~{f.dea(last)}^DEA"
            segs.append(pra)
            if t == "mfn_m02_org":
                segs.append(f"ORG|1||{r.choice(['CARD', 'FM', 'PED'])}^{r.choice(PROVIDER_SPECIALTIES)}|||||Y")
    elif t == "mfn_m05":
        segs.append(msh(f, "MFN^M05^MFN_M05"))
        segs.append("MFI|LOC^Location Master File^HL70175||UPD|||AL")
        for _ in range(r.randint(1, 3)):
            segs.append(f"MFE|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|4W^{r.randint(100, 499)}^A|PL")
            segs.append(f"LOC|4W^{r.randint(100, 499)}^A|Medical-surgical bed|B|||{f.phone()}")
    elif t == "mfn_m08":
        segs.append(msh(f, "MFN^M08^MFN_M08"))
        segs.append("MFI|OMA^Numerical Observation Master File^HL70175||UPD|||AL")
        for _ in range(r.randint(1, 3)):
            segs.append(f"MFE|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|2345-7^GLUCOSE^LN|CWE")
            segs.append("OM1|1|2345-7^GLUCOSE^LN|NM|Y|GLU|||||Y|||||||||||||mg/dL")
    elif t == "mfn_m16":
        segs.append(msh(f, "MFN^M16^MFN_M16", "2.6"))
        segs.append("MFI|ITM^Item Master^HL70175||UPD|||NE")
        for _ in range(r.randint(1, 3)):
            segs.append(f"MFE|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|{f.id9()}^Suture kit|CWE")
            segs.append(f"ITM|{f.id9()}^Suture kit|Sterile suture kit 4-0|A|SUP|||{f.luhn_bad16()}")
    elif t in ("ack", "ack_err"):
        segs.append(msh(f, r.choice(["ACK^A01^ACK", "ACK^R01^ACK"])))
        segs.append(f"MSA|{'AA' if t == 'ack' else 'AE'}|{f.id9() if r.random() < 0.5 else 'MSG' + str(r.randint(10000, 99999))}")
        if t == "ack_err":
            segs.append("ERR|^^^207&Application internal error&HL70357|PID^1^3|E")
    elif t == "mfk":
        segs.append(msh(f, "MFK^M02^MFK_M01"))
        segs.append(f"MSA|AA|{f.id9()}")
        segs.append("MFI|PRA^Practitioner Master File^HL70175||UPD|||NE")
        segs.append(f"MFA|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|S|{r.randint(1000, 99999)}|CWE")
    else:  # nmd
        segs.append(msh(f, "NMD^N02^NMD_N02"))
        segs.append(f"NST|Y||{r.randint(100, 999)}|{r.randint(1000, 9999)}|{r.randint(0, 9)}|||{r.randint(0, 99)}")
    return segs, t


def hl7_positive_msg(f: Faker, kinds: set, values: list) -> tuple[list[str], str]:
    r = f.r
    if f.fam == "train":
        t = r.choice(["adt_a01", "oru_r01", "adt_a03"])
    else:
        t = r.choice(["adt_a04", "adt_a08", "orm_o01", "siu_s12", "vxu_v04", "dft_p03"])
    typ = {"adt_a01": "ADT^A01^ADT_A01", "oru_r01": "ORU^R01^ORU_R01", "adt_a03": "ADT^A03^ADT_A03",
           "adt_a04": "ADT^A04^ADT_A01", "adt_a08": "ADT^A08^ADT_A01", "orm_o01": "ORM^O01^ORM_O01",
           "siu_s12": "SIU^S12^SIU_S12", "vxu_v04": "VXU^V04^VXU_V04", "dft_p03": "DFT^P03^DFT_P03"}[t]
    segs = [msh(f, typ)]
    if t == "siu_s12":
        segs.append(f"SCH|{r.randint(1000, 9999)}|||||ROUTINE^Routine^HL70276|||30|MIN")
    if t.startswith("adt") or t == "dft_p03":
        segs.append(f"EVN|{t[-3:].upper()}|{hl7_ts(f)}")
    segs.append(pid(f, kinds, values))
    if t != "vxu_v04":
        segs.append(pv1(f))
    if t == "oru_r01":
        segs.append(f"OBR|1|{f.id9()}|{f.id9()}|80048^BASIC METABOLIC PANEL^CPT|||{hl7_ts(f)}")
        segs += [obx(f, i + 1) for i in range(r.randint(1, 6))]
    elif t == "orm_o01":
        segs.append(f"ORC|NW|{f.id9()}|||||^^^{hl7_ts(f)}")
        segs.append("OBR|1|||71046^CHEST XRAY 2 VIEWS^CPT")
    elif t == "vxu_v04":
        segs.append(f"RXA|0|1|{hl7_ts(f)}||208^COVID-19 vaccine^CVX|0.3|mL")
    elif t == "dft_p03":
        segs.append(f"FT1|1|||{hl7_ts(f)}||CG|99213^Office visit^CPT|||1|||||||||||||")
    elif t == "siu_s12":
        segs.append("AIP|1||^DRUMMOND^ELOISE^^^DR|ATTENDING")
    return segs, t


def gen_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if f.fam == "train":
        eol, mllp = r.choice(["\r", "\r", "\n"]), False
    else:
        eol, mllp = r.choice(["\r", "\r\n", "\n"]), r.random() < 0.4
    kinds: set = set()
    values: list = []
    if pos:
        segs, t = hl7_positive_msg(f, kinds, values)
    else:
        segs, t = hl7_negative_msg(f)
    msgs = [segs]
    if large:
        msgs = place(msgs, lambda: hl7_negative_msg(f)[0], large, where,
                     unit_len=lambda m: sum(len(s) + 1 for s in m))
    out = []
    for m in msgs:
        text = eol.join(m) + eol
        out.append("\x0b" + text + "\x1c\r" if mllp else text)
    note = f"hl7/{f.fam}/{'' if pos else 'neg/'}{t}" + ("/mllp" if mllp else "") + ("/lf" if eol == "\n" else "")
    return Sample("".join(out), pos, kinds, note, "hl7", values)


# --------------------------------------------------------------------------------------------
# CSV exports
# --------------------------------------------------------------------------------------------


def csv_cell(v, delim, quote_all):
    s = str(v)
    if quote_all or delim in s or '"' in s or "," in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_text(header, rows, delim, quote_all, eol, bom=False):
    lines = [delim.join(csv_cell(h, delim, quote_all) for h in header)]
    lines += [delim.join(csv_cell(c, delim, quote_all) for c in row) for row in rows]
    return ("\ufeff" if bom else "") + eol.join(lines) + eol


def csv_clean_row(f: Faker, cols):
    r = f.r
    gen = {"order_id": f.order_id, "created": lambda: f.epoch(), "sku": lambda: f"SKU-{r.randint(1000, 99999)}",
           "amount": lambda: f"{r.randint(1, 9999)}.{r.randint(0, 99):02d}", "status": lambda: r.choice(["shipped", "open"]),
           "comment": lambda: r.choice(["", "expedite", "gift wrap", "left at front desk"]),
           "tracking": f.luhn_bad16, "request_id": f.uuid}
    return [gen[c]() for c in cols]


def gen_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if f.fam == "train":
        delim, quote_all, eol, bom = ",", False, r.choice(["\n", "\r\n"]), False
    else:
        delim, quote_all, eol, bom = r.choice([";", "\t", ",", "|"]), r.random() < 0.5, "\r\n", r.random() < 0.3
    kinds: set = set()
    values: list = []
    if pos and large:
        # an order export whose free-text comment column carries one identifier, deep inside
        cols = ["order_id", "created", "sku", "amount", "status", "comment"]
        k = ID_KINDS[(idx // 2) % len(ID_KINDS)]
        v = ident_value(f, k)
        kinds.add(k)
        values.append((k, v))
        bad = csv_clean_row(f, cols)
        bad[-1] = phrase(f, k, v)
        rows = place([bad], lambda: csv_clean_row(f, cols), large, where, unit_len=lambda x: 60)
        header = [f.key(c.split("_")) for c in cols]
        return Sample(csv_text(header, rows, delim, quote_all, eol, bom), True, kinds,
                      f"csv/{f.fam}/comment_deep/{k}", "csv", values)
    if pos:
        kl = pick_kinds(f, idx)
        extra = ["city"] if f.fam == "train" else ["zip", "visit-reason"]
        header = [f.kw(k) for k in kl]
        header_extra = [f.key(e.split("-")) for e in extra]
        rows = []
        for _ in range(r.randint(1, 8)):
            person = f.name_parts()
            row = []
            for k in kl:
                v = ident_value(f, k, person)
                row.append(v)
                values.append((k, v))
            for e in extra:
                row.append({"city": lambda: f.city()[0], "zip": f.zipcode,
                            "visit-reason": lambda: r.choice(CONDITIONS)}[e]())
            rows.append(row)
        kinds.update(kl)
        return Sample(csv_text(header + header_extra, rows, delim, quote_all, eol, bom), True, kinds,
                      f"csv/{f.fam}/patients/{'+'.join(kl)}", "csv", values)
    if f.fam == "train":
        t = r.choice(["providers", "orders", "invalid_ssn", "dea_roster"])
    else:
        t = r.choice(["npi_directory", "shipments", "lab_catalog", "ledger", "ssn_rejects", "roster_report"])
    pre = ""
    if t == "roster_report":  # a report title and run date above a provider roster
        pre = f"Provider Roster{eol}Run Date: {f.recent():%m/%d/%Y %H:%M}{eol}{eol}"
        t = "npi_directory"
    if t in ("providers", "npi_directory"):
        header = ["npi", "provider_name", "specialty", "phone", "address"] if t == "providers" else \
            ["NPI", "Last Name", "First Name", "Taxonomy", "Practice Phone", "Zip"]
        rows = []
        for _ in range(r.randint(2, 12)):
            first, last = f.name_parts()
            rows.append([f.npi(), f"{first} {last}, MD", r.choice(PROVIDER_SPECIALTIES), f.phone(),
                         f"{f.street()} {f.city()[0]}"] if t == "providers" else
                        [f.npi(), last, first, "207Q00000X", f.phone(), f.zipcode()])
        filler = None
    elif t in ("orders", "shipments", "ledger"):
        cols = {"orders": ["order_id", "created", "sku", "amount", "status"],
                "shipments": ["order_id", "tracking", "created", "status"],
                "ledger": ["request_id", "created", "amount", "order_id"]}[t]
        header = [f.key(c.split("_")) for c in cols]
        rows = [csv_clean_row(f, cols) for _ in range(r.randint(2, 15))]
        filler = lambda: csv_clean_row(f, cols)  # noqa: E731
    elif t == "dea_roster":
        header = ["dea", "prescriber", "schedules", "expires"]
        rows = []
        for _ in range(r.randint(2, 8)):
            first, last = f.name_parts()
            rows.append([f.dea(last), f"{first} {last}", "2,2N,3,4,5", "2026-01-31"])
        filler = None
    elif t == "lab_catalog":
        header = ["LOINC", "Name", "Units", "Ref Range", "Tube"]
        rows = [[r.choice(["2345-7", "2951-2", "718-7", "4548-4"]), r.choice(["Glucose", "Sodium", "Hemoglobin", "HbA1c"]),
                 r.choice(["mg/dL", "mmol/L", "%"]), f"{r.randint(1, 50)}-{r.randint(51, 150)}", "SST"] for _ in range(r.randint(3, 12))]
        filler = None
    else:  # invalid_ssn / ssn_rejects
        header = [f.kw("ssn") if f.fam == "holdout" else "ssn", "reason", "batch"]
        rows = []
        for _ in range(r.randint(2, 8)):
            v, why = f.invalid_ssn()
            rows.append([v, why, f.uuid()])
        filler = None
    if large:
        if filler is None:
            src = rows
            filler = lambda: list(r.choice(src))  # noqa: E731
        rows = place(rows, filler, large, where, unit_len=lambda x: 70)
    return Sample(pre + csv_text(header, rows, delim, quote_all, eol, bom), False, [],
                  f"csv/{f.fam}/neg/{t}" + ("/preamble" if pre else ""), "csv", values)


# --------------------------------------------------------------------------------------------
# application/x-www-form-urlencoded
# --------------------------------------------------------------------------------------------


def form_encode(pairs, f: Faker, digits=False) -> str:
    out = []
    for k, v in pairs:
        ks = urllib.parse.quote_plus(str(k))
        vs = urllib.parse.quote_plus(str(v))
        if digits:
            vs = "".join("%%%02X" % ord(c) if (c.isdigit() or c == "-") else c for c in vs)
        out.append(f"{ks}={vs}")
    return "&".join(out)


def gen_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    values: list = []
    if pos:
        kinds = pick_kinds(f, idx)
        rec = patient_record(f, kinds)
        if f.fam == "train":
            pairs = [(k, v) for k, v, _ in rec.fields]
            pairs = [("csrf_token", f.b64(24))] + pairs + [("submit", "Save")]
            t = "intake"
        else:
            pre = r.choice(["patient[{}]", "member.{}", "form[patient][{}]"])
            pairs = [("_token", f.hexhash(40))] + [(pre.format(k), v) for k, v, _ in rec.fields] + \
                [("consent", "on"), ("step", r.randint(2, 5))]
            t = "nested:" + pre.split("{")[0]
        return Sample(form_encode(pairs, f), True, rec.kinds, f"form/{f.fam}/{t}/{f.style}", "txt", rec.values)
    if f.fam == "train":
        t = r.choice(["login", "search", "checkout", "npi_lookup", "newsletter", "invalid_ssn"])
    else:
        t = r.choice(["oauth", "filters", "cart", "provider_finder", "telemetry", "ssn_reject"])
    if t == "login":
        pairs = [("username", "frontdesk" + str(r.randint(1, 99))), ("password", f.b64(12)), ("csrf_token", f.b64(24))]
    elif t == "search":
        pairs = [("q", r.choice(CONDITIONS)), ("page", r.randint(1, 40)), ("sort", "relevance"), ("ts", f.epoch())]
    elif t == "checkout":
        pairs = [("order_id", f.id9()), ("amount", f"{r.randint(1, 999)}.{r.randint(0, 99):02d}"), ("currency", "USD"),
                 ("idempotency_key", f.uuid())]
    elif t == "npi_lookup":
        first, last = f.name_parts()
        pairs = [("npi", f.npi()), ("provider_last_name", last), ("state", f.city()[1])]
    elif t == "newsletter":
        first, last = f.name_parts()
        pairs = [("list", "clinic-news"), ("subscribe", "1"), ("source", "footer")]
    elif t == "invalid_ssn":
        v, why = f.invalid_ssn()
        pairs = [("ssn", v), ("validate_only", "true")]
        t += ":" + why
    elif t == "oauth":
        pairs = [("grant_type", "authorization_code"), ("code", f.b64(32)), ("code_verifier", f.hexhash(64)),
                 ("redirect_uri", "https://app.example.org/callback"), ("client_id", f.uuid())]
    elif t == "filters":
        pairs = [("filter[created_from]", f.epoch()), ("filter[created_to]", f.epoch()), ("filter[order_no]", f.id9()),
                 ("per_page", 100)]
    elif t == "cart":
        pairs = [("items[0][sku]", f"SKU-{r.randint(1000, 99999)}"), ("items[0][qty]", r.randint(1, 9)),
                 ("coupon", "SPRING" + str(r.randint(10, 99))), ("ref", f.luhn_bad16())]
    elif t == "provider_finder":
        pairs = [("specialty", r.choice(PROVIDER_SPECIALTIES)), ("zip", f.zipcode()), ("radius", 25),
                 ("prescriber_dea", f.dea(f.last()))]
    elif t == "telemetry":
        pairs = [("v", 2), ("tid", f.uuid()), ("t", "event"), ("ec", "ui"), ("ea", "click"), ("ts", f.epoch() * 1000)]
    else:
        v, why = f.invalid_ssn()
        pairs = [(f.kw("ssn"), v), ("dry-run", "1")]
        t += ":" + why
    return Sample(form_encode(pairs, f), False, [], f"form/{f.fam}/neg/{t}", "txt", values)


# --------------------------------------------------------------------------------------------
# multipart/form-data
# --------------------------------------------------------------------------------------------


def fake_png(f: Faker, n: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(f.r.getrandbits(8) for _ in range(n))


def gen_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if f.fam == "train":
        boundary = "----WebKitFormBoundary" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
        eol = "\r\n"
    else:
        boundary = "-" * r.randint(2, 26) + str(r.randint(10**20, 10**21))
        eol = r.choice(["\r\n", "\r\n", "\n"])
    parts: list[tuple[dict, bytes]] = []
    kinds: set = set()
    values: list = []
    cd = "Content-Disposition" if f.fam == "train" else r.choice(["content-disposition", "Content-Disposition"])

    def field(name, value):
        parts.append(({cd: f'form-data; name="{name}"'}, str(value).encode()))

    def file(name, fname, ctype, data: bytes, extra=None):
        h = {cd: f'form-data; name="{name}"; filename="{fname}"', "Content-Type": ctype}
        if extra:
            h.update(extra)
        parts.append((h, data))

    t = ""
    if pos:
        if r.random() < 0.5:
            kl = pick_kinds(f, idx)
            rec = patient_record(f, kl)
            for k, v, _ in rec.fields:
                field(k, v)
            kinds |= rec.kinds
            values += rec.values
            t = "fields"
            if r.random() < 0.4:
                file("avatar", "photo.png", "image/png", fake_png(f, r.randint(200, 3000)))
        else:
            inner = r.choice([gen_csv, gen_hl7, gen_json])(f, idx, True, 0, where)
            kinds |= set(inner.kinds)
            values += inner.values
            field("description", r.choice(["nightly export", "referral packet", "upload"]))
            ctype = {"csv": "text/csv", "hl7": "x-application/hl7-v2+er7", "json": "application/json"}[inner.ext]
            file("file", f"upload.{inner.ext}", ctype, inner.data)
            t = "file:" + inner.ext
    else:
        t = r.choice(["image", "providers_csv", "config_json", "b64_part"] if f.fam == "train"
                     else ["pdf_blob", "npi_roster", "b64_part", "manifest", "image", "settings_fields"])
        field("title", r.choice(["Q3 report", "site photo", "roster update"]))
        if t == "image":
            file("image", "img.png", "image/png", fake_png(f, r.randint(500, 5000)))
        elif t in ("providers_csv", "npi_roster"):
            inner = gen_csv(f, idx, False, 0, where)
            file("roster", "roster.csv", "text/csv", inner.data)
        elif t == "config_json":
            file("config", "settings.json", "application/json",
                 jdump({"retries": 3, "timeout_ms": 30000, "webhook_secret": f.b64(32), "build": f.hexhash(40)}).encode())
        elif t == "b64_part":
            file("blob", "data.bin", "application/octet-stream", f.b64(r.randint(200, 2000)).encode(),
                 {"Content-Transfer-Encoding": "base64"})
        elif t == "settings_fields":
            field("dob_format", r.choice(["DD-Mon-YYYY", "MM/DD/YYYY"]))
            field("patient_portal", "enabled")
            field("card_brand", r.choice(["visa", "amex"]))
            field("mrn_prefix", "H")
        elif t == "pdf_blob":
            file("doc", "scan.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(r.getrandbits(8) for _ in range(r.randint(500, 4000))))
        else:
            file("manifest", "manifest.json", "application/json",
                 jdump({"files": [{"name": f"part-{i}.bin", "sha256": f.hexhash()} for i in range(4)], "created": f.epoch()}).encode())
    if large:
        blob = fake_png(f, large) if r.random() < 0.5 else \
            csv_text(["order_id", "created", "sku", "amount", "status"],
                     [csv_clean_row(f, ["order_id", "created", "sku", "amount", "status"]) for _ in range(large // 55)],
                     ",", False, "\n").encode()
        big = ({cd: 'form-data; name="attachment"; filename="bulk.dat"', "Content-Type": "application/octet-stream"}, blob)
        if where == "start":
            parts.insert(0, big)
        elif where == "end":
            parts.append(big)
        else:
            parts.insert(len(parts) // 2, big)
    out = bytearray()
    for h, data in parts:
        out += f"--{boundary}{eol}".encode()
        for k, v in h.items():
            out += f"{k}: {v}{eol}".encode()
        out += eol.encode() + data + eol.encode()
    out += f"--{boundary}--{eol}".encode()
    return Sample(bytes(out), pos, kinds, f"multipart/{f.fam}/{'' if pos else 'neg/'}{t}", "txt", values)


# --------------------------------------------------------------------------------------------
# Free-text clinical notes
# --------------------------------------------------------------------------------------------


def clinical_body(f: Faker) -> str:
    r = f.r
    age = r.randint(19, 94)
    cond = r.choice(CONDITIONS)
    med = r.choice(MEDS)
    if f.fam == "train":
        return (f"SUBJECTIVE: {age}-year-old presents for follow-up of {cond}. Reports good adherence to {med}.\n"
                f"OBJECTIVE: BP {r.randint(100, 160)}/{r.randint(60, 100)}, HR {r.randint(55, 110)}, "
                f"SpO2 {r.randint(92, 100)}% on room air. Lungs clear.\n"
                f"ASSESSMENT: {cond}, {r.choice(['stable', 'improving', 'not at goal'])}.\n"
                f"PLAN: Continue {med}. Labs in {r.randint(2, 12)} weeks. Return in {r.randint(1, 6)} months.\n")
    return (f"Hospital course: The patient was admitted with {cond} and treated with {med}. "
            f"Vitals remained stable (T {r.randint(360, 384) / 10} C). By day {r.randint(2, 9)} symptoms had resolved.\n"
            f"Disposition: home with services. Follow-up with primary care within {r.randint(7, 14)} days.\n")


def note_filler(f: Faker) -> str:
    return "\n" + clinical_body(f)


def gen_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    pf, pl = f.name_parts()
    df, dl = f.name_parts()
    doc = f"{df} {dl}"
    if pos:
        kl = pick_kinds(f, idx)
        ids = []
        for k in kl:
            v = ident_value(f, k, (pf, pl))
            ids.append(phrase(f, k, v))
            values.append((k, v))
        kinds.update(kl)
        if f.fam == "train":
            t = r.choice(["progress", "referral"])
            if t == "progress":
                head = f"PROGRESS NOTE\nDate of service: {f.recent():%m/%d/%Y}\n" + "\n".join(ids) + "\n\n"
                text = head + clinical_body(f) + f"\nElectronically signed by {doc}, MD\n"
            else:
                text = (f"Dear Dr. {dl},\n\nI am referring the following patient for evaluation of {r.choice(CONDITIONS)}. "
                        + "; ".join(ids) + ".\n\n" + clinical_body(f) + f"\nSincerely,\n{df[0]}. {dl}, MD\n")
        else:
            t = r.choice(["discharge", "phone", "nursing"])
            if t == "discharge":
                text = ("DISCHARGE SUMMARY\n\n" + clinical_body(f) + "\nIdentifiers verified at discharge: "
                        + ", ".join(ids) + ".\nAttending: " + doc + ", DO\n")
            elif t == "phone":
                text = (f"Telephone encounter {f.recent():%Y-%m-%d %H:%M}. Caller requested a refill of {r.choice(MEDS)}. "
                        + " ".join(i + "." for i in ids) + " Identity confirmed with two identifiers. Refill sent.\n")
            else:
                text = (f"Nursing note, shift {r.choice(['day', 'night'])}:\n- " + "\n- ".join(ids)
                        + f"\n- Pain {r.randint(0, 10)}/10, ambulating with assistance.\n- Family at bedside.\n")
    else:
        if f.fam == "train":
            t = r.choice(["deidentified", "guideline", "newsletter", "template", "checklist"])
        else:
            t = r.choice(["case_report", "protocol", "handoff", "instructions", "provider_bio"])
        if t == "deidentified":
            text = "CASE SUMMARY (de-identified)\n" + clinical_body(f)
        elif t == "guideline":
            text = (f"Clinical guideline: adults with {r.choice(CONDITIONS)} should be reassessed every 3 to 6 months. "
                    f"Patients older than 65 may need dose adjustment of {r.choice(MEDS)}. Document the date of "
                    f"birth and the medical record number in the chart, never in e-mail.\n")
        elif t == "newsletter":
            text = (f"Northside Family Clinic news: Dr. {doc} joins our {r.choice(PROVIDER_SPECIALTIES)} team. "
                    f"Patients can book appointments by calling the clinic at {f.phone()}, Monday to Friday. "
                    f"Flu shots are available from {f.recent():%B %d}.\n")
        elif t == "checklist":
            text = ("Pre-procedure checklist\nPatient Name Verification Required: two identifiers.\n"
                    "PATIENT NAME: NOT AVAILABLE until registration completes.\n"
                    "Patient Safety, Quality and Risk: report near misses.\n"
                    f"Service date {f.recent():%d-%b-%Y}; scheduled by {f.first()} {f.last()}, RN.\n")
        elif t == "template":
            text = ("Appointment reminder template\nHello {{patient_name}}, this is a reminder of your visit on "
                    "{{appointment_date}} with {{provider}}. Date of birth on file: {{dob}}. Reply STOP to opt out.\n")
        elif t == "case_report":
            text = (f"Case report. A {r.randint(20, 90)}-year-old presented with {r.choice(CONDITIONS)}. "
                    f"Work-up included serial troponins at 0, 3 and 6 hours. The patient was seen by Dr. {doc} "
                    f"and discharged on {r.choice(MEDS)}. No identifiers are included in this report.\n")
        elif t == "protocol":
            text = ("Study protocol section 7.2: Data collection. Date of birth, Social Security Number and "
                    "Medicare Beneficiary Identifier will NOT be collected. Participants are assigned a study "
                    f"code at enrolment (e.g. S-{r.randint(100, 999)}). Visits occur at weeks 0, 4, 12 and 24.\n")
        elif t == "handoff":
            text = "\n".join(f"Bed {r.randint(1, 40)}: {r.randint(20, 95)}{r.choice('MF')}, {r.choice(CONDITIONS)}, "
                             f"{r.choice(['stable', 'watch overnight', 'NPO after midnight'])}" for _ in range(r.randint(3, 7))) + "\n"
        elif t == "instructions":
            text = (f"Discharge instructions for {r.choice(CONDITIONS)}: take {r.choice(MEDS)} as prescribed. "
                    f"If you have chest pain call 911. For questions call the nurse line at {f.phone()}. "
                    f"Questions about Medicare or Social Security benefits: call 1-800-772-1213.\n")
        else:
            text = (f"{doc}, MD is board certified in {r.choice(PROVIDER_SPECIALTIES)} and sees patients at "
                    f"{f.street()}, {f.city()[0]}. NPI {f.npi()}. Office phone {f.phone()}.\n")
    if large:
        chunks = place([text], lambda: note_filler(f), large, where)
        text = "".join(chunks)
    return Sample(text, pos, kinds, f"note/{f.fam}/{'' if pos else 'neg/'}{t}", "txt", values)


# --------------------------------------------------------------------------------------------
# Log lines
# --------------------------------------------------------------------------------------------


def clean_log_line(f: Faker) -> str:
    r = f.r
    if f.fam == "train":
        return r.choice([
            f"{f.iso_ts()} INFO http request method=GET path=/v1/orders/{f.id9()} status=200 dur_ms={r.randint(1, 900)} req={f.uuid()}",
            f"{f.iso_ts()} DEBUG cache hit key=sess:{f.hexhash(24)} ttl={r.randint(10, 3600)}",
            f"{f.iso_ts()} WARN retry upstream=billing attempt={r.randint(1, 5)} order_id={f.id9()} ts={f.epoch()}",
            f'{f.ip()} - - [{f.recent():%d/%b/%Y:%H:%M:%S} +0000] "GET /health HTTP/1.1" 200 {r.randint(2, 900)} "-" "kube-probe/1.29"',
        ])
    return r.choice([
        jdump({"@timestamp": f.iso_ts(), "level": "info", "logger": "c.e.orders.Api", "message": "order shipped",
               "orderNo": f.id9(), "trackingNo": f.luhn_bad16(), "traceId": f.hexhash(32)}),
        f"<134>{f.recent():%b %d %H:%M:%S} ip-{f.ip().replace('.', '-')} sshd[{r.randint(100, 99999)}]: Accepted publickey for deploy from {f.ip()} port {r.randint(1024, 65535)} ssh2: ED25519 SHA256:{f.b64(32)[:43]}",
        f"{f.recent():%Y-%m-%d %H:%M:%S,%f}"[:23] + f" INFO  [pool-{r.randint(1, 9)}-thread-{r.randint(1, 20)}] c.e.sched.Job - batch {f.uuid()} done in {r.randint(1, 90000)} ms, {r.randint(0, 10**6)} rows",
        f'{f.ip()} - - [{f.recent():%d/%b/%Y:%H:%M:%S} +0000] "POST /api/v2/carts/{f.uuid()}/checkout HTTP/2.0" 201 {r.randint(100, 5000)} "-" "okhttp/4.12.0" rt={r.random():.3f}',
    ])


def gen_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    lines = [clean_log_line(f) for _ in range(r.randint(0, 6))]
    t = "neg"
    if pos:
        kl = pick_kinds(f, idx)
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        if f.fam == "train":
            t = r.choice(["logfmt", "plain", "access_query"])
            if t == "logfmt":
                kv = " ".join(f'{k}="{v}"' if " " in str(v) else f"{k}={v}" for k, v, _ in rec.fields)
                line = f"ts={f.iso_ts()} level=info msg=\"patient lookup\" {kv} req={f.uuid()}"
            elif t == "plain":
                line = f"{f.iso_ts()} INFO [PatientService] created record: " + ", ".join(f"{k}={v}" for k, v, _ in rec.fields)
            else:
                q = "&".join(f"{k}={urllib.parse.quote(str(v), safe='@')}" for k, v, _ in rec.fields)
                line = f'{f.ip()} - - [{f.recent():%d/%b/%Y:%H:%M:%S} +0000] "GET /v1/patients/search?{q} HTTP/1.1" 200 {r.randint(100, 9000)} "-" "python-requests/2.31"'
        else:
            t = r.choice(["json_message", "tostring", "syslog_phrase", "stacktrace"])
            if t == "json_message":
                line = jdump({"@timestamp": f.iso_ts(), "level": "WARN", "message": "eligibility check failed: "
                              + "; ".join(phrase(f, k, v) for _, v, k in rec.fields), "service": "elig-svc"})
            elif t == "tostring":
                inner = ", ".join(f"{k}='{v}'" for k, v, _ in rec.fields)
                line = f"{f.recent():%Y-%m-%d %H:%M:%S.%f}"[:23] + f" DEBUG c.e.intake.Mapper - mapped Patient{{{inner}}}"
            elif t == "syslog_phrase":
                line = f"<131>{f.recent():%b %d %H:%M:%S} intake-{r.randint(1, 9)} app[{r.randint(100, 9999)}]: " + \
                    ", ".join(phrase(f, k, v) for _, v, k in rec.fields)
            else:
                line = ("java.lang.IllegalStateException: duplicate record for " +
                        ", ".join(phrase(f, k, v) for _, v, k in rec.fields) +
                        "\n\tat com.example.intake.Dedup.check(Dedup.java:88)\n\tat com.example.intake.Api.post(Api.java:41)")
        lines.insert(r.randint(0, len(lines)), line)
    else:
        if r.random() < 0.4:
            if f.fam == "train":
                v, why = f.invalid_ssn()
                lines.append(f"{f.iso_ts()} WARN validation rejected field=ssn reason={why} value={v}")
                t = "neg/invalid_ssn"
            else:
                first, last = f.name_parts()
                lines.append(f"{f.iso_ts()} INFO prescriber verified dea={f.dea(last)} npi={f.npi()} name=\"{first} {last}, MD\"")
                t = "neg/prescriber"
        else:
            if r.random() < 0.5:
                lines.append(f"{f.iso_ts()} INFO audit kinds=ssn,dob action=refused bytes={r.randint(100, 99999)} request_id={f.uuid()}")
                t = "neg/audit"
            else:
                lines.append(f"{f.iso_ts()} INFO identity check ok ssn={f.masked_ssn()} card={f.masked_card()} "
                             f"acct #={f.masked_account()} confirmation={f.confirmation()} device_imei={f.imei()}")
                t = "neg/masked"
        if not lines:
            lines = [clean_log_line(f)]
    if large:
        lines = place(lines, lambda: clean_log_line(f), large, where)
    return Sample("\n".join(lines) + "\n", pos, kinds, f"log/{f.fam}/{t}", "log", values)


# --------------------------------------------------------------------------------------------
# Prometheus text exposition
# --------------------------------------------------------------------------------------------


def prom_block(f: Faker) -> str:
    r = f.r
    name = r.choice(["http_requests_total", "process_resident_memory_bytes", "phimesh_inspected_bytes_total",
                     "grpc_server_handled_total", "node_network_receive_bytes_total", "http_request_duration_seconds"])
    out = [f"# HELP {name} Synthetic metric.", f"# TYPE {name} {'histogram' if 'seconds' in name else 'counter'}"]
    if "seconds" in name:
        acc = 0
        for le in ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"]:
            acc += r.randint(0, 10**6)
            out.append(f'{name}_bucket{{route="/v1/orders",le="{le}"}} {acc}')
        out.append(f'{name}_sum{{route="/v1/orders"}} {r.random() * 10**5:.3f}')
        out.append(f'{name}_count{{route="/v1/orders"}} {acc}')
    else:
        for _ in range(r.randint(1, 4)):
            lbl = r.choice([f'code="{r.choice([200, 404, 503])}",method="GET"', f'device="eth{r.randint(0, 3)}"',
                            f'pod="api-{f.hexhash(10)}-{f.hexhash(5)}"', f'kind="ssn",action="refused"'])
            ts = f" {f.epoch() * 1000}" if r.random() < 0.3 else ""
            val = r.randint(0, 99999) if "ssn" in lbl else r.randint(0, 10**10)
            out.append(f"{name}{{{lbl}}} {val}{ts}")
    return "\n".join(out)


def gen_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    blocks = [prom_block(f) for _ in range(r.randint(1, 6))]
    kinds: set = set()
    values: list = []
    t = "neg/plain"
    if pos:
        kl = pick_kinds(f, idx)[:2]
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        labels = ",".join(f'{k.replace("-", "_").replace(".", "_")}="{v}"' for k, v, _ in rec.fields)
        metric = "intake_errors_total" if f.fam == "train" else "claims_rejected_total"
        t = "label_leak"
        blocks.insert(r.randint(0, len(blocks)), f"# TYPE {metric} counter\n{metric}{{{labels}}} {r.randint(1, 40)}")
    if large:
        blocks = place(blocks, lambda: prom_block(f), large, where)
    return Sample("\n".join(blocks) + "\n", pos, kinds, f"prometheus/{f.fam}/{t}", "prom", values)


# --------------------------------------------------------------------------------------------
# Source code
# --------------------------------------------------------------------------------------------


def code_filler(f: Faker) -> str:
    r = f.r
    n = r.randint(1, 10**6)
    return r.choice([
        f"\nfn checksum_{n}(data: &[u8]) -> u32 {{\n    data.iter().fold(0x{f.hexhash(8)}u32, |a, b| a.rotate_left(5) ^ u32::from(*b))\n}}\n",
        f"\ndef handler_{n}(event, context):\n    request_id = \"{f.uuid()}\"\n    return {{\"statusCode\": 200, \"ts\": {f.epoch()}}}\n",
        f"\n// cache key salt, not a secret\nconst SALT_{n} = \"{f.b64(24)}\";\n",
        f"\nfunc TestOrder{n}(t *testing.T) {{\n\tif got := parseOrderID(\"{f.id9()}\"); got == 0 {{\n\t\tt.Fatal(\"zero\")\n\t}}\n}}\n",
    ])


def gen_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl = pick_kinds(f, idx)
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        if f.fam == "train":
            t = r.choice(["python_fixture", "sql"])
            if t == "python_fixture":
                body = "\n".join(f"    {json.dumps(k)}: {json.dumps(v)}," for k, v, _ in rec.fields)
                text = f"import pytest\n\n\n@pytest.fixture\ndef patient():\n    return {{\n{body}\n    }}\n"
            else:  # column = value pairs keep each keyword next to its value
                sets = ",\n    ".join(f"{k} = '{v}'" for k, v, _ in rec.fields)
                text = f"-- fix up the seed row\nUPDATE patients\nSET {sets}\nWHERE id = {r.randint(1, 999)};\n"
                t = "sql_update"
        else:
            t = r.choice(["rust_test", "js_mock", "yaml_seed"])
            if t == "rust_test":
                body = "\n".join(f"        {k.replace('-', '_').lower()}: {json.dumps(str(v))}.into()," for k, v, _ in rec.fields)
                text = f"#[test]\nfn maps_patient() {{\n    let p = Patient {{\n{body}\n    }};\n    assert!(p.is_valid());\n}}\n"
            elif t == "js_mock":
                body = "\n".join(f"  {json.dumps(k)}: {json.dumps(str(v))}," for k, v, _ in rec.fields)
                text = f"// mock response used by the e2e suite\nexport const patientMock = {{\n{body}\n}};\n"
            else:
                body = "\n".join(f"    {k}: \"{v}\"" for k, v, _ in rec.fields)
                text = f"patients:\n  - source: intake\n{body}\n"
    else:
        t = r.choice(["ssn_validator", "luhn_tests", "schema", "crypto"] if f.fam == "train"
                     else ["go_validator", "sql_schema", "npi_check", "js_util"])
        if t == "ssn_validator":
            bad = [f.invalid_ssn()[0] for _ in range(3)]
            text = ("def ssn_is_valid(ssn: str) -> bool:\n    area, group, serial = ssn[:3], ssn[4:6], ssn[7:]\n"
                    "    if area in ('000', '666') or area[0] == '9':\n        return False\n"
                    "    return group != '00' and serial != '0000'\n\n\n"
                    f"def test_rejects():\n    for ssn in {bad!r}:\n        assert not ssn_is_valid(ssn)\n")
        elif t == "luhn_tests":
            text = ("fn luhn(d: &str) -> bool { /* ... */ true }\n\n#[test]\nfn rejects_bad_check_digits() {\n"
                    + "".join(f"    assert!(!luhn(\"{f.luhn_bad16()}\"));\n" for _ in range(3)) + "}\n")
        elif t == "schema":
            text = ("CREATE TABLE patients (\n  id UUID PRIMARY KEY,\n  mrn VARCHAR(20) NOT NULL,\n  ssn CHAR(11),\n"
                    "  date_of_birth DATE NOT NULL,\n  email TEXT,\n  created_at TIMESTAMPTZ DEFAULT now()\n);\n"
                    "CREATE INDEX patients_mrn ON patients (mrn);\n")
        elif t == "crypto":
            text = (f"const KEY_ID: &str = \"{f.uuid()}\";\nconst DIGEST: &str = \"{f.hexhash()}\";\n"
                    f"const NONCE_B64: &str = \"{f.b64(12)}\";\nconst EPOCH: u64 = {f.epoch()};\n")
        elif t == "go_validator":
            text = ("// ValidMBI reports whether s follows the CMS MBI format.\nfunc ValidMBI(s string) bool {\n"
                    "\ts = strings.ReplaceAll(s, \"-\", \"\")\n\tif len(s) != 11 {\n\t\treturn false\n\t}\n"
                    "\treturn mbiRe.MatchString(s)\n}\n\nvar mbiRe = regexp.MustCompile(`^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d`)\n")
        elif t == "sql_schema":
            text = ("CREATE TABLE Members (\n  MemberNumber varchar(16) NOT NULL,\n  Birthdate date NOT NULL,\n"
                    "  SocialSecurityNo char(9) NULL,\n  PrimaryNPI char(10) NULL\n);\n"
                    f"-- migration {f.hexhash(12)} applied {f.epoch()}\n")
        elif t == "npi_check":
            text = ("def npi_ok(npi):\n    return len(npi) == 10 and luhn('80840' + npi)\n\n"
                    f"KNOWN_PROVIDERS = [{', '.join(repr(f.npi()) for _ in range(3))}]  # public NPPES data\n")
        else:
            text = (f"export function orderKey(id) {{\n  return `order:${{id}}:{f.hexhash(8)}`;\n}}\n"
                    f"export const BUILD = {{ sha: '{f.hexhash(40)}', at: {f.epoch()}, run: {f.id9()} }};\n")
        t = "neg/" + t
    if large:
        text = "".join(place([text], lambda: code_filler(f), large, where))
    return Sample(text, pos, kinds, f"source/{f.fam}/{t}", "txt", values)


# --------------------------------------------------------------------------------------------
# Evasions: gzip/zlib, JSON \\u escapes, percent-encoding
# --------------------------------------------------------------------------------------------


def gen_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = r.choice(["json", "fhir", "hl7", "csv", "note", "log"] if f.fam == "train"
                         else ["json", "fhir", "hl7", "csv", "note", "log", "form", "multipart"])
    inner = GEN[inner_fmt](f, idx, pos, large, where)
    how = r.choice(["gzip"] * 4 + ["zlib"]) if f.fam == "train" else r.choice(["gzip", "gzip", "zlib", "gzip_multimember"])
    if how == "gzip":
        data = gzip.compress(inner.data, compresslevel=r.choice([1, 6, 9]), mtime=0)
    elif how == "zlib":
        data = zlib.compress(inner.data, r.choice([1, 6, 9]))
    else:
        cut = len(inner.data) // 2
        data = gzip.compress(inner.data[:cut], mtime=0) + gzip.compress(inner.data[cut:], mtime=0)
    ext = inner.ext + (".gz" if how.startswith("gzip") else ".zz")
    return Sample(data, pos, inner.kinds, f"gzip/{f.fam}/{how}/" + inner.note, ext, inner.values)


def gen_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if f.fam == "train":
        esc = lambda s: esc_digits(s, upper=False)  # noqa: E731
        kesc = esc_default
        how = "digits"
    else:
        how = r.choice(["all_upper", "all_lower", "digits_upper"])
        if how == "digits_upper":
            esc, kesc = (lambda s: esc_digits(s, upper=True)), esc_default
        else:
            up = how == "all_upper"
            esc = kesc = (lambda s: esc_all(s, upper=up))
    if r.random() < 0.7:
        s = gen_json(f, idx, pos, large, where, esc=esc, kesc=kesc)
    else:
        s = gen_fhir(f, idx, pos, large, where, esc=esc)
    s.note = f"json_escape/{f.fam}/{how}/" + s.note
    if s.ext == "ndjson":
        s.ext = "json"
    return s


def pct_all(s: str, lower=False) -> str:
    return "".join(("%%%02x" if lower else "%%%02X") % b for b in s.encode())


_PCT_DIG = re.compile(r"%[0-9A-F]{2}|[0-9/ @-]")


def pct_digits(s: str) -> str:
    return _PCT_DIG.sub(lambda m: m.group(0) if len(m.group(0)) == 3 else "%%%02X" % ord(m.group(0)),
                        urllib.parse.quote(s, safe="/ @-"))


def gen_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl = pick_kinds(f, idx)
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        pairs = [(k, str(v)) for k, v, _ in rec.fields]
    else:
        tt = r.choice(["tracking", "search", "invalid_ssn", "provider"])
        if tt == "tracking":
            pairs = [("utm_source", "newsletter"), ("order_id", f.id9()), ("sid", f.uuid()), ("t", str(f.epoch()))]
        elif tt == "search":
            pairs = [("q", r.choice(CONDITIONS)), ("from", f.recent().date().isoformat()), ("ref", f.luhn_bad16())]
        elif tt == "invalid_ssn":
            pairs = [(f.kw("ssn"), f.invalid_ssn()[0]), ("check", "1")]
        else:
            pairs = [(f.kw("npi"), f.npi()), ("specialty", r.choice(PROVIDER_SPECIALTIES))]
    if f.fam == "train":
        how = r.choice(["query_digits", "form_digits"])
        enc = "&".join(f"{k}={pct_digits(v)}" for k, v in pairs)
        if how == "query_digits":
            text = f"GET /api/v1/lookup?{enc} HTTP/1.1\r\nHost: api.example.org\r\nAccept: */*\r\n\r\n"
        else:
            text = enc
    else:
        how = r.choice(["value_all", "url_lower", "path_segment", "wrapped_param"])
        if how == "value_all":
            text = "&".join(f"{k}={pct_all(v)}" for k, v in pairs)
        elif how == "url_lower":
            text = "https://portal.example.org/members/lookup?" + "&".join(f"{k}={pct_all(v, lower=True)}" for k, v in pairs) + "\n"
        elif how == "path_segment":
            text = "POST /v2/" + "/".join(f"{urllib.parse.quote(k)}/{pct_all(v)}" for k, v in pairs) + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        else:  # a whole query string passed as one (encoded) parameter value
            inner = "&".join(f"{k}={v}" for k, v in pairs)
            text = "redirect=" + urllib.parse.quote(inner, safe="") + "&state=" + f.hexhash(16)
    if large:
        pad = "&".join(f"f{i}={pct_digits(f.uuid())}" for i in range(large // 60))
        text = {"start": text + "&" + pad, "end": pad + "&" + text, "middle": pad[:len(pad) // 2].rsplit("&", 1)[0] + "&" + text + "&" + pad[len(pad) // 2:].split("&", 1)[-1]}[where]
    note = f"percent/{f.fam}/{how}" + ("" if pos else f"/neg/{tt}")
    return Sample(text, pos, kinds, note, "txt", values)


GEN = {
    "json": gen_json, "fhir": gen_fhir, "hl7": gen_hl7, "csv": gen_csv, "form": gen_form,
    "multipart": gen_multipart, "note": gen_note, "log": gen_log, "prometheus": gen_prometheus,
    "source": gen_source, "gzip": gen_gzip, "json_escape": gen_json_escape, "percent": gen_percent,
}


# --------------------------------------------------------------------------------------------
# The `fresh` family: a third, independent template set, written after train and holdout were
# tuned on and kept out of tuning. Envelopes, key spellings, phrasings and value formats follow
# what real hospital systems emit (Epic Clarity / Reporting Workbench and Cerner exports, FHIR
# with extensions, HL7 with Z-segments, escapes and batches, nginx / logback / Python logging /
# k8s JSON logs). Report its totals only; do not tune detectors on it.
# --------------------------------------------------------------------------------------------

NAMES["fresh"] = (
    "Marguerite Thaddeus Philippa Leopold Araceli Bronwyn Casimir Delphine Ezekiel Fiorella "
    "Gwendolyn Ignatius Juniper Lysander Magdalena Octavian Perpetua Ramona Solveig Tobias Ursula "
    "Wendeline Xavier Yolanda Zephyrine Agnieszka Benedikt Clementine Dashiell Esperanza".split(),
    "O'Sullivan McAllister Okoro Delgado-Ruiz Haverford Brannigan Castellano Dewhurst Esterhazy "
    "Fairweather Gutierrez Holloway Ingleby Jankowski Kingsley Lindgren Moreau Northcott Oyelaran "
    "Prendergast Quinlan Szymanski Trelawney Whitlock DeLuca MacGregor Abernethy Vasquez-Mora".split(),
)
STREETS["fresh"] = ["Orchard Hill Blvd", "Ferry Landing Rd", "Chestnut Sq", "Wolcott Pl", "Tamarack Cir"]
CITIES["fresh"] = [("Middletown", "CT"), ("Oak Park", "MI"), ("Bristol", "TN"), ("Hudson", "OH")]
KW["fresh"] = {
    "ssn": [["pat", "ssn"], ["social", "sec", "no"], ["ss", "num"], ["guarantor", "ssn"], ["ssn"]],
    "mbi": [["mbi", "id"], ["medicare", "bene", "id"], ["medicare", "no"], ["mbi"]],
    "mrn": [["pat", "mrn", "id"], ["enterprise", "mrn"], ["local", "mrn"], ["chart", "no"],
            ["med", "rec", "num"], ["mrn"]],
    "member_id": [["member", "id", "no"], ["subscriber", "no"], ["insurance", "id"],
                  ["plan", "subscriber", "id"], ["medicaid", "id"]],
    "account_number": [["hsp", "account", "id"], ["pt", "acct", "no"], ["fin", "number"],
                       ["account", "id"], ["billing", "acct", "no"]],
    "dob": [["birth", "dt"], ["pat", "dob"], ["dob", "date"], ["birth", "date"], ["dob"]],
    "credit_card": [["card", "num"], ["cc", "no"], ["credit", "card", "number"],
                    ["payment", "card", "number"]],
    "patient_email": [["pat", "email"], ["patient", "email", "addr"], ["patient", "e", "mail"]],
    "patient_phone": [["pat", "home", "phone"], ["patient", "phone", "no"],
                      ["patient", "contact", "phone"], ["patient", "cell", "phone"]],
    "patient_name": [["pat", "name"], ["patient", "nm"], ["patient", "display", "name"], ["pt", "name"]],
    "npi": [["attending", "npi"], ["ordering", "npi"], ["npi", "id"]],
    "dea": [["dea", "no"], ["prescriber", "dea", "number"]],
}
STYLES["fresh"] = ["upper", "camel", "pascal", "snake", "title"]
NEUTRAL_KEYS["fresh"] = [["ext", "id"], ["code"], ["alt", "id"], ["data"]]
NEUTRAL_PHRASES["fresh"] = ["alt id {v}", "code {v}", "{v} (verified)", "on file: {v}"]
PHRASES["fresh"] = {
    "ssn": ["SS#: {v}", "Soc Sec No. {v}", "social security number on file is {v}", "SSN - {v}"],
    "mbi": ["Medicare MBI: {v}", "new Medicare card number {v}", "MBI# {v}"],
    "mrn": ["MR#: {v}", "Med Rec #{v}", "Chart #: {v}", "EMR MRN {v}", "MRN# {v}"],
    "member_id": ["Ins ID: {v}", "Member ID#: {v}", "subscriber # {v}", "Policy #: {v}"],
    "account_number": ["Acct#: {v}", "Hosp Acct #: {v}", "FIN #: {v}", "visit acct no. {v}"],
    "dob": ["DOB {v}", "born {v}", "Birth Date: {v}", "D.O.B: {v}", "(DOB: {v})", "date of birth: {v}"],
    "credit_card": ["card # {v}", "paid by card {v}", "CC {v}"],
    "patient_email": ["Pt email: {v}", "patient's email is {v}", "patient email on file {v}"],
    "patient_phone": ["Pt phone: {v}", "patient can be reached at {v}", "Patient's cell {v}",
                      "pt callback # {v}"],
    "patient_name": ["Pt Name: {v}", "PATIENT: {v}", "Patient Name - {v}", "Pt: {v}"],
}


class FreshFaker(Faker):
    """Value formats of the fresh family."""

    def fmt_name(self, first, last):
        mi = self.r.choice("ABCDEFGHJKLMNPRSTVW")
        return self.r.choice([f"{last.upper()},{first.upper()}", f"{last.upper()}, {first.upper()} {mi}",
                              f"{first} {last}", f"{first} {mi}. {last}", f"{last}, {first} {mi}"])

    def email(self, first, last):
        dom = self.r.choice(["mychart-mail.example", "patientmail.example.com", "example.net"])
        return self.r.choice([f"{first.lower()}.{last.lower().replace(chr(39), '')}@{dom}",
                              f"{first[0].lower()}{last.lower().replace(chr(39), '')}{self.r.randint(1, 999)}@{dom}",
                              f"{first.lower()}_{self.r.randint(1940, 2005)}@{dom}"])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d} x{self.r.randint(10, 999)}",
                              f"+1 ({a}) {e}-{n:04d}", f"({a}){e}-{n:04d}", f"{a}{e}{n:04d}",
                              f"1-{a}-{e}-{n:04d}"])

    def fmt_date(self, d):
        return self.r.choice([d.strftime("%m/%d/%Y"), d.strftime("%m/%d/%y"), d.isoformat(),
                              d.strftime("%d %b %Y"), d.strftime("%b %d, %Y"),
                              d.strftime("%d-%b-%Y").upper(), d.strftime("%Y%m%d"),
                              d.isoformat() + "T00:00:00"])

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        opts = ["dash", "dash", "dash", "space", "bare"] if bare_ok else ["dash", "dash", "space"]
        o = self.r.choice(opts)
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        if dashed is None:
            dashed = self.r.random() < 0.3
        return super().mbi(dashed)

    def mrn(self):
        r = self.r
        return r.choice([f"{r.randint(1, 9999999):08d}", f"E{r.randint(1000000, 9999999)}",
                         f"MR{r.randint(100000, 999999)}", f"000{r.randint(100000000, 999999999)}",
                         str(r.randint(1000000, 9999999))])

    def member_id(self):
        r = self.r
        pre = "".join(r.choice("ABCDEFGHJKLMNPRSTUWXYZ") for _ in range(3))
        return r.choice([f"{pre}{r.randint(100000000, 999999999)}", f"M{r.randint(10**9, 10**10 - 1)}",
                         f"{pre[:2]}{r.randint(10**7, 10**8 - 1)}-{r.randint(1, 9):02d}"])

    def account(self):
        r = self.r
        return r.choice([str(r.randint(10**10, 10**11 - 1)), f"V{r.randint(10**7, 10**8 - 1)}",
                         f"{r.randint(100, 999)}-{r.randint(10**6, 10**7 - 1)}"])

    def card(self):
        r = self.r
        kind = r.choice(["visa", "mc", "mc2", "amex", "discover"])
        pre, n = {"visa": ("4", 16), "mc": (str(r.randint(51, 55)), 16),
                  "mc2": (str(r.randint(2221, 2720)), 16), "amex": (r.choice(["34", "37"]), 15),
                  "discover": (r.choice(["6011", "65"]), 16)}[kind]
        d = luhn_complete(pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1)))
        groups = [d[:4], d[4:10], d[10:]] if n == 15 else [d[i:i + 4] for i in range(0, n, 4)]
        return r.choice(["-", " ", "", ""]).join(groups)

    def masked_ssn(self):
        return self.r.choice([f"***-**-{self.r.randint(1, 9999):04d}", f"XXX-XX-{self.r.randint(1, 9999):04d}"])


def fresh_phrase(f: Faker, kind: str, v) -> str:
    r = f.r
    v = str(v)
    if kind in CONTEXT_FREE and r.random() < 0.2 and not (kind == "ssn" and v.isdigit()):
        f.flags.add(f"nokw:{kind}")
        return r.choice(NEUTRAL_PHRASES["fresh"]).format(v=v)
    t = r.choice(PHRASES["fresh"][kind])
    if r.random() < 0.15:
        t = t.upper().replace("{V}", "{v}")
    return t.format(v=v)


def fresh_kinds_record(f: Faker, idx: int):
    kinds = pick_kinds(f, idx)
    return kinds, patient_record(f, kinds, extras=False)


def fresh_clean_item(f: Faker) -> dict:
    r = f.r
    return {"sku": f"{r.choice(['GZ', 'BT', 'SUP'])}-{r.randint(10000, 99999)}", "onHand": r.randint(0, 900),
            "bin": f"{r.choice('ABCDEF')}{r.randint(1, 40)}-{r.randint(1, 9)}", "lastCount": f.iso_ts(),
            "vendorRef": f.id9(), "costCents": r.randint(50, 99999)}


def fresh_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, None])
    if pos:
        kinds, rec = fresh_kinds_record(f, idx)
        body = json_rec(rec)
        if r.random() < 0.2 and "npi" not in kinds:
            body[f.kw("npi")] = f.npi()
            rec.kinds.add("npi")
        t = r.choice(["graphql", "jsonapi", "odata", "es_hits", "hal", "batch_result"])
        if t == "graphql":
            doc = {"data": {r.choice(["patientByMrn", "memberLookup", "searchPerson"]): body},
                   "extensions": {"cost": {"requestedQueryCost": r.randint(1, 60)}}}
        elif t == "jsonapi":
            doc = {"data": {"type": r.choice(["patients", "members"]), "id": f.uuid(), "attributes": body},
                   "jsonapi": {"version": "1.0"}}
        elif t == "odata":
            doc = {"@odata.context": "https://ehr.example/odata/$metadata#Persons", "value": [body]}
        elif t == "es_hits":
            doc = {"took": r.randint(1, 90), "timed_out": False,
                   "hits": {"total": {"value": 1, "relation": "eq"},
                            "hits": [{"_index": f"intake-{f.recent():%Y.%m}", "_id": f.b64(12), "_score": 1.0,
                                      "_source": body}]}}
        elif t == "hal":
            doc = {"_links": {"self": {"href": f"/api/v3/people/{f.uuid()}"}}, "_embedded": {"people": [body]}}
        else:
            doc = {"batchId": f.uuid(), "results": [{"status": 200, "body": body}]}
        if large:
            doc = {"items": place([doc], lambda: fresh_clean_item(f), large, where)}
        return Sample(jdump(doc, indent, esc, kesc), True, rec.kinds, f"json/fresh/{t}/{f.style}", "json", rec.values)
    t = r.choice(["stripe_charge", "k8s_object", "provider_graphql", "appointments", "masked_payment",
                  "github_webhook", "ndc_catalog", "claim_status"])
    if t == "stripe_charge":
        doc = {"id": "ch_" + f.b64(18).replace("+", "x").replace("/", "y"), "object": "charge",
               "amount": r.randint(100, 99999), "currency": "usd", "customer": "cus_" + f.hexhash(14),
               "payment_method_details": {"card": {"brand": "visa", "last4": f"{r.randint(0, 9999):04d}",
                                                   "exp_month": r.randint(1, 12), "exp_year": r.randint(2025, 2031),
                                                   "fingerprint": f.b64(12)}, "type": "card"},
               "created": f.epoch(), "on_behalf_of": "acct_" + f.hexhash(16)}
    elif t == "k8s_object":
        doc = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"intake-api-{f.hexhash(10)}-{f.hexhash(5)}", "uid": f.uuid(),
                            "resourceVersion": f.id9(), "creationTimestamp": f.iso_ts()},
               "spec": {"containers": [{"name": "api", "image": f"registry.example/intake@sha256:{f.hexhash()}"}]},
               "status": {"phase": "Running", "podIP": f.ip(), "startTime": f.iso_ts()}}
    elif t == "provider_graphql":
        provs = []
        for _ in range(r.randint(1, 4)):
            first, last = f.name_parts()
            provs.append({"npi": f.npi(), "fullName": f"{first} {last}, MD", "phone": f.phone(),
                          "acceptingNewPatients": r.random() < 0.5, "specialty": r.choice(PROVIDER_SPECIALTIES)})
        doc = {"data": {"providerDirectory": {"results": provs}}}
    elif t == "appointments":
        doc = {"appointments": [{"id": f.uuid(), "dateOfService": f.recent().date().isoformat(),
                                 "start": f.iso_ts(), "status": "booked",
                                 "provider": {"npi": f.npi(), "display": f"Dr. {f.last()}"},
                                 "location": {"name": "North Campus", "phone": f.phone()}}
                                for _ in range(r.randint(1, 4))]}
    elif t == "masked_payment":
        doc = {"receipt": {"orderNo": f"ORD-{r.randint(100000, 9999999)}", "acct #": f"****{r.randint(0, 9999):04d}",
                           "card": f"XXXX-XXXX-XXXX-{r.randint(0, 9999):04d}", "ssnLast4": f"{r.randint(1, 9999):04d}",
                           "paidAt": f.iso_ts(), "total": f"{r.randint(1, 999)}.{r.randint(0, 99):02d}"}}
    elif t == "github_webhook":
        doc = {"action": "opened", "number": r.randint(1, 9999),
               "pull_request": {"id": f.id9(), "head": {"sha": f.hexhash(40)}, "created_at": f.iso_ts()},
               "repository": {"id": f.id9(), "full_name": "clinic-it/intake-api"}}
    elif t == "ndc_catalog":
        doc = {"products": [{"ndc": f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
                             "name": r.choice(MEDS), "lot": f.id9(), "expires": "2027-01-31"} for _ in range(r.randint(1, 5))]}
    else:
        doc = {"claimStatus": [{"claimNo": f"C{r.randint(10**8, 10**9 - 1)}", "dateOfService": f"{f.recent():%m/%d/%Y}",
                                "billed": round(r.random() * 900, 2), "payer": "Acme Health", "status": "pended"}
                               for _ in range(r.randint(1, 4))]}
    if large:
        doc = {"items": place([doc], lambda: fresh_clean_item(f), large, where)}
    return Sample(jdump(doc, indent, esc, kesc), False, [], f"json/fresh/neg/{t}", "json")


def fresh_patient(f: Faker, kinds: set, values: list) -> dict:
    r = f.r
    first, last = f.name_parts()
    birth = f.birth()
    kinds.update(["fhir_patient", "dob"])
    values.append(("dob", birth.isoformat()))
    ids = [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                  "code": "MR", "display": "Medical record number"}]},
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14", "value": f.mrn()}]
    if r.random() < 0.4:
        d = f.ssn_digits()
        v = f"{d[:3]}-{d[3:5]}-{d[5:]}"
        ids.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]},
                    "system": "http://hl7.org/fhir/sid/us-ssn", "value": v})
        kinds.add("ssn")
        values.append(("ssn", v))
    city, state = f.city()
    res = {"resourceType": "Patient", "id": f"e{f.hexhash(20)}",
           "meta": {"versionId": str(r.randint(1, 9)), "lastUpdated": f.iso_ts(),
                    "source": "#" + f.hexhash(16)},
           "extension": [
               {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                "extension": [{"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238",
                                                                     "code": "2106-3", "display": "White"}},
                              {"url": "text", "valueString": "White"}]},
               {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                "valueString": r.choice(NAMES["fresh"][1])}],
           "identifier": ids, "active": True,
           "name": [{"use": "official", "text": f"{first} {last}", "family": last, "given": [first],
                     "period": {"start": "2010-01-01"}}],
           "telecom": [{"system": "phone", "value": f.phone(), "use": "home", "rank": 1}],
           "gender": r.choice(["female", "male"]),
           "birthDate": birth.isoformat(),
           "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                         "valueDateTime": birth.isoformat() + "T08:30:00-05:00"}]},
           "address": [{"use": "home", "line": [f.street()], "city": city, "state": state,
                        "postalCode": f.zipcode(), "country": "US"}],
           "generalPractitioner": [{"reference": f"Practitioner/{f.hexhash(12)}", "display": f"Dr. {f.last()}"}]}
    if r.random() < 0.5:
        res["maritalStatus"] = {"text": r.choice(["Married", "Single"])}
    return res


def fresh_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2])
    kinds: set = set()
    values: list = []
    filler = lambda: {"fullUrl": f"https://fhir.example.org/r4/Device/{f.hexhash(10)}",  # noqa: E731
                      "resource": fresh_fhir_neg_resource(f)}
    if pos:
        t = r.choice(["patient_ext", "document_bundle", "history_bundle", "claim_display", "encounter_display",
                      "batch_response"])
        if t == "patient_ext":
            doc = fresh_patient(f, kinds, values)
        elif t == "document_bundle":
            p = fresh_patient(f, kinds, values)
            comp = {"resourceType": "Composition", "status": "final", "type": {"text": "Discharge summary"},
                    "subject": {"reference": f"urn:uuid:{f.uuid()}"}, "date": f.iso_ts(), "title": "Discharge summary"}
            doc = {"resourceType": "Bundle", "type": "document", "timestamp": f.iso_ts(),
                   "entry": [{"fullUrl": f"urn:uuid:{f.uuid()}", "resource": comp},
                             {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": p}]}
        elif t == "history_bundle":
            p = fresh_patient(f, kinds, values)
            doc = {"resourceType": "Bundle", "type": "history", "total": 1,
                   "entry": [{"fullUrl": f"https://fhir.example.org/r4/Patient/{p['id']}", "resource": p,
                              "request": {"method": "PUT", "url": f"Patient/{p['id']}"},
                              "response": {"status": "200", "lastModified": f.iso_ts()}}]}
        elif t == "batch_response":
            ents = []
            for _ in range(r.randint(1, 3)):
                ents.append({"resource": fresh_patient(f, kinds, values),
                             "response": {"status": "201 Created", "etag": 'W/"1"'}})
            doc = {"resourceType": "Bundle", "type": "batch-response", "entry": ents}
        else:
            first, last = f.name_parts()
            name = f"{first} {last}"
            if t == "claim_display":
                doc = {"resourceType": "Claim", "status": "active", "use": "claim", "created": f.iso_ts(),
                       "patient": {"reference": f"Patient/{f.hexhash(12)}", "display": name},
                       "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}},
                       "priority": {"coding": [{"code": "normal"}]},
                       "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/{f.hexhash(8)}"}}],
                       "total": {"value": round(r.random() * 900, 2), "currency": "USD"}}
            else:
                doc = {"resourceType": "Encounter", "status": "finished",
                       "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                       "subject": {"reference": f"Patient/{f.hexhash(12)}", "display": name},
                       "period": {"start": f.iso_ts(), "end": f.iso_ts()}}
            kinds.add("patient_name")
            values.append(("patient_name", name))
        if large:
            if doc["resourceType"] != "Bundle":
                doc = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": doc}]}
            doc["entry"] = place(doc["entry"], filler, large, where)
        s = Sample(jdump(doc, indent, esc), True, kinds, f"fhir/fresh/{t}", "json", values)
    else:
        t = r.choice(["search_parameter", "group", "device", "org_bundle", "practitioner_ext", "measure_report",
                      "subscription"])
        if t == "org_bundle":
            doc = {"resourceType": "Bundle", "type": "searchset",
                   "entry": [{"resource": fresh_fhir_neg_resource(f, "Organization")} for _ in range(r.randint(1, 4))]}
        else:
            doc = fresh_fhir_neg_resource(f, {"search_parameter": "SearchParameter", "group": "Group", "device": "Device",
                                              "practitioner_ext": "Practitioner", "measure_report": "MeasureReport",
                                              "subscription": "Subscription"}[t])
        if large:
            if doc["resourceType"] != "Bundle":
                doc = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": doc}]}
            doc["entry"] = place(doc["entry"], filler, large, where)
        s = Sample(jdump(doc, indent, esc), False, [], f"fhir/fresh/neg/{t}", "json")
    if esc is esc_default and r.random() < 0.25:
        s.data = fhir_xml(json.loads(s.data)).encode()
        s.ext = "xml"
        s.note += "/xml"
    return s


def fresh_fhir_neg_resource(f: Faker, t=None) -> dict:
    r = f.r
    t = t or r.choice(["Device", "Organization", "Practitioner"])
    if t == "SearchParameter":
        return {"resourceType": "SearchParameter", "url": "http://example.org/fhir/SearchParameter/pat-birthdate",
                "name": "birthdate", "status": "active", "code": "birthdate", "base": ["Patient"], "type": "date",
                "expression": "Patient.birthDate", "description": "The patient's date of birth"}
    if t == "Group":
        return {"resourceType": "Group", "id": f.hexhash(10), "type": "person", "actual": False,
                "name": "Diabetes registry cohort definition",
                "characteristic": [{"code": {"text": "condition"}, "valueCodeableConcept": {"text": "type 2 diabetes"},
                                    "exclude": False}], "quantity": r.randint(10, 9000)}
    if t == "Device":
        return {"resourceType": "Device", "id": f.hexhash(10), "status": "active",
                "udiCarrier": [{"deviceIdentifier": f"0{r.randint(10**12, 10**13 - 1)}",
                                "carrierHRF": f"(01)0{r.randint(10**12, 10**13 - 1)}(17)270101(10){f.hexhash(6).upper()}"}],
                "lotNumber": f.hexhash(8).upper(), "serialNumber": f.hexhash(12).upper(),
                "manufactureDate": f"{f.recent():%Y-%m-%d}", "expirationDate": "2027-01-01"}
    if t == "Organization":
        return {"resourceType": "Organization", "id": f.hexhash(10), "active": True,
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()},
                               {"system": "urn:oid:2.16.840.1.113883.4.4", "value": f"{r.randint(10, 99)}-{r.randint(10**6, 10**7 - 1)}"}],
                "name": f"{f.last()} Medical Group", "telecom": [{"system": "phone", "value": f.phone()}]}
    if t == "Practitioner":
        first, last = f.name_parts()
        return {"resourceType": "Practitioner", "id": f.hexhash(10),
                "extension": [{"url": "http://example.org/fhir/StructureDefinition/accepting-patients", "valueBoolean": True}],
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "name": [{"family": last, "given": [first], "suffix": ["MD"]}],
                "telecom": [{"system": "phone", "value": f.phone(), "use": "work"}]}
    if t == "MeasureReport":
        return {"resourceType": "MeasureReport", "status": "complete", "type": "summary",
                "measure": "http://example.org/fhir/Measure/cms122", "date": f.iso_ts(),
                "period": {"start": "2024-01-01", "end": "2024-12-31"},
                "group": [{"population": [{"code": {"text": "denominator"}, "count": r.randint(100, 9000)},
                                          {"code": {"text": "numerator"}, "count": r.randint(1, 99)}]}]}
    return {"resourceType": "Subscription", "status": "active", "reason": "Lab results feed",
            "criteria": "Observation?code=http://loinc.org|2345-7",
            "channel": {"type": "rest-hook", "endpoint": "https://hooks.example.org/fhir", "payload": "application/fhir+json",
                        "header": [f"Authorization: Bearer {f.b64(30)}"]}}


def fresh_hl7_escape(s: str) -> str:
    return s.replace("\\", "\\E\\").replace("&", "\\T\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("~", "\\R\\")


def fresh_pid(f: Faker, kinds: set, values: list) -> str:
    r = f.r
    first, last = f.name_parts()
    b = f.birth()
    city, state = f.city()
    kinds.add("hl7_pid")
    values.append(("hl7_pid", "PID|"))
    d = f.ssn_digits()
    ssn = r.choice(["", d, f"{d[:3]}-{d[3:5]}-{d[5:]}"])
    if "-" in ssn:
        kinds.add("ssn")
        values.append(("ssn", ssn))
    pid3 = f"{f.mrn()}^^^EPIC^MRN" + (f"~{f.hexhash(8).upper()}^^^ENTERPRISE^PI" if r.random() < 0.5 else "")
    street = fresh_hl7_escape(f"{f.street()} {r.choice(['', 'Apt 4 & 5', 'Unit B'])}".strip())
    name = f"{last.upper()}^{first.upper()}^{r.choice('ABCDEJKLM')}^^^^L"
    pid1 = r.choice(["1", "", "0001"])
    acct = r.choice(["", f"{f.account()}^^^EPIC^AN"])
    return (f"PID|{pid1}||{pid3}||{name}||{b:%Y%m%d}|{r.choice('FMU')}|||{street}^^{city}^{state}^{f.zipcode()}^US^P||"
            f"^PRN^PH^^^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}|||||{acct}|{ssn}")


def fresh_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    eol = r.choice(["\r", "\r", "\r\n", "\n"])
    enc = r.choice(["^~\\&", "^~\\&", "^~\\&#"])
    kinds: set = set()
    values: list = []

    def msh(typ):
        return (f"MSH|{enc}|{r.choice(['EPIC', 'SOARIAN', 'MEDITECH'])}|{r.choice(['NCH', 'MMC^2.16.840.1.113883.3.99^ISO'])}"
                f"|{r.choice(['RHAPSODY', 'CLOVERLEAF', 'MIRTH'])}|PHIMESH|{hl7_ts(f)}||{typ}|{f.hexhash(20).upper()}|P|2.{r.choice('3457')}")

    def neg_msg():
        t = r.choice(["mfn_staff", "mfn_cdm", "ack", "mfn_loc", "nmd"])
        segs = []
        if t == "mfn_staff":
            segs += [msh("MFN^M02"), "MFI|STF^Staff Master^HL70175||UPD|||AL"]
            for _ in range(r.randint(1, 3)):
                first, last = f.name_parts()
                sid = f.hexhash(6).upper()
                segs.append(f"MFE|MUP|{r.randint(100, 999)}|{hl7_ts(f)}|{sid}|CE")
                segs.append(f"STF|{sid}|{f.npi()}^^^NPI~{sid}^^^LOCAL|{last.upper()}^{first.upper()}^^^DR|P|"
                            f"{r.choice('FM')}|{f.birth():%Y%m%d}|A|||{f.phone()}^WPN^PH")
                segs.append(f"PRA|{sid}|^{r.choice(PROVIDER_SPECIALTIES)}|ST|I||{f.npi()}^NPI")
        elif t == "mfn_cdm":
            segs += [msh("MFN^M04"), "MFI|CDM^Charge Description Master^HL70175||UPD|||NE"]
            for _ in range(r.randint(1, 4)):
                code = r.randint(10**7, 10**8 - 1)
                segs.append(f"MFE|MAD|{r.randint(100, 999)}|{hl7_ts(f)}|{code}|CE")
                segs.append(f"CDM|{code}|{code}^{fresh_hl7_escape('X-RAY CHEST 2V & LAT')}|||{r.choice(['71046', '80048', '99213'])}")
                segs.append(f"PRC|{code}|MAIN|||||{r.randint(10, 999)}.{r.randint(0, 99):02d}")
        elif t == "ack":
            segs += [msh("ACK^A08^ACK"), f"MSA|AA|{f.hexhash(20).upper()}|Message accepted"]
        elif t == "mfn_loc":
            segs += [msh("MFN^M05"), "MFI|LOC^Location Master^HL70175||UPD|||AL"]
            for _ in range(r.randint(1, 3)):
                segs.append(f"LOC|MAIN^{r.randint(100, 499)}^{r.randint(1, 4)}|{fresh_hl7_escape('Med/Surg & Tele')}|N|||{f.phone()}")
        else:
            segs += [msh("NMD^N02"), f"NCK|{hl7_ts(f)}", f"NST|Y||{r.randint(100, 999)}|{r.randint(1000, 9999)}"]
        return segs, t

    if pos:
        t = r.choice(["adt_a28", "adt_a31", "mdm_t02", "oru_lab", "bar_p01", "rde_o11", "batch_a04"])
        typ = {"adt_a28": "ADT^A28^ADT_A05", "adt_a31": "ADT^A31^ADT_A05", "mdm_t02": "MDM^T02^MDM_T02",
               "oru_lab": "ORU^R01^ORU_R01", "bar_p01": "BAR^P01^BAR_P01", "rde_o11": "RDE^O11^RDE_O11",
               "batch_a04": "ADT^A04^ADT_A01"}[t]
        segs = [msh(typ)]
        if r.random() < 0.5:
            segs.append(f"SFT|Epic Systems Corporation^L^^^^ANSI&1.2.840&ISO^XX^^^1.2.840.114350|2023|Bridges|{f.hexhash(6)}")
        segs.append(f"EVN|{typ[4:7]}|{hl7_ts(f)}|||{r.randint(1000, 9999)}^{f.last().upper()}^{f.first().upper()}")
        segs.append(fresh_pid(f, kinds, values))
        if r.random() < 0.5:
            segs.append(f"PD1|||{fresh_hl7_escape('North Campus Primary Care & Peds')}^^{r.randint(100, 999)}")
        if r.random() < 0.5:
            nf, nl = f.name_parts()
            segs.append(f"NK1|1|{nl.upper()}^{nf.upper()}|SPO^Spouse^HL70063||^PRN^PH^^^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}")
        segs.append(f"PV1|1|{r.choice('IOE')}|MAIN^{r.randint(100, 499)}^1||||{f.npi()}^{f.last().upper()}^{f.first().upper()}^^^^^^NPI")
        if t in ("adt_a28", "adt_a31", "bar_p01"):
            gf, gl = f.name_parts()
            segs.append(f"IN1|1|{r.randint(100, 999)}^PPO|{r.randint(10000, 99999)}|ACME HEALTH PLAN||||GRP{r.randint(1000, 9999)}")
            if r.random() < 0.5:
                gd = f.ssn_digits()
                gssn = f"{gd[:3]}-{gd[3:5]}-{gd[5:]}"
                segs.append(f"GT1|1||{gl.upper()}^{gf.upper()}||{f.street()}^^{f.city()[0]}||||||SEL|{gssn}")
                kinds.add("ssn")
                values.append(("ssn", gssn))
        if t == "mdm_t02":
            segs.append(f"TXA|1|DS|TX|{hl7_ts(f)}|||||||{f.hexhash(10)}||||||AU")
            segs.append("OBX|1|TX|DS^Discharge summary||" + fresh_hl7_escape(f"Pt stable & ambulating; f/u 2 wks") + "\\.br\\Diet as tolerated||||||F")
        elif t == "oru_lab":
            segs.append(f"ORC|RE|{f.hexhash(8).upper()}|{f.hexhash(8).upper()}")
            segs.append(f"OBR|1|{f.hexhash(8).upper()}||80048^BMP^C4|||{hl7_ts(f)}")
            for i in range(r.randint(1, 5)):
                segs.append(obx(f, i + 1))
            segs.append("NTE|1|L|" + fresh_hl7_escape("Specimen slightly hemolyzed; K+ may be elevated ^ repeat"))
        elif t == "rde_o11":
            segs.append(f"ORC|NW|{f.hexhash(8).upper()}")
            segs.append(f"RXE|^^^{hl7_ts(f)}|{r.randint(10000, 99999)}^{r.choice(MEDS)}^NDC|1||TAB")
        elif t == "bar_p01":
            segs.append(f"DG1|1||E11.9^Type 2 diabetes mellitus without complications^I10|||F")
        if r.random() < 0.4:
            segs.append(f"ZPD|1|{r.choice(['Y', 'N'])}|{fresh_hl7_escape('MyChart active')}")
        msgs = [segs]
    else:
        segs, t = neg_msg()
        msgs = [segs]
    if large:
        msgs = place(msgs, lambda: neg_msg()[0], large, where, unit_len=lambda m: sum(len(s) + 1 for s in m))
    batch = t == "batch_a04" or r.random() < 0.2
    out = []
    if batch:
        out.append(f"FHS|{enc}|EPIC|NCH|||{hl7_ts(f)}" + eol + f"BHS|{enc}|EPIC|NCH|||{hl7_ts(f)}" + eol)
    for m in msgs:
        out.append(eol.join(m) + eol)
    if batch:
        out.append(f"BTS|{len(msgs)}" + eol + "FTS|1" + eol)
    mllp = not batch and r.random() < 0.25
    text = "".join(out)
    if mllp:
        text = "\x0b" + text + "\x1c\r"
    note = f"hl7/fresh/{'' if pos else 'neg/'}{t}" + ("/batch" if batch else "") + ("/mllp" if mllp else "")
    return Sample(text, pos, kinds, note, "hl7", values)


CLARITY = {"ssn": "SSN", "mbi": "MEDICARE_NUM", "mrn": "PAT_MRN_ID", "member_id": "MEM_NUMBER",
           "account_number": "HSP_ACCOUNT_ID", "dob": "BIRTH_DATE", "credit_card": "CARD_NUMBER",
           "patient_email": "EMAIL_ADDRESS", "patient_phone": "HOME_PHONE", "patient_name": "PAT_NAME"}
TITLE = {"ssn": "SSN", "mbi": "Medicare MBI", "mrn": "MRN", "member_id": "Insurance Member ID",
         "account_number": "Account #", "dob": "Date of Birth", "credit_card": "Card Number",
         "patient_email": "Patient Email", "patient_phone": "Patient Phone", "patient_name": "Patient Name"}
CERNER = {"ssn": "SSN_ALIAS", "mbi": "MBI_ALIAS", "mrn": "MRN", "member_id": "SUBS_MEMBER_NBR",
          "account_number": "FIN_NBR", "dob": "BIRTH_DT_TM", "credit_card": "CC_NBR",
          "patient_email": "PATIENT_EMAIL", "patient_phone": "PATIENT_PHONE", "patient_name": "PATIENT_NAME_FULL"}


def fresh_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    dialect = r.choice(["clarity", "title", "cerner", "preamble"])
    delim = {"clarity": ",", "title": ",", "cerner": "|", "preamble": r.choice([",", "\t"])}[dialect]
    quote_all = dialect == "title"
    eol = r.choice(["\r\n", "\n"])
    bom = dialect == "title" and r.random() < 0.5
    kinds: set = set()
    values: list = []
    pre = ""
    if dialect == "preamble":
        pre = (f"{r.choice(['Daily Census Report', 'Registration Extract', 'Worklist Export'])}{eol}"
               f"Run Date: {f.recent():%m/%d/%Y %H:%M}{eol}Facility: North Campus{eol}{eol}")
    if pos:
        kl = pick_kinds(f, idx)
        names = {"clarity": CLARITY, "title": TITLE, "cerner": CERNER, "preamble": TITLE}[dialect]
        header = [{"clarity": "PAT_ID", "title": "Patient ID", "cerner": "PERSON_ID", "preamble": "Patient ID"}[dialect]]
        header += [names[k] for k in kl] + [{"clarity": "ZIP", "title": "Zip", "cerner": "ZIPCODE", "preamble": "Visit Reason"}[dialect]]
        rows = []
        for _ in range(r.randint(1, 8)):
            person = f.name_parts()
            row = [f"Z{r.randint(100000, 999999)}"]
            for k in kl:
                v = ident_value(f, k, person)
                if k == "dob" and dialect == "cerner":
                    v = f.birth().strftime("%d-%b-%Y").upper() + " 00:00:00"
                row.append(v)
                values.append((k, v))
            row.append(f.zipcode() if dialect != "preamble" else r.choice(CONDITIONS))
            rows.append(row)
        kinds.update(kl)
        text = pre + csv_text(header, rows, delim, quote_all, eol, bom)
        return Sample(text, True, kinds, f"csv/fresh/{dialect}/{'+'.join(kl)}", "csv", values)
    t = r.choice(["provider_roster", "inventory", "slots", "payments_masked", "gl_export", "ndc_list"])
    if t == "provider_roster":
        header = ["Provider Name", "NPI", "Specialty", "Office Phone", "Fax", "Address"]
        rows = []
        for _ in range(r.randint(2, 10)):
            first, last = f.name_parts()
            rows.append([f"{last}, {first} MD", f.npi(), r.choice(PROVIDER_SPECIALTIES), f.phone(), f.phone(),
                         f"{f.street()}, {f.city()[0]}"])
    elif t == "inventory":
        header = ["SKU", "On Hand", "Bin", "Last Count", "Vendor Ref"]
        rows = [[x["sku"], x["onHand"], x["bin"], x["lastCount"], x["vendorRef"]] for x in
                (fresh_clean_item(f) for _ in range(r.randint(2, 12)))]
    elif t == "slots":
        header = ["Slot ID", "Provider", "Date of Service", "Start", "End", "Location Phone"]
        rows = [[f.hexhash(8), f"Dr. {f.last()}", f"{f.recent():%m/%d/%Y}", "09:00", "09:20", f.phone()]
                for _ in range(r.randint(2, 10))]
    elif t == "payments_masked":
        header = ["Txn ID", "Date", "Amount", "Card", "Acct #", "Status"]
        rows = [[f.hexhash(12), f"{f.recent():%Y-%m-%d}", f"{r.randint(1, 999)}.{r.randint(0, 99):02d}",
                 f"XXXX-XXXX-XXXX-{r.randint(0, 9999):04d}", f"****{r.randint(0, 9999):04d}", "settled"]
                for _ in range(r.randint(2, 10))]
    elif t == "gl_export":
        header = ["Account", "Description", "Debit", "Credit", "Period"]
        rows = [[f"{r.randint(1000, 9999)}-{r.randint(100, 999)}", r.choice(["Supplies", "Payroll", "Rent"]),
                 f"{r.randint(0, 99999)}.00", "0.00", f"2024-{r.randint(1, 12):02d}"] for _ in range(r.randint(2, 12))]
    else:
        header = ["NDC", "Description", "Package", "Lot", "Expiry"]
        rows = [[f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}", r.choice(MEDS), "100 EA",
                 f.hexhash(6).upper(), "2027-03-31"] for _ in range(r.randint(2, 10))]
    if large:
        src = rows
        rows = place(rows, lambda: list(r.choice(src)), large, where, unit_len=lambda x: 60)
    return Sample(pre + csv_text(header, rows, delim, quote_all, eol, bom), False, [], f"csv/fresh/neg/{t}", "csv")


def fresh_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        kinds, rec = fresh_kinds_record(f, idx)
        t = r.choice(["aspnet", "rails_nested", "spring_dotted", "json_in_form"])
        if t == "aspnet":
            pairs = [("__VIEWSTATE", f.b64(90)), ("__EVENTVALIDATION", f.b64(40))]
            pairs += [(f"ctl00$MainContent$txt{style_key(k.replace('.', ' ').replace('_', ' ').replace('-', ' ').split(), 'pascal')}", v)
                      for k, v, _ in rec.fields]
            pairs.append(("ctl00$MainContent$btnSave", "Save"))
        elif t == "rails_nested":
            pairs = [("authenticity_token", f.b64(32))] + [(f"registration[patient][{k}]", v) for k, v, _ in rec.fields] + \
                [("commit", "Continue")]
        elif t == "spring_dotted":
            pairs = [("_csrf", f.uuid())] + [(f"intake.patient.{k}", v) for k, v, _ in rec.fields]
        else:
            pairs = [("payload", json.dumps({k: v for k, v, _ in rec.fields})), ("source", "kiosk")]
        return Sample(form_encode(pairs, f), True, rec.kinds, f"form/fresh/{t}/{f.style}", "txt", rec.values)
    t = r.choice(["aspnet_login", "checkout_masked", "dos_search", "provider_search", "survey"])
    if t == "aspnet_login":
        pairs = [("__VIEWSTATE", f.b64(90)), ("ctl00$Main$txtUser", "frontdesk" + str(r.randint(1, 99))),
                 ("ctl00$Main$txtPassword", f.b64(9)), ("ctl00$Main$btnLogin", "Sign in")]
    elif t == "checkout_masked":
        pairs = [("order_no", f.id9()), ("card_last4", f"{r.randint(0, 9999):04d}"), ("acct_hint", f"****{r.randint(0, 9999):04d}"),
                 ("exp", f"{r.randint(1, 12):02d}/{r.randint(25, 31)}"), ("amount", f"{r.randint(1, 999)}.00")]
    elif t == "dos_search":
        pairs = [("dos_from", f"{f.recent():%m/%d/%Y}"), ("dos_to", f"{f.recent():%m/%d/%Y}"), ("status", "open"),
                 ("page", r.randint(1, 9))]
    elif t == "provider_search":
        pairs = [("npi", f.npi()), ("last_name", f.last()), ("taxonomy", "207R00000X"), ("zip", f.zipcode())]
    else:
        pairs = [("q1", r.randint(1, 5)), ("q2", r.randint(1, 5)), ("comments", "Front desk was friendly"),
                 ("visit_date", f"{f.recent():%Y-%m-%d}")]
    return Sample(form_encode(pairs, f), False, [], f"form/fresh/neg/{t}", "txt")


def fresh_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    style = r.choice(["curl", "requests", "java", "go"])
    boundary = {"curl": "-" * 24 + f.hexhash(16), "requests": f.hexhash(32),
                "java": "----" + f.b64(24).replace("+", "x").replace("/", "y").replace("=", ""),
                "go": f.hexhash(60)}[style]
    eol = "\r\n"
    parts = []
    kinds: set = set()
    values: list = []

    def field(name, value):
        h = [f'Content-Disposition: form-data; name="{name}"']
        if style == "java":
            h += ["Content-Type: text/plain; charset=ISO-8859-1", "Content-Transfer-Encoding: 8bit"]
        parts.append((h, str(value).encode()))

    def file(name, fname, ctype, data):
        parts.append(([f'Content-Disposition: form-data; name="{name}"; filename="{fname}"', f"Content-Type: {ctype}"], data))

    if pos:
        if r.random() < 0.5:
            kinds_l, rec = fresh_kinds_record(f, idx)
            for k, v, _ in rec.fields:
                field(k, v)
            kinds |= rec.kinds
            values += rec.values
            t = "fields"
        else:
            g = r.choice([fresh_csv, fresh_hl7, fresh_json, fresh_note])
            inner = g(f, idx, True, 0, where)
            kinds |= set(inner.kinds)
            values += inner.values
            field("documentType", r.choice(["referral", "registration", "batch"]))
            ctype = {"csv": "text/csv", "hl7": "application/hl7-v2", "json": "application/json", "txt": "text/plain"}[inner.ext]
            file("upload", f"export.{inner.ext}", ctype, inner.data)
            t = "file:" + inner.ext
    else:
        t = r.choice(["image", "pdf", "roster_csv", "config_json", "zip"])
        field("comment", r.choice(["site photo", "signed policy", "weekly roster"]))
        if t == "image":
            file("photo", "IMG_0412.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(r.getrandbits(8) for _ in range(r.randint(300, 4000))))
        elif t == "pdf":
            file("doc", "policy.pdf", "application/pdf", b"%PDF-1.7\n" + bytes(r.getrandbits(8) for _ in range(r.randint(300, 4000))))
        elif t == "roster_csv":
            file("roster", "roster.csv", "text/csv", fresh_csv(f, idx, False, 0, where).data)
        elif t == "config_json":
            file("settings", "settings.json", "application/json",
                 jdump({"pollSeconds": 30, "apiKey": f.b64(30), "build": f.hexhash(40)}).encode())
        else:
            file("bundle", "logs.zip", "application/zip", b"PK\x03\x04" + bytes(r.getrandbits(8) for _ in range(r.randint(300, 3000))))
    if large:
        big = ([f'Content-Disposition: form-data; name="attachment"; filename="scan.tif"', "Content-Type: image/tiff"],
               b"II*\x00" + bytes(r.getrandbits(8) for _ in range(large)))
        parts.insert({"start": 0, "end": len(parts), "middle": len(parts) // 2}[where], big)
    out = bytearray()
    for h, data in parts:
        out += f"--{boundary}{eol}".encode()
        for line in h:
            out += f"{line}{eol}".encode()
        out += eol.encode() + data + eol.encode()
    out += f"--{boundary}--{eol}".encode()
    return Sample(bytes(out), pos, kinds, f"multipart/fresh/{style}/{'' if pos else 'neg/'}{t}", "txt", values)


def fresh_clinical(f: Faker) -> str:
    r = f.r
    return (f"HPI: {r.randint(19, 94)} y/o {r.choice(['M', 'F'])} w/ hx of {r.choice(CONDITIONS)} presents with "
            f"{r.choice(['SOB', 'CP', 'fever x3d', 'LE edema'])}. Meds: {r.choice(MEDS)}.\n"
            f"PE: afebrile, RRR, CTAB. Labs: Na {r.randint(130, 145)}, K {r.randint(33, 52) / 10}, Cr {r.randint(6, 20) / 10}.\n"
            f"A/P: {r.choice(CONDITIONS)} - {r.choice(['continue current tx', 'titrate', 'consult placed'])}.\n")


def fresh_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    pf, pl = f.name_parts()
    doc = f"{f.first()} {f.last()}"
    if pos:
        kl = pick_kinds(f, idx)
        ids = []
        for k in kl:
            v = ident_value(f, k, (pf, pl))
            ids.append(fresh_phrase(f, k, v))
            values.append((k, v))
        kinds.update(kl)
        t = r.choice(["radiology", "hp", "ed_triage", "portal_message", "op_report"])
        if t == "radiology":
            text = ("\n".join(ids) + f"\nEXAM: CT CHEST W/O CONTRAST\nORDERING: {doc}, MD\n\nFINDINGS: No acute "
                    "cardiopulmonary process.\nIMPRESSION: Negative.\n")
        elif t == "hp":
            text = ("HISTORY AND PHYSICAL\n" + " | ".join(ids) + "\n\n" + fresh_clinical(f) + f"\n{doc}, MD\n")
        elif t == "ed_triage":
            text = (f"ED TRIAGE {f.recent():%m/%d/%Y %H%M}: " + "; ".join(ids) + f". CC: {r.choice(['chest pain', 'fall'])}. "
                    f"ESI {r.randint(1, 5)}.\n")
        elif t == "portal_message":
            text = (f"Subject: refill request\n\nHello Dr. {doc.split()[-1]}, I need a refill of {r.choice(MEDS)}. "
                    + " ".join(i + "." for i in ids) + " Thank you!\n")
        else:
            text = ("OPERATIVE REPORT\n" + "\n".join(ids) + f"\nPROCEDURE: laparoscopic cholecystectomy\nSURGEON: {doc}, MD\n"
                    "EBL: minimal. Complications: none.\n")
    else:
        t = r.choice(["grand_rounds", "policy", "provider_memo", "deid_case", "reminder_template", "instructions"])
        if t == "grand_rounds":
            text = (f"Grand rounds: {r.choice(CONDITIONS)} update. Speaker: {doc}, MD. Thursday 7:30 AM, Auditorium B. "
                    "CME credit available.\n")
        elif t == "policy":
            text = ("Policy 4.12 Patient identification: staff verify two identifiers (name and DOB) before every "
                    "procedure. Never write the SSN, MRN or acct # in e-mail. Report exceptions to Compliance.\n")
        elif t == "provider_memo":
            text = (f"Memo: {doc}, MD (NPI {f.npi()}) will cover the clinic from {f.recent():%m/%d/%Y}. Pages: {f.phone()}.\n")
        elif t == "deid_case":
            text = "DE-IDENTIFIED CASE\n" + fresh_clinical(f)
        elif t == "reminder_template":
            text = ("Hi ${patient.firstName}, your appointment with ${provider.name} is on ${appt.date}. "
                    "Bring your insurance card and photo ID. Date of service: ${appt.date}.\n")
        else:
            text = (f"Discharge instructions: {r.choice(MEDS)}. Follow up on {f.recent():%m/%d/%Y}. "
                    f"Questions: nurse line {f.phone()}.\n")
    if large:
        text = "".join(place([text], lambda: "\n" + fresh_clinical(f), large, where))
    return Sample(text, pos, kinds, f"note/fresh/{'' if pos else 'neg/'}{t}", "txt", values)


def fresh_clean_log(f: Faker) -> str:
    r = f.r
    ts = f.recent()
    return r.choice([
        f'{f.ip()} - - [{ts:%d/%b/%Y:%H:%M:%S} -0500] "GET /static/js/app.{f.hexhash(8)}.js HTTP/1.1" 200 {r.randint(1000, 90000)} "https://portal.example.org/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"',
        f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} [http-nio-8080-exec-{r.randint(1, 40)}] INFO  c.e.sched.SlotService - {r.randint(0, 400)} slots refreshed in {r.randint(1, 900)} ms",
        f"{ts:%Y-%m-%d %H:%M:%S},{r.randint(0, 999):03d} - celery.worker - INFO - Task sync_orders[{f.uuid()}] succeeded in {r.random():.3f}s",
        f"{ts:%Y-%m-%dT%H:%M:%S}.{r.randint(0, 10**9 - 1):09d}Z stdout F " + json.dumps({"level": "info", "ts": f.epoch() + r.random(), "msg": "request", "path": f"/api/orders/{f.id9()}", "status": 200, "dur": r.randint(1, 900)}),
        json.dumps({"log": f"GET /healthz 200 {r.randint(1, 20)}ms\n", "stream": "stdout", "time": f.iso_ts()}),
    ])


def fresh_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    lines = [fresh_clean_log(f) for _ in range(r.randint(0, 6))]
    ts = f.recent()
    if pos:
        kl, rec = fresh_kinds_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        fields = [(k, v) for k, v, _ in rec.fields]
        t = r.choice(["nginx_combined", "logback", "python_logging", "k8s_cri", "docker_json", "zap_json", "serilog"])
        if t == "nginx_combined":
            q = "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote(str(v), safe='@')}" for k, v in fields)
            line = (f'{f.ip()} - portal [{ts:%d/%b/%Y:%H:%M:%S} -0500] "GET /api/v2/registration/search?{q} HTTP/1.1" 200 '
                    f'{r.randint(200, 9000)} "https://portal.example.org/registration" "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)"')
        elif t == "logback":
            inner = ", ".join(f"{k}={v}" for k, v in fields)
            line = (f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} [http-nio-8080-exec-{r.randint(1, 40)}] WARN  "
                    f"c.e.reg.RegistrationController - duplicate check failed for PersonDto({inner})")
        elif t == "python_logging":
            line = (f"{ts:%Y-%m-%d %H:%M:%S},{r.randint(0, 999):03d} - intake.views - WARNING - rejected submission "
                    + repr({k: str(v) for k, v in fields}))
        elif t == "k8s_cri":
            line = (f"{ts:%Y-%m-%dT%H:%M:%S}.{r.randint(0, 10**9 - 1):09d}Z stderr F "
                    + json.dumps({"level": "error", "msg": "upsert failed", "record": {k: v for k, v in fields}}))
        elif t == "docker_json":
            inner = json.dumps({"level": "warn", "msg": "eligibility mismatch", **{k: v for k, v in fields}})
            line = json.dumps({"log": inner + "\n", "stream": "stdout", "time": f.iso_ts()})
        elif t == "zap_json":
            line = json.dumps({"level": "info", "ts": f.epoch() + r.random(), "caller": "intake/handler.go:88",
                               "msg": "person upserted", "person": {k: v for k, v in fields}})
        else:
            inner = ", ".join(f'{k}: "{v}"' for k, v in fields)
            line = f"[{ts:%H:%M:%S} INF] Upserted person PersonRecord {{ {inner} }}"
        lines.insert(r.randint(0, len(lines)), line)
    else:
        t = r.choice(["masked", "service_date", "prescriber", "k8s_event", "audit"])
        if t == "masked":
            lines.append(f"{ts:%Y-%m-%d %H:%M:%S}.{r.randint(0, 999):03d} [main] INFO  c.e.pay.Charge - charged card=XXXX-XXXX-XXXX-{r.randint(0, 9999):04d} acct=****{r.randint(0, 9999):04d} ssn={f.masked_ssn()}")
        elif t == "service_date":
            lines.append(f"{ts:%Y-%m-%d %H:%M:%S},{r.randint(0, 999):03d} - claims.batch - INFO - claim {f.id9()} dos={f.recent():%m/%d/%Y} billed={r.randint(10, 900)}.00")
        elif t == "prescriber":
            first, last = f.name_parts()
            lines.append(json.dumps({"level": "info", "msg": "prescriber verified", "npi": f.npi(), "dea": f.dea(last),
                                     "name": f"{first} {last}, MD"}))
        elif t == "k8s_event":
            lines.append(json.dumps({"kind": "Event", "reason": "BackOff", "message": f"Back-off restarting failed container api in pod intake-{f.hexhash(10)}",
                                     "firstTimestamp": f.iso_ts(), "count": r.randint(1, 90)}))
        else:
            lines.append(f"{ts:%Y-%m-%dT%H:%M:%S}Z audit user=frontdesk{r.randint(1, 9)} action=view resource=Schedule id={f.uuid()}")
        t = "neg/" + t
    if large:
        lines = place(lines, lambda: fresh_clean_log(f), large, where)
    return Sample("\n".join(lines) + "\n", pos, kinds, f"log/fresh/{t}", "log", values)


def fresh_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r

    def block():
        name = r.choice(["hl7_messages_received", "fhir_requests", "queue_depth", "db_pool_wait_seconds"])
        if name.endswith("seconds"):
            out = [f"# TYPE {name} summary"]
            for q in ["0.5", "0.9", "0.99"]:
                out.append(f'{name}{{pool="primary",quantile="{q}"}} {r.random():.6f}')
            out.append(f"{name}_count {r.randint(0, 10**9)}")
            return "\n".join(out)
        out = [f"# TYPE {name} counter", f"# HELP {name} Synthetic."]
        for _ in range(r.randint(1, 3)):
            out.append(f'{name}_total{{interface="{r.choice(["adt", "oru", "siu"])}"}} {r.randint(0, 10**9)} '
                       f'# {{trace_id="{f.hexhash(32)}"}} 1.0 {f.epoch()}.{r.randint(0, 999):03d}')
        return "\n".join(out)
    blocks = [block() for _ in range(r.randint(1, 5))]
    kinds: set = set()
    values: list = []
    t = "neg/openmetrics"
    if pos:
        kl = pick_kinds(f, idx)[:2]
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        labels = ",".join(f'{re.sub(r"[^A-Za-z0-9_]", "_", k)}="{v}"' for k, v, _ in rec.fields)
        blocks.insert(r.randint(0, len(blocks)), f"# TYPE registration_failures counter\nregistration_failures_total{{{labels}}} {r.randint(1, 9)}")
        t = "label_leak"
    if large:
        blocks = place(blocks, block, large, where)
    return Sample("\n".join(blocks) + "\n# EOF\n", pos, kinds, f"prometheus/fresh/{t}", "prom", values)


def fresh_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = fresh_kinds_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        fields = [(re.sub(r"[^A-Za-z0-9]+", "_", k), v) for k, v, _ in rec.fields]
        camel = [(style_key([w.lower() for w in k.split("_") if w], "camel"), v) for k, v in fields]
        t = r.choice(["java_builder", "csharp_init", "go_struct", "ruby_factory", "dotenv", "ts_fixture"])
        if t == "java_builder":
            text = ("@Test\nvoid registersPerson() {\n    PersonDto p = PersonDto.builder()\n"
                    + "".join(f'        .{k}("{v}")\n' for k, v in camel) + "        .build();\n    assertThat(svc.register(p)).isNotNull();\n}\n")
        elif t == "csharp_init":
            text = ("var person = new PersonRecord\n{\n"
                    + "".join(f'    {style_key(k.split("_"), "pascal") if k.islower() else k} = "{v}",\n' for k, v in fields) + "};\n")
        elif t == "go_struct":
            text = ("func TestUpsert(t *testing.T) {\n\tp := Person{\n"
                    + "".join(f'\t\t{style_key([w.lower() for w in k.split("_") if w], "pascal")}: "{v}",\n' for k, v in fields) + "\t}\n\tmustUpsert(t, p)\n}\n")
        elif t == "ruby_factory":
            text = ("FactoryBot.define do\n  factory :person do\n"
                    + "".join(f'    {k.lower()} {{ "{v}" }}\n' for k, v in fields) + "  end\nend\n")
        elif t == "dotenv":
            text = "# local test fixture\n" + "".join(f"TEST_{k.upper()}={v}\n" if " " not in str(v) else f'TEST_{k.upper()}="{v}"\n' for k, v in fields)
        else:
            text = ("export const person = {\n" + "".join(f"  {k}: '{v}',\n" for k, v in camel) + "} as const;\n")
    else:
        t = r.choice(["openapi_schema", "java_validator", "ddl", "faker_config", "regex_const"])
        if t == "openapi_schema":
            text = ("components:\n  schemas:\n    Person:\n      properties:\n        ssn:\n          type: string\n"
                    "          pattern: '^\\d{3}-\\d{2}-\\d{4}$'\n          example: XXX-XX-1234\n        birthDate:\n"
                    "          type: string\n          format: date\n        mrn:\n          type: string\n          maxLength: 20\n")
        elif t == "java_validator":
            bad = [f.invalid_ssn()[0] for _ in range(3)]
            text = ("@ParameterizedTest\n@ValueSource(strings = {" + ", ".join(f'"{b}"' for b in bad) + "})\n"
                    "void rejectsInvalidSsn(String ssn) {\n    assertFalse(SsnValidator.isValid(ssn));\n}\n")
        elif t == "ddl":
            text = ("CREATE TABLE person (\n  person_id BIGINT PRIMARY KEY,\n  mrn VARCHAR(20),\n  birth_dt DATE,\n"
                    "  ssn CHAR(11),\n  home_phone VARCHAR(20)\n);\nCOMMENT ON COLUMN person.ssn IS 'encrypted at rest';\n")
        elif t == "faker_config":
            text = ("seed: 42\nlocale: en_US\nfields:\n  ssn: '{{ssn}}'\n  dob: '{{date_of_birth}}'\n  mrn: 'E#######'\n")
        else:
            text = ('const MRN_RE = /^E\\d{7}$/;\nconst PHONE_RE = /^\\(\\d{3}\\) \\d{3}-\\d{4}$/;\n'
                    f"export const BUILD = '{f.hexhash(40)}';\n")
        t = "neg/" + t
    if large:
        text = "".join(place([text], lambda: code_filler(f), large, where))
    return Sample(text, pos, kinds, f"source/fresh/{t}", "txt", values)


def fresh_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = r.choice(["json", "fhir", "hl7", "csv", "note", "log", "multipart"])
    inner = FRESH_GEN[inner_fmt](f, idx, pos, large, where)
    how = r.choice(["gzip_fname", "gzip", "zlib"])
    if how == "gzip_fname":
        import io
        buf = io.BytesIO()
        with gzip.GzipFile(filename=f"export-{f.hexhash(6)}.{inner.ext}", mode="wb", fileobj=buf, mtime=0) as g:
            g.write(inner.data)
        data = buf.getvalue()
    elif how == "gzip":
        data = gzip.compress(inner.data, compresslevel=r.choice([1, 9]), mtime=0)
    else:
        data = zlib.compress(inner.data, 6)
    ext = inner.ext + (".zz" if how == "zlib" else ".gz")
    return Sample(data, pos, inner.kinds, f"gzip/fresh/{how}/" + inner.note, ext, inner.values)


def esc_php(s: str) -> str:
    """PHP json_encode defaults: slashes escaped, non-ASCII as \\uXXXX."""
    return json.dumps(s)[1:-1].replace("/", "\\/")


def esc_php_digits(s: str) -> str:
    return re.sub(r"[0-9]", lambda m: "\\u%04x" % ord(m.group(0)), esc_php(s))


def fresh_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    how = r.choice(["php", "php_digits", "all_lower"])
    esc = {"php": esc_php, "php_digits": esc_php_digits, "all_lower": lambda s: esc_all(s, upper=False)}[how]
    kesc = esc if how == "all_lower" else esc_php
    if r.random() < 0.7:
        s = fresh_json(f, idx, pos, large, where, esc=esc, kesc=kesc)
    else:
        s = fresh_fhir(f, idx, pos, large, where, esc=esc)
    s.note = f"json_escape/fresh/{how}/" + s.note
    return s


def fresh_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = fresh_kinds_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        pairs = [(k, str(v)) for k, v, _ in rec.fields]
        tt = "pos"
    else:
        tt = r.choice(["utm", "dos_range", "provider", "masked"])
        pairs = {"utm": [("utm_campaign", "flu-2024"), ("gclid", f.b64(30)), ("ts", str(f.epoch()))],
                 "dos_range": [("dos_from", f"{f.recent():%m/%d/%Y}"), ("dos_to", f"{f.recent():%m/%d/%Y}")],
                 "provider": [("npi", f.npi()), ("name", f"{f.first()} {f.last()}")],
                 "masked": [("card", f"XXXX-XXXX-XXXX-{r.randint(0, 9999):04d}"), ("ssn", f.masked_ssn())]}[tt]
    how = r.choice(["nginx_log", "json_param", "form_lower", "redirect_uri"])
    if how == "nginx_log":
        q = "&".join(f"{k}={pct_all(v, lower=r.random() < 0.5)}" for k, v in pairs)
        text = f'{f.ip()} - - [{f.recent():%d/%b/%Y:%H:%M:%S} +0000] "GET /lookup?{q} HTTP/1.1" 200 {r.randint(100, 5000)} "-" "curl/8.5.0"\n'
    elif how == "json_param":
        text = "GET /api/search?filter=" + urllib.parse.quote(json.dumps(dict(pairs)), safe="") + f"&limit=20 HTTP/1.1\r\nHost: api.example.org\r\n\r\n"
    elif how == "form_lower":
        text = "&".join(f"{urllib.parse.quote_plus(k)}={pct_all(v, lower=True)}" for k, v in pairs)
    else:
        inner = "https://app.example.org/cb?" + "&".join(f"{k}={v}" for k, v in pairs)
        text = "GET /oauth/authorize?client_id=portal&redirect_uri=" + urllib.parse.quote(inner, safe="") + " HTTP/1.1\r\n\r\n"
    if large:
        pad = "&".join(f"x{i}={f.hexhash(20)}" for i in range(large // 25))
        text = {"start": text + "&" + pad, "end": pad + "&" + text, "middle": pad[:len(pad) // 2] + "&" + text + "&" + pad[len(pad) // 2:]}[where]
    return Sample(text, pos, kinds, f"percent/fresh/{how}" + ("" if pos else f"/neg/{tt}"), "txt", values)


FRESH_GEN = {
    "json": fresh_json, "fhir": fresh_fhir, "hl7": fresh_hl7, "csv": fresh_csv, "form": fresh_form,
    "multipart": fresh_multipart, "note": fresh_note, "log": fresh_log, "prometheus": fresh_prometheus,
    "source": fresh_source, "gzip": fresh_gzip, "json_escape": fresh_json_escape, "percent": fresh_percent,
}


# --------------------------------------------------------------------------------------------
# The `blind4` family: a fourth, independent template set written blind on 2026-11-23 (without
# reading the detection rules or their history, and without scanning any sample while writing)
# and never tuned on. Envelopes and label spellings imitate other real systems: Salesforce Health
# Cloud, athenahealth, Epic Interconnect, Meditech / Allscripts reports, payer eligibility JSON,
# Spring / Express / GraphQL / Rails / Django error output, Serilog CLEF, Logstash, OpenTelemetry,
# Python reprs, SQL INSERTs, YAML / TOML, e-mail bodies, PDF-extracted text, HL7 v2 in unusual
# segment orders, FHIR with contained resources and extensions. Report its totals only.
# --------------------------------------------------------------------------------------------

NAMES["blind4"] = (
    "Anneliese Bertrand Catalina Demetrius Eulalia Fitzgerald Giacomo Henrietta Isolde Jacinta "
    "Konstantin Lorelei Maximilian Nanette Orlando Petronella Raffaela Sigmund Temperance Ulrich "
    "Veronique Winifred Ximena Yannick Zacharias Apolonia Bridget Cornelius Delfina Erasmus".split(),
    "Abbington Bellamy-Cruz Corrigan Dunleavy Etheridge Featherstone Gallagher Hartigan Iwasaki "
    "Jorgensen Kavanagh Lachance Mulcahy Nwachukwu Oyelowo Pettigrew Quackenbush Rutherford "
    "Sorensen Tolliver Uchenna Villanueva Wojcik Youngblood Zamora Achterberg Blomqvist Cardenas".split(),
)
STREETS["blind4"] = ["Sycamore Bend", "Kestrel Ridge Rd", "Millbrook Pkwy", "Lantern Hill Ln", "Bayberry Ct Unit 3"]
CITIES["blind4"] = [("Frankfort", "KY"), ("Marion", "IA"), ("Clinton", "MS"), ("Ashland", "NE"), ("Dover", "DE")]
KW["blind4"] = {
    "ssn": [["ssn"], ["soc", "sec", "num"], ["social", "security", "nbr"], ["patient", "ssn"], ["ss", "number"],
            ["insured", "ssn"], ["ssn", "full"]],
    "mbi": [["medicare", "beneficiary", "identifier"], ["mbi", "num"], ["medicare", "mbi"], ["medicare", "card", "number"],
            ["mbi"]],
    "mrn": [["mrn"], ["medical", "rec", "no"], ["mr", "number"], ["chart", "number"], ["hospital", "mrn"],
            ["unit", "number"], ["emr", "patient", "mrn"]],
    "member_id": [["member", "identifier"], ["subscriber", "id", "number"], ["policy", "member", "id"],
                  ["insured", "member", "id"], ["health", "plan", "member", "id"], ["member", "id"]],
    "account_number": [["patient", "acct", "nbr"], ["encounter", "account", "no"], ["hospital", "account", "number"],
                       ["guarantor", "acct"], ["account", "number"], ["visit", "account", "num"]],
    "dob": [["dob"], ["birth", "dt"], ["date", "of", "birth"], ["person", "birthdate"], ["dob", "dt", "tm"],
            ["birthdate"], ["patient", "birth", "date"]],
    "credit_card": [["card", "number"], ["cc", "number"], ["payment", "card", "num"], ["pan"], ["credit", "card", "no"]],
    "patient_email": [["patient", "email"], ["pt", "email", "address"], ["patient", "primary", "email"]],
    "patient_phone": [["patient", "phone", "number"], ["pt", "mobile"], ["patient", "home", "phone", "no"],
                      ["patient", "cell"]],
    "patient_name": [["patient", "name"], ["pt", "full", "name"], ["patient", "display", "nm"], ["patient", "legal", "name"]],
    "npi": [["npi"], ["billing", "npi"], ["referring", "npi"]],
    "dea": [["dea", "nbr"], ["prescriber", "dea"]],
}
STYLES["blind4"] = ["snake", "camel", "pascal", "upper", "kebab", "title"]
NEUTRAL_KEYS["blind4"] = [["val"], ["ref", "no"], ["ident"], ["extra"]]
NEUTRAL_PHRASES["blind4"] = ["value {v}", "{v} confirmed", "-> {v}", "ID: {v}"]
PHRASES["blind4"] = {
    "ssn": ["SSN#: {v}", "Social Security: {v}", "SS No. {v}", "soc sec #{v}", "Social Security Number.......... {v}",
            "SSN={v}"],
    "mbi": ["MBI {v}", "Medicare Beneficiary ID: {v}", "Medicare ID#: {v}", "Medicare (MBI): {v}"],
    "mrn": ["MRN {v}", "Med Rec No: {v}", "MR # {v}", "Unit No: {v}", "Chart No.: {v}", "Medical Record #: {v}"],
    "member_id": ["Member ID {v}", "Subscriber ID: {v}", "Mbr ID: {v}", "Insurance ID No. {v}", "Member #{v}"],
    "account_number": ["Account #: {v}", "Acct No {v}", "Pt Acct#: {v}", "Visit Account: {v}", "HAR: {v}"],
    "dob": ["DOB: {v}", "Date of Birth: {v}", "Birthdate {v}", "DOB/Age: {v}", "Born on {v}", "D/O/B {v}"],
    "credit_card": ["Card Number: {v}", "CC#{v}", "payment card {v}", "Card: {v}"],
    "patient_email": ["Patient E-mail: {v}", "pt email {v}", "Email (patient): {v}"],
    "patient_phone": ["Patient Phone: {v}", "Pt. Tel: {v}", "Patient cell: {v}", "Patient's phone number is {v}"],
    "patient_name": ["Patient Name: {v}", "Pt Name: {v}", "Patient: {v}", "Patient Name (Last, First): {v}"],
}


class Blind4Faker(Faker):
    """Value formats of the blind4 family."""

    def fmt_name(self, first, last):
        mi = self.r.choice("ABCDEFGHJKLMNPRSTVW")
        return self.r.choice([f"{first} {last}", f"{last.upper()}, {first.upper()}", f"{last}, {first} {mi}.",
                              f"{first} {mi} {last}", f"{last.upper()}, {first}"])

    def email(self, first, last):
        dom = self.r.choice(["example.com", "mail.example.org", "healthmail.example", "portal.example.net"])
        l2 = last.lower().replace("-", "")
        return self.r.choice([f"{first.lower()}.{l2}@{dom}", f"{first[0].lower()}{l2}@{dom}",
                              f"{l2}.{first.lower()}{self.r.randint(1, 99)}@{dom}", f"{first.upper()}.{last.upper()}@{dom.upper()}"])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"{a}.{e}.{n:04d}", f"+1{a}{e}{n:04d}",
                              f"+1 {a}-{e}-{n:04d}", f"({a}){e}-{n:04d}"])

    def fmt_date(self, d):
        r = self.r
        return r.choice([d.isoformat(), d.strftime("%m/%d/%Y"), d.isoformat() + "T00:00:00.000Z",
                         d.strftime("%m/%d/%Y") + " 12:00:00 AM", d.isoformat() + " 00:00:00", d.strftime("%b %d %Y"),
                         f"{d.month}/{d.day}/{d.year}", d.strftime("%Y%m%d"), d.strftime("%m-%d-%Y"),
                         d.strftime("%A, %B %d, %Y")])

    def dotnet_date(self, d):  # ASP.NET AJAX / WCF JSON dates
        ms = int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp() * 1000)
        return f"/Date({ms})/"

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        opts = ["dash", "dash", "bare", "space"] if bare_ok else ["dash", "dash", "space"]
        o = self.r.choice(opts)
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        if dashed is None:
            dashed = self.r.random() < 0.35
        return super().mbi(dashed)

    def mrn(self):
        r = self.r
        return r.choice([f"M{r.randint(10**8, 10**9 - 1)}", str(r.randint(10**6, 10**7 - 1)),
                         f"{r.randint(100, 999)}-{r.randint(10, 99)}-{r.randint(10, 99)}", f"HSP{r.randint(10**6, 10**7 - 1)}"])

    def member_id(self):
        r = self.r
        L = "ABCDEFGHJKLMNPRSTUVWXYZ"
        pre = "".join(r.choice(L) for _ in range(3))
        return r.choice([f"{pre}{r.randint(10**8, 10**9 - 1)}", f"{r.randint(10**8, 10**9 - 1)}{r.randint(10, 99)}",
                         f"{r.choice(L)}{r.choice(L)}{r.randint(10000, 99999)}{r.choice(L)}", f"{pre}W{r.randint(10**7, 10**8 - 1)}"])

    def account(self):
        r = self.r
        return r.choice([str(r.randint(10**9, 10**10 - 1)), f"{r.randint(10**6, 10**7 - 1)}-{r.randint(100, 999)}",
                         f"ACC{r.randint(10**6, 10**7 - 1)}", str(r.randint(10**11, 10**12 - 1))])

    def card(self):
        r = self.r
        kind = r.choice(["visa", "visa19", "mc", "mc2", "amex", "discover", "discover64"])
        pre, n = {"visa": ("4", 16), "visa19": ("4", 19), "mc": (str(r.randint(51, 55)), 16),
                  "mc2": (str(r.randint(2221, 2720)), 16), "amex": (r.choice(["34", "37"]), 15),
                  "discover": ("6011", 16), "discover64": (str(r.randint(644, 649)), 16)}[kind]
        d = luhn_complete(pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1)))
        assert card_ok(d)
        if n == 15:
            groups = [d[:4], d[4:10], d[10:]]
        else:
            groups = [d[i:i + 4] for i in range(0, n, 4)]
        return r.choice(["-", " ", "", ""]).join(groups)

    def masked_ssn(self):
        t = f"{self.r.randint(1, 9999):04d}"
        return self.r.choice([f"XXX-XX-{t}", f"***-**-{t}", f"ending in {t}", f"xxx xx {t}"])


B4 = "blind4"


def b4_words(key: str) -> list[str]:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(key))
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", s) if w]


def b4_phrase(f: Faker, kind: str, v) -> str:
    r = f.r
    v = str(v)
    if kind in CONTEXT_FREE and r.random() < 0.2 and not (kind == "ssn" and v.isdigit()):
        f.flags.add(f"nokw:{kind}")
        return r.choice(NEUTRAL_PHRASES[B4]).format(v=v)
    t = r.choice(PHRASES[B4][kind])
    x = r.random()
    if x < 0.12:
        t = t.upper().replace("{V}", "{v}")
    elif x < 0.2 and ": " in t:
        t = t.replace(": ", r.choice([":", ":   ", " : "]))
    return t.format(v=v)


def b4_record(f: Faker, idx: int):
    kinds = pick_kinds(f, idx)
    return kinds, patient_record(f, kinds, extras=False)


def b4_noise(f: Faker) -> dict:
    r = f.r
    return r.choice([
        {"requestId": f.uuid()}, {"traceparent": f"00-{f.hexhash(32)}-{f.hexhash(16)}-01"},
        {"etag": f'W/"{f.hexhash(16)}"'}, {"lastModifiedEpoch": f.epoch()}, {"tenant": r.choice(["north", "west", "main"])},
        {"correlationId": f.id9()}, {"checksum": f.hexhash(40)},
    ])


def b4_sf_id(f: Faker, prefix="001") -> str:
    return prefix + "".join(f.r.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(15))


def b4_sf_key(f: Faker, key: str) -> str:
    w = b4_words(key)
    base = "_".join(x.capitalize() for x in w) + "__c"
    return f.r.choice(["", "HealthCloudGA__"]) + base if len(w) > 1 else "HealthCloudGA__" + w[0].upper() + "__c"


B4_IDTYPE = {"mrn": ["MRN", "EPI MRN", "Medical Record Number"], "ssn": ["SSN", "Social Security Number"],
             "mbi": ["Medicare MBI", "MBI"], "member_id": ["Member ID", "Subscriber ID"],
             "account_number": ["Hospital Account Number", "Account Number"]}


def b4_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, 4, None])
    if pos:
        kl, rec = b4_record(f, idx)
        kinds = set(rec.kinds)
        values = list(rec.values)
        fields = [(k, v, kd) for k, v, kd in rec.fields]
        body = {k: v for k, v, _ in fields}
        t = r.choice(["sf_soql", "athena_patients", "payer_271", "graphql_error", "spring_400", "express_500",
                      "epic_interconnect", "sap_odata_v2", "dotnet_wcf"])
        if t == "sf_soql":
            rec_d = {"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{b4_sf_id(f)}"},
                     "Id": b4_sf_id(f), "RecordTypeId": b4_sf_id(f, "012"), "IsPersonAccount": True}
            rec_d.update({b4_sf_key(f, k): v for k, v, _ in fields})
            doc = {"totalSize": 1, "done": True, "records": [rec_d]}
        elif t == "athena_patients":
            flat = {"patientid": str(r.randint(1000, 999999)), "departmentid": str(r.randint(1, 200)),
                    "registrationdate": f"{f.recent():%m/%d/%Y}"}
            flat.update({"".join(b4_words(k)): v for k, v, _ in fields})
            doc = {"totalcount": 1, "patients": [flat]} if r.random() < 0.6 else [flat]
        elif t == "payer_271":
            sub = {style_key(b4_words(k), "camel"): v for k, v, _ in fields}
            doc = {"meta": {"senderId": f"SND{r.randint(1000, 9999)}", "traceId": f.uuid(), "applicationMode": "production"},
                   "controlNumber": f.id9(), "tradingPartnerServiceId": str(r.randint(10000, 99999)),
                   "provider": {"providerName": f"{f.last()} FAMILY MEDICINE", "npi": f.npi()},
                   "subscriber": sub,
                   "planStatus": [{"statusCode": "1", "status": "Active Coverage", "serviceTypeCodes": ["30"]}]}
            kinds.add("npi")
        elif t == "graphql_error":
            inner = ", ".join(f'{style_key(b4_words(k), "camel")}: "{v}"' for k, v, _ in fields)
            doc = {"errors": [{"message": f'Variable "$input" got invalid value {{ {inner} }}; Field "clinicId" of required type "ID!" was not provided.',
                               "locations": [{"line": 1, "column": r.randint(8, 40)}],
                               "extensions": {"code": "BAD_USER_INPUT"}}], "data": None}
        elif t == "spring_400":
            errs = [{"codes": [f"Pattern.patientForm.{k}"], "field": k, "rejectedValue": v, "bindingFailure": False,
                     "code": "Pattern", "objectName": "patientForm", "defaultMessage": "must match the expected format"}
                    for k, v, _ in fields]
            doc = {"timestamp": f.iso_ts().replace("Z", "+00:00"), "status": 400, "error": "Bad Request", "errors": errs,
                   "message": f"Validation failed for object='patientForm'. Error count: {len(errs)}",
                   "path": "/api/v1/patients"}
        elif t == "express_500":
            doc = {"error": {"name": "SequelizeUniqueConstraintError", "message": "Validation error",
                             "stack": "SequelizeUniqueConstraintError: Validation error\n    at Query.formatError (/app/node_modules/sequelize/lib/dialects/postgres/query.js:325:16)\n    at async PatientController.create (/app/src/controllers/patient.js:41:5)",
                             "fields": {k: v for k, v, _ in fields[:1]}},
                   "requestBody": {"patient": body}}
        elif t == "epic_interconnect":
            p = {"IDs": [], "Status": "Active"}
            for k, v, kd in fields:
                if kd in B4_IDTYPE and not any(w in ("val", "ref", "ident", "extra") for w in b4_words(k)):
                    p["IDs"].append({"ID": v, "Type": r.choice(B4_IDTYPE[kd])})
                else:
                    p[style_key(b4_words(k), "pascal")] = v
            doc = {"Patient": p, "PatientIDType": "EPI"} if r.random() < 0.5 else {"Patients": [p], "Status": "Success"}
        elif t == "sap_odata_v2":
            row = {"__metadata": {"uri": f"https://erp.example/sap/opu/odata/sap/ZPATIENT_SRV/PatientSet('{r.randint(10**6, 10**7)}')",
                                  "type": "ZPATIENT_SRV.Patient"}}
            row.update({style_key(b4_words(k), "pascal"): v for k, v, _ in fields})
            doc = {"d": {"results": [row]}}
        else:  # dotnet_wcf
            row = {"__type": "PatientDto:#Hospital.Registration.Contracts"}
            for k, v, kd in fields:
                row[style_key(b4_words(k), "pascal")] = v
            if "dob" in kinds and r.random() < 0.5:
                dk = [k for k, v, kd in fields if kd == "dob"][0]
                b = f.birth()
                dv = f.dotnet_date(b)
                row[style_key(b4_words(dk), "pascal")] = dv
                values = [(kd, v) if kd != "dob" else ("dob", dv) for kd, v in values]
                f.flags.add("dotnet_date")
            doc = {"d": row}
        if r.random() < 0.5:
            doc = dict(b4_noise(f), **doc) if isinstance(doc, dict) else doc
        if large:
            doc = {"page": 1, "results": place([doc], lambda: b4_clean_item(f), large, where)}
        return Sample(jdump(doc, indent, esc, kesc), True, kinds, f"json/blind4/{t}/{f.style}", "json", values)
    t = r.choice(["sf_providers", "order_page", "oauth_token", "ssn_validation", "shipment_tracking", "dea_verify",
                  "webhook_delivery", "payer_directory", "audit_trail", "batch_job"])
    doc = b4_neg_json(f, t)
    if large:
        doc = {"page": 1, "results": place([doc], lambda: b4_clean_item(f), large, where)}
    return Sample(jdump(doc, indent, esc, kesc), False, [], f"json/blind4/neg/{t}", "json")


def b4_clean_item(f: Faker) -> dict:
    r = f.r
    return {"lineId": f.id9(), "createdEpoch": f.epoch(), "productCode": f"PC-{r.randint(1000, 99999)}",
            "qty": r.randint(1, 50), "unitPriceCents": r.randint(10, 99999), "batchUuid": f.uuid(),
            "digest": f.hexhash(32), "shipRef": f.luhn_bad16() if r.random() < 0.3 else f.order_id()}


def b4_neg_json(f: Faker, t: str) -> dict:
    r = f.r
    if t == "sf_providers":
        recs = []
        for _ in range(r.randint(1, 4)):
            first, last = f.name_parts()
            recs.append({"attributes": {"type": "HealthcareProvider"}, "Id": b4_sf_id(f, "0cm"),
                         "Name": f"{first} {last}, DO", "HealthCloudGA__NPI__c": f.npi(),
                         "Practice_Phone__c": f.phone(), "Specialty__c": r.choice(PROVIDER_SPECIALTIES),
                         "Accepting_New_Patients__c": r.random() < 0.5})
        return {"totalSize": len(recs), "done": True, "records": recs}
    if t == "order_page":
        return {"orders": [{"orderId": f.id9(), "placedAt": f.epoch(), "statusCode": r.choice(["OPEN", "FILLED"]),
                            "lines": r.randint(1, 9), "ref": f.uuid()} for _ in range(r.randint(1, 6))],
                "nextCursor": f.b64(18)}
    if t == "oauth_token":
        return {"access_token": f"{f.b64(24)}.{f.b64(60)}.{f.b64(32)}".replace("=", ""), "token_type": "Bearer",
                "expires_in": 3599, "scope": "patient/*.read launch/patient", "id_token_hint": f.hexhash(64),
                "issued_at": str(f.epoch() * 1000)}
    if t == "ssn_validation":
        bad = [f.invalid_ssn()[0] for _ in range(r.randint(1, 3))]
        return {"type": "https://api.example.org/problems/validation", "title": "Invalid request", "status": 422,
                "invalidParams": [{"name": "ssn", "reason": "SSN area/group/serial not issued", "value": b} for b in bad]}
    if t == "shipment_tracking":
        return {"shipments": [{"trackingNumber": f.luhn_bad16(), "carrier": r.choice(["UPS", "FedEx"]),
                               "shippedAt": f.epoch(), "weightOz": r.randint(1, 300)} for _ in range(r.randint(1, 5))]}
    if t == "dea_verify":
        first, last = f.name_parts()
        return {"registrant": {"deaNumber": f.dea(last), "name": f"{last.upper()}, {first.upper()}",
                               "schedules": ["2", "2N", "3", "3N", "4", "5"], "expiration": "2027-09-30",
                               "businessActivity": "PRACTITIONER"}, "verifiedAt": f.iso_ts()}
    if t == "webhook_delivery":
        return {"id": f.uuid(), "event": "invoice.paid", "created": f.epoch(), "signature": f"sha256={f.hexhash(64)}",
                "data": {"invoice": f"in_{f.b64(12).replace('/', 'x').replace('+', 'y')}", "amount_due": r.randint(100, 99999),
                         "customer_ref": f.id9()}}
    if t == "payer_directory":
        out = []
        for _ in range(r.randint(1, 4)):
            first, last = f.name_parts()
            out.append({"npi": f.npi(), "providerName": f"{first} {last}", "taxonomy": "207Q00000X",
                        "officePhone": f.phone(), "networkStatus": "IN", "practiceTin": f"{r.randint(10, 99)}-{r.randint(10**6, 10**7 - 1)}"})
        return {"providers": out, "asOf": f.recent().date().isoformat()}
    if t == "audit_trail":
        return {"events": [{"eventId": f.uuid(), "actor": f"svc-{r.choice(['billing', 'sched'])}", "action": "READ",
                            "entity": "Appointment", "entityId": f.id9(), "at": f.epoch()} for _ in range(r.randint(1, 5))]}
    return {"jobId": f.uuid(), "state": "SUCCEEDED", "startedAt": f.epoch(), "recordsIn": r.randint(10, 10**7),
            "recordsOut": r.randint(10, 10**7), "imei": f.imei() if r.random() < 0.3 else None,
            "artifact": f"s3://exports/{f.hexhash(12)}/part-0000.parquet"}


def b4_patient(f: Faker, kinds: set, values: list, contained=False) -> dict:
    r = f.r
    first, last = f.name_parts()
    birth = f.birth()
    kinds.update(["fhir_patient", "dob"])
    values.append(("dob", birth.isoformat()))
    ids = [{"use": "official", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                                        "text": "Meditech Unit Number"},
            "system": "urn:oid:2.16.840.1.113883.3.1234.1.2", "value": f.mrn(),
            "assigner": {"display": "Dover Regional"}}]
    if r.random() < 0.35:
        d = f.ssn_digits()
        v = f"{d[:3]}-{d[3:5]}-{d[5:]}" if r.random() < 0.6 else d
        ids.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]},
                    "system": "http://hl7.org/fhir/sid/us-ssn", "value": v})
        kinds.add("ssn")
        values.append(("ssn", v))
    if r.random() < 0.3:
        v = f.mbi(dashed=False)
        ids.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MC"}]},
                    "system": "http://hl7.org/fhir/sid/us-mbi", "value": v})
        kinds.add("mbi")
        values.append(("mbi", v))
    city, state = f.city()
    res = {"resourceType": "Patient", "id": ("p1" if contained else str(r.randint(10**5, 10**8))),
           "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient|6.1.0"]},
           "extension": [
               {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": r.choice("FM")},
               {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
                "extension": [{"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238",
                                                                     "code": "2186-5", "display": "Not Hispanic or Latino"}},
                              {"url": "text", "valueString": "Not Hispanic or Latino"}]},
               {"url": "http://example.org/fhir/StructureDefinition/preferred-pharmacy",
                "valueReference": {"display": f"{f.last()} Drug #{r.randint(1, 999)}"}}],
           "identifier": ids, "active": True,
           "name": [{"use": "official", "family": last, "given": [first, r.choice(NAMES[B4][0])]}],
           "telecom": [{"system": "phone", "value": f.phone(), "use": r.choice(["mobile", "home"])},
                       {"system": "email", "value": f.email(first, last)}],
           "gender": r.choice(["female", "male", "unknown"]),
           "birthDate": birth.isoformat(),
           "address": [{"line": [f.street()], "city": city, "state": state, "postalCode": f.zipcode()}],
           "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}, "preferred": True}]}
    if r.random() < 0.4:
        cf, cl = f.name_parts()
        res["contact"] = [{"relationship": [{"coding": [{"code": "N"}]}], "name": {"family": cl, "given": [cf]},
                           "telecom": [{"system": "phone", "value": f.phone()}]}]
    return res


def b4_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, 3])
    kinds: set = set()
    values: list = []
    filler = lambda: {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": b4_fhir_neg_resource(f, "Location")}  # noqa: E731
    if pos:
        t = r.choice(["eob_contained", "message_bundle", "parameters_match", "transaction_conditional", "qr_answers",
                      "patient_extensions", "ndjson_mixed", "coverage_contained"])
        if t == "eob_contained":
            p = b4_patient(f, kinds, values, contained=True)
            doc = {"resourceType": "ExplanationOfBenefit", "id": f.hexhash(16), "contained": [p],
                   "meta": {"profile": ["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Professional-NonClinician"]},
                   "status": "active", "type": {"coding": [{"code": "professional"}]}, "use": "claim",
                   "patient": {"reference": "#p1"}, "billablePeriod": {"start": f"{f.recent():%Y-%m-%d}"},
                   "provider": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}},
                   "outcome": "complete", "total": [{"category": {"coding": [{"code": "submitted"}]},
                                                     "amount": {"value": round(r.random() * 2000, 2), "currency": "USD"}}]}
        elif t == "coverage_contained":
            p = b4_patient(f, kinds, values, contained=True)
            mid = f.member_id()
            doc = {"resourceType": "Coverage", "id": f.hexhash(10), "contained": [p], "status": "active",
                   "subscriberId": mid, "beneficiary": {"reference": "#p1"}, "relationship": {"coding": [{"code": "self"}]},
                   "payor": [{"display": "Blue Ridge Health Plan"}],
                   "class": [{"type": {"coding": [{"code": "group"}]}, "value": f"GRP{r.randint(1000, 99999)}"}]}
        elif t == "message_bundle":
            p = b4_patient(f, kinds, values)
            hdr = {"resourceType": "MessageHeader", "eventCoding": {"system": "http://example.org/events", "code": "admit-notification"},
                   "source": {"name": "Meditech Expanse", "endpoint": "https://mt.example.org/fhir"},
                   "focus": [{"reference": f"Patient/{p['id']}"}]}
            doc = {"resourceType": "Bundle", "type": "message", "timestamp": f.iso_ts(),
                   "entry": [{"fullUrl": f"urn:uuid:{f.uuid()}", "resource": hdr},
                             {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": p}]}
        elif t == "parameters_match":
            p = b4_patient(f, kinds, values)
            doc = {"resourceType": "Parameters", "id": f.uuid(),
                   "parameter": [{"name": "resource", "resource": p}, {"name": "onlyCertainMatches", "valueBoolean": True},
                                 {"name": "count", "valueInteger": 3}]}
        elif t == "transaction_conditional":
            p = b4_patient(f, kinds, values)
            mrn = p["identifier"][0]["value"]
            doc = {"resourceType": "Bundle", "type": "transaction",
                   "entry": [{"fullUrl": f"urn:uuid:{f.uuid()}", "resource": p,
                              "request": {"method": "POST", "url": "Patient",
                                          "ifNoneExist": f"identifier=urn:oid:2.16.840.1.113883.3.1234.1.2|{mrn}"}},
                             {"fullUrl": f"urn:uuid:{f.uuid()}",
                              "resource": {"resourceType": "Encounter", "status": "arrived",
                                           "class": {"code": "EMER"}, "subject": {"reference": "Patient?identifier=" + mrn}},
                              "request": {"method": "POST", "url": "Encounter"}}]}
        elif t == "qr_answers":
            first, last = f.name_parts()
            name = f"{first} {last}"
            b = f.birth()
            bd = b.isoformat()
            doc = {"resourceType": "QuestionnaireResponse", "id": f.hexhash(12), "status": "completed",
                   "questionnaire": "http://example.org/Questionnaire/new-patient-intake",
                   "subject": {"reference": f"Patient/{r.randint(1000, 99999)}", "display": name}, "authored": f.iso_ts(),
                   "item": [{"linkId": "dob", "text": "Date of birth", "answer": [{"valueDate": bd}]},
                            {"linkId": "allergies", "text": "Allergies", "answer": [{"valueString": r.choice(["NKDA", "penicillin"])}]}]}
            kinds.update(["patient_name", "dob"])
            values += [("patient_name", name), ("dob", bd)]
        elif t == "ndjson_mixed":
            lines = []
            for _ in range(r.randint(0, 3)):
                lines.append(json.dumps({"resourceType": "Observation", "id": f.hexhash(10), "status": "final",
                                         "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                                         "valueQuantity": {"value": r.randint(50, 120), "unit": "/min"}}))
            lines.insert(r.randint(0, len(lines)), json.dumps(b4_patient(f, kinds, values)))
            text = "\n".join(lines) + "\n"
            if large:
                text = "".join(place([text], lambda: json.dumps(b4_fhir_neg_resource(f, "Location")) + "\n", large, where))
            return Sample(text, True, kinds, "fhir/blind4/ndjson_mixed", "json", values)
        else:
            doc = b4_patient(f, kinds, values)
        if large:
            if doc["resourceType"] != "Bundle":
                doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": doc}]}
            doc["entry"] = place(doc["entry"], filler, large, where)
        s = Sample(jdump(doc, indent, esc), True, kinds, f"fhir/blind4/{t}", "json", values)
    else:
        t = r.choice(["practitioner_bundle", "valueset", "codesystem", "endpoint", "insurance_plan", "healthcare_service",
                      "blank_questionnaire", "audit_event", "medication_knowledge", "location"])
        if t == "practitioner_bundle":
            doc = {"resourceType": "Bundle", "type": "searchset", "total": 3,
                   "entry": [{"resource": b4_fhir_neg_resource(f, "Practitioner")} for _ in range(r.randint(1, 4))]}
        else:
            doc = b4_fhir_neg_resource(f, {"valueset": "ValueSet", "codesystem": "CodeSystem", "endpoint": "Endpoint",
                                           "insurance_plan": "InsurancePlan", "healthcare_service": "HealthcareService",
                                           "blank_questionnaire": "Questionnaire", "audit_event": "AuditEvent",
                                           "medication_knowledge": "MedicationKnowledge", "location": "Location"}[t])
        if large:
            if doc["resourceType"] != "Bundle":
                doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": doc}]}
            doc["entry"] = place(doc["entry"], filler, large, where)
        s = Sample(jdump(doc, indent, esc), False, [], f"fhir/blind4/neg/{t}", "json")
    if esc is esc_default and r.random() < 0.2:
        s.data = fhir_xml(json.loads(s.data)).encode()
        s.ext = "xml"
        s.note += "/xml"
    return s


def b4_fhir_neg_resource(f: Faker, t: str) -> dict:
    r = f.r
    if t == "Practitioner":
        first, last = f.name_parts()
        return {"resourceType": "Practitioner", "id": f.hexhash(8),
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "name": [{"family": last, "given": [first], "suffix": ["NP"]}],
                "telecom": [{"system": "phone", "value": f.phone(), "use": "work"}],
                "qualification": [{"code": {"text": r.choice(PROVIDER_SPECIALTIES)}}]}
    if t == "ValueSet":
        return {"resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/identifier-types", "status": "active",
                "compose": {"include": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                         "concept": [{"code": "MR", "display": "Medical record number"},
                                                     {"code": "SS", "display": "Social Security number"},
                                                     {"code": "MB", "display": "Member Number"}]}]}}
    if t == "CodeSystem":
        return {"resourceType": "CodeSystem", "url": "http://example.org/fhir/CodeSystem/visit-reason", "status": "draft",
                "content": "complete", "concept": [{"code": str(r.randint(100, 999)), "display": c} for c in r.sample(CONDITIONS, 3)]}
    if t == "Endpoint":
        return {"resourceType": "Endpoint", "status": "active", "connectionType": {"code": "hl7-fhir-rest"},
                "address": f"https://fhir.example.org/{f.hexhash(8)}/R4", "header": [f"X-Api-Key: {f.b64(24)}"],
                "payloadType": [{"text": "any"}]}
    if t == "InsurancePlan":
        return {"resourceType": "InsurancePlan", "status": "active", "name": "Gold PPO 2000",
                "identifier": [{"value": f"PLAN-{r.randint(1000, 9999)}"}], "ownedBy": {"display": "Blue Ridge Health Plan"},
                "plan": [{"generalCost": [{"cost": {"value": r.randint(500, 5000), "currency": "USD"}}]}]}
    if t == "HealthcareService":
        return {"resourceType": "HealthcareService", "active": True, "name": "Cardiology clinic",
                "providedBy": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}},
                "telecom": [{"system": "phone", "value": f.phone()}],
                "availableTime": [{"daysOfWeek": ["mon", "wed"], "availableStartTime": "08:00:00"}]}
    if t == "Questionnaire":
        return {"resourceType": "Questionnaire", "status": "active", "title": "New patient intake",
                "item": [{"linkId": "dob", "text": "Date of birth", "type": "date", "required": True},
                         {"linkId": "ssn", "text": "Social Security Number (optional)", "type": "string"},
                         {"linkId": "mrn", "text": "Medical record number, if known", "type": "string"}]}
    if t == "AuditEvent":
        return {"resourceType": "AuditEvent", "type": {"code": "rest"}, "action": "R", "recorded": f.iso_ts(),
                "outcome": "0", "agent": [{"who": {"display": f"svc-{f.hexhash(6)}"}, "requestor": True,
                                           "network": {"address": f.ip(), "type": "2"}}],
                "source": {"observer": {"display": "fhir-gateway"}},
                "entity": [{"what": {"reference": f"Schedule/{f.id9()}"}}]}
    if t == "MedicationKnowledge":
        return {"resourceType": "MedicationKnowledge", "status": "active",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}"}],
                         "text": r.choice(MEDS)}, "amount": {"value": 30, "unit": "tablet"}}
    return {"resourceType": "Location", "id": f.hexhash(8), "status": "active", "name": f"{f.last()} Pavilion",
            "telecom": [{"system": "phone", "value": f.phone()}],
            "position": {"longitude": round(-80 - r.random() * 10, 5), "latitude": round(35 + r.random() * 5, 5)}}


def b4_pid(f: Faker, kinds: set, values: list) -> str:
    r = f.r
    first, last = f.name_parts()
    b = f.birth()
    city, state = f.city()
    kinds.add("hl7_pid")
    values.append(("hl7_pid", "PID|"))
    d = f.ssn_digits()
    ssn19 = ""
    x = r.random()
    pid3 = f"{f.mrn()}^^^DRH^MR"
    if x < 0.3:
        ssn19 = f"{d[:3]}-{d[3:5]}-{d[5:]}"
        kinds.add("ssn")
        values.append(("ssn", ssn19))
    elif x < 0.5:
        ssn19 = d
    elif x < 0.65:
        pid3 += f"~{d[:3]}-{d[3:5]}-{d[5:]}^^^SSA^SS"
        kinds.add("ssn")
        values.append(("ssn", f"{d[:3]}-{d[3:5]}-{d[5:]}"))
    tel = r.choice([f"({r.randint(201, 989)}){r.randint(201, 989)}-{r.randint(0, 9999):04d}",
                    f"^PRN^CP^^1^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}"])
    dob = r.choice([f"{b:%Y%m%d}", f"{b:%Y%m%d}0000", f"{b:%Y%m%d}120000-0500"])
    pid2 = r.choice(["", f.id9()])
    trail = "|" * r.randint(0, 3)
    return (f"PID|{r.choice(['1', '', '0001'])}|{pid2}|{pid3}||{last.upper()}^{first.upper()}^{r.choice('ABCDE')}^^^^L||{dob}|"
            f"{r.choice('FMUO')}|||{f.street()}^^{city}^{state}^{f.zipcode()}^USA||{tel}|||{r.choice(['M', 'S', 'W', ''])}||"
            f"{r.choice(['', f.account()])}|{ssn19}{trail}")


def b4_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    eol = r.choice(["\r", "\r", "\n", "\r\n"])
    kinds: set = set()
    values: list = []
    ver = r.choice(["2.3", "2.3.1", "2.4", "2.5.1", "2.6", "2.8"])

    def msh(typ):
        return (f"MSH|^~\\&|{r.choice(['MEDITECH', 'ALLSCRIPTS', 'ATHENANET', 'NEXTGEN'])}|{r.choice(['DRH', 'DRH^1.2.3.4^ISO', 'FAC01'])}"
                f"|{r.choice(['CORPOINT', 'IGUANA', 'ENSEMBLE'])}|{r.choice(['PHIMESH', 'RCV'])}|{hl7_ts(f)}{r.choice(['', '-0500'])}"
                f"|{r.choice(['', 'SEC'])}|{typ}|{r.choice([f.id9(), f.uuid(), 'Q' + str(r.randint(10**6, 10**7))])}|{r.choice('PT')}|{ver}"
                + r.choice(["", "|||AL|NE", "||||USA|UNICODE UTF-8"]))

    def pv1():
        first, last = f.name_parts()
        return f"PV1|1|{r.choice('IOEP')}|{r.choice(['MED', 'SURG', 'ED'])}^{r.randint(1, 60)}^{r.choice('AB')}^DRH|||||{f.npi()}^{last.upper()}^{first.upper()}"

    def neg_msg():
        t = r.choice(["ack_aa", "ack_ae_err", "mfn_m02", "rsp_k22_nf", "mfn_m08", "nmd_n02", "mfn_dea"])
        if t == "ack_aa":
            segs = [msh("ACK^A08^ACK"), f"MSA|AA|{f.id9()}"]
        elif t == "ack_ae_err":
            segs = [msh("ACK^R01^ACK"), f"MSA|AE|{f.id9()}|Required field missing",
                    f"ERR||PID^1^7|101^Required field missing^HL70357|E||||PID-7 birth date is required"]
        elif t in ("mfn_m02", "mfn_dea"):
            segs = [msh("MFN^M02^MFN_M02"), f"MFI|PRA^Practitioner master file^HL70175||UPD|||AL"]
            for _ in range(r.randint(1, 3)):
                first, last = f.name_parts()
                code = f"DR{r.randint(1000, 9999)}"
                segs.append(f"MFE|MAD|||{code}^{last.upper()}^{first.upper()}|CWE")
                segs.append(f"STF||{code}|{last.upper()}^{first.upper()}^^^MD|||||A|{r.choice(PROVIDER_SPECIALTIES)}||"
                            f"^WPN^PH^^1^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}")
                pra = f"PRA||^{r.choice(PROVIDER_SPECIALTIES)}||||{f.npi()}^NPI"
                if t == "mfn_dea":
                    pra += f"~{f.dea(last)}^DEA"
                segs.append(pra)
        elif t == "rsp_k22_nf":
            segs = [msh("RSP^K22^RSP_K21"), f"MSA|AA|{f.id9()}", f"QAK|{f.hexhash(10)}|NF|Q22^Find Candidates^HL7nnnn|0|0|0",
                    f"QPD|Q22^Find Candidates^HL7nnnn|{f.hexhash(10)}|@PID.8^F"]
        elif t == "mfn_m08":
            segs = [msh("MFN^M08^MFN_M08"), "MFI|OMA^Numeric Observation^HL70175||UPD|||AL"]
            for _ in range(r.randint(1, 4)):
                code = r.choice(["2345-7^Glucose", "2160-0^Creatinine", "6690-2^WBC"])
                segs.append(f"MFE|MAD|||{code}^LN|CWE")
                segs.append(f"OM1|{r.randint(1, 99)}|{code}^LN|NM|Y|Y")
        else:
            segs = [msh("NMD^N02^NMD_N02"), f"NCK|{hl7_ts(f)}", f"NSC|M|||{f.ip()}"]
        return segs, t

    if pos:
        t = r.choice(["a08_pid_late", "a40_merge", "rsp_k22", "oru_nte_first", "siu_s12", "vxu_v04", "mdm_z_first",
                      "dft_p03"])
        p = b4_pid(f, kinds, values)
        if t == "a08_pid_late":
            segs = [msh("ADT^A08^ADT_A01"), f"EVN|A08|{hl7_ts(f)}", pv1(), f"PV2|||^{r.choice(CONDITIONS)}", p,
                    "PD1|||DOVER REGIONAL PRIMARY CARE"]
        elif t == "a40_merge":
            segs = [msh("ADT^A40^ADT_A39"), f"EVN|A40|{hl7_ts(f)}", p, f"MRG|{f.mrn()}^^^DRH^MR||||||"]
        elif t == "rsp_k22":
            segs = [msh("RSP^K22^RSP_K21"), f"MSA|AA|{f.id9()}", f"QAK|{f.hexhash(10)}|OK|Q22^Find Candidates^HL7nnnn|1|1|0",
                    f"QPD|Q22^Find Candidates^HL7nnnn|{f.hexhash(10)}", p, "QRI|98||SS"]
        elif t == "oru_nte_first":
            segs = [msh("ORU^R01^ORU_R01"), "NTE|1||Corrected report - see addendum", p, pv1(),
                    f"ORC|RE|{f.hexhash(8).upper()}", f"OBR|1||{f.hexhash(8).upper()}|24323-8^CMP^LN"]
            segs += [obx(f, i + 1) for i in range(r.randint(1, 4))]
        elif t == "siu_s12":
            segs = [msh("SIU^S12^SIU_S12"), f"SCH|{r.randint(10**5, 10**6)}|||||NEW^New appt|||30|MIN|^^30^{hl7_ts(f)}",
                    "NTE|1||Pt requests interpreter", p, pv1(), "RGS|1|A",
                    f"AIS|1|A|99213^Office visit^CPT|{hl7_ts(f)}", f"AIP|1|A|{f.npi()}^{f.last().upper()}"]
        elif t == "vxu_v04":
            nf, nl = f.name_parts()
            segs = [msh("VXU^V04^VXU_V04"), p, "PD1|||||||||||02^Reminder/recall - any method^HL70215",
                    f"NK1|1|{nl.upper()}^{nf.upper()}|MTH^Mother^HL70063",
                    f"ORC|RE||{f.id9()}", f"RXA|0|1|{hl7_ts(f)}||208^COVID-19, mRNA^CVX|0.3|mL",
                    "RXR|C28161^Intramuscular^NCIT|LD^Left Deltoid^HL70163"]
        elif t == "mdm_z_first":
            segs = [msh("MDM^T02^MDM_T02"), f"ZPI|1|{r.choice(['PORTAL', 'KIOSK'])}|{f.hexhash(6)}", f"EVN|T02|{hl7_ts(f)}", p,
                    pv1(), f"TXA|1|HP^History and physical|TX|{hl7_ts(f)}||||||||{f.hexhash(12)}|||||AU",
                    "OBX|1|TX|HP||Patient seen for follow-up; stable.||||||F"]
        else:
            gf, gl = f.name_parts()
            segs = [msh("DFT^P03^DFT_P03"), f"EVN|P03|{hl7_ts(f)}", p, pv1(),
                    f"FT1|1|||{hl7_ts(f)}||CG|99214^Office visit est^CPT|||1|||||||||||{f.npi()}",
                    "DG1|1||I10^Essential hypertension^I10", f"GT1|1||{gl.upper()}^{gf.upper()}||{f.street()}^^{f.city()[0]}"]
        msgs = [segs]
    else:
        segs, t = neg_msg()
        msgs = [segs]
    if large:
        msgs = place(msgs, lambda: neg_msg()[0], large, where, unit_len=lambda m: sum(len(s) + 1 for s in m))
    frame = r.choice(["plain", "plain", "mllp", "batch", "blank_lines"])
    sep = eol + (eol if frame == "blank_lines" else "")
    body = "".join(sep.join(m) + eol for m in msgs)
    if frame == "mllp":
        body = "".join("\x0b" + sep.join(m) + eol + "\x1c\r" for m in msgs)
    elif frame == "batch":
        body = f"BHS|^~\\&|MEDITECH|DRH|||{hl7_ts(f)}" + eol + body + f"BTS|{len(msgs)}" + eol
    note = f"hl7/blind4/{'' if pos else 'neg/'}{t}/{frame}"
    return Sample(body, pos, kinds, note, "hl7", values)


B4_COLS = {
    "meditech": {"ssn": "Soc Sec #", "mbi": "Medicare #", "mrn": "Unit Number", "member_id": "Policy Member #",
                 "account_number": "Account Number", "dob": "Birthdate", "credit_card": "Card #",
                 "patient_email": "Pt Email", "patient_phone": "Pt Home Phone", "patient_name": "Patient"},
    "allscripts": {"ssn": "SSN", "mbi": "MedicareMBI", "mrn": "MRN", "member_id": "PrimaryInsMemberID",
                   "account_number": "PatientAccountNo", "dob": "PatientDOB", "credit_card": "CCNumber",
                   "patient_email": "PatientEmail", "patient_phone": "PatientCellPhone", "patient_name": "PatientName"},
    "athena_rpt": {"ssn": "patient ssn", "mbi": "medicare id", "mrn": "patient mrn", "member_id": "primary ins member id",
                   "account_number": "patient acct #", "dob": "patient dob", "credit_card": "card number",
                   "patient_email": "patient email", "patient_phone": "patient mobile phone", "patient_name": "patient name"},
    "sql": {"ssn": "ssn", "mbi": "mbi", "mrn": "mrn", "member_id": "member_id", "account_number": "acct_num",
            "dob": "birth_date", "credit_card": "card_no", "patient_email": "patient_email",
            "patient_phone": "patient_phone", "patient_name": "patient_name"},
}
B4_LEADING = {"meditech": "Reg Date", "allscripts": "PatientID", "athena_rpt": "enterpriseid", "sql": "id"}


def b4_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    dialect = r.choice(["meditech_semicolon", "allscripts_tab", "athena_caret", "excel_euro", "pipe_report",
                        "psql_aligned", "transposed", "tilde"])
    cols = {"meditech_semicolon": "meditech", "allscripts_tab": "allscripts", "athena_caret": "athena_rpt",
            "excel_euro": "meditech", "pipe_report": "allscripts", "psql_aligned": "sql", "transposed": "athena_rpt",
            "tilde": "sql"}[dialect]
    delim = {"meditech_semicolon": ";", "allscripts_tab": "\t", "athena_caret": "^", "excel_euro": ";",
             "pipe_report": "|", "psql_aligned": " | ", "transposed": ",", "tilde": "~"}[dialect]
    eol = r.choice(["\r\n", "\n"])
    quote_all = dialect in ("allscripts_tab", "excel_euro") and r.random() < 0.5
    bom = dialect == "excel_euro"
    kinds: set = set()
    values: list = []
    pre = post = ""
    if dialect == "pipe_report":
        pre = (f"ALLSCRIPTS PRACTICE MANAGEMENT{eol}{r.choice(['Patient Demographics Extract', 'Collections Worklist'])}{eol}"
               f"Printed: {f.recent():%m/%d/%Y %I:%M %p}   Page 1 of {r.randint(1, 9)}{eol}{eol}")
        post = f"{eol}*** END OF REPORT ***{eol}"

    def render(header, rows):
        if dialect == "psql_aligned":
            w = [max(len(str(x)) for x in [h] + [row[i] for row in rows]) for i, h in enumerate(header)]
            lines = [" " + " | ".join(str(h).center(w[i]) for i, h in enumerate(header)),
                     "-" + "-+-".join("-" * x for x in w) + "-"]
            lines += [" " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(row)) for row in rows]
            lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
            return eol.join(lines) + eol
        if dialect == "transposed":
            out = ["Field,Value"]
            for row in rows:
                out += [csv_cell(h, ",", False) + "," + csv_cell(c, ",", False) for h, c in zip(header, row)]
                out.append(",")
            return eol.join(out) + eol
        return csv_text(header, rows, delim, quote_all, eol, bom)

    if pos:
        kl = pick_kinds(f, idx)
        header = [B4_LEADING[cols]] + [B4_COLS[cols][k] for k in kl] + ["Balance" if dialect == "excel_euro" else "Notes"]
        rows = []
        for _ in range(1 if dialect == "transposed" else r.randint(1, 7)):
            person = f.name_parts()
            row = [f"{f.recent():%m/%d/%Y}" if cols == "meditech" else str(r.randint(1000, 999999))]
            for k in kl:
                v = ident_value(f, k, person)
                row.append(v)
                values.append((k, str(v)))
            row.append(f"{r.randint(0, 9999)},{r.randint(0, 99):02d}" if dialect == "excel_euro" else r.choice(["", "self-pay", "VIP", "interpreter"]))
            rows.append(row)
        kinds.update(kl)
        return Sample(pre + render(header, rows) + post, True, kinds, f"csv/blind4/{dialect}/{'+'.join(kl)}", "csv", values)
    t = r.choice(["provider_directory", "shipments", "dea_roster", "lab_catalogue", "rejected_ssns", "slot_export",
                  "inventory_epoch", "remit_summary"])
    if t == "provider_directory":
        header = ["NPI", "Last Name", "First Name", "Taxonomy", "Office Phone", "Practice Address"]
        rows = [[f.npi(), f.last(), f.first(), "207Q00000X", f.phone(), f"{f.street()} {f.city()[0]}"] for _ in range(r.randint(2, 10))]
    elif t == "shipments":
        header = ["Shipment", "Tracking No", "Shipped (epoch)", "Carrier", "Weight"]
        rows = [[f.id9(), f.luhn_bad16(), f.epoch(), r.choice(["UPS", "USPS"]), r.randint(1, 99)] for _ in range(r.randint(2, 10))]
    elif t == "dea_roster":
        header = ["Prescriber", "DEA Registration", "Schedules", "Expires"]
        rows = []
        for _ in range(r.randint(2, 8)):
            first, last = f.name_parts()
            rows.append([f"{last}, {first}", f.dea(last), "2,2N,3,3N,4,5", "2027-06-30"])
    elif t == "lab_catalogue":
        header = ["Test Code", "LOINC", "Name", "Specimen", "TAT (h)"]
        rows = [[f"L{r.randint(1000, 9999)}", r.choice(["2345-7", "2160-0", "6690-2", "718-7"]), r.choice(["Glucose", "Creatinine", "WBC", "Hemoglobin"]),
                 r.choice(["Serum", "Whole blood"]), r.randint(1, 72)] for _ in range(r.randint(2, 10))]
    elif t == "rejected_ssns":
        header = ["Row", "Input SSN", "Reason"]
        rows = []
        for i in range(r.randint(2, 8)):
            v, why = f.invalid_ssn()
            rows.append([i + 1, v, f"not issued ({why})"])
    elif t == "slot_export":
        header = ["Slot", "Provider", "Date", "Time", "Clinic Phone"]
        rows = [[f.uuid(), f"Dr. {f.last()}", f"{f.recent():%m/%d/%Y}", "10:40", f.phone()] for _ in range(r.randint(2, 10))]
    elif t == "inventory_epoch":
        header = ["item_id", "updated_epoch", "sha1", "qty"]
        rows = [[f.id9(), f.epoch(), f.hexhash(40), r.randint(0, 500)] for _ in range(r.randint(2, 12))]
    else:
        header = ["Check #", "Payer", "Paid", "Claims", "Batch"]
        rows = [[str(r.randint(10**6, 10**8)), "Blue Ridge Health Plan", f"{r.randint(10, 99999)}.{r.randint(0, 99):02d}",
                 r.randint(1, 60), f.b64(9)] for _ in range(r.randint(2, 8))]
    if large:
        src = rows
        rows = place(rows, lambda: list(r.choice(src)), large, where, unit_len=lambda x: 60)
    return Sample(pre + render(header, rows) + post, False, [], f"csv/blind4/neg/{t}/{dialect}", "csv")


def b4_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        kl, rec = b4_record(f, idx)
        t = r.choice(["django_admin", "php_indexed", "visualforce", "qs_nested", "drupal_webform", "jquery_serialize"])
        ks = [(k, v) for k, v, _ in rec.fields]
        if t == "django_admin":
            pairs = [("csrfmiddlewaretoken", f.b64(48).replace("+", "a").replace("/", "b").replace("=", ""))] + \
                [(style_key(b4_words(k), "snake"), v) for k, v in ks] + [("_save", "Save")]
        elif t == "php_indexed":
            pairs = [(f"data[0][{style_key(b4_words(k), 'camel')}]", v) for k, v in ks] + [("action", "update")]
        elif t == "visualforce":
            pairs = [("thePage:theForm", "thePage:theForm")] + \
                [(f"thePage:theForm:pb:pbs:{style_key(b4_words(k), 'camel')}Field", v) for k, v in ks] + \
                [("com.salesforce.visualforce.ViewState", f.b64(120)), ("thePage:theForm:pb:save", "Save")]
        elif t == "qs_nested":
            pairs = [(f"patient[{style_key(b4_words(k), 'camel')}]" if i % 2 else f"patient.{style_key(b4_words(k), 'camel')}", v)
                     for i, (k, v) in enumerate(ks)] + [("_method", "PUT")]
        elif t == "drupal_webform":
            pairs = [(f"submitted[patient_information][{style_key(b4_words(k), 'snake')}]", v) for k, v in ks] + \
                [("form_build_id", "form-" + f.b64(30).replace("+", "-").replace("/", "_")), ("form_id", "webform_client_form_12")]
        else:
            pairs = [(style_key(b4_words(k), r.choice(["camel", "kebab"])), v) for k, v in ks]
        return Sample(form_encode(pairs, f), True, rec.kinds, f"form/blind4/{t}/{f.style}", "txt", rec.values)
    t = r.choice(["login", "search", "stripe_token", "npi_lookup", "ssn_check_invalid", "oauth_code", "beacon"])
    if t == "login":
        pairs = [("username", f"nurse.{f.last().lower()}"), ("password", f.b64(10)), ("remember", "on"), ("csrf", f.hexhash(32))]
    elif t == "search":
        pairs = [("q", r.choice(["flu shot", "cardiology", "billing office hours"])), ("page", r.randint(1, 9)), ("sort", "relevance")]
    elif t == "stripe_token":
        pairs = [("stripeToken", "tok_" + f.b64(18).replace("+", "x").replace("/", "y").replace("=", "")),
                 ("amount", r.randint(100, 50000)), ("card_last4", f"{r.randint(0, 9999):04d}"), ("order", f.id9())]
    elif t == "npi_lookup":
        pairs = [("number", f.npi()), ("enumeration_type", "NPI-1"), ("state", f.city()[1]), ("version", "2.1")]
    elif t == "ssn_check_invalid":
        pairs = [("ssn", f.invalid_ssn()[0]), ("check", "format")]
    elif t == "oauth_code":
        pairs = [("grant_type", "authorization_code"), ("code", f.b64(30)), ("redirect_uri", "https://app.example.org/cb"),
                 ("code_verifier", f.hexhash(43))]
    else:
        pairs = [("v", 2), ("tid", f"G-{f.hexhash(10).upper()}"), ("cid", f"{f.id9()}.{f.epoch()}"), ("en", "page_view"),
                 ("_et", r.randint(1, 9999))]
    return Sample(form_encode(pairs, f), False, [], f"form/blind4/neg/{t}", "txt")


def b4_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    style = r.choice(["webkit", "firefox", "aiohttp", "dotnet", "postman"])
    boundary = {"webkit": "----WebKitFormBoundary" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16)),
                "firefox": "-" * 27 + "".join(str(r.randint(0, 9)) for _ in range(r.randint(26, 30))),
                "aiohttp": f.hexhash(32), "dotnet": f.uuid(),
                "postman": "--------------------------" + "".join(str(r.randint(0, 9)) for _ in range(24))}[style]
    eol = "\r\n"
    parts = []
    kinds: set = set()
    values: list = []

    def field(name, value):
        h = [f'Content-Disposition: form-data; name="{name}"']
        if style == "dotnet":
            h = ["Content-Type: text/plain; charset=utf-8", f"Content-Disposition: form-data; name={name}"]
        parts.append((h, str(value).encode()))

    def file(name, fname, ctype, data, b64=False):
        h = [f'Content-Disposition: form-data; name="{name}"; filename="{fname}"', f"Content-Type: {ctype}"]
        if b64:
            h.append("Content-Transfer-Encoding: base64")
        parts.append((h, data))

    if pos:
        if r.random() < 0.45:
            kl, rec = b4_record(f, idx)
            field("formName", r.choice(["NewPatientRegistration", "insurance-update"]))
            for k, v, _ in rec.fields:
                field(style_key(b4_words(k), r.choice(["camel", "snake"])) if style != "dotnet" else k, v)
            kinds |= rec.kinds
            values += rec.values
            t = "fields"
        else:
            g = r.choice([b4_csv, b4_hl7, b4_json, b4_note, b4_fhir, b4_source])
            inner = g(f, idx, True, 0, where)
            kinds |= set(inner.kinds)
            values += inner.values
            field("uploadType", r.choice(["referral", "bulk-registration", "lab-interface"]))
            ctype = {"csv": "text/csv", "hl7": "x-application/hl7-v2+er7", "json": "application/json", "txt": "text/plain",
                     "xml": "application/fhir+xml"}[inner.ext]
            file("file", f"{r.choice(['upload', 'export', 'Scan_0001'])}.{inner.ext}", ctype, inner.data)
            t = "file:" + inner.note.split("/")[0]
    else:
        t = r.choice(["image", "pdf", "roster_csv", "config_yaml", "base64_part", "mfn_upload"])
        field("description", r.choice(["badge photo", "signed BAA", "provider roster", "interface config"]))
        if t == "image":
            file("avatar", "photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(r.getrandbits(8) for _ in range(r.randint(300, 4000))))
        elif t == "pdf":
            file("doc", "BAA_signed.pdf", "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(r.getrandbits(8) for _ in range(r.randint(300, 4000))))
        elif t == "roster_csv":
            file("roster", "providers.csv", "text/csv", b4_csv(f, idx, False, 0, where).data)
        elif t == "config_yaml":
            file("config", "interface.yaml", "application/x-yaml",
                 (f"listen: 0.0.0.0:{r.randint(2000, 9000)}\nretry_ms: {r.randint(100, 9000)}\napi_key: {f.b64(24)}\n"
                  f"build_sha: {f.hexhash(40)}\n").encode())
        elif t == "base64_part":
            file("blob", "data.bin", "application/octet-stream", base64.b64encode(bytes(r.getrandbits(8) for _ in range(r.randint(100, 900)))), b64=True)
        else:
            file("mfn", "staff.hl7", "x-application/hl7-v2+er7", b4_hl7(f, idx, False, 0, where).data)
    if large:
        big = ([f'Content-Disposition: form-data; name="scan"; filename="scan.jpg"', "Content-Type: image/jpeg"],
               b"\xff\xd8\xff\xe1" + bytes(r.getrandbits(8) for _ in range(large)))
        parts.insert({"start": 0, "end": len(parts), "middle": len(parts) // 2}[where], big)
    out = bytearray()
    for h, data in parts:
        out += f"--{boundary}{eol}".encode()
        for line in h:
            out += f"{line}{eol}".encode()
        out += eol.encode() + data + eol.encode()
    out += f"--{boundary}--{eol}".encode()
    return Sample(bytes(out), pos, kinds, f"multipart/blind4/{style}/{'' if pos else 'neg/'}{t}", "txt", values)


def b4_clinical(f: Faker) -> str:
    r = f.r
    return r.choice([
        f"S: {r.choice(['Reports', 'Denies'])} {r.choice(['dyspnea on exertion', 'chest pressure', 'fevers', 'dysuria'])}; "
        f"adherent to {r.choice(MEDS)}.\nO: BP {r.randint(100, 170)}/{r.randint(60, 100)}, HR {r.randint(55, 110)}, "
        f"SpO2 {r.randint(91, 100)}% RA.\nA: {r.choice(CONDITIONS)}.\nP: {r.choice(['labs in 3 mo', 'start statin', 'PT referral'])}.\n",
        f"Assessment/Plan:\n1. {r.choice(CONDITIONS).capitalize()} - {r.choice(['stable', 'worsening', 'improved'])}. "
        f"Continue {r.choice(MEDS)}.\n2. Health maintenance - flu vaccine given.\n",
        f"Vitals: T {r.randint(970, 1010) / 10}F  P {r.randint(55, 110)}  R {r.randint(12, 22)}  BP {r.randint(100, 170)}/{r.randint(60, 100)}\n"
        f"Labs: A1c {r.randint(50, 110) / 10}%, LDL {r.randint(60, 190)}.\n",
    ])


def b4_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    pf, pl = f.name_parts()
    doc = f"{f.first()} {f.last()}"
    if pos:
        kl = pick_kinds(f, idx)
        ids = []
        for k in kl:
            v = ident_value(f, k, (pf, pl))
            ids.append(b4_phrase(f, k, v))
            values.append((k, str(v)))
        kinds.update(kl)
        t = r.choice(["email_referral", "pdf_extract", "soap_note", "fax_cover", "prior_auth_letter", "telephone_encounter",
                      "sms_thread"])
        if t == "email_referral":
            text = (f"From: {doc.split()[0].lower()}@clinic.example.org\nTo: referrals@ortho.example.org\nDate: {f.recent():%a, %d %b %Y %H:%M:%S} -0500\n"
                    f"Subject: Referral - urgent\nContent-Type: text/plain; charset=\"us-ascii\"\n\nHi team,\n\nPlease see the referral below.\n\n"
                    + "\n".join(ids) + f"\nReason: {r.choice(CONDITIONS)}\n\nThanks,\n{doc}\n\n> On {f.recent():%m/%d/%Y}, scheduling wrote:\n> Please send demographics.\n")
        elif t == "pdf_extract":
            lines = []
            for i in ids:
                lines.append(i.replace(": ", ":" + " " * r.randint(1, 12)) if r.random() < 0.5 else i)
            text = ("DOVER REGIONAL MEDICAL CENTER\x0c\nREGISTRATION FACE SHEET                     Page 1 of 2\n\n"
                    + "\n".join(lines) + "\n\nAdmit Dx: " + r.choice(CONDITIONS) + f"\nAttending: {doc}, MD\n\x0c\nPage 2 of 2\n"
                    "Printed by: REGCLERK3\n")
        elif t == "soap_note":
            text = ("PROGRESS NOTE\n" + "  ".join(ids) + "\n\n" + b4_clinical(f) + f"\nElectronically signed by {doc}, MD on {f.recent():%m/%d/%Y %H:%M}\n")
        elif t == "fax_cover":
            text = ("FAX COVER SHEET\nTo: Utilization Review   Fax: " + f"{r.randint(201, 989)}-{r.randint(201, 989)}-{r.randint(0, 9999):04d}\n"
                    f"From: {doc}, MD\nPages (incl. cover): {r.randint(2, 12)}\nRE: records request\n\n" + "\n".join(ids) +
                    "\n\nCONFIDENTIALITY NOTICE: This facsimile contains privileged information.\n")
        elif t == "prior_auth_letter":
            text = (f"{f.recent():%B %d, %Y}\n\nBlue Ridge Health Plan\nPrior Authorization Department\n\n" + "\n".join(ids) +
                    f"\n\nDear Reviewer,\nI am writing to request authorization for MRI lumbar spine for the above member "
                    f"with {r.choice(CONDITIONS)}. Conservative therapy has failed.\n\nSincerely,\n{doc}, MD\n")
        elif t == "telephone_encounter":
            text = (f"Telephone Encounter {f.recent():%m/%d/%Y %I:%M %p}\nCaller: self\n" + "; ".join(ids) +
                    f"\nReason for call: {r.choice(['med refill', 'lab results', 'side effects'])}\nDisposition: routed to {doc}, RN\n")
        else:
            text = ("[SMS thread exported]\n" + "".join(f"{f.recent():%H:%M} Clinic: {i}\n" for i in ids) +
                    f"{f.recent():%H:%M} Clinic: Reply C to confirm your appointment.\n")
    else:
        t = r.choice(["newsletter", "protocol", "deid_summary", "placeholder_template", "formulary_update", "meeting_minutes",
                      "irb_letter", "lab_ranges"])
        if t == "newsletter":
            text = (f"DOVER REGIONAL NEWS - {f.recent():%B %Y}\nFlu clinics every Saturday. Call {f.phone()} to book. "
                    f"Welcome {doc}, MD (NPI {f.npi()}) to Family Medicine!\n")
        elif t == "protocol":
            text = ("STUDY PROTOCOL v3.2\nInclusion: age 40-75, " + r.choice(CONDITIONS) + ".\nExclusion: eGFR < 30.\n"
                    "Data handling: no SSN, MRN or date of birth leaves the site; subjects are coded S-001..S-999.\n")
        elif t == "deid_summary":
            text = "DE-IDENTIFIED SUMMARY (Safe Harbor)\nPatient: [REDACTED]  DOB: [REDACTED]  MRN: [REDACTED]\n" + b4_clinical(f)
        elif t == "placeholder_template":
            text = ("Dear {{patient_first_name}},\nYour appointment on {{appt_date}} at {{clinic_phone}}.\nDOB on file: {{dob}}\n"
                    "Member ID: {{member_id}}\n")
        elif t == "formulary_update":
            text = (f"P&T Committee: {r.choice(MEDS)} moved to Tier 2 effective {f.recent():%m/%d/%Y}. "
                    f"NDC {r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}.\n")
        elif t == "meeting_minutes":
            text = (f"Minutes - Quality Committee {f.recent():%m/%d/%Y}\nAttendees: {doc}, {f.first()} {f.last()}\n"
                    f"1. CLABSI rate {r.randint(0, 30) / 10} per 1000 line days.\n2. Next meeting in Room {r.randint(100, 499)}.\n")
        elif t == "irb_letter":
            text = (f"IRB #{r.randint(2020, 2026)}-{r.randint(1000, 9999)}\nPrincipal Investigator: {doc}, MD, NPI {f.npi()}\n"
                    f"Approval period: {f.recent():%m/%d/%Y} - {f.recent():%m/%d/%Y}\nStatus: Approved (expedited).\n")
        else:
            text = "Reference ranges\nSodium 135-145 mmol/L\nPotassium 3.5-5.1 mmol/L\nCreatinine 0.6-1.3 mg/dL\nGlucose 70-99 mg/dL\n"
    if large:
        text = "".join(place([text], lambda: "\n" + b4_clinical(f), large, where))
    return Sample(text, pos, kinds, f"note/blind4/{'' if pos else 'neg/'}{t}", "txt", values)


def b4_clean_log(f: Faker) -> str:
    r = f.r
    ts = f.recent()
    return r.choice([
        json.dumps({"@t": ts.isoformat() + "Z", "@mt": "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms",
                    "RequestMethod": "GET", "RequestPath": f"/api/slots/{f.id9()}", "StatusCode": 200, "Elapsed": r.random() * 90}),
        json.dumps({"@timestamp": ts.isoformat() + "Z", "@version": "1", "message": f"Completed batch {f.uuid()} in {r.randint(1, 9000)}ms",
                    "logger_name": "com.example.batch.Runner", "thread_name": "main", "level": "INFO", "level_value": 20000}),
        f'{ts:%b %d %H:%M:%S} app01 node[{r.randint(100, 9999)}]: {f.ip()} - GET /healthz 200 {r.randint(1, 9)}ms',
        f"{ts:%Y-%m-%d %H:%M:%S} INFO  [{f.hexhash(16)},{f.hexhash(16)}] o.s.web.servlet.DispatcherServlet - Completed 200 OK",
        f"I, [{ts:%Y-%m-%dT%H:%M:%S}.{r.randint(0, 999999):06d} #{r.randint(100, 9999)}]  INFO -- : Completed 200 OK in {r.randint(1, 900)}ms (Views: {r.randint(0, 90)}.1ms | ActiveRecord: {r.randint(0, 90)}.4ms)",
        f"ts={ts.isoformat()}Z level=debug cache=hit key={f.hexhash(24)} ttl={r.randint(10, 3600)}",
    ])


def b4_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    lines = [b4_clean_log(f) for _ in range(r.randint(0, 6))]
    ts = f.recent()
    if pos:
        kl, rec = b4_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        fields = [(k, v) for k, v, _ in rec.fields]
        camel = [(style_key(b4_words(k), "camel"), v) for k, v in fields]
        t = r.choice(["serilog_clef", "logstash_json", "otel_logrecord", "python_repr", "rails_params", "django_querydict",
                      "syslog_5424_sd", "mysql_insert"])
        if t == "serilog_clef":
            line = json.dumps({"@t": ts.isoformat() + "Z", "@mt": "Registration rejected for {@Patient}", "@l": "Warning",
                               "Patient": dict({"$type": "PatientDto"}, **{style_key(b4_words(k), "pascal"): v for k, v in fields}),
                               "SourceContext": "Hospital.Registration.Api"})
        elif t == "logstash_json":
            line = json.dumps({"@timestamp": ts.isoformat() + "Z", "@version": "1",
                               "message": "eligibility check failed: " + ", ".join(f"{k}={v}" for k, v in camel),
                               "logger_name": "com.example.elig.EligibilityClient", "level": "WARN",
                               "mdc": {"traceId": f.hexhash(16)}})
        elif t == "otel_logrecord":
            attrs = [{"key": "patient." + style_key(b4_words(k), "snake"), "value": {"stringValue": str(v)}} for k, v in fields]
            line = json.dumps({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "intake"}}]},
                                                  "scopeLogs": [{"logRecords": [{"timeUnixNano": str(f.epoch() * 10**9),
                                                                                  "severityText": "ERROR",
                                                                                  "body": {"stringValue": "upsert conflict"},
                                                                                  "attributes": attrs,
                                                                                  "traceId": f.hexhash(32)}]}]}]})
        elif t == "python_repr":
            inner = ", ".join(f"{style_key(b4_words(k), 'snake')}={v!r}" for k, v in fields)
            line = (f"Traceback (most recent call last):\n  File \"/srv/intake/app/tasks.py\", line {r.randint(10, 400)}, in sync_patient\n"
                    f"    repo.upsert(p)\nintake.errors.DuplicatePatient: Patient({inner})")
        elif t == "rails_params":
            inner = ", ".join(f'"{style_key(b4_words(k), "snake")}"=>"{v}"' for k, v in fields)
            line = (f"Started POST \"/patients\" for {f.ip()} at {ts:%Y-%m-%d %H:%M:%S} -0500\n"
                    f"Processing by PatientsController#create as HTML\n"
                    f"  Parameters: {{\"authenticity_token\"=>\"[FILTERED]\", \"patient\"=>{{{inner}}}, \"commit\"=>\"Save\"}}")
        elif t == "django_querydict":
            inner = ", ".join(f"'{style_key(b4_words(k), 'snake')}': ['{v}']" for k, v in fields)
            line = (f"ERROR {ts:%Y-%m-%d %H:%M:%S},{r.randint(0, 999):03d} log Internal Server Error: /intake/submit/\n"
                    f"Traceback (most recent call last):\n  ...\nKeyError: 'clinic_id'\n"
                    f"POST: <QueryDict: {{{inner}}}>")
        elif t == "syslog_5424_sd":
            sd = " ".join(f'{style_key(b4_words(k), "camel")}="{v}"' for k, v in fields)
            line = f"<134>1 {ts.isoformat()}Z reg01 registration {r.randint(100, 9999)} PATIENT [patient@32473 {sd}] record updated"
        else:
            cols = ", ".join(style_key(b4_words(k), "snake") for k, _ in fields)
            vals = ", ".join(f"'{v}'" for _, v in fields)
            line = (f"# Time: {ts.isoformat()}Z\n# User@Host: app[app] @ {f.ip()}\n# Query_time: {r.random() * 9:.6f}  Lock_time: 0.000021 Rows_sent: 0\n"
                    f"SET timestamp={f.epoch()};\nINSERT INTO patient ({cols}) VALUES ({vals});")
        lines.insert(r.randint(0, len(lines)), line)
    else:
        t = r.choice(["masked", "invalid_ssn", "dea_npi", "imei_device", "ids_epochs", "last4"])
        if t == "masked":
            lines.append(f"{ts:%Y-%m-%d %H:%M:%S} INFO  PaymentService - verified ssn={f.masked_ssn()} card=**** **** **** {r.randint(0, 9999):04d}")
        elif t == "invalid_ssn":
            lines.append(json.dumps({"@t": ts.isoformat() + "Z", "@mt": "SSN {Ssn} rejected: {Reason}", "Ssn": f.invalid_ssn()[0],
                                     "Reason": "not issued", "@l": "Information"}))
        elif t == "dea_npi":
            first, last = f.name_parts()
            lines.append(f"ts={ts.isoformat()}Z level=info msg=\"prescriber verified\" npi={f.npi()} dea={f.dea(last)} prescriber=\"{first} {last}\"")
        elif t == "imei_device":
            lines.append(f"{ts:%b %d %H:%M:%S} mdm01 enroll[{r.randint(100, 9999)}]: device registered imei={f.imei()} serial={f.hexhash(10).upper()}")
        elif t == "ids_epochs":
            lines.append(f"{ts:%Y-%m-%d %H:%M:%S} DEBUG OrderSync - order={f.id9()} created={f.epoch()} req={f.uuid()} etag={f.hexhash(32)}")
        else:
            lines.append(f"I, [{ts:%Y-%m-%dT%H:%M:%S}.000000 #42]  INFO -- : charged card ending {r.randint(0, 9999):04d}, receipt {f.confirmation()}")
        t = "neg/" + t
    if large:
        lines = place(lines, lambda: b4_clean_log(f), large, where)
    return Sample("\n".join(lines) + "\n", pos, kinds, f"log/blind4/{t}", "log", values)


def b4_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r

    def block():
        name = r.choice(["intake_request_duration_seconds", "hl7_queue_messages", "process_resident_memory_bytes", "fhir_cache_hits"])
        if name.endswith("seconds"):
            out = [f"# HELP {name} Request latency.", f"# TYPE {name} histogram"]
            c = 0
            for le in ["0.005", "0.05", "0.5", "5", "+Inf"]:
                c += r.randint(0, 10**6)
                out.append(f'{name}_bucket{{route="/api/patients",le="{le}"}} {c}')
            out += [f"{name}_sum {r.random() * 10**5:.3f}", f"{name}_count {c}"]
            return "\n".join(out)
        if name.startswith("process"):
            return f"# TYPE {name} gauge\n{name} {r.randint(10**7, 10**10)}"
        out = [f"# TYPE {name} counter"]
        for _ in range(r.randint(1, 3)):
            out.append(f'{name}{{field="{r.choice(["ssn", "dob", "mrn", "member_id"])}",result="{r.choice(["ok", "invalid"])}",validator="registration-schema-v3"}} '
                       f"{r.randint(0, 10**9)} {f.epoch() * 1000 + r.randint(0, 999)}")
        return "\n".join(out)

    blocks = [block() for _ in range(r.randint(1, 5))]
    kinds: set = set()
    values: list = []
    t = "neg/exposition"
    if pos:
        kl = pick_kinds(f, idx)[:2]
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        t = r.choice(["label_leak", "field_value_labels", "path_label", "cache_key_label"])
        if t == "label_leak" or t == "path_label" and any(kd not in CONTEXT_FREE or str(v).isdigit() for _, v, kd in rec.fields):
            t = "label_leak"
            labels = ",".join(f'{style_key(b4_words(k), "snake")}="{v}"' for k, v, _ in rec.fields)
            blocks.insert(r.randint(0, len(blocks)), f"# TYPE intake_duplicate_patients counter\nintake_duplicate_patients{{{labels}}} {r.randint(1, 9)}")
        elif t == "field_value_labels":
            lines = ["# HELP intake_validation_errors_total Validation errors by field.", "# TYPE intake_validation_errors_total counter"]
            for k, v, _ in rec.fields:
                lines.append(f'intake_validation_errors_total{{field="{style_key(b4_words(k), "snake")}",value="{v}"}} {r.randint(1, 9)}')
            blocks.insert(r.randint(0, len(blocks)), "\n".join(lines))
        elif t == "path_label":
            lines = ["# TYPE http_server_requests_seconds_count counter"]
            for k, v, _ in rec.fields:
                lines.append(f'http_server_requests_seconds_count{{method="GET",status="200",uri="/api/people/{v}"}} {r.randint(1, 90)}')
            blocks.insert(r.randint(0, len(blocks)), "\n".join(lines))
        else:
            lines = ["# TYPE cache_entry_age_seconds gauge"]
            for k, v, _ in rec.fields:
                lines.append(f'cache_entry_age_seconds{{key="patient:{style_key(b4_words(k), "snake")}:{v}"}} {r.randint(1, 9000)}')
            blocks.insert(r.randint(0, len(blocks)), "\n".join(lines))
    if large:
        blocks = place(blocks, block, large, where)
    return Sample("\n".join(blocks) + "\n", pos, kinds, f"prometheus/blind4/{t}", "prom", values)


def b4_code_filler(f: Faker) -> str:
    r = f.r
    n = r.randint(1, 10**6)
    return r.choice([
        f"\n# migration {n}\nALTER TABLE appointment ADD COLUMN created_epoch BIGINT DEFAULT {f.epoch()};\n",
        f"\nfun retry{n}(attempts: Int = {r.randint(1, 9)}): Long = {f.id9()}L\n",
        f"\n<?php\nconst CACHE_SALT_{n} = '{f.hexhash(32)}';\n",
        f"\n  - name: job-{n}\n    image: registry.example/worker@sha256:{f.hexhash()}\n",
    ])


def b4_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = b4_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        snake = [(style_key(b4_words(k), "snake"), v) for k, v, _ in rec.fields]
        camel = [(style_key(b4_words(k), "camel"), v) for k, v, _ in rec.fields]
        t = r.choice(["sql_insert_multi", "yaml_seed", "toml_fixture", "pytest_fixture", "kotlin_data", "php_array",
                      "rspec_let", "csharp_inline_data"])
        if t == "sql_insert_multi":
            text = ("-- seed data for local dev\nINSERT INTO `patients` (`id`, " + ", ".join(f"`{k}`" for k, _ in snake) + ")\nVALUES\n"
                    f"  ({r.randint(1, 999)}, " + ", ".join(f"'{v}'" for _, v in snake) + ");\n")
        elif t == "yaml_seed":
            text = ("# db/seeds/patients.yml\npatients:\n  - id: 1\n" + "".join(f"    {k}: \"{v}\"\n" for k, v in snake)
                    + "    active: true\n")
        elif t == "toml_fixture":
            text = "[fixture.patient]\n" + "".join(f"{k} = \"{v}\"\n" for k, v in snake) + "synthetic = false\n"
        elif t == "pytest_fixture":
            text = ("@pytest.fixture\ndef patient():\n    return {\n" + "".join(f"        \"{k}\": \"{v}\",\n" for k, v in snake)
                    + "    }\n")
        elif t == "kotlin_data":
            text = ("val patient = Patient(\n" + ",\n".join(f"    {k} = \"{v}\"" for k, v in camel) + "\n)\n")
        elif t == "php_array":
            text = "<?php\n$patient = [\n" + "".join(f"    '{k}' => '{v}',\n" for k, v in snake) + "];\n$repo->save($patient);\n"
        elif t == "rspec_let":
            text = ("describe Patient do\n  let(:attrs) do\n    {\n" + "".join(f"      {k}: '{v}',\n" for k, v in snake)
                    + "    }\n  end\nend\n")
        else:
            args = ", ".join(f'"{v}"' for _, v in camel)
            names = ", ".join(f"string {k}" for k, _ in camel)
            text = (f"[Theory]\n[InlineData({args})]\npublic void Registers_patient({names})\n{{\n"
                    "    Assert.True(_svc.Register(" + ", ".join(k for k, _ in camel) + "));\n}\n")
    else:
        t = r.choice(["ssn_validator_tests", "luhn_tests", "mbi_validator", "npi_constants", "proto_schema", "sql_ddl",
                      "regex_constants"])
        if t == "ssn_validator_tests":
            bad = [f.invalid_ssn()[0] for _ in range(r.randint(2, 5))]
            text = ("@pytest.mark.parametrize(\"value\", [\n" + "".join(f"    \"{b}\",\n" for b in bad) + "])\n"
                    "def test_rejects_unissued_ssn(value):\n    assert not is_valid_ssn(value)\n")
        elif t == "luhn_tests":
            bad = [f.luhn_bad16() for _ in range(r.randint(2, 5))]
            text = ("#[test]\nfn rejects_bad_checksums() {\n" + "".join(f"    assert!(!luhn(\"{b}\"));\n" for b in bad) + "}\n")
        elif t == "mbi_validator":
            text = ("// MBI: 11 chars, no S L O I B Z\nconst MBI = /^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d"
                    "[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d[AC-HJKMNP-RT-Y]{2}\\d{2}$/;\n"
                    "test('rejects', () => { expect(MBI.test('0S00-SS0-SS00')).toBe(false); });\n")
        elif t == "npi_constants":
            text = "".join(f"NPI_{f.last().upper().replace('-', '_')} = \"{f.npi()}\"  # test clinic provider\n" for _ in range(r.randint(1, 4)))
        elif t == "proto_schema":
            text = ("syntax = \"proto3\";\nmessage Patient {\n  string mrn = 1;\n  string ssn = 2;\n  google.protobuf.Timestamp birth_date = 3;\n"
                    "  string member_id = 4;\n}\n")
        elif t == "sql_ddl":
            text = ("CREATE TABLE patient (\n  id BIGSERIAL PRIMARY KEY,\n  mrn TEXT NOT NULL,\n  ssn_enc BYTEA,\n  dob DATE,\n"
                    f"  created_epoch BIGINT DEFAULT {f.epoch()}\n);\n")
        else:
            text = (f"SSN_RE = re.compile(r\"^(?!000|666|9\\d\\d)\\d{{3}}-(?!00)\\d{{2}}-(?!0000)\\d{{4}}$\")\nBUILD_ID = \"{f.hexhash(40)}\"\n"
                    f"DEFAULT_TTL = {f.id9()}\n")
        t = "neg/" + t
    if large:
        text = "".join(place([text], lambda: b4_code_filler(f), large, where))
    return Sample(text, pos, kinds, f"source/blind4/{t}", "txt", values)


def b4_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = r.choice(["json", "fhir", "hl7", "csv", "note", "log", "source", "form"])
    inner = B4_GEN[inner_fmt](f, idx, pos, large, where)
    how = r.choice(["gzip_comment", "gzip_multi", "zlib_best", "gzip_mtime"])
    raw = inner.data
    if how == "gzip_comment":
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = co.compress(raw) + co.flush()
        hdr = b"\x1f\x8b\x08\x10" + f.epoch().to_bytes(4, "little") + b"\x00\x03" + b"exported by nightly job\x00"
        data = hdr + body + (zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "little") + (len(raw) & 0xFFFFFFFF).to_bytes(4, "little")
    elif how == "gzip_multi":
        cut = r.randint(1, max(1, len(raw) - 1))
        data = gzip.compress(raw[:cut], mtime=0) + gzip.compress(raw[cut:], mtime=0)
    elif how == "zlib_best":
        data = zlib.compress(raw, 9)
    else:
        data = gzip.compress(raw, compresslevel=r.choice([1, 6]), mtime=f.epoch())
    ext = inner.ext + (".zz" if how == "zlib_best" else ".gz")
    return Sample(data, pos, inner.kinds, f"gzip/blind4/{how}/" + inner.note, ext, inner.values)


def esc_mixed(f: Faker):
    r = f.r

    def e(s: str) -> str:
        out = []
        for c in esc_default(s):
            if (c.isalnum() or c in "-@.") and r.random() < 0.5:
                out.append(("\\u%04X" if r.random() < 0.5 else "\\u%04x") % ord(c))
            else:
                out.append(c)
        return "".join(out)
    return e


def esc_go_html(s: str) -> str:
    return esc_default(s).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def b4_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    how = r.choice(["mixed_random", "digits_upper", "all_upper_keys_plain", "go_html_digits"])
    if how == "mixed_random":
        esc = kesc = esc_mixed(f)
    elif how == "digits_upper":
        esc, kesc = (lambda s: esc_digits(s, upper=True)), esc_default
    elif how == "all_upper_keys_plain":
        esc, kesc = (lambda s: esc_all(s, upper=True)), esc_default
    else:
        esc, kesc = (lambda s: esc_digits(s).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")), esc_go_html
    if r.random() < 0.65:
        s = b4_json(f, idx, pos, large, where, esc=esc, kesc=kesc)
    else:
        s = b4_fhir(f, idx, pos, large, where, esc=esc)
    s.note = f"json_escape/blind4/{how}/" + s.note
    return s


def b4_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = b4_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        pairs = [(style_key(b4_words(k), r.choice(["camel", "snake"])), str(v)) for k, v, _ in rec.fields]
        tt = "pos"
    else:
        tt = r.choice(["analytics", "npi_search", "masked", "invalid_ssn", "ids"])
        pairs = {"analytics": [("utm_source", "newsletter"), ("fbclid", f.b64(30)), ("_ts", str(f.epoch() * 1000))],
                 "npi_search": [("npi", f.npi()), ("provider", f"{f.first()} {f.last()}")],
                 "masked": [("ssnMasked", f.masked_ssn()), ("cardMasked", f"************{r.randint(0, 9999):04d}")],
                 "invalid_ssn": [("ssn", f.invalid_ssn()[0]), ("validate", "true")],
                 "ids": [("orderId", f.id9()), ("requestId", f.uuid()), ("since", str(f.epoch()))]}[tt]
    how = r.choice(["aspnet_returnurl", "mixed_case_hex", "path_segments", "cookie_json", "apigw_log", "plus_spaces"])
    if how == "aspnet_returnurl":
        inner = "/Patients/Edit?" + "&".join(f"{k}={v}" for k, v in pairs)
        text = f"GET /Account/Login?ReturnUrl={urllib.parse.quote(inner, safe='')} HTTP/1.1\r\nHost: portal.example.org\r\n\r\n"
    elif how == "mixed_case_hex":
        def enc(v):
            return "".join(c if c.isalnum() and r.random() < 0.3 else ("%%%02x" if r.random() < 0.5 else "%%%02X") % ord(c)
                           for c in v)
        text = "POST /intake HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n" + "&".join(f"{k}={enc(v)}" for k, v in pairs)
    elif how == "path_segments":
        segs = "/".join(f"{k}/{urllib.parse.quote(v, safe='').replace('-', '%2D')}" for k, v in pairs)
        text = f"GET /api/v1/patients/search/{segs} HTTP/1.1\r\nAccept: application/json\r\n\r\n"
    elif how == "cookie_json":
        text = ("GET /dashboard HTTP/1.1\r\nHost: portal.example.org\r\nCookie: session=" + f.hexhash(32) + "; draft="
                + urllib.parse.quote(json.dumps(dict(pairs)), safe="") + "\r\n\r\n")
    elif how == "apigw_log":
        q = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in pairs)
        text = json.dumps({"requestId": f.uuid(), "ip": f.ip(), "requestTime": f"{f.recent():%d/%b/%Y:%H:%M:%S} +0000",
                           "httpMethod": "GET", "resourcePath": "/lookup", "status": "200",
                           "rawQueryString": q}) + "\n"
    else:
        text = "&".join(f"{urllib.parse.quote_plus(k)}={urllib.parse.quote_plus(v)}" for k, v in pairs)
    if large:
        pad = "&".join(f"p{i}={f.hexhash(20)}" for i in range(large // 25))
        text = {"start": text + "&" + pad, "end": pad + "&" + text, "middle": pad[:len(pad) // 2] + "&" + text + "&" + pad[len(pad) // 2:]}[where]
    return Sample(text, pos, kinds, f"percent/blind4/{how}" + ("" if pos else f"/neg/{tt}"), "txt", values)


B4_GEN = {
    "json": b4_json, "fhir": b4_fhir, "hl7": b4_hl7, "csv": b4_csv, "form": b4_form, "multipart": b4_multipart,
    "note": b4_note, "log": b4_log, "prometheus": b4_prometheus, "source": b4_source, "gzip": b4_gzip,
    "json_escape": b4_json_escape, "percent": b4_percent,
}


# --------------------------------------------------------------------------------------------
# The `blind5` family: a fifth, independent template set written blind on 2026-11-23, after the
# detectors were tuned on `fresh` and `blind4` (without reading the detection rules, their history
# or any miss list, and without scanning any sample while writing); never tuned on. Envelopes and
# label spellings imitate NextGen, eClinicalWorks, Veradigm Unity, Oracle Health Millennium, cloud
# FHIR stores (HealthLake / Azure / GCP), lab instruments, X12 834/837, Kafka / Debezium / Avro,
# GraphQL variables, Elasticsearch bulk, JSON:API, Pub/Sub, Service Bus, Mirth, Lambda, Rust
# tracing, Elixir, Windows event XML, Protobuf text, INI, Go / Java / Swift / Rust / Kotlin tests,
# portal messages, chat transcripts and Spanish / French labels. Report its totals only.
# --------------------------------------------------------------------------------------------

B5 = "blind5"
NAMES[B5] = (
    "Araceli Benedikt Clementine Dariusz Esmeralda Filomena Gaspard Hyacinth Ignatius Josefina "
    "Kristof Leopoldine Marcelino Noemie Octavian Perpetua Reinhold Solveig Thaddeus Ursuline "
    "Valentin Wendeline Xavier Yolanda Zephyrine Amadeo Berenice Casimir Domitila Eustace".split(),
    "Arrowsmith Bustamante Cholewa Dauphinais Espinoza Faulkner-Reyes Grimaldi Halvorsen Ibarra "
    "Jaramillo Kettleborough Lafleur Mbeki Nordstrom Ortega Pacheco Quinlivan Rockwell Szymanski "
    "Tremblay Urquhart Valderrama Waddington Yilmaz Zaragoza Aucoin Bouchard Cifuentes".split(),
)
STREETS[B5] = ["Calle Rosal 14", "Rue des Erables", "Tamarack Cir", "Foxglove Hollow Rd", "Pinecrest Blvd Apt 12B"]
CITIES[B5] = [("Laredo", "TX"), ("Lewiston", "ME"), ("Santa Fe", "NM"), ("Duluth", "MN"), ("Hilo", "HI")]
KW[B5] = {
    "ssn": [["ssn"], ["soc", "sec", "no"], ["social", "sec", "nbr"], ["ss", "num"], ["numero", "seguro", "social"],
            ["numero", "securite", "sociale", "us"], ["person", "ssn"], ["ssn", "text"]],
    "mbi": [["medicare", "no"], ["mbi", "id"], ["medicare", "benef", "id"], ["hicn", "mbi"], ["numero", "medicare"]],
    "mrn": [["med", "rec", "nbr"], ["chart", "no"], ["patient", "chart", "id"], ["numero", "expediente"],
            ["dossier", "medical", "no"], ["mrn", "code"], ["hosp", "mrn"]],
    "member_id": [["member", "nbr"], ["subscriber", "no"], ["insurance", "id", "no"], ["numero", "afiliado"],
                  ["plan", "subscriber", "id"], ["policy", "member", "no"]],
    "account_number": [["acct", "nbr"], ["patient", "acct", "no"], ["billing", "acct"], ["numero", "cuenta"],
                       ["fin", "account", "number"], ["enc", "acct", "id"]],
    "dob": [["birth", "date"], ["dob", "date"], ["date", "naissance"], ["fecha", "nacimiento"], ["birthdt"],
            ["pt", "dob"], ["date", "of", "birth"]],
    "credit_card": [["card", "no"], ["cc", "num"], ["card", "pan"], ["numero", "tarjeta"], ["payment", "card", "number"]],
    "patient_email": [["patient", "email"], ["patient", "e", "mail"], ["correo", "paciente"], ["pt", "email"]],
    "patient_phone": [["patient", "tel"], ["patient", "phone"], ["telefono", "paciente"], ["patient", "contact", "no"]],
    "patient_name": [["patient", "name"], ["patient", "nm"], ["nombre", "paciente"], ["nom", "patient"],
                     ["patient", "fullname"]],
    "npi": [["npi"], ["attending", "npi"], ["ordering", "npi"]],
    "dea": [["dea", "no"], ["prescriber", "dea", "nbr"]],
}
STYLES[B5] = ["snake", "camel", "pascal", "upper", "kebab", "dotted", "flat"]
NEUTRAL_KEYS[B5] = [["data"], ["attr", "value"], ["field1"], ["lookup", "key"]]
NEUTRAL_PHRASES[B5] = ["#{v}#", "value={v}", "({v})", "key {v} matched"]
PHRASES[B5] = {
    "ssn": ["SSN no. {v}", "Soc. Sec. No.: {v}", "SS#{v}", "Número de Seguro Social: {v}", "social-security {v}",
            "SSN (US) : {v}"],
    "mbi": ["Medicare No.: {v}", "MBI# {v}", "Medicare benef. ID {v}", "Número de Medicare: {v}"],
    "mrn": ["MRN# {v}", "Chart #: {v}", "Med. Rec. Nbr {v}", "Expediente: {v}", "N° de dossier : {v}", "Hospital No. {v}"],
    "member_id": ["Member No.: {v}", "Subscriber # {v}", "Ins. ID: {v}", "Afiliado núm. {v}", "Policy/Member ID {v}"],
    "account_number": ["Acct Nbr: {v}", "Billing acct {v}", "Account No. {v}", "Cuenta: {v}", "Patient account - {v}"],
    "dob": ["DOB {v}", "Birth Date: {v}", "born {v}", "Fecha de nacimiento: {v}", "Né(e) le {v}", "d.o.b: {v}"],
    "credit_card": ["Card no. {v}", "paid by card {v}", "Tarjeta: {v}", "CC {v}"],
    "patient_email": ["Patient email address: {v}", "pt's email {v}", "correo del paciente: {v}", "patient e-mail on file {v}"],
    "patient_phone": ["Patient tel. {v}", "patient best contact number: {v}", "teléfono del paciente: {v}", "pt cell {v}"],
    "patient_name": ["Patient name: {v}", "Re: patient {v}", "Nombre del paciente: {v}", "Nom du patient : {v}", "PT: {v}"],
}


class Blind5Faker(Faker):
    """Value formats of the blind5 family."""

    def fmt_name(self, first, last):
        mi = self.r.choice("ABCDEFGHJKLMNPRSTVW")
        return self.r.choice([f"{first} {last}", f"{last}, {first}", f"{last.upper()} {first}",
                              f"{first} {mi}. {last}", f"{last.upper()},{first.upper()} {mi}"])

    def email(self, first, last):
        dom = self.r.choice(["example.com", "correo.example", "patients.example.org", "mymail.example.net"])
        l2 = last.lower().replace("-", "")
        return self.r.choice([f"{first.lower()}{l2[0]}{self.r.randint(10, 99)}@{dom}", f"{l2}_{first.lower()}@{dom}",
                              f"{first.lower()}.{l2}+portal@{dom}", f"{first[0].lower()}.{l2}@{dom}"])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"{a} {e} {n:04d}", f"1 ({a}) {e}-{n:04d}", f"{a}/{e}-{n:04d}", f"+1.{a}.{e}.{n:04d}",
                              f"({a}) {e}-{n:04d} x{self.r.randint(10, 999)}", f"1-{a}-{e}-{n:04d}", f"{a}{e}{n:04d}"])

    def fmt_date(self, d):
        r = self.r
        return r.choice([d.isoformat(), d.strftime("%m/%d/%Y"), d.strftime("%d %b %Y"), d.strftime("%Y.%m.%d"),
                         d.strftime("%m-%d-%y"), d.strftime("%b %d, %Y"), d.strftime("%d%b%Y").upper(),
                         d.isoformat() + "T00:00:00-05:00", d.strftime("%m/%d/%Y %H:%M"), d.strftime("%Y%m%d")])

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        opts = ["dash", "dash", "bare", "space"] if bare_ok else ["dash", "dash", "space"]
        o = self.r.choice(opts)
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        if dashed is None:
            dashed = self.r.random() < 0.3
        return super().mbi(dashed)

    def mrn(self):
        r = self.r
        return r.choice([f"{r.randint(1, 999999):010d}", f"ECW{r.randint(10**6, 10**7 - 1)}", f"{r.randint(10**7, 10**8 - 1)}",
                         f"NG-{r.randint(10**5, 10**6 - 1)}", f"{r.randint(100, 999)}.{r.randint(100, 999)}.{r.randint(100, 999)}"])

    def member_id(self):
        r = self.r
        L = "ABCDEFGHJKMNPRTUVWXYZ"
        pre = "".join(r.choice(L) for _ in range(3))
        return r.choice([f"{pre}{r.randint(10**8, 10**9 - 1)}", f"{r.randint(10**9, 10**10 - 1)} {r.randint(1, 9):02d}",
                         f"{pre}-{r.randint(10**5, 10**6 - 1)}-{r.randint(10, 99)}", f"M{r.randint(10**7, 10**8 - 1)}{r.choice(L)}"])

    def account(self):
        r = self.r
        return r.choice([f"V{r.randint(10**8, 10**9 - 1)}", f"{r.randint(10, 99)}-{r.randint(10**7, 10**8 - 1)}",
                         str(r.randint(10**7, 10**8 - 1)), f"FIN{r.randint(10**7, 10**8 - 1)}"])

    def card(self):
        r = self.r
        kind = r.choice(["visa", "mc", "mc2", "amex", "discover", "discover65"])
        pre, n = {"visa": ("4", 16), "mc": (str(r.randint(51, 55)), 16), "mc2": (str(r.randint(2221, 2720)), 16),
                  "amex": (r.choice(["34", "37"]), 15), "discover": ("6011", 16), "discover65": ("65", 16)}[kind]
        d = luhn_complete(pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1)))
        assert card_ok(d)
        groups = [d[:4], d[4:10], d[10:]] if n == 15 else [d[i:i + 4] for i in range(0, n, 4)]
        return r.choice([" ", "-", "", " "]).join(groups)

    def masked_ssn(self):
        t = f"{self.r.randint(1, 9999):04d}"
        return self.r.choice([f"***-**-{t}", f"XXX-XX-{t}", f"last4={t}", f"SSN ending {t}"])

    def semver(self):
        r = self.r
        return f"{r.randint(0, 14)}.{r.randint(0, 40)}.{r.randint(0, 30)}"


def b5_key(k, style: str) -> str:
    return style_key(b4_words(k), style)


def b5_phrase(f: Faker, kind: str, v) -> str:
    r = f.r
    v = str(v)
    if kind in CONTEXT_FREE and r.random() < 0.2 and not (kind == "ssn" and v.isdigit()):
        f.flags.add(f"nokw:{kind}")
        return r.choice(NEUTRAL_PHRASES[B5]).format(v=v)
    t = r.choice(PHRASES[B5][kind])
    x = r.random()
    if x < 0.1:
        t = t.upper().replace("{V}", "{v}")
    elif x < 0.2:
        t = t.replace(" {v}", "\t{v}") if " {v}" in t else t
    return t.format(v=v)


def b5_record(f: Faker, idx: int):
    kinds = pick_kinds(f, idx)
    return kinds, patient_record(f, kinds, extras=False)


def b5_clean_item(f: Faker) -> dict:
    r = f.r
    return {"itemRef": f.order_id(), "tsMillis": f.epoch() * 1000 + r.randint(0, 999), "build": f.semver(),
            "sha": f.hexhash(40), "count": r.randint(0, 10**6), "span": f.uuid(),
            "trackingNo": f.luhn_bad16() if r.random() < 0.3 else f.id9()}


def b5_x12_834(f: Faker, rec) -> str:
    r = f.r
    first, last = f.name_parts()
    b = f.birth()
    d = f.ssn_digits()
    ctl = f"{r.randint(1, 999999999):09d}"
    segs = [f"ISA*00*          *00*          *ZZ*SPONSOR{r.randint(100, 999)}    *ZZ*PAYER{r.randint(10, 99)}        *"
            f"{f.recent():%y%m%d}*{f.recent():%H%M}*^*00501*{ctl}*0*P*:", f"GS*BE*SPONSOR*PAYER*{f.recent():%Y%m%d}*1200*{r.randint(1, 9999)}*X*005010X220A1",
            "ST*834*0001*005010X220A1", f"BGN*00*{r.randint(10**5, 10**6)}*{f.recent():%Y%m%d}*1200****2",
            "INS*Y*18*030*XN*A*E**FT", f"REF*0F*{d}", f"NM1*IL*1*{last.upper()}*{first.upper()}****34*{d}",
            f"DMG*D8*{b:%Y%m%d}*{r.choice('FM')}", "HD*030**HLT*PPO*EMP", f"DTP*348*D8*{f.recent():%Y%m%d}",
            "SE*10*0001", "GE*1*1", f"IEA*1*{ctl}"]
    return "~".join(segs) + "~"


B5_ALIAS = {"ssn": "SSN", "mrn": "MRN", "account_number": "FIN NBR", "member_id": "HEALTH PLAN MEMBER ID",
            "mbi": "MEDICARE BENEFICIARY ID"}


def b5_neg_json(f: Faker, t: str):
    r = f.r
    if t == "marketing_patient_week":
        return {"campaign": {"id": f.id9(), "name": "Patient Appreciation Week", "sentAt": f.epoch(),
                             "headline": f"Thank you, patients! Orders over $40 ship free - order {f.id9()} is on its way",
                             "body": f"Every patient who orders before Friday gets code PAW{r.randint(10, 99)}. Order no. {f.order_id()}",
                             "clicks": r.randint(0, 99999)}}
    if t == "nppes_registry":
        res = []
        for _ in range(r.randint(1, 4)):
            first, last = f.name_parts()
            res.append({"enumeration_type": "NPI-1", "number": int(f.npi()) if r.random() < 0.5 else f.npi(),
                        "basic": {"first_name": first.upper(), "last_name": last.upper(), "credential": r.choice(["MD", "DO", "NP", "PA-C"]),
                                  "status": "A", "enumeration_date": f"{f.recent():%Y-%m-%d}", "last_updated": f"{f.recent():%Y-%m-%d}"},
                        "addresses": [{"address_purpose": "LOCATION", "address_1": f.street(), "city": f.city()[0].upper(),
                                       "state": f.city()[1], "postal_code": f.zipcode() + f"{r.randint(0, 9999):04d}",
                                       "telephone_number": f"{r.randint(201, 989)}-{r.randint(201, 989)}-{r.randint(0, 9999):04d}"}],
                        "taxonomies": [{"code": r.choice(["207Q00000X", "208D00000X", "207R00000X"]), "desc": r.choice(PROVIDER_SPECIALTIES),
                                        "primary": True, "state": f.city()[1], "license": f"L{r.randint(10000, 99999)}"}]})
        return {"result_count": len(res), "results": res}
    if t == "build_info":
        return {"service": r.choice(["intake-api", "ecw-bridge", "nextgen-sync"]), "version": f.semver(), "gitCommit": f.hexhash(40),
                "builtAt": f.epoch(), "buildNumber": int(f.id9()), "jvm": "21.0.5+11-LTS",
                "dependencies": {"spring-boot": f.semver(), "hapi-fhir": f.semver(), "kafka-clients": f.semver()}}
    if t == "kafka_offsets":
        return {"group": "adt-consumer", "topic": "orders.v2", "partitions": [
            {"partition": i, "currentOffset": r.randint(10**8, 10**10), "logEndOffset": r.randint(10**10, 10**11),
             "timestamp": f.epoch() * 1000 + r.randint(0, 999)} for i in range(r.randint(1, 6))]}
    if t == "jsonapi_invalid_ssn":
        v, why = f.invalid_ssn()
        return {"jsonapi": {"version": "1.1"}, "errors": [{"status": "422", "code": "ssn_unissued", "title": "Invalid Attribute",
                                                          "detail": f"SSN {v} is not an issued number ({why})",
                                                          "source": {"pointer": "/data/attributes/ssn"}, "meta": {"received": v}}],
                "meta": {"requestId": f.uuid()}}
    if t == "pharmacy_dea":
        first, last = f.name_parts()
        return {"pharmacy": f"{last} Apothecary", "deaNumber": f.dea(last), "ncpdpId": str(r.randint(10**6, 10**7 - 1)),
                "npi": f.npi(), "expires": f"{f.recent():%Y-%m-%d}", "schedules": ["2", "2N", "3", "4", "5"]}
    if t == "payment_masked":
        return {"charge": {"id": "ch_" + f.hexhash(24), "last4": f"{r.randint(0, 9999):04d}", "display": f.masked_card(),
                           "refundRef": f.luhn_bad16(), "amount": r.randint(100, 99999), "created": f.epoch()},
                "confirmation": f.confirmation(), "ssnOnFile": f.masked_ssn()}
    if t == "token_response":
        return {"access_token": f.b64(48), "token_type": "Bearer", "expires_in": 3599, "scope": "patient/*.read launch/patient",
                "id_token_hash": f.hexhash(64), "session": f.uuid()}
    if t == "es_cluster_stats":
        return {"cluster_uuid": f.b64(16).rstrip("="), "timestamp": f.epoch() * 1000, "status": "green",
                "indices": {"count": r.randint(1, 900), "docs": {"count": r.randint(10**8, 10**10), "deleted": r.randint(0, 10**6)},
                            "store": {"size_in_bytes": r.randint(10**9, 10**12)}}, "nodes": {"versions": [f.semver()]}}
    # graphql introspection: PHI field names, no values
    return {"data": {"__type": {"name": "Patient", "fields": [
        {"name": n, "type": {"kind": "SCALAR", "name": ty}} for n, ty in
        [("id", "ID"), ("ssn", "String"), ("dateOfBirth", "Date"), ("medicalRecordNumber", "String"), ("memberId", "String")]]}}}


def b5_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, None, 1])
    if not pos:
        t = r.choice(["marketing_patient_week", "nppes_registry", "build_info", "kafka_offsets", "jsonapi_invalid_ssn",
                      "pharmacy_dea", "payment_masked", "token_response", "es_cluster_stats", "graphql_introspection"])
        doc = b5_neg_json(f, t)
        if large:
            doc = {"items": place([doc], lambda: b5_clean_item(f), large, where)}
        return Sample(jdump(doc, indent, esc, kesc), False, [], f"json/blind5/neg/{t}", "json")
    kl, rec = b5_record(f, idx)
    kinds = set(rec.kinds)
    values = list(rec.values)
    fields = rec.fields
    t = r.choice(["debezium_cdc", "confluent_avro", "graphql_variables", "es_bulk", "jsonapi_meta", "millennium_aliases",
                  "veradigm_unity", "ecw_patient_info", "nextgen_person", "pubsub_attributes", "edi_834_gateway",
                  "servicebus_message"])
    if t == "es_bulk":
        lines = []
        doc = {b5_key(k, "snake"): v for k, v, _ in fields}
        doc["@timestamp"] = f.iso_ts()
        lines.append(json.dumps({"index": {"_index": f"ecw-patients-{f.recent():%Y.%m}", "_id": f.uuid()}}))
        lines.append(jdump(doc, None, esc, kesc))
        core = ["\n".join(lines)]
        if large:
            core = place(core, lambda: json.dumps({"index": {"_index": "metrics"}}) + "\n" + jdump(b5_clean_item(f), None, esc, kesc),
                         large, where)
        return Sample("\n".join(core) + "\n", True, kinds, f"json/blind5/{t}/{f.style}", "json", values)
    if t == "debezium_cdc":
        after = {"person_id": f.uuid()}
        after.update({b5_key(k, "snake"): v for k, v, _ in fields})
        after["modify_timestamp"] = f.epoch() * 1000
        doc = {"schema": {"type": "struct", "name": "ngprod.dbo.person.Envelope", "optional": False},
               "payload": {"before": None, "after": after, "op": r.choice("cur"), "ts_ms": f.epoch() * 1000,
                           "source": {"version": "2.5.1.Final", "connector": "sqlserver", "name": "ngprod", "db": "NGProd",
                                      "schema": "dbo", "table": "person", "change_lsn": f"0000{f.hexhash(4)}:0000{f.hexhash(4)}:0003"}}}
    elif t == "confluent_avro":
        val = {b5_key(k, "camel"): ({"string": str(v)} if r.random() < 0.7 else str(v)) for k, v, _ in fields}
        doc = {"key_schema_id": r.randint(1, 999), "value_schema_id": r.randint(1, 999),
               "records": [{"key": {"patientKey": f.uuid()}, "value": {"com.example.ecw.PatientUpserted": val}}]}
    elif t == "graphql_variables":
        doc = {"operationName": "UpsertPatient",
               "query": "mutation UpsertPatient($input: PatientInput!) { upsertPatient(input: $input) { id updatedAt } }",
               "variables": {"input": {b5_key(k, "camel"): v for k, v, _ in fields}, "clientMutationId": f.uuid()}}
    elif t == "jsonapi_meta":
        errs = []
        for k, v, _ in fields:
            ck = b5_key(k, "camel")
            errs.append({"id": f.uuid(), "status": "422", "code": "format", "title": "Invalid Attribute",
                         "detail": f"{ck} could not be verified against the registry", "source": {"pointer": f"/data/attributes/{ck}"},
                         "meta": {"received": v}})
        doc = {"jsonapi": {"version": "1.1"}, "errors": errs, "meta": {"requestId": f.uuid()}}
    elif t == "millennium_aliases":
        p = {"personId": str(r.randint(10**6, 10**8)), "aliases": [], "updtDtTm": f.iso_ts()}
        for k, v, kd in fields:
            if kd in B5_ALIAS and not any(w in ("data", "attr", "field1", "lookup") for w in b4_words(k)):
                p["aliases"].append({"aliasPool": r.choice(["MRN-MAIN", "SSA", "FIN-2026", "PLAN"]), "aliasType": B5_ALIAS[kd],
                                     "alias": v, "activeInd": 1})
            else:
                p[b5_key(k, "camel")] = v
        doc = {"person": p} if r.random() < 0.5 else {"persons": [p], "status": "S"}
    elif t == "veradigm_unity":
        row = {"ID": str(r.randint(10**4, 10**6))}
        row.update({b5_key(k, "flat"): v for k, v, _ in fields})
        doc = [{"getpatientinfo": [row]}]
    elif t == "ecw_patient_info":
        doc = {"Response": {"Status": "OK", "ControlNo": str(r.randint(10**4, 10**6)),
                            "PatientInfo": {b5_key(k, "upper"): v for k, v, _ in fields}}}
    elif t == "nextgen_person":
        doc = {"data": {"person": dict({"id": f.uuid(), "practiceId": f"{r.randint(1, 9999):04d}"},
                                       **{b5_key(k, "camel"): v for k, v, _ in fields})}, "warnings": []}
    elif t == "pubsub_attributes":
        doc = {"message": {"attributes": {b5_key(k, "snake"): str(v) for k, v, _ in fields}, "data": "",
                           "messageId": f.id9() + str(r.randint(1000, 9999)), "publishTime": f.iso_ts()},
               "subscription": "projects/clinic-prod/subscriptions/adt-demographics"}
    elif t == "edi_834_gateway":
        doc = {"transactionSet": "834", "senderId": f"SPONSOR{r.randint(100, 999)}", "receivedAt": f.iso_ts()}
        doc.update({b5_key(k, "camel"): v for k, v, _ in fields})
        doc["raw"] = b5_x12_834(f, rec)
    else:  # servicebus_message
        doc = {"brokerProperties": {"MessageId": f.uuid(), "EnqueuedTimeUtc": f.iso_ts(), "DeliveryCount": 1},
               "userProperties": {"source": "eclinicalworks", "eventType": "PatientDemographicsUpdated"},
               "body": {b5_key(k, r.choice(["pascal", "camel"])): v for k, v, _ in fields}}
    if large:
        doc = {"batch": place([doc], lambda: b5_clean_item(f), large, where)}
    return Sample(jdump(doc, indent, esc, kesc), True, kinds, f"json/blind5/{t}/{f.style}", "json", values)


def b5_patient(f: Faker, kinds: set, values: list, rid=None) -> dict:
    r = f.r
    first, last = f.name_parts()
    birth = f.birth()
    kinds.update(["fhir_patient", "dob"])
    values.append(("dob", birth.isoformat()))
    ids = [{"use": "usual", "type": {"coding": [{"system": "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/4",
                                                 "code": str(r.randint(10**5, 10**7)), "display": "MRN", "userSelected": True}],
                                     "text": r.choice(["MRN", "Community Medical Record Number", "Chart Number"])},
            "system": f"urn:oid:2.16.840.1.113883.3.{r.randint(10, 9999)}.2.{r.randint(1, 99)}", "value": f.mrn(),
            "period": {"start": f.iso_ts()}}]
    if r.random() < 0.35:
        d = f.ssn_digits()
        v = f"{d[:3]}-{d[3:5]}-{d[5:]}" if r.random() < 0.5 else d
        sysv = r.choice(["http://hl7.org/fhir/sid/us-ssn", "urn:oid:2.16.840.1.113883.4.1"])
        ids.append({"use": "official", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}],
                                                "text": "Social Security Number"}, "system": sysv, "value": v})
        kinds.add("ssn")
        values.append(("ssn", v))
        f.flags.add("ssn_oid" if "oid" in sysv else "ssn_sid")
    if r.random() < 0.25:
        v = f.mbi(dashed=False)
        ids.append({"type": {"text": "Medicare Beneficiary Identifier"}, "system": r.choice(["http://hl7.org/fhir/sid/us-mbi", "urn:oid:2.16.840.1.113883.4.927"]),
                    "value": v})
        kinds.add("mbi")
        values.append(("mbi", v))
    city, state = f.city()
    res = {"resourceType": "Patient", "id": rid or f.uuid(),
           "meta": {"versionId": str(r.randint(1, 40)), "lastUpdated": f.iso_ts()},
           "text": {"status": "generated", "div": f"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Patient</b></p><p>{last.upper()}, {first}</p></div>"},
           "identifier": ids, "active": True,
           "name": [{"use": "official", "text": f"{first} {last}", "family": last, "given": [first]}],
           "telecom": [{"system": "phone", "value": f.phone(), "use": r.choice(["home", "mobile", "work"]), "rank": 1},
                       {"system": "email", "value": f.email(first, last)}],
           "gender": r.choice(["female", "male", "other"]), "birthDate": birth.isoformat(),
           "address": [{"use": "home", "line": [f.street()], "city": city, "state": state, "postalCode": f.zipcode(), "country": "USA"}],
           "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": r.choice(["es", "fr-CA", "en-US"])}]}}],
           "generalPractitioner": [{"reference": f"Practitioner/{r.randint(10**5, 10**7)}"}]}
    return res


def b5_fhir_neg_resource(f: Faker, t: str) -> dict:
    r = f.r
    if t == "Practitioner":
        first, last = f.name_parts()
        return {"resourceType": "Practitioner", "id": str(r.randint(10**5, 10**8)), "active": True,
                "identifier": [{"type": {"text": "National Provider Identifier"}, "system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "name": [{"use": "official", "text": f"{first} {last}, MD", "family": last, "given": [first], "prefix": ["Dr."]}],
                "telecom": [{"system": "phone", "value": f"{r.randint(201, 989)}-{r.randint(201, 989)}-{r.randint(0, 9999):04d}", "use": "work"}]}
    if t == "Organization":
        return {"resourceType": "Organization", "id": f.uuid(), "name": f"{f.last()} Community Health",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()},
                               {"system": "urn:oid:2.16.840.1.113883.4.4", "value": f"{r.randint(10, 99)}-{r.randint(10**6, 10**7 - 1)}"}],
                "type": [{"coding": [{"code": "prov"}]}]}
    if t == "HealthcareService":
        return {"resourceType": "HealthcareService", "id": f.uuid(), "name": r.choice(PROVIDER_SPECIALTIES) + " clinic",
                "availableTime": [{"daysOfWeek": ["mon", "tue", "wed"], "availableStartTime": "08:00:00"}],
                "telecom": [{"system": "phone", "value": f"{r.randint(201, 989)}-{r.randint(201, 989)}-{r.randint(0, 9999):04d}"}]}
    if t == "Slot":
        s = f.recent()
        return {"resourceType": "Slot", "id": f.id9(), "schedule": {"reference": f"Schedule/{f.id9()}"}, "status": "free",
                "start": s.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (s + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if t == "Device":
        return {"resourceType": "Device", "id": f.uuid(), "udiCarrier": [{"deviceIdentifier": f"{r.randint(10**13, 10**14 - 1)}",
                                                                         "carrierHRF": f"(01){r.randint(10**13, 10**14 - 1)}(17){r.randint(100000, 999999)}(10)A{r.randint(100, 999)}"}],
                "serialNumber": f.hexhash(12).upper(), "lotNumber": f"L{r.randint(1000, 9999)}"}
    if t == "SearchParameter":
        return {"resourceType": "SearchParameter", "id": "Patient-ssn", "url": "http://example.org/SearchParameter/patient-ssn",
                "name": "ssn", "status": "active", "code": "ssn", "base": ["Patient"], "type": "token",
                "expression": "Patient.identifier.where(system='http://hl7.org/fhir/sid/us-ssn')",
                "description": "Search by the patient's social security number"}
    if t == "OperationOutcome":
        v, why = f.invalid_ssn()
        return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                                                               "diagnostics": f"identifier {v} rejected: not an issued SSN ({why})",
                                                               "expression": ["Patient.identifier[1].value"]}]}
    if t == "MeasureReport":
        return {"resourceType": "MeasureReport", "id": f.uuid(), "status": "complete", "type": "summary",
                "measure": "http://example.org/Measure/cms122", "period": {"start": "2026-01-01", "end": "2026-12-31"},
                "group": [{"population": [{"code": {"coding": [{"code": c}]}, "count": r.randint(10, 99999)}
                                          for c in ("initial-population", "denominator", "numerator")]}]}
    # bulk export status manifest
    return {"transactionTime": f.iso_ts(), "request": f"https://fhir.example/$export?_type=Patient,Observation&_since={f.recent():%Y-%m-%d}",
            "requiresAccessToken": True, "output": [{"type": ty, "url": f"https://bulk.example/{f.uuid()}.ndjson", "count": r.randint(1, 10**6)}
                                                    for ty in ("Patient", "Observation")], "error": []}


def b5_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, 4])
    kinds: set = set()
    values: list = []
    filler = lambda: {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": b5_fhir_neg_resource(f, r.choice(["Slot", "Device", "MeasureReport"]))}  # noqa: E731
    ext = "json"
    if pos:
        t = r.choice(["healthlake_searchset", "millennium_read", "everything_bundle", "subscription_notification",
                      "gcp_json_patch", "azure_export_ndjson", "xml_patient", "appointment_include", "related_person"])
        if t == "healthlake_searchset":
            p = b5_patient(f, kinds, values)
            ds = f.hexhash(32)
            doc = {"resourceType": "Bundle", "id": f.uuid(), "type": "searchset", "meta": {"lastUpdated": f.iso_ts()},
                   "link": [{"relation": "self", "url": f"https://healthlake.us-east-1.amazonaws.com/datastore/{ds}/r4/Patient?identifier={f.uuid()}"}],
                   "entry": [{"fullUrl": f"https://healthlake.us-east-1.amazonaws.com/datastore/{ds}/r4/Patient/{p['id']}",
                              "resource": p, "search": {"mode": "match"}}]}
        elif t == "millennium_read":
            doc = b5_patient(f, kinds, values, rid=str(r.randint(10**6, 10**8)))
            doc["extension"] = [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": r.choice("FM")}]
            doc["maritalStatus"] = {"text": r.choice(["Married", "Single", "Widowed"])}
        elif t == "everything_bundle":
            p = b5_patient(f, kinds, values)
            ref = {"reference": f"Patient/{p['id']}"}
            doc = {"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": [
                {"resource": p},
                {"resource": {"resourceType": "Encounter", "id": f.uuid(), "status": "finished", "subject": ref,
                              "period": {"start": f.iso_ts()}}},
                {"resource": {"resourceType": "Condition", "id": f.uuid(), "subject": ref, "code": {"text": r.choice(CONDITIONS)}}}]}
        elif t == "subscription_notification":
            p = b5_patient(f, kinds, values)
            doc = {"resourceType": "Bundle", "id": f.uuid(), "type": "history", "timestamp": f.iso_ts(), "entry": [
                {"fullUrl": f"urn:uuid:{f.uuid()}", "resource": {"resourceType": "Parameters", "parameter": [
                    {"name": "subscription", "valueReference": {"reference": f"Subscription/{f.id9()}"}},
                    {"name": "status", "valueCode": "active"}, {"name": "type", "valueCode": "event-notification"},
                    {"name": "events-since-subscription-start", "valueString": str(r.randint(1, 99999))}]}},
                {"fullUrl": f"https://fhir.example/Patient/{p['id']}", "resource": p,
                 "request": {"method": "PUT", "url": f"Patient/{p['id']}"}, "response": {"status": "200"}}]}
        elif t == "gcp_json_patch":
            b = f.birth()
            ops = [{"op": "replace", "path": "/birthDate", "value": b.isoformat()}]
            kinds.add("dob")
            values.append(("dob", b.isoformat()))
            if r.random() < 0.5:
                d = f.ssn_digits()
                v = f"{d[:3]}-{d[3:5]}-{d[5:]}"
                ops.append({"op": "add", "path": "/identifier/-", "value": {"system": "http://hl7.org/fhir/sid/us-ssn", "value": v}})
                kinds.add("ssn")
                values.append(("ssn", v))
            doc = ops
        elif t == "azure_export_ndjson":
            lines = []
            for _ in range(r.randint(0, 2)):
                lines.append(json.dumps({"resourceType": "Encounter", "id": f.uuid(), "status": "finished", "period": {"start": f.iso_ts()}}))
            lines.insert(r.randint(0, len(lines)), jdump(b5_patient(f, kinds, values), None, esc))
            if large:
                lines = place(lines, lambda: jdump({"resourceType": "Observation", "id": f.uuid(), "status": "final",
                                                    "valueQuantity": {"value": r.randint(1, 400), "unit": "mg/dL"}}, None, esc), large, where)
            return Sample("\n".join(lines) + "\n", True, kinds, f"fhir/blind5/{t}", "ndjson", values)
        elif t == "xml_patient":
            p = b5_patient(f, kinds, values)
            del p["text"]
            if r.random() < 0.5:
                doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": p}]}
            else:
                doc = p
            text = fhir_xml(doc)
            if large:
                pad = "".join(fhir_xml(b5_fhir_neg_resource(f, "Slot")).split("\n", 1)[1] for _ in range(large // 300))
                com = "<!-- " + pad.replace("--", "- -") + " -->\n"
                decl, rest = text.split("\n", 1)
                text = text + com if where == "start" else decl + "\n" + com + rest
            return Sample(text, True, kinds, f"fhir/blind5/{t}", "xml", values)
        elif t == "appointment_include":
            p = b5_patient(f, kinds, values)
            doc = {"resourceType": "Bundle", "type": "searchset", "entry": [
                {"resource": {"resourceType": "Appointment", "id": f.uuid(), "status": "booked", "start": f.iso_ts(),
                              "participant": [{"actor": {"reference": f"Patient/{p['id']}"}, "status": "accepted"}]},
                 "search": {"mode": "match"}},
                {"resource": p, "search": {"mode": "include"}}]}
        else:  # related_person: the guarantor / parent of a minor
            first, last = f.name_parts()
            b = f.birth()
            doc = {"resourceType": "RelatedPerson", "id": f.uuid(), "patient": {"reference": f"Patient/{f.uuid()}"},
                   "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}],
                   "name": [{"family": last, "given": [first]}], "birthDate": b.isoformat(),
                   "telecom": [{"system": "phone", "value": f.phone()}]}
            kinds.add("dob")
            values.append(("dob", b.isoformat()))
        if large and isinstance(doc, list):
            doc = place(doc, lambda: {"op": "test", "path": "/meta/versionId", "value": f.hexhash(12)}, large, where)
        elif large and doc.get("resourceType") == "Bundle":
            doc["entry"] = place(doc["entry"], filler, large, where)
        elif large:
            doc = {"resourceType": "Bundle", "type": "collection", "entry": place([{"resource": doc}], filler, large, where)}
        return Sample(jdump(doc, indent, esc), True, kinds, f"fhir/blind5/{t}", ext, values)
    t = r.choice(["Practitioner", "Organization", "HealthcareService", "Slot", "Device", "SearchParameter",
                  "OperationOutcome", "MeasureReport", "export_manifest", "practitioner_bundle"])
    if t == "practitioner_bundle":
        doc = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": b5_fhir_neg_resource(f, "Practitioner")}
                                                                          for _ in range(r.randint(1, 5))]}
    else:
        doc = b5_fhir_neg_resource(f, t)
    if large:
        doc = {"resourceType": "Bundle", "type": "collection", "entry": place([{"resource": doc}], filler, large, where)}
    if r.random() < 0.2 and "resourceType" in doc:
        return Sample(fhir_xml(doc), False, [], f"fhir/blind5/neg/{t}/xml", "xml")
    return Sample(jdump(doc, indent, esc), False, [], f"fhir/blind5/neg/{t}", "json")


# ---- HL7 v2

def b5_pid(f: Faker, kinds: set, values: list) -> str:
    r = f.r
    first, last = f.name_parts()
    b = f.birth()
    city, state = f.city()
    kinds.add("hl7_pid")
    values.append(("hl7_pid", "PID|"))
    fac = r.choice(["NGEPM", "ECW", "LABCORE", "MILL"])
    pid3 = f"{f.mrn()}^^^{fac}^MR"
    ssn19 = ""
    d = f.ssn_digits()
    x = r.random()
    if x < 0.25:
        ssn19 = f"{d[:3]}-{d[3:5]}-{d[5:]}"
        kinds.add("ssn")
        values.append(("ssn", ssn19))
    elif x < 0.45:
        ssn19 = d
    tel = r.choice([f"^PRN^PH^^^{r.randint(201, 989)}^{r.randint(2010000, 9899999)}",
                    f"{r.randint(201, 989)}{r.randint(201, 989)}{r.randint(0, 9999):04d}^PRN^CP"])
    alias = r.choice(["", f"~{f.last().upper()}^{first.upper()}^^^^^M"])
    return (f"PID|1||{pid3}|{r.choice(['', f.id9()])}|{last.upper()}^{first.upper()}^{r.choice('ABCDEFG')}^^^^L{alias}|"
            f"{r.choice(['', f.last().upper() + '^^^^^^M'])}|{b:%Y%m%d}|{r.choice('FMU')}||{r.choice(['2106-3', '2054-5', ''])}|"
            f"{f.street()}^^{city}^{state}^{f.zipcode()}^USA^H||{tel}||{r.choice(['SPA', 'ENG', 'FRE'])}|{r.choice('MSWD')}||"
            f"{f.account()}^^^{fac}^AN|{ssn19}")


def b5_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    eol = r.choice(["\r", "\r", "\r\n", "\n"])
    kinds: set = set()
    values: list = []
    inst = r.choice(["COBAS8000^ROCHE", "ARCHITECT^ABBOTT", "XN-1000^SYSMEX", "VITROS^ORTHO", "ATELLICA^SIEMENS"])

    def msh(typ, sender=None):
        return (f"MSH|^~\\&|{sender or inst}|{r.choice(['CORELAB', 'MAINLAB^2.16.840.1.113883.3.5^ISO', 'NGEPM'])}|"
                f"{r.choice(['LIS', 'MIRTH', 'RHAPSODY'])}|{r.choice(['HOSP', 'PHIMESH'])}|{hl7_ts(f)}||{typ}|"
                f"{r.choice([str(r.randint(10**5, 10**7)), f.uuid()[:20]])}|P|{r.choice(['2.3.1', '2.5', '2.5.1', '2.7'])}|||NE|AL")

    def obx_nm(i):
        code, name, unit = r.choice([("2345-7", "Glucose", "mg/dL"), ("718-7", "Hemoglobin", "g/dL"), ("2823-3", "Potassium", "mmol/L"),
                                     ("6690-2", "WBC", "10*3/uL")])
        return f"OBX|{i}|NM|{code}^{name}^LN||{r.randint(1, 400)}.{r.randint(0, 9)}|{unit}|||||F|||{hl7_ts(f)}||{r.choice(['', 'TECH01'])}|{inst.split('^')[0]}"

    if pos:
        t = r.choice(["oru_instrument_nte", "oru_tx_comment", "mdm_t02_txa", "bar_p01_gt1", "adt_a28", "adt_a31", "rde_o11"])
        segs = []
        if t.startswith("oru"):
            segs = [msh("ORU^R01^ORU_R01"), b5_pid(f, kinds, values), f"PV1|1|O|LAB^^^CORE||||{f.npi()}^{f.last().upper()}^{f.first().upper()}",
                    f"ORC|RE|{f.id9()}|{f.id9()}", f"OBR|1|{f.id9()}|{f.id9()}|80053^CMP^CPT|||{hl7_ts(f)}"]
            kinds.add("npi")
            for i in range(1, r.randint(2, 6)):
                segs.append(obx_nm(i))
            if t == "oru_instrument_nte":
                segs.append(f"NTE|1|L|Specimen hemolyzed; recollect advised.")
                if r.random() < 0.6:
                    kd = r.choice(["patient_phone", "mrn", "dob"])
                    v = ident_value(f, kd)
                    segs.append(f"NTE|2|L|Critical value called to RN, {b5_phrase(f, kd, v)}, read back OK")
                    kinds.add(kd)
                    values.append((kd, str(v)))
            else:
                kd = r.choice(["ssn", "member_id", "patient_name", "account_number"])
                v = ident_value(f, kd)
                segs.append(f"OBX|{len(segs)}|TX|8251-1^Service comment^LN||Registration note: {b5_phrase(f, kd, v)}||||||F")
                kinds.add(kd)
                values.append((kd, str(v)))
        elif t == "mdm_t02_txa":
            segs = [msh("MDM^T02^MDM_T02", "NEXTGEN^NGEPM"), f"EVN|T02|{hl7_ts(f)}", b5_pid(f, kinds, values), "PV1|1|O",
                    f"TXA|1|DS|TX|{hl7_ts(f)}|||||||{f.uuid()}||||||AU"]
            for i, line in enumerate([f"Discharge summary for {f.first()} (see chart).", r.choice(CONDITIONS).capitalize() + ".",
                                                     f"Continue {r.choice(MEDS)}."], 1):
                segs.append(f"OBX|{i}|TX|18842-5^Discharge summary^LN|{i}|{line}||||||F")
        elif t == "bar_p01_gt1":
            segs = [msh("BAR^P01^BAR_P01", "ECW^ECWPM"), f"EVN|P01|{hl7_ts(f)}", b5_pid(f, kinds, values), "PV1|1|O",
                    f"GT1|1||{f.last().upper()}^{f.first().upper()}||{f.street()}^^{f.city()[0]}^{f.city()[1]}^{f.zipcode()}|||||||"
                    f"{f.ssn_digits()}", f"IN1|1|{r.choice(['BCBS', 'AETNA', 'UHC'])}|{r.randint(10**4, 10**6)}|PLAN||||||||||||||||||||||||||||||||||{f.member_id()}"]
        elif t in ("adt_a28", "adt_a31"):
            segs = [msh(f"ADT^{t[-3:].upper()}^ADT_A05", "MILLENNIUM^OHS"), f"EVN|{t[-3:].upper()}|{hl7_ts(f)}|||{r.choice(['REGCLK', 'INTERFACE'])}",
                    b5_pid(f, kinds, values), f"PD1|||{f.last()} Family Practice^^{r.randint(100, 999)}", f"NK1|1|{f.last().upper()}^{f.first().upper()}|MTH",
                    "PV1|1|N"]
        else:  # rde_o11 pharmacy order
            segs = [msh("RDE^O11^RDE_O11", "NEXTGEN^NGEPM"), b5_pid(f, kinds, values), f"ORC|NW|{f.id9()}|||||||{hl7_ts(f)}|||{f.npi()}^{f.last().upper()}",
                    f"RXE|^^^{hl7_ts(f)}|{r.randint(10**9, 10**10)}^{r.choice(MEDS)}^NDC|1||TAB"]
            kinds.add("npi")
        note = f"hl7/blind5/{t}"
    else:
        t = r.choice(["esu_u01", "inu_u05", "ack_ce", "mfn_m02_npi_dea", "oul_qc", "mfn_m04_cdm"])
        if t == "esu_u01":
            segs = [msh("ESU^U01^ESU_U01"), f"EQU|{inst.split('^')[0]}-{r.randint(100, 999)}|{hl7_ts(f)}|OP^Operational|LOC^Local",
                    f"ISD|{r.randint(1, 9)}|{r.choice(['IN', 'RN'])}|{r.choice(['OK', 'WARN'])}"]
        elif t == "inu_u05":
            segs = [msh("INU^U05^INU_U05"), f"EQU|{inst.split('^')[0]}|{hl7_ts(f)}"]
            for _ in range(r.randint(1, 4)):
                segs.append(f"INV|{r.randint(10**4, 10**6)}^Reagent pack|OK^Ok|CO^Container|{r.randint(1, 900)}||||{r.randint(1, 500)}|||"
                            f"{f.recent():%Y%m%d}|{r.randint(1, 30)}^d||L{r.randint(10**5, 10**6)}")
        elif t == "ack_ce":
            segs = [msh("ACK^R01^ACK"), f"MSA|CE|{f.id9()}|Duplicate control id", f"ERR|||207^Application internal error^HL70357|E"]
        elif t == "mfn_m02_npi_dea":
            segs = [msh("MFN^M02^MFN_M02", "NEXTGEN^NGEPM"), "MFI|PRA^Practitioner^HL70175||UPD|||NE"]
            for _ in range(r.randint(1, 4)):
                first, last = f.name_parts()
                code = f"P{r.randint(1000, 99999)}"
                segs += [f"MFE|MUP|||{code}^{last.upper()}^{first.upper()}|CE",
                         f"STF|{code}|{code}|{last.upper()}^{first.upper()}^^^MD||{r.choice('FM')}|||A|{r.choice(PROVIDER_SPECIALTIES)}",
                         f"PRA|{code}|^{r.choice(PROVIDER_SPECIALTIES)}||I|{f.npi()}^NPI~{f.dea(last)}^DEA"]
        elif t == "oul_qc":
            segs = [msh("OUL^R22^OUL_R22"), f"SPM|1|QC{r.randint(10**4, 10**5)}||QC^Control material|||||||Q",
                    f"OBR|1||QC{r.randint(10**5, 10**6)}|QC^Level {r.randint(1, 3)} control"]
            segs += [obx_nm(i) for i in range(1, r.randint(2, 5))]
        else:
            segs = [msh("MFN^M04^MFN_M04", "ECW^ECWPM"), "MFI|CDM^Charge description master^HL70175||UPD|||NE"]
            for _ in range(r.randint(1, 5)):
                cpt = r.randint(10000, 99999)
                segs += [f"MFE|MAD|||{cpt}^CPT|CE", f"CDM|{cpt}^CPT|{r.randint(100, 9999)}|{r.choice(['OFFICE VISIT', 'VENIPUNCTURE', 'XR CHEST'])}|||{r.randint(1000, 99999)}"]
        note = f"hl7/blind5/neg/{t}"
    body = eol.join(segs) + eol
    framing = r.random() < 0.25
    if large:
        pad = []
        size = 0
        while size < large:
            z = f"ZQC|{r.randint(1, 9)}|{f.hexhash(24)}|{f.epoch()}|{r.randint(1, 999)}.{r.randint(0, 9)}"
            pad.append(z)
            size += len(z) + 1
        m = len(pad) // 2
        segs = {"start": segs + pad, "end": segs[:1] + pad + segs[1:], "middle": segs[:1] + pad[:m] + segs[1:] + pad[m:]}[where]
        body = eol.join(segs) + eol
    if framing:
        body = "\x0b" + body + "\x1c\r"
        note += "/mllp"
    return Sample(body, pos, kinds, note, "hl7", values)


# ---- CSV

def b5_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    eol = r.choice(["\n", "\r\n"])

    def pad_rows(ncol, make):
        rows = []
        size = 0
        while size < large:
            row = make()
            rows.append(row)
            size += sum(len(str(c)) + 1 for c in row)
        return rows

    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        keys = [k for k, _, _ in rec.fields]
        vals = [str(v) for _, v, _ in rec.fields]
        t = r.choice(["nextgen_export", "ecw_report", "sqlcmd_output", "spanish_semicolon", "snowflake_unload",
                      "r_write_csv", "french_tab"])
        extra_h, extra_v = ["person_id"], [f.uuid()]
        filler = lambda: [f.uuid()] + [f.hexhash(8) for _ in keys]  # noqa: E731
        if t == "nextgen_export":
            header = extra_h + [b5_key(k, "snake") for k in keys]
            row = extra_v + vals
            rows = [row] + (pad_rows(len(header), filler) if large and where == "start" else [])
            text = csv_text(header, rows, ",", True, eol)
        elif t == "ecw_report":
            header = ["Ctrl No"] + [b5_key(k, "title") for k in keys]
            rows = [[str(r.randint(10**4, 10**6))] + vals] + (pad_rows(len(header), filler) if large and where == "start" else [])
            text = (f"eClinicalWorks - Patient Demographics Report{eol}Facility: {f.last()} Health Center{eol}"
                    f"Run Date: {f.recent():%m/%d/%Y %I:%M %p}{eol}{eol}") + csv_text(header, rows, "|", False, eol)
        elif t == "sqlcmd_output":
            header = ["person_id"] + [b5_key(k, "snake") for k in keys]
            row = [f.uuid()] + vals
            rows = [row] + (pad_rows(len(header), filler) if large and where == "start" else [])
            w = [max(len(header[i]), max(len(x[i]) for x in rows)) for i in range(len(header))]
            lines = [" ".join(h.ljust(w[i]) for i, h in enumerate(header)), " ".join("-" * w[i] for i in range(len(header)))]
            lines += [" ".join(c.ljust(w[i]) for i, c in enumerate(x)) for x in rows]
            text = eol.join(lines) + eol + eol + f"({len(rows)} rows affected){eol}"
        elif t == "spanish_semicolon":
            header = ["Id"] + [b5_key(k, "title") for k in keys]
            rows = [[str(r.randint(1, 9999))] + vals] + (pad_rows(len(header), filler) if large and where == "start" else [])
            text = csv_text(header, rows, ";", False, "\r\n", bom=True)
        elif t == "snowflake_unload":
            header = ["ROW_ID"] + [b5_key(k, "upper") for k in keys] + ["LOAD_TS"]
            rows = [[str(r.randint(1, 10**6))] + vals + [r.choice(["\\N", f.iso_ts()])]]
            if large and where == "start":
                rows += [x + ["\\N"] for x in pad_rows(len(header), filler)]
            text = csv_text(header, rows, "|", False, "\n")
        elif t == "r_write_csv":
            header = [""] + [b5_key(k, "dotted") for k in keys]
            rows = [["1"] + vals] + ([[str(i + 2)] + x[1:] for i, x in enumerate(pad_rows(len(header), filler))] if large and where == "start" else [])
            text = csv_text(header, rows, ",", True, "\n")
        else:  # french_tab
            header = ["N°"] + [b5_key(k, "title") for k in keys]
            rows = [["1"] + vals] + (pad_rows(len(header), filler) if large and where == "start" else [])
            text = csv_text(header, rows, "\t", False, eol)
        if large and where != "start":
            # an earlier section of the same export (a job log) before the patient table, and after it for "middle"
            sect = "".join(f"{f.epoch()},{f.hexhash(24)},{r.choice(['OK', 'SKIP'])}{eol}" for _ in range(large // 40))
            text = (f"[job_log]{eol}{sect}{eol}[export]{eol}" + text) if where == "end" else \
                   (f"[job_log]{eol}{sect[:len(sect) // 2].rsplit(eol, 1)[0]}{eol}{eol}[export]{eol}" + text
                    + f"{eol}[job_log]{eol}" + sect[len(sect) // 2:].split(eol, 1)[-1])
            f.flags.add("sectioned")
        return Sample(text, True, kinds, f"csv/blind5/{t}/{f.style}", "csv", values)
    t = r.choice(["nppes_csv", "inventory_serials", "slots_epoch", "dea_roster", "ssn_rejects", "release_manifest",
                  "cpt_volume"])
    if t == "nppes_csv":
        header = ["NPI", "Entity Type Code", "Provider Last Name (Legal Name)", "Provider First Name", "Provider Business Practice Location Address Telephone Number",
                  "Healthcare Provider Taxonomy Code_1"]
        mk = lambda: [f.npi(), "1", f.last().upper(), f.first().upper(), f"{r.randint(201, 989)}{r.randint(201, 989)}{r.randint(0, 9999):04d}",  # noqa: E731
                      r.choice(["207Q00000X", "208D00000X"])]
    elif t == "inventory_serials":
        header = ["item", "lot", "serial", "received_epoch"]
        mk = lambda: [f"ITM-{r.randint(100, 9999)}", f"L{r.randint(1000, 9999)}", f.luhn_bad16(), str(f.epoch())]  # noqa: E731
    elif t == "slots_epoch":
        header = ["slot_id", "start_epoch", "duration_min", "room"]
        mk = lambda: [f.id9(), str(f.epoch()), str(r.choice([15, 20, 30])), f"R{r.randint(1, 40)}"]  # noqa: E731
    elif t == "dea_roster":
        header = ["prescriber", "dea_no", "schedules", "expires"]
        mk = lambda: (lambda fl: [f"{fl[0]} {fl[1]}, MD", f.dea(fl[1]), "2,2N,3,4,5", f"{f.recent():%Y-%m-%d}"])(f.name_parts())  # noqa: E731
    elif t == "ssn_rejects":
        header = ["batch", "line", "ssn_input", "reason"]
        mk = lambda: (lambda v: [f.uuid()[:8], str(r.randint(1, 9999)), v[0], v[1]])(f.invalid_ssn())  # noqa: E731
    elif t == "release_manifest":
        header = ["package", "version", "sha256", "built"]
        mk = lambda: [r.choice(["intake-api", "hl7-bridge", "fhir-proxy"]), f.semver(), f.hexhash(), str(f.epoch())]  # noqa: E731
    else:
        header = ["cpt", "description", "visits", "patients_seen"]
        mk = lambda: [str(r.randint(10000, 99999)), r.choice(["Office visit est", "Venipuncture", "Flu vaccine"]), str(r.randint(1, 9999)), str(r.randint(1, 9999))]  # noqa: E731
    n = r.randint(2, 12)
    rows = [mk() for _ in range(n)]
    if large:
        size = 0
        while size < large:
            x = mk()
            rows.append(x)
            size += sum(len(c) + 1 for c in x)
    delim = r.choice([",", ";", "\t"])
    return Sample(csv_text(header, rows, delim, r.random() < 0.4, eol), False, [], f"csv/blind5/neg/{t}", "csv")


# ---- application/x-www-form-urlencoded

def b5_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        t = r.choice(["struts2_dotted", "jsf_idt", "apex_sibling", "spanish_brackets", "ecw_txt", "angular_json_field"])
        if t == "struts2_dotted":
            pairs = [(f"patient.{b5_key(k, 'camel')}", str(v)) for k, v, _ in rec.fields] + [("struts.token.name", "token"), ("token", f.hexhash(32).upper())]
        elif t == "jsf_idt":
            pairs = [("javax.faces.partial.ajax", "true"), ("intakeForm", "intakeForm")]
            pairs += [(f"intakeForm:j_idt{r.randint(10, 99)}:{b5_key(k, 'camel')}", str(v)) for k, v, _ in rec.fields]
            pairs += [("javax.faces.ViewState", f"{r.randint(-9 * 10**18, 9 * 10**18)}:{r.randint(-9 * 10**18, 9 * 10**18)}")]
        elif t == "apex_sibling":
            pairs = [("p_flow_id", str(r.randint(100, 999))), ("p_flow_step_id", str(r.randint(1, 99))), ("p_instance", str(r.randint(10**13, 10**14)))]
            for i, (k, v, _) in enumerate(rec.fields, 1):
                pairs.append(("p_arg_names", f"P12_{b5_key(k, 'upper')}"))
                pairs.append((f"p_t{i:02d}", str(v)))
            f.flags.add("kw_in_sibling")
        elif t == "spanish_brackets":
            pairs = [(f"paciente[{b5_key(k, 'snake')}]", str(v)) for k, v, _ in rec.fields] + [("commit", "Guardar"), ("authenticity_token", f.b64(32))]
        elif t == "ecw_txt":
            pairs = [(f"txt{b5_key(k, 'pascal')}", str(v)) for k, v, _ in rec.fields] + [("hdnPatientId", str(r.randint(10**4, 10**6))), ("action", "SavePatient")]
        else:
            blob = json.dumps({b5_key(k, "camel"): v for k, v, _ in rec.fields})
            pairs = [("formName", "newPatient"), ("payload", blob), ("_csrf", f.uuid())]
        note = f"form/blind5/{t}"
    else:
        t = r.choice(["login_csrf", "ga4_collect", "npi_lookup", "checkout_masked", "ssn_validate_invalid", "newsletter_topics"])
        pairs = {"login_csrf": [("username", f.first().lower()), ("password", f.b64(12)), ("csrfmiddlewaretoken", f.hexhash(64))],
                 "ga4_collect": [("v", "2"), ("tid", f"G-{f.hexhash(10).upper()}"), ("cid", f"{r.randint(10**8, 10**9)}.{f.epoch()}"),
                                 ("_p", str(r.randint(10**8, 10**10))), ("en", "page_view"), ("dl", "https://clinic.example/patient-resources")],
                 "npi_lookup": [("number", f.npi()), ("enumeration_type", "NPI-1"), ("version", "2.1")],
                 "checkout_masked": [("card_display", f.masked_card()), ("order", f.order_id()), ("ref", f.luhn_bad16())],
                 "ssn_validate_invalid": [("ssn", f.invalid_ssn()[0]), ("check", "1")],
                 "newsletter_topics": [("topics[]", "patient-stories"), ("topics[]", "research"), ("order_ref", f.id9()), ("ts", str(f.epoch()))]}[t]
        note = f"form/blind5/neg/{t}"
    text = urllib.parse.urlencode(pairs)
    if large:
        pad = "&".join(f"f{i}={f.hexhash(16)}" for i in range(large // 20))
        text = {"start": text + "&" + pad, "end": pad + "&" + text, "middle": pad[:len(pad) // 2].rsplit("&", 1)[0] + "&" + text + "&" + pad[len(pad) // 2:].split("&", 1)[-1]}[where]
    return Sample(text, pos, kinds, note, "txt", values)


# ---- multipart/form-data

def b5_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    client = r.choice(["okhttp", "alamofire", "dart", "httpx", "apache"])
    bnd = {"okhttp": f.uuid(), "alamofire": "alamofire.boundary." + f.hexhash(16), "dart": "dart-http-boundary-" + f.b64(36).replace("/", "_").replace("=", "")[:50],
           "httpx": f.hexhash(32), "apache": "----" + f.b64(24).replace("/", "").replace("+", "").replace("=", "")}[client]
    parts: list[bytes] = []

    def field(name, value):
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())

    def upload(name, fname, ctype, data: bytes):
        parts.append(f'Content-Disposition: form-data; name="{name}"; filename="{fname}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data)

    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        t = r.choice(["fields", "json_upload", "csv_upload", "hl7_upload", "x12_with_fields", "yaml_upload"])
        if t == "fields":
            for k, v, _ in rec.fields:
                field(b5_key(k, r.choice(["snake", "camel"])), v)
        elif t == "json_upload":
            field("documentType", "intake")
            upload("file", "patient.json", "application/json", json.dumps({b5_key(k, "camel"): v for k, v, _ in rec.fields}).encode())
        elif t == "csv_upload":
            upload("file", "roster.csv", "text/csv", csv_text([b5_key(k, "snake") for k, _, _ in rec.fields], [[str(v) for _, v, _ in rec.fields]], ",", False, "\n").encode())
        elif t == "hl7_upload":
            h = b5_hl7(f, idx, True, 0, where)
            kinds |= set(h.kinds)
            values += h.values
            upload("message", "adt.hl7", "application/hl7-v2", h.data)
            for k, v, _ in rec.fields:
                field(b5_key(k, "camel"), v)
        elif t == "x12_with_fields":
            for k, v, _ in rec.fields:
                field(b5_key(k, "snake"), v)
            upload("edi", "enroll_834.x12", "application/edi-x12", b5_x12_834(f, rec).encode())
        else:
            upload("seed", "patient.yaml", "application/x-yaml", ("patient:\n" + "".join(f"  {b5_key(k, 'snake')}: \"{v}\"\n" for k, v, _ in rec.fields)).encode())
        note = f"multipart/blind5/{client}/{t}"
    else:
        t = r.choice(["image", "provider_roster", "app_config", "pdf", "x12_999_ack"])
        if t == "image":
            field("caption", "waiting room mural")
            upload("photo", "IMG_%04d.png" % r.randint(1, 9999), "image/png", fake_png(f, r.randint(200, 2000)))
        elif t == "provider_roster":
            rows = [[f.npi(), f.last(), f.first(), r.choice(PROVIDER_SPECIALTIES)] for _ in range(r.randint(2, 8))]
            upload("roster", "providers.csv", "text/csv", csv_text(["npi", "last", "first", "specialty"], rows, ",", False, "\n").encode())
        elif t == "app_config":
            upload("config", "app.ini", "text/plain", (f"[app]\nversion = {f.semver()}\nbuild = {f.id9()}\ncommit = {f.hexhash(40)}\n"
                                                       f"[kafka]\nbootstrap = 10.0.0.1:9092\nsession_timeout_ms = {r.randint(10**4, 10**5)}\n").encode())
        elif t == "pdf":
            upload("doc", "brochure.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(f.r.getrandbits(8) for _ in range(r.randint(200, 1500))))
        else:
            upload("ack", "999.x12", "application/edi-x12", (f"ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *{f.recent():%y%m%d}*1200*^*00501*{r.randint(1, 10**9 - 1):09d}*0*P*:~"
                                                               f"ST*999*0001*005010X231A1~AK1*HC*{r.randint(1, 9999)}*005010X222A1~AK9*A*1*1*1~SE*4*0001~").encode())
        note = f"multipart/blind5/{client}/neg/{t}"
    if large:
        blob = ("".join(f.hexhash(64) + "\n" for _ in range(large // 65))).encode()
        padpart = f'Content-Disposition: form-data; name="attachment"; filename="trace.log"\r\nContent-Type: text/plain\r\n\r\n'.encode() + blob
        parts = {"start": parts + [padpart], "end": [padpart] + parts, "middle": [padpart] + parts + [padpart]}[where]
    data = b"".join(b"--" + bnd.encode() + b"\r\n" + p + b"\r\n" for p in parts) + b"--" + bnd.encode() + b"--\r\n"
    return Sample(data, pos, kinds, note, "txt", values)


# ---- free-text notes

def b5_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl = pick_kinds(f, idx)
        items = []
        for k in kl:
            v = ident_value(f, k)
            items.append(b5_phrase(f, k, v))
            kinds.add(k)
            values.append((k, str(v)))
        t = r.choice(["discharge_summary", "referral_letter_fr", "portal_message", "chat_transcript", "resumen_alta",
                      "radiology_header", "nurse_triage"])
        cond, med = r.choice(CONDITIONS), r.choice(MEDS)
        if t == "discharge_summary":
            text = ("DISCHARGE SUMMARY\n\n" + "\n".join(items) + f"\n\nAdmit: {f.recent():%m/%d/%Y}   Discharge: {f.recent():%m/%d/%Y}\n"
                    f"Principal diagnosis: {cond}.\nHospital course: uneventful. Discharged home on {med}.\nFollow-up with PCP in 1 week.\n")
        elif t == "referral_letter_fr":
            text = (f"Cher confrère,\n\nJe vous adresse {r.choice(['Mme', 'M.'])} pour avis concernant : {cond}.\n" + "\n".join(items)
                    + f"\nTraitement actuel : {med}.\n\nBien confraternellement,\nDr {f.last()}\n")
        elif t == "portal_message":
            text = (f"From: Patient Portal <noreply@portal.example>\nSubject: Refill request\nReceived: {f.iso_ts()}\n\n"
                    f"Hi Dr. {f.last()}, I am running low on {med}. " + " ".join(items) + "\nThanks!\n")
        elif t == "chat_transcript":
            lines = [f"[{f.recent():%H:%M}] Bot: Hi! I'm the clinic assistant. How can I help?",
                     f"[{f.recent():%H:%M}] Visitor: I need to reschedule my appointment"]
            for it in items:
                lines.append(f"[{f.recent():%H:%M}] Agent {f.first()}: Please confirm your details")
                lines.append(f"[{f.recent():%H:%M}] Visitor: {it}")
            lines.append(f"[{f.recent():%H:%M}] Agent: Done, see you then.")
            text = "\n".join(lines) + "\n"
        elif t == "resumen_alta":
            text = ("RESUMEN DE ALTA\n" + "\n".join(items) + f"\nDiagnóstico principal: {cond}.\nTratamiento al alta: {med}.\n"
                    "Control en consulta externa en 2 semanas.\n")
        elif t == "radiology_header":
            text = ("RADIOLOGY REPORT".ljust(40) + f"Accession: {r.randint(10**6, 10**7)}\n" + "\n".join(x.ljust(40) for x in items)
                    + f"\nEXAM: {r.choice(['CT HEAD W/O CONTRAST', 'XR CHEST 2 VIEWS', 'MRI L-SPINE'])}\nIMPRESSION: No acute findings.\n")
        else:
            text = (f"Telephone triage {f.recent():%m/%d/%Y %H:%M}\nCaller: patient\n" + "; ".join(items)
                    + f"\nSymptoms: cough x3 days, no fever. Advised {med}. Call back if worse.\n")
        note = f"note/blind5/{t}"
    else:
        t = r.choice(["marketing_newsletter", "release_notes", "deid_case", "provider_directory_text", "hipaa_training",
                      "clinic_hours", "lab_catalog_text"])
        if t == "marketing_newsletter":
            text = (f"PATIENT APPRECIATION MONTH\nOur patients are the heart of everything we do. Order #{f.id9()} and every order "
                    f"placed before the 30th ships free. Use code THANKS{r.randint(10, 99)} (order ref {f.order_id()}).\n")
        elif t == "release_notes":
            text = (f"Release {f.semver()} ({f.recent():%Y-%m-%d})\n- Patient search is 30% faster\n- Fixed build {f.id9()}\n"
                    f"- Commit {f.hexhash(40)}\n- Upgraded hapi-fhir to {f.semver()}\n")
        elif t == "deid_case":
            text = (f"Case {r.randint(1, 99)}: a {r.randint(20, 89)}-year-old {r.choice(['woman', 'man'])} presented with {r.choice(CONDITIONS)}. "
                    f"All identifiers were removed per Safe Harbor. Treated with {r.choice(MEDS)}.\n")
        elif t == "provider_directory_text":
            text = "".join(f"Dr. {f.first()} {f.last()}, {r.choice(PROVIDER_SPECIALTIES)} - NPI {f.npi()} - office {f.phone()}\n"
                           for _ in range(r.randint(2, 6)))
        elif t == "hipaa_training":
            text = (f"HIPAA refresher: never read a full SSN aloud; say 'ending in {r.randint(1000, 9999)}'. Masked form {f.masked_ssn()} is fine "
                    "in e-mail. Verify identity with two identifiers before discussing results.\n")
        elif t == "clinic_hours":
            text = (f"Clinic hours: Mon-Fri 8am-5pm. Main line {f.phone()}. Lab draws until 4pm. Holiday closure on {f.recent():%B %d}.\n")
        else:
            text = "".join(f"Test {r.randint(10000, 99999)}: {r.choice(['CBC', 'CMP', 'TSH', 'HbA1c'])}, TAT {r.randint(1, 72)}h, CPT {r.randint(80000, 89999)}\n"
                           for _ in range(r.randint(3, 8)))
        note = f"note/blind5/neg/{t}"
    if large:
        fill = lambda: f"{r.choice(CONDITIONS).capitalize()} reviewed; plan unchanged. Ref {f.hexhash(8)}.\n"  # noqa: E731
        text = "".join(place([text], fill, large, where))
    return Sample(text, pos, kinds, note, "txt", values)


# ---- logs

def b5_clean_log(f: Faker) -> str:
    r = f.r
    ts = f.iso_ts()
    return r.choice([
        f"{ts} INFO  [kafka-consumer-3] o.a.k.c.c.i.ConsumerCoordinator: committed offset {r.randint(10**8, 10**10)} for orders-{r.randint(0, 11)}\n",
        f"REPORT RequestId: {f.uuid()}\tDuration: {r.randint(1, 900)}.{r.randint(10, 99)} ms\tBilled Duration: {r.randint(1, 900)} ms\tMemory Size: 512 MB\tMax Memory Used: {r.randint(60, 500)} MB\n",
        f"{ts}  INFO intake::server: listening addr=0.0.0.0:8443 version={f.semver()} build={f.hexhash(12)}\n",
        f"[{ts}] GC(pause) young {r.randint(1, 900)}M->{r.randint(1, 900)}M {r.randint(1, 99)}.{r.randint(100, 999)}ms\n",
        f"{ts} WARN  order {f.order_id()} retry={r.randint(1, 5)} epoch={f.epoch()} span={f.uuid()}\n",
    ])


def b5_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    ts = f.iso_ts()
    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        t = r.choice(["mirth_channel", "lambda_event", "gcp_jsonpayload", "rust_tracing", "elixir_logger", "windows_event_xml",
                      "kafka_consumer_record", "nginx_error_query"])
        if t == "mirth_channel":
            h = b5_hl7(f, idx, True, 0, "start")
            raw = h.data.decode().strip("\x0b\x1c\r\n").replace("\r\n", "\n").replace("\r", "\n")
            kinds |= set(h.kinds)
            values += h.values
            extra = " ".join(f"{b5_key(k, 'camel')}={v}" for k, v, _ in rec.fields)
            text = (f" INFO  {ts[:10]} {ts[11:19]},{r.randint(100, 999)} [Channel Dispatch Thread on ADT_IN ({f.uuid()}) < pool-1-thread-{r.randint(1, 9)}] "
                    f"transformer: map {extra}; raw message follows\n{raw}\n")
        elif t == "lambda_event":
            rid = f.uuid()
            ev = {"httpMethod": "POST", "path": "/patients", "body": json.dumps({b5_key(k, "camel"): v for k, v, _ in rec.fields})}
            text = (f"START RequestId: {rid} Version: $LATEST\n{ts}\t{rid}\tINFO\tevent {json.dumps(ev)}\n"
                    f"END RequestId: {rid}\n")
        elif t == "gcp_jsonpayload":
            text = json.dumps({"insertId": f.hexhash(14), "jsonPayload": {"message": "patient upserted",
                                                                          "patient": {b5_key(k, "snake"): v for k, v, _ in rec.fields}},
                               "resource": {"type": "k8s_container", "labels": {"cluster_name": "prod", "namespace_name": "ehr"}},
                               "timestamp": ts, "severity": "INFO", "logName": "projects/clinic-prod/logs/stdout"}) + "\n"
        elif t == "rust_tracing":
            kv = " ".join(f"{b5_key(k, 'snake')}={json.dumps(str(v))}" for k, v, _ in rec.fields)
            text = f"{ts}  INFO request{{method=POST uri=/v1/register}}:register{{{kv}}}: intake::handlers: stored\n"
        elif t == "elixir_logger":
            m = ", ".join(f"{b5_key(k, 'snake')}: \"{v}\"" for k, v, _ in rec.fields)
            text = f"{ts[11:23]} request_id=F{f.hexhash(19)} [info] Ehr.Intake.upsert %{{{m}}}\n"
        elif t == "windows_event_xml":
            data = "".join(f"<Data Name=\"{b5_key(k, 'pascal')}\">{v}</Data>" for k, v, _ in rec.fields)
            text = (f"<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"NextGen.Interface\"/>"
                    f"<EventID>4100</EventID><TimeCreated SystemTime=\"{ts}\"/></System><EventData>{data}</EventData></Event>\n")
        elif t == "kafka_consumer_record":
            val = json.dumps({b5_key(k, "camel"): v for k, v, _ in rec.fields})
            text = (f"{ts} DEBUG [adt-consumer-1] c.e.AdtListener: ConsumerRecord(topic = ecw.patient.v1, partition = {r.randint(0, 11)}, "
                    f"leaderEpoch = {r.randint(0, 40)}, offset = {r.randint(10**5, 10**9)}, CreateTime = {f.epoch() * 1000}, "
                    f"key = {f.uuid()}, value = {val})\n")
        else:
            q = urllib.parse.urlencode([(b5_key(k, "snake"), str(v)) for k, v, _ in rec.fields])
            text = (f"{f.recent():%Y/%m/%d %H:%M:%S} [error] {r.randint(1, 9999)}#0: *{r.randint(1, 10**6)} upstream timed out (110: Connection timed out) "
                    f"while reading response header from upstream, client: {f.ip()}, server: portal.example, "
                    f"request: \"GET /api/patients/lookup?{q} HTTP/1.1\", upstream: \"http://10.0.3.7:8080/lookup\"\n")
        note = f"log/blind5/{t}"
    else:
        t = r.choice(["mixed_clean", "invalid_ssn_warning", "npi_prescriber", "masked_values", "version_banner"])
        lines = [b5_clean_log(f) for _ in range(r.randint(1, 4))]
        if t == "invalid_ssn_warning":
            v, why = f.invalid_ssn()
            lines.append(f"{ts} WARN  c.e.Validator: rejected ssn={v} reason={why} field=person.ssn\n")
        elif t == "npi_prescriber":
            first, last = f.name_parts()
            lines.append(f"{ts} INFO  erx: prescriber npi={f.npi()} dea={f.dea(last)} name=\"{first} {last}\" route=/erx/verify\n")
        elif t == "masked_values":
            lines.append(f"{ts} INFO  billing: card={f.masked_card()} ssn={f.masked_ssn()} refund_ref={f.luhn_bad16()}\n")
        elif t == "version_banner":
            lines.append(f"{ts} INFO  starting ecw-bridge v{f.semver()} (commit {f.hexhash(40)}, built {f.epoch()}) pid={r.randint(100, 99999)}\n")
        r.shuffle(lines)
        text = "".join(lines)
        note = f"log/blind5/neg/{t}"
    if large:
        text = "".join(place([text], lambda: b5_clean_log(f), large, where))
    return Sample(text, pos, kinds, note, "log", values)


# ---- Prometheus

def b5_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r

    def block():
        x = r.choice(["build", "gc", "kafka", "hist", "validator"])
        if x == "build":
            return f'# HELP app_build_info Build metadata.\n# TYPE app_build_info gauge\napp_build_info{{version="{f.semver()}",revision="{f.hexhash(40)}",goversion="go1.23.{r.randint(0, 9)}"}} 1'
        if x == "gc":
            return f"# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{{quantile=\"0.5\"}} {r.random() / 1000:.9f}\ngo_gc_duration_seconds_count {r.randint(10**3, 10**8)}"
        if x == "kafka":
            return "\n".join(["# TYPE kafka_consumergroup_current_offset gauge"] + [
                f'kafka_consumergroup_current_offset{{consumergroup="adt",partition="{p}",topic="orders"}} {r.randint(10**8, 10**11)} {f.epoch() * 1000}'
                for p in range(r.randint(1, 4))])
        if x == "hist":
            out = ["# TYPE fhir_request_duration_seconds histogram"]
            c = 0
            for le in ["0.01", "0.1", "1", "+Inf"]:
                c += r.randint(0, 10**7)
                out.append(f'fhir_request_duration_seconds_bucket{{resource="Patient",le="{le}"}} {c}')
            out += [f"fhir_request_duration_seconds_sum {r.random() * 10**6:.2f}", f"fhir_request_duration_seconds_count {c}"]
            return "\n".join(out)
        return "\n".join(["# TYPE phi_validator_rejections_total counter"] + [
            f'phi_validator_rejections_total{{kind="{k}",reason="checksum"}} {r.randint(0, 10**7)}' for k in ("ssn", "npi", "mbi", "card")])

    blocks = [block() for _ in range(r.randint(1, 5))]
    kinds: set = set()
    values: list = []
    t = "neg/exposition"
    if pos:
        kl = pick_kinds(f, idx)[:2]
        rec = patient_record(f, kl, extras=False)
        kinds |= rec.kinds
        values += rec.values
        t = r.choice(["kafka_key_label", "graphql_variables_label", "exemplar_labels", "info_metric"])
        if t == "kafka_key_label":
            lines = ["# TYPE kafka_consumer_poison_messages_total counter"]
            for k, v, _ in rec.fields:
                lines.append(f'kafka_consumer_poison_messages_total{{topic="ecw.patient.v1",key="{b5_key(k, "snake")}:{v}"}} {r.randint(1, 9)}')
        elif t == "graphql_variables_label":
            vars_ = json.dumps({b5_key(k, "camel"): str(v) for k, v, _ in rec.fields}).replace('"', '\\"')
            lines = ["# TYPE graphql_operation_errors_total counter",
                     f'graphql_operation_errors_total{{operation="FindPatient",variables="{vars_}"}} {r.randint(1, 40)}']
        elif t == "exemplar_labels":
            lab = ",".join(f'{b5_key(k, "snake")}="{v}"' for k, v, _ in rec.fields)
            lines = ["# TYPE intake_latency_seconds histogram",
                     f'intake_latency_seconds_bucket{{le="0.5"}} {r.randint(1, 10**5)} # {{trace_id="{f.hexhash(32)}",{lab}}} 0.{r.randint(100, 999)} {f.epoch()}.{r.randint(100, 999)}',
                     f'intake_latency_seconds_bucket{{le="+Inf"}} {r.randint(10**5, 10**6)}']
            f.flags.add("openmetrics")
        else:
            lab = ",".join(f'{b5_key(k, "snake")}="{v}"' for k, v, _ in rec.fields)
            lines = ["# HELP patient_sync_last_record_info Last record synced.", "# TYPE patient_sync_last_record_info gauge",
                     f"patient_sync_last_record_info{{{lab}}} 1"]
        blocks.insert(r.randint(0, len(blocks)), "\n".join(lines))
    if large:
        blocks = place(blocks, block, large, where)
    text = "\n".join(blocks) + "\n" + ("# EOF\n" if "openmetrics" in f.flags else "")
    return Sample(text, pos, kinds, f"prometheus/blind5/{t}", "prom", values)


# ---- source code

def b5_code_filler(f: Faker) -> str:
    r = f.r
    n = r.randint(1, 10**6)
    return r.choice([
        f"\nconst buildTimestamp{n} = {f.epoch()} // CI\n",
        f"\nprivate static final long SERIAL_{n} = {f.id9()}L;\n",
        f"\nlet cacheKey{n} = \"{f.hexhash(40)}\"\n",
        f"\n# version pin {n}\nREQUIRED = \"{f.semver()}\"\n",
    ])


def b5_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        snake = [(b5_key(k, "snake"), v) for k, v, _ in rec.fields]
        camel = [(b5_key(k, "camel"), v) for k, v, _ in rec.fields]
        pascal = [(b5_key(k, "pascal"), v) for k, v, _ in rec.fields]
        t = r.choice(["go_table_test", "junit_csvsource", "swift_xctest", "ts_msw_handler", "textproto", "ini_fixture",
                      "spring_xml", "rust_test", "kotlin_mapof", "graphql_fixture"])
        if t == "go_table_test":
            text = ("func TestRegister(t *testing.T) {\n\tcases := []struct{ in Patient }{\n\t\t{in: Patient{"
                    + ", ".join(f'{k}: "{v}"' for k, v in pascal) + "}},\n\t}\n\tfor _, c := range cases {\n\t\trequire.NoError(t, svc.Register(c.in))\n\t}\n}\n")
        elif t == "junit_csvsource":
            text = ("@ParameterizedTest\n@CsvSource({\n    \"" + ", ".join(str(v) for _, v in camel) + "\"\n})\nvoid registers("
                    + ", ".join(f"String {k}" for k, _ in camel) + ") {\n    assertTrue(service.register(" + ", ".join(k for k, _ in camel) + "));\n}\n")
            f.flags.add("kw_in_signature")
        elif t == "swift_xctest":
            text = ("final class IntakeTests: XCTestCase {\n    func testEncode() throws {\n        let p = PatientDTO(\n"
                    + ",\n".join(f'            {k}: "{v}"' for k, v in camel) + "\n        )\n        XCTAssertNoThrow(try JSONEncoder().encode(p))\n    }\n}\n")
        elif t == "ts_msw_handler":
            text = ("import { http, HttpResponse } from 'msw'\n\nexport const handlers = [\n  http.get('/api/patients/:id', () =>\n    HttpResponse.json({\n"
                    + "".join(f"      {k}: '{v}',\n" for k, v in camel) + "    }),\n  ),\n]\n")
        elif t == "textproto":
            text = ("# proto-file: ehr/v1/patient.proto\n# proto-message: Patient\npatient {\n"
                    + "".join(f'  {k}: "{v}"\n' for k, v in snake) + "}\n")
        elif t == "ini_fixture":
            text = "; test data for the intake smoke test\n[patient]\n" + "".join(f"{k} = {v}\n" for k, v in snake) + "\n[options]\ndry_run = true\n"
        elif t == "spring_xml":
            text = ("<bean id=\"testPatient\" class=\"com.example.ehr.Patient\">\n"
                    + "".join(f"    <property name=\"{k}\" value=\"{v}\"/>\n" for k, v in camel) + "</bean>\n")
        elif t == "rust_test":
            text = ("#[test]\nfn parses_patient() {\n    let p = Patient {\n" + "".join(f"        {k}: \"{v}\".into(),\n" for k, v in snake)
                    + "        ..Default::default()\n    };\n    assert!(p.validate().is_ok());\n}\n")
        elif t == "kotlin_mapof":
            text = ("@Test\nfun `maps intake form`() {\n    val form = mapOf(\n" + ",\n".join(f'        "{k}" to "{v}"' for k, v in camel)
                    + "\n    )\n    assertThat(mapper.toPatient(form)).isNotNull()\n}\n")
        else:
            text = ("# fixtures/upsert_patient.graphql\nmutation UpsertPatient($input: PatientInput!) { upsertPatient(input: $input) { id } }\n"
                    "# variables\n" + json.dumps({"input": {k: str(v) for k, v in camel}}, indent=2) + "\n")
        note = f"source/blind5/{t}"
    else:
        t = r.choice(["go_ssn_invalid_vectors", "java_luhn_invalid", "npi_test_constants", "version_constants", "proto_schema",
                      "uuid_fixture", "epoch_migration"])
        if t == "go_ssn_invalid_vectors":
            bad = [f.invalid_ssn()[0] for _ in range(r.randint(2, 5))]
            text = ("func TestRejectsUnissued(t *testing.T) {\n\tfor _, s := range []string{" + ", ".join(f'"{b}"' for b in bad)
                    + "} {\n\t\tif ValidSSN(s) {\n\t\t\tt.Errorf(\"accepted %s\", s)\n\t\t}\n\t}\n}\n")
        elif t == "java_luhn_invalid":
            text = ("@ParameterizedTest\n@ValueSource(strings = {" + ", ".join(f'"{f.luhn_bad16()}"' for _ in range(r.randint(2, 5)))
                    + "})\nvoid rejectsBadChecksum(String pan) {\n    assertFalse(Luhn.isValid(pan));\n}\n")
        elif t == "npi_test_constants":
            text = "object Providers {\n" + "".join(f'    const val NPI_{i} = "{f.npi()}"\n' for i in range(r.randint(1, 5))) + "}\n"
        elif t == "version_constants":
            text = (f"export const VERSION = '{f.semver()}'\nexport const COMMIT = '{f.hexhash(40)}'\nexport const BUILT_AT = {f.epoch()}\n"
                    f"export const BUILD_NUMBER = {f.id9()}\n")
        elif t == "proto_schema":
            text = ("syntax = \"proto3\";\npackage ehr.v1;\nmessage Patient {\n  string id = 1;\n  string ssn = 2;\n  string medical_record_number = 3;\n"
                    "  google.type.Date birth_date = 4;\n  string member_id = 5;\n}\n")
        elif t == "uuid_fixture":
            text = "".join(f"ENCOUNTER_{i} = UUID('{f.uuid()}')\n" for i in range(r.randint(2, 6))) + f"SALT = b'{f.b64(24)}'\n"
        else:
            text = (f"-- V{r.randint(1, 400)}__add_sync_cursor.sql\nALTER TABLE sync_cursor ADD COLUMN last_epoch BIGINT NOT NULL DEFAULT {f.epoch()};\n"
                    f"UPDATE sync_cursor SET batch_id = {f.id9()} WHERE id = 1;\n")
        note = f"source/blind5/neg/{t}"
    if large:
        text = "".join(place([text], lambda: b5_code_filler(f), large, where))
    return Sample(text, pos, kinds, note, "txt", values)


# ---- evasions

def b5_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = r.choice(["json", "fhir", "hl7", "csv", "note", "log", "source", "form", "prometheus"])
    inner = B5_GEN[inner_fmt](f, idx, pos, large, where)
    how = r.choice(["gzip_fextra", "gzip_fhcrc_fname", "zlib_fast", "gzip_lvl9_os_fat"])
    raw = inner.data
    trailer = (zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "little") + (len(raw) & 0xFFFFFFFF).to_bytes(4, "little")
    co = zlib.compressobj(r.choice([6, 9]), zlib.DEFLATED, -15)
    deflated = co.compress(raw) + co.flush()
    if how == "gzip_fextra":
        extra = b"AP" + (6).to_bytes(2, "little") + bytes(f.r.getrandbits(8) for _ in range(6))
        data = b"\x1f\x8b\x08\x04" + f.epoch().to_bytes(4, "little") + b"\x00\x03" + len(extra).to_bytes(2, "little") + extra + deflated + trailer
    elif how == "gzip_fhcrc_fname":
        hdr = b"\x1f\x8b\x08\x0a" + (0).to_bytes(4, "little") + b"\x02\xff" + b"export_%d.dat\x00" % r.randint(1, 9999)
        data = hdr + (zlib.crc32(hdr) & 0xFFFF).to_bytes(2, "little") + deflated + trailer
    elif how == "zlib_fast":
        data = zlib.compress(raw, 1)
    else:
        data = gzip.compress(raw, compresslevel=9, mtime=0)
        data = data[:9] + b"\x00" + data[10:]  # OS = FAT
    ext = inner.ext + (".z" if how == "zlib_fast" else ".gz")
    return Sample(data, pos, inner.kinds, f"gzip/blind5/{how}/" + inner.note, ext, inner.values)


_B5_ACCENT = {"numero": "número", "telefono": "teléfono", "securite": "sécurité", "medical": "médical"}


def esc_b5_ascii(s: str) -> str:  # Jackson ESCAPE_NON_ASCII + digits
    return re.sub(r"[0-9]", lambda m: "\\u%04x" % ord(m.group(0)), json.dumps(s, ensure_ascii=True)[1:-1])


def esc_b5_accent_keys(s: str) -> str:
    for a, b in _B5_ACCENT.items():
        s = re.sub(a, b, s, flags=re.I)
    return json.dumps(s, ensure_ascii=True)[1:-1]


def esc_b5_every_other(s: str) -> str:
    return "".join(("\\u%04X" % ord(c)) if i % 2 == 0 else esc_default(c) for i, c in enumerate(s))


def esc_b5_slash_digits(s: str) -> str:
    return re.sub(r"[0-9]", lambda m: "\\u%04x" % ord(m.group(0)), esc_default(s)).replace("/", "\\/")


def b5_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    how = r.choice(["ascii_digits", "accent_keys", "every_other_char", "slash_digits"])
    esc, kesc = {"ascii_digits": (esc_b5_ascii, esc_default), "accent_keys": (esc_b5_ascii, esc_b5_accent_keys),
                 "every_other_char": (esc_b5_every_other, esc_b5_every_other), "slash_digits": (esc_b5_slash_digits, esc_default)}[how]
    if r.random() < 0.65:
        s = b5_json(f, idx, pos, large, where, esc=esc, kesc=kesc)
    else:
        s = b5_fhir(f, idx, pos, large, where, esc=esc)
    s.note = f"json_escape/blind5/{how}/" + s.note
    return s


def b5_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    kinds: set = set()
    values: list = []
    if pos:
        kl, rec = b5_record(f, idx)
        kinds |= rec.kinds
        values += rec.values
        pairs = [(b5_key(k, r.choice(["camel", "snake"])), str(v)) for k, v, _ in rec.fields]
        tt = "pos"
    else:
        tt = r.choice(["utm", "npi_search", "masked", "invalid_ssn", "ids", "version_check"])
        pairs = {"utm": [("utm_campaign", "patient-week"), ("gclid", f.b64(24)), ("_t", str(f.epoch() * 1000))],
                 "npi_search": [("npi", f.npi()), ("taxonomy", "207Q00000X")],
                 "masked": [("ssn_display", f.masked_ssn()), ("card_display", f.masked_card())],
                 "invalid_ssn": [("ssn", f.invalid_ssn()[0]), ("mode", "validate")],
                 "ids": [("order", f.id9()), ("trace", f.uuid()), ("since", str(f.epoch()))],
                 "version_check": [("client", "ios"), ("version", f.semver()), ("build", f.id9())]}[tt]
    how = r.choice(["graphql_get_variables", "oauth_state_json", "lucene_q", "referer_header", "saml_relaystate", "all_chars_lower"])
    if how == "graphql_get_variables":
        q = urllib.parse.quote("query FindPatient($f: PatientFilter) { patients(filter: $f) { id } }", safe="")
        text = f"GET /graphql?query={q}&variables={urllib.parse.quote(json.dumps({'f': dict(pairs)}), safe='')} HTTP/1.1\r\nHost: api.example\r\n\r\n"
    elif how == "oauth_state_json":
        text = (f"GET /oauth/callback?code={f.b64(18).replace('+', '-').replace('/', '_').rstrip('=')}&state="
                + urllib.parse.quote(json.dumps({"returnTo": "/intake", "draft": dict(pairs)}), safe="") + " HTTP/1.1\r\n\r\n")
    elif how == "lucene_q":
        lq = " AND ".join(f'{k}:"{v}"' for k, v in pairs)
        text = f"GET /patients-*/_search?q={urllib.parse.quote(lq, safe='')}&size=10 HTTP/1.1\r\nHost: es.internal:9200\r\n\r\n"
    elif how == "referer_header":
        text = ("GET /static/app.js HTTP/1.1\r\nHost: portal.example\r\nReferer: https://portal.example/intake/review?"
                + "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in pairs) + "\r\n\r\n")
    elif how == "saml_relaystate":
        rs = "https://portal.example/chart?" + "&".join(f"{k}={v}" for k, v in pairs)
        text = f"SAMLResponse={urllib.parse.quote(f.b64(90), safe='')}&RelayState={urllib.parse.quote(rs, safe='')}"
    else:
        text = "&".join(f"{k}={pct_all(v, lower=True)}" for k, v in pairs)
    if large:
        pad = "&".join(f"x{i}={f.hexhash(20)}" for i in range(large // 25))
        text = {"start": text + "\r\n" + pad, "end": pad + "\r\n" + text, "middle": pad[:len(pad) // 2] + "\r\n" + text + "\r\n" + pad[len(pad) // 2:]}[where]
    return Sample(text, pos, kinds, f"percent/blind5/{how}" + ("" if pos else f"/neg/{tt}"), "txt", values)


B5_GEN = {
    "json": b5_json, "fhir": b5_fhir, "hl7": b5_hl7, "csv": b5_csv, "form": b5_form, "multipart": b5_multipart,
    "note": b5_note, "log": b5_log, "prometheus": b5_prometheus, "source": b5_source, "gzip": b5_gzip,
    "json_escape": b5_json_escape, "percent": b5_percent,
}


# --------------------------------------------------------------------------------------------
# The `blind6` family: a sixth, independent template set written blind on 2026-11-23 against the
# detector at commit aa459e1 (without reading the detection rules, their history, any miss list or
# quality output, and without scanning any sample while writing); never tuned on. Envelopes and
# label spellings imitate athenahealth-style REST, Redox-style data models, X12 270/271 eligibility
# JSON, patient-statement payments, scheduling and e-prescribing APIs, webhook events, GraphQL
# responses, Epic-style Reporting Workbench / payer roster / collections CSVs, portal and Twilio
# forms, browser / curl / requests multipart uploads, H&P / ED / SOAP / prior-auth / phone notes,
# Spring Boot / nginx / IIS W3C / pino / Python traceback / Lambda / audit logs, pytest / Jest /
# NUnit / RSpec / SQL / .http sources. Report its totals only.
# --------------------------------------------------------------------------------------------

B6 = "blind6"
NAMES[B6] = (
    "Delphine Harlan Odessa Truman Marguerite Ellsworth Ione Lamar Verna Cletus Birdie Royce Winona "
    "Alton Pearlie Garland Nettie Emmitt Ola Virgil Tallulah Booker Maribel Deshawn Keisha Tuan Mei "
    "Anjali Darnell Ximena".split(),
    "Okonkwo Haverford Pettibone Castellanos Nwosu Tollefson Achterberg Gruenwald Montalvo Prudhomme "
    "Fairweather Kowalczyk Delacroix Whitlock Abernathy Oyelaran Santangelo Birkeland Thibodeaux "
    "Mcallister Pennington Vukovic Rutledge Quintanilla Hargrove Lindqvist Oduya Beauchamp Nakashima "
    "Trujillo".split(),
)
STREETS[B6] = ["Magnolia Bend Dr", "County Rd 412", "Sycamore Ridge Ln", "W Pershing Ave Unit 3", "Old Mill Pike",
               "Cottonwood Trl", "N Halsted St Apt 2F"]
CITIES[B6] = [("Tupelo", "MS"), ("Bozeman", "MT"), ("Ypsilanti", "MI"), ("Kissimmee", "FL"), ("Scranton", "PA"),
              ("Yakima", "WA"), ("Muskogee", "OK")]
STYLES[B6] = ["snake", "camel", "pascal", "upper", "kebab"]
KW[B6] = {
    "ssn": [["ssn"], ["social", "security", "number"], ["patient", "ssn"], ["member", "ssn"], ["ssn", "full"]],
    "mbi": [["mbi"], ["medicare", "beneficiary", "id"], ["medicare", "id"], ["medicare", "number"]],
    "mrn": [["mrn"], ["medical", "record", "number"], ["patient", "mrn"], ["epic", "mrn"], ["mr", "number"]],
    "member_id": [["member", "id"], ["subscriber", "id"], ["insurance", "member", "id"], ["health", "plan", "member", "id"],
                  ["insured", "id", "number"]],
    "account_number": [["account", "number"], ["patient", "account", "number"], ["hospital", "account", "number"],
                       ["guarantor", "account", "id"], ["billing", "account", "number"]],
    "dob": [["dob"], ["date", "of", "birth"], ["birth", "date"], ["patient", "dob"]],
    "credit_card": [["card", "number"], ["credit", "card", "number"], ["cc", "number"], ["payment", "card", "number"]],
    "patient_email": [["patient", "email"], ["patient", "email", "address"], ["pt", "email"]],
    "patient_phone": [["patient", "phone"], ["patient", "mobile", "phone"], ["patient", "home", "phone"], ["pt", "phone"]],
    "patient_name": [["patient", "name"], ["patient", "full", "name"]],
    "npi": [["npi"], ["provider", "npi"], ["rendering", "provider", "npi"]],
    "dea": [["dea", "number"], ["prescriber", "dea"]],
}
PHRASES[B6] = {
    "ssn": ["SSN: {v}", "Social Security #: {v}", "SS# {v}", "social security number {v}", "SSN {v}"],
    "mbi": ["Medicare ID: {v}", "MBI {v}", "Medicare Beneficiary Identifier: {v}", "Medicare # {v}"],
    "mrn": ["MRN: {v}", "MRN {v}", "Medical Record #: {v}", "medical record number {v}"],
    "member_id": ["Member ID: {v}", "Subscriber ID {v}", "Ins Member ID# {v}", "member id {v}"],
    "account_number": ["Account #: {v}", "Acct# {v}", "Hospital Account: {v}", "account number {v}"],
    "dob": ["DOB: {v}", "DOB {v}", "Date of Birth: {v}", "date of birth {v}", "D.O.B. {v}"],
    "credit_card": ["Card: {v}", "credit card {v}", "card number {v}", "CC# {v}"],
    "patient_email": ["Patient email: {v}", "patient's email is {v}", "Pt email {v}"],
    "patient_phone": ["Patient phone: {v}", "patient's cell {v}", "Pt callback # {v}", "patient can be reached at {v}"],
    "patient_name": ["Patient: {v}", "Patient Name: {v}", "Pt: {v}"],
}
B6_KINDS = ["ssn", "mbi", "mrn", "member_id", "account_number", "dob", "credit_card", "patient_email", "patient_phone"]
B6_PAYERS = ["Blue Cross Blue Shield of Texas", "Aetna Better Health", "UnitedHealthcare Community Plan", "Humana Gold Plus",
             "Cigna Open Access Plus", "Molina Healthcare", "Ambetter from Sunshine Health"]
B6_CLINICS = ["Riverbend Family Clinic", "Lakeshore Internal Medicine", "Pinegrove Pediatrics", "St. Ambrose Medical Group",
              "Northfield Orthopedic Associates", "Cedar Valley Cardiology"]


class Blind6Faker(Faker):
    """Value formats of the blind6 family."""

    def fmt_name(self, first, last):
        mi = self.r.choice("ABCDEGHJKLMNPRTW")
        return self.r.choice([f"{first} {last}", f"{last.upper()}, {first.upper()}", f"{last}, {first} {mi}",
                              f"{first} {mi} {last}"])

    def email(self, first, last):
        dom = self.r.choice(["example.com", "example.net", "mailbox.example", "patientmail.example.org"])
        return self.r.choice([f"{first.lower()}.{last.lower()}@{dom}", f"{first[0].lower()}{last.lower()}{self.r.randint(1, 88)}@{dom}",
                              f"{last.lower()}{first.lower()}{self.r.randint(1950, 2004)}@{dom}"])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"{a}.{e}.{n:04d}", f"+1{a}{e}{n:04d}",
                              f"({a}){e}-{n:04d}"])

    def fmt_date(self, d):
        return self.r.choice([d.strftime("%m/%d/%Y"), d.isoformat(), f"{d.month}/{d.day}/{d.year}",
                              d.strftime("%d-%b-%Y").upper(), d.strftime("%b %d, %Y"), d.strftime("%Y%m%d")])

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        o = self.r.choice(["dash", "dash", "dash", "bare", "space"] if bare_ok else ["dash", "dash", "space"])
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        if dashed is None:
            dashed = self.r.random() < 0.4
        return super().mbi(dashed)

    def mrn(self):
        r = self.r
        return r.choice([str(r.randint(10**6, 10**7 - 1)), f"{r.randint(1, 10**8 - 1):010d}", f"MR{r.randint(10**6, 10**7 - 1)}",
                         f"HSC{r.randint(10**5, 10**6 - 1)}", str(r.randint(10**7, 10**8 - 1))])

    def member_id(self):
        r = self.r
        L = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return r.choice(["".join(r.choice(L) for _ in range(3)) + str(r.randint(10**8, 10**9 - 1)),
                         f"{r.randint(10**8, 10**9 - 1)}{r.randint(0, 9)}{r.randint(1, 9)}", f"MCD{r.randint(10**7, 10**8 - 1)}",
                         f"{r.randint(10**7, 10**8 - 1)}{r.choice(L)}"])

    def account(self):
        r = self.r
        return r.choice([str(r.randint(10**9, 10**10 - 1)), f"PA{r.randint(10**6, 10**7 - 1)}",
                         f"{r.randint(100000, 999999)}-{r.randint(100, 999)}", str(r.randint(10**7, 10**8 - 1))])

    def card(self):
        r = self.r
        kind = r.choice(["visa", "visa", "mc", "mc2", "amex", "disc"])
        pre, n = {"visa": ("4", 16), "mc": (str(r.randint(51, 55)), 16), "mc2": (str(r.randint(2221, 2720)), 16),
                  "amex": (r.choice(["34", "37"]), 15), "disc": (r.choice(["6011", "65", str(r.randint(644, 649))]), 16)}[kind]
        d = luhn_complete(pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1)))
        assert card_ok(d)
        groups = [d[:4], d[4:10], d[10:]] if n == 15 else [d[i:i + 4] for i in range(0, n, 4)]
        return r.choice(["", "", " ", "-"]).join(groups)

    def kw6(self, kind, style=None):
        return style_key(self.r.choice(KW[B6][kind]), style or self.style)

    def ts6(self):
        return self.recent().strftime("%Y-%m-%dT%H:%M:%S") + self.r.choice(["Z", "-05:00", ".%03dZ" % self.r.randint(0, 999)])

    def dollars(self):
        return f"{self.r.randint(5, 4800)}.{self.r.randint(0, 99):02d}"


def b6_pick(f: Faker, idx: int) -> list:
    """Every other positive carries one identifier (round robin over the detector kinds); the others
    carry 2-4."""
    p = idx // 2
    if p % 2 == 0:
        return [B6_KINDS[(p // 2) % len(B6_KINDS)]]
    return f.r.sample(B6_KINDS, f.r.randint(2, 4))


class B6Rec:
    """The person and one value per kind; `values` feeds the self-check."""

    def __init__(self, f: Faker, kinds: list, nokw_ok=True):
        r = f.r
        self.first, self.last = f.name_parts()
        self.birth = f.birth()
        self.kinds = list(kinds)
        self.v: dict = {}
        self.nokw: set = set()
        for k in kinds:
            if k == "dob":
                self.v[k] = f.fmt_date(self.birth)
            elif k == "ssn":
                self.v[k] = f.ssn()[0]
            else:
                self.v[k] = ident_value(f, k, (self.first, self.last))
            if nokw_ok and k in CONTEXT_FREE and r.random() < 0.2:
                if k == "ssn" and not re.search(r"\D", self.v[k]):
                    self.v[k] = f.ssn(bare_ok=False)[0]
                self.nokw.add(k)
                f.flags.add(f"nokw:{k}")
        self.name = f.fmt_name(self.first, self.last)

    def values(self, extra=()):
        return [(k, self.v[k]) for k in self.kinds] + list(extra)


def b6_pad(f: Faker, filler, large: int, core: list, where: str, join="\n") -> str:
    return join.join(place(core, filler, large, where))


# ---------------------------------------------------------------- JSON


def b6_neg_obj(f: Faker, t: str):
    r = f.r
    if t == "nppes_results":
        res = []
        for _ in range(r.randint(2, 6)):
            fi, la = f.name_parts()
            c, st = f.city()
            res.append({"number": f.npi(), "enumeration_type": "NPI-1",
                        "basic": {"first_name": fi.upper(), "last_name": la.upper(), "credential": r.choice(["MD", "DO", "NP", "PA-C"]),
                                  "enumeration_date": f.recent().date().isoformat()},
                        "addresses": [{"address_purpose": "LOCATION", "address_1": f.street().upper(), "city": c.upper(), "state": st,
                                       "postal_code": f.zipcode() + f"{r.randint(0, 9999):04d}", "telephone_number": f.phone()}],
                        "taxonomies": [{"code": f"207{r.choice('QRX')}00000X", "desc": r.choice(PROVIDER_SPECIALTIES), "primary": True}]})
        return {"result_count": len(res), "results": res}
    if t == "order_status":
        return {"orderId": f.id9(), "createdEpoch": f.epoch(), "lines": [{"sku": f"RX-{r.randint(1000, 9999)}", "qty": r.randint(1, 4),
                "trackingNumber": f.luhn_bad16()} for _ in range(r.randint(1, 3))], "carrier": r.choice(["UPS", "FEDEX", "USPS"]),
                "confirmation": f.confirmation(), "etag": f.hexhash(32)}
    if t == "ssn_validation_error":
        bad, why = f.invalid_ssn()
        return {"status": 422, "title": "Unprocessable Entity", "traceId": f.uuid(),
                "errors": [{"field": f.kw6("ssn"), "rejectedValue": bad, "code": f"SSN_{why.upper()}",
                            "message": "The SSN area, group or serial number is not issued by SSA."}]}
    if t == "oauth_token":
        return {"access_token": f.b64(48).rstrip("="), "token_type": "Bearer", "expires_in": 3600, "scope": "patient/*.read launch openid",
                "refresh_token": f.b64(24), "id_token": f.b64(30) + "." + f.b64(60) + "." + f.b64(24), "issued_at": f.epoch()}
    if t == "dea_verification":
        fi, la = f.name_parts()
        return {"registrant": {"name": f"{la.upper()}, {fi.upper()}", "deaNumber": f.dea(la), "npi": f.npi(),
                               "businessActivity": "PRACTITIONER", "schedules": ["2", "2N", "3", "3N", "4", "5"],
                               "expirationDate": (f.recent() + dt.timedelta(days=700)).date().isoformat()},
                "verifiedAt": f.ts6(), "source": "DEA CSA registration lookup"}
    if t == "clinic_hours":
        c, st = f.city()
        return {"location": r.choice(B6_CLINICS), "mainPhone": f.phone(), "fax": f.phone(), "address": f"{f.street()}, {c}, {st} {f.zipcode()}",
                "hours": {d: "08:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}, "acceptingNewPatients": True}
    if t == "slot_search":
        return {"slots": [{"slotId": f.uuid(), "start": f.ts6(), "durationMin": r.choice([15, 20, 30]), "providerNpi": f.npi(),
                           "visitType": r.choice(["NEW", "FOLLOWUP", "TELEHEALTH"])} for _ in range(r.randint(2, 5))],
                "nextPageToken": f.b64(18)}
    if t == "claims_summary":
        return {"period": "2024-Q" + str(r.randint(1, 4)), "generated": f.epoch(), "byCpt": [{"cpt": str(r.randint(99202, 99499)),
                "count": r.randint(10, 9000), "allowedCents": r.randint(10**5, 10**8)} for _ in range(r.randint(3, 6))]}
    if t == "masked_payment":
        return {"paymentId": "pay_" + f.hexhash(24), "amount": f.dollars(), "card": {"brand": r.choice(["visa", "amex", "mastercard"]),
                "last4": f"{r.randint(0, 9999):04d}", "display": f.masked_card(), "expMonth": r.randint(1, 12), "expYear": r.randint(2025, 2031)},
                "ssnOnFile": f.masked_ssn(), "status": "succeeded", "created": f.epoch()}
    if t == "feature_flags":
        return {"flags": {f"enable_{w}": r.random() < 0.5 for w in ("mychart_proxy", "eligibility_v2", "rtpb", "hl7_ack_batch")},
                "buildSha": f.hexhash(40), "deployedAt": f.epoch() * 1000 + r.randint(0, 999), "instanceId": f.uuid()}
    raise ValueError(t)


B6_JSON_NEG = ["nppes_results", "order_status", "ssn_validation_error", "oauth_token", "dea_verification", "clinic_hours",
               "slot_search", "claims_summary", "masked_payment", "feature_flags"]


def b6_json_doc(f: Faker, t: str, rec: B6Rec, kv: list):
    """A positive document of template t; kv collects extra (kind, value) pairs."""
    r = f.r
    v = rec.v
    c, st = f.city()
    nk = lambda k: k in rec.nokw  # noqa: E731
    if t == "athena_patients":
        p = {"patientid": str(r.randint(1000, 999999)), "firstname": rec.first, "lastname": rec.last, "sex": r.choice("MF"),
             "address1": f.street(), "city": c, "state": st, "zip": f.zipcode(), "departmentid": str(r.randint(1, 150))}
        m = {"ssn": "ssn", "dob": "dob", "patient_email": "email", "patient_phone": "mobilephone", "mrn": "medicalrecordnumber",
             "member_id": "insurancememberid", "account_number": "guarantoraccountnumber", "mbi": "medicarebeneficiaryid",
             "credit_card": "cardnumber"}
        for k in rec.kinds:
            p["ref" + str(len(p)) if nk(k) else m[k]] = v[k]
        return {"totalcount": 1, "patients": [p]}
    if t == "redox_patientadmin":
        demo = {"FirstName": rec.first, "LastName": rec.last, "Sex": r.choice(["Female", "Male"]),
                "Address": {"StreetAddress": f.street(), "City": c, "State": st, "ZIP": f.zipcode()}}
        ids = [{"ID": f.uuid(), "IDType": "EHRID"}]
        for k in rec.kinds:
            if nk(k):
                ids.append({"ID": v[k], "IDType": "OTHER"})
            elif k == "ssn":
                demo["SSN"] = v[k]
            elif k == "dob":
                demo["DOB"] = v[k]
            elif k == "patient_phone":
                demo["PhoneNumber"] = {"Home": None, "Mobile": v[k]}
            elif k == "patient_email":
                demo["EmailAddresses"] = [v[k]]
            elif k == "mrn":
                ids.append({"ID": v[k], "IDType": "MRN"})
            elif k == "mbi":
                ids.append({"ID": v[k], "IDType": "MBI"})
            elif k == "member_id":
                demo["Insurance"] = {"MemberNumber": v[k], "Plan": r.choice(B6_PAYERS)}
            elif k == "account_number":
                demo["Visit"] = {"AccountNumber": v[k]}
            elif k == "credit_card":
                demo["Payment"] = {"CardNumber": v[k]}
        return {"Meta": {"DataModel": "PatientAdmin", "EventType": r.choice(["Registration", "PatientUpdate"]), "EventDateTime": f.ts6(),
                         "Test": False, "Source": {"ID": f.uuid(), "Name": "Redox EHR Source"}},
                "Patient": {"Identifiers": ids, "Demographics": demo}}
    if t == "eligibility_270":
        fi, la = f.name_parts()
        sub = {"firstName": rec.first.upper(), "lastName": rec.last.upper(), "gender": r.choice("MF")}
        for k in rec.kinds:
            sub[f"field{len(sub)}" if nk(k) else {"ssn": "ssn", "dob": "dateOfBirth", "member_id": "memberId", "mrn": "patientMrn",
                 "account_number": "patientAccountNumber", "mbi": "medicareBeneficiaryIdentifier", "patient_email": "patientEmail",
                 "patient_phone": "patientPhone", "credit_card": "creditCardNumber"}[k]] = v[k]
        npi = f.npi()
        kv.append(("npi", npi))
        return {"controlNumber": f.id9(), "tradingPartnerServiceId": str(r.randint(10000, 99999)),
                "provider": {"organizationName": r.choice(B6_CLINICS), "npi": npi, "providerType": "BillingProvider"},
                "subscriber": sub, "encounter": {"serviceTypeCodes": ["30"], "dateOfService": f.recent().strftime("%Y%m%d")}}
    if t == "statement_payment":
        pay = {"amount": f.dollars(), "currency": "USD", "statementNumber": f"S{r.randint(10**6, 10**7 - 1)}"}
        g = {"guarantorName": f"{rec.first} {rec.last}"}
        for k in rec.kinds:
            key = f.kw6(k) if not nk(k) else f.key(["reference"]) + str(len(g))
            (pay if k == "credit_card" else g)[key] = v[k]
        return {"paymentRequest": pay, "patient": g, "idempotencyKey": f.uuid()}
    if t == "appointment_booking":
        pt = {f.key(["first", "name"]): rec.first, f.key(["last", "name"]): rec.last}
        for k in rec.kinds:
            if nk(k):
                pt[f.key(["external", "ref"]) + str(len(pt))] = v[k]
            else:
                pt[{"dob": f.key(["dob"]), "patient_email": f.key(["email"]), "patient_phone": f.key(["phone"])}.get(k) or f.kw6(k)] = v[k]
        npi = f.npi()
        kv.append(("npi", npi))
        return {"appointment": {"start": f.ts6(), "reason": r.choice(["annual physical", "knee pain", "med refill", "rash"]),
                                "providerNpi": npi, "location": r.choice(B6_CLINICS)}, "patient": pt}
    if t == "erx_newrx":
        fi, la = f.name_parts()
        npi, dea = f.npi(), f.dea(la)
        kv += [("npi", npi), ("dea", dea)]
        pt = {"Name": {"LastName": rec.last, "FirstName": rec.first}, "Gender": r.choice("MF")}
        for k in rec.kinds:
            pt["Identifier" + str(len(pt)) if nk(k) else {"dob": "DateOfBirth", "patient_phone": "PrimaryTelephone",
               "patient_email": "ElectronicMail", "ssn": "SocialSecurity", "mrn": "MedicalRecordIdentificationNumberEHR",
               "member_id": "PayerMemberID", "account_number": "PatientAccountNumber", "mbi": "MedicareNumber",
               "credit_card": "CreditCardNumber"}[k]] = v[k]
        return {"Message": {"Header": {"MessageID": f.hexhash(32), "SentTime": f.ts6()},
                "Body": {"NewRx": {"Patient": {"HumanPatient": pt},
                                   "Prescriber": {"NonVeterinarian": {"Identification": {"NPI": npi, "DEANumber": dea},
                                                                      "Name": {"LastName": la, "FirstName": fi}}},
                                   "MedicationPrescribed": {"DrugDescription": r.choice(MEDS), "Quantity": {"Value": r.choice([30, 60, 90])}}}}}}
    if t == "webhook_event":
        obj = {"object": "patient", "id": "pat_" + f.hexhash(16), "name": rec.name}
        for k in rec.kinds:
            obj[f.key(["meta"]) + str(len(obj)) if nk(k) else f.kw6(k)] = v[k]
        return {"id": "evt_" + f.hexhash(20), "type": "patient.updated", "created": f.epoch(), "data": {"object": obj}}
    if t == "graphql_response":
        pt = {"__typename": "Patient", "id": f.uuid(), "displayName": rec.name}
        for k in rec.kinds:
            pt[f.key(["attr"]) + str(len(pt)) if nk(k) else f.kw6(k, "camel")] = v[k]
        return {"data": {"patient": pt}, "extensions": {"tracing": {"duration": r.randint(10**5, 10**8)}}}
    raise ValueError(t)


B6_JSON_POS = ["athena_patients", "redox_patientadmin", "eligibility_270", "statement_payment", "appointment_booking",
               "erx_newrx", "webhook_event", "graphql_response"]


def b6_kinds_of(rec: B6Rec, kv: list, name_ctx=True) -> list:
    ks = list(rec.kinds) + [k for k, _ in kv]
    if name_ctx:
        ks.append("patient_name")
    return ks


def b6_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, 2, 4])
    if not pos:
        t = r.choice(B6_JSON_NEG)
        doc = b6_neg_obj(f, t)
        if large:
            items = place([doc], lambda: b6_neg_obj(f, r.choice(["order_status", "slot_search", "claims_summary"])), large, where,
                          unit_len=lambda u: len(json.dumps(u)))
            doc = {"batch": items, "count": len(items)}
        return Sample(jdump(doc, indent, esc, kesc), False, [], f"json/blind6/neg/{t}", "json")
    t = r.choice(B6_JSON_POS)
    rec = B6Rec(f, b6_pick(f, idx))
    kv: list = []
    doc = b6_json_doc(f, t, rec, kv)
    kinds = b6_kinds_of(rec, kv)
    vals = rec.values(kv)
    if large:
        items = place([doc], lambda: b6_neg_obj(f, r.choice(["order_status", "slot_search", "feature_flags"])), large, where,
                      unit_len=lambda u: len(json.dumps(u)))
        doc = {"batch": items, "count": len(items)}
    return Sample(jdump(doc, indent, esc, kesc), True, kinds, f"json/blind6/{t}/{f.style}", "json", vals)


# ---------------------------------------------------------------- FHIR


def b6_patient(f: Faker, rec: B6Rec, kv: list) -> dict:
    """A FHIR R4 Patient from rec; every kind of rec is carried (MRN, member id, account as typed
    identifiers; a card in an extension)."""
    r = f.r
    c, st = f.city()
    p = {"resourceType": "Patient", "id": f.uuid() if r.random() < 0.5 else str(r.randint(10**5, 10**8)),
         "meta": {"lastUpdated": f.ts6()}, "identifier": [], "active": True,
         "name": [{"use": "official", "family": rec.last, "given": [rec.first]}],
         "gender": r.choice(["female", "male"]),
         "address": [{"use": "home", "line": [f.street()], "city": c, "state": st, "postalCode": f.zipcode()}]}
    birth = rec.birth.isoformat()
    if "dob" in rec.kinds:
        p["birthDate"] = birth
        rec.v["dob"] = birth
    elif r.random() < 0.5:
        p["birthDate"] = birth
        kv.append(("dob", birth))
    tel = []
    for k in rec.kinds:
        v = rec.v[k]
        if k == "ssn":
            p["identifier"].append({"system": "http://hl7.org/fhir/sid/us-ssn", "value": v})
        elif k == "mbi":
            p["identifier"].append({"system": "http://hl7.org/fhir/sid/us-mbi", "value": v})
        elif k == "mrn":
            p["identifier"].append({"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                                    "text": "MRN"}, "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14", "value": v})
        elif k == "member_id":
            p["identifier"].append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}],
                                    "text": "Member ID"}, "value": v})
        elif k == "account_number":
            p["identifier"].append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "AN"}],
                                    "text": "Account number"}, "value": v})
        elif k == "patient_phone":
            tel.append({"system": "phone", "value": v, "use": r.choice(["home", "mobile"])})
        elif k == "patient_email":
            tel.append({"system": "email", "value": v})
        elif k == "credit_card":
            p["extension"] = [{"url": "http://example.org/fhir/StructureDefinition/payment-card", "valueString": v}]
    if tel:
        p["telecom"] = tel
    if not p["identifier"]:
        del p["identifier"]
    return p


def b6_fhir_neg(f: Faker, t: str) -> dict:
    r = f.r
    fi, la = f.name_parts()
    c, st = f.city()
    if t == "practitioner":
        return {"resourceType": "Practitioner", "id": f.uuid(), "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "name": [{"family": la, "given": [fi], "suffix": [r.choice(["MD", "DO", "NP"])]}],
                "telecom": [{"system": "phone", "value": f.phone(), "use": "work"}],
                "address": [{"use": "work", "line": [f.street()], "city": c, "state": st}]}
    if t == "organization":
        return {"resourceType": "Organization", "id": f.uuid(), "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()},
                {"system": "urn:oid:2.16.840.1.113883.4.4", "value": f"{r.randint(10, 99)}-{r.randint(10**6, 10**7 - 1)}"}],
                "name": r.choice(B6_CLINICS), "telecom": [{"system": "phone", "value": f.phone()}]}
    if t == "practitionerrole_bundle":
        return {"resourceType": "Bundle", "type": "searchset", "total": 3, "entry": [{"resource": {"resourceType": "PractitionerRole",
                "id": f.uuid(), "practitioner": {"reference": f"Practitioner/{r.randint(1000, 99999)}", "display": f"Dr. {f.first()} {f.last()}"},
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "specialty": [{"text": r.choice(PROVIDER_SPECIALTIES)}]}} for _ in range(3)]}
    if t == "medication_knowledge":
        return {"resourceType": "MedicationKnowledge", "id": f.uuid(), "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc",
                "code": f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}"}], "text": r.choice(MEDS)},
                "status": "active", "doseForm": {"text": "tablet"}}
    if t == "operation_outcome":
        return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                "diagnostics": f"Patient.identifier[0].value: SSN '{f.invalid_ssn()[0]}' fails area/group/serial rules",
                "expression": ["Patient.identifier[0].value"]}]}
    if t == "capability":
        return {"resourceType": "CapabilityStatement", "status": "active", "date": f.ts6(), "kind": "instance", "fhirVersion": "4.0.1",
                "format": ["json"], "rest": [{"mode": "server", "resource": [{"type": "Patient", "searchParam": [
                    {"name": "birthdate", "type": "date"}, {"name": "identifier", "type": "token"}, {"name": "telecom", "type": "token"}]}]}]}
    if t == "slot_bundle":
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Slot", "id": str(r.randint(10**8, 10**9)),
                "schedule": {"reference": f"Schedule/{r.randint(100, 9999)}"}, "status": "free", "start": f.ts6(), "end": f.ts6()}}
                for _ in range(r.randint(2, 5))]}
    if t == "questionnaire":
        return {"resourceType": "Questionnaire", "id": f.uuid(), "status": "active", "title": "New patient intake",
                "item": [{"linkId": "1", "text": "Date of birth", "type": "date"}, {"linkId": "2", "text": "Social Security Number", "type": "string"},
                         {"linkId": "3", "text": "Insurance member ID", "type": "string"}, {"linkId": "4", "text": "Patient email", "type": "string"}]}
    raise ValueError(t)


B6_FHIR_NEG = ["practitioner", "organization", "practitionerrole_bundle", "medication_knowledge", "operation_outcome", "capability",
               "slot_bundle", "questionnaire"]


def b6_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    indent = r.choice([None, 2, 2])
    xml = esc is esc_default and r.random() < 0.15
    if not pos:
        t = r.choice(B6_FHIR_NEG)
        doc = b6_fhir_neg(f, t)
        if large:
            ents = place([{"resource": doc}], lambda: {"resource": b6_fhir_neg(f, r.choice(["slot_bundle", "medication_knowledge", "practitioner"]))},
                         large, where, unit_len=lambda u: len(json.dumps(u)))
            doc = {"resourceType": "Bundle", "type": "collection", "entry": ents}
        if xml:
            return Sample(fhir_xml(doc), False, [], f"fhir/blind6/neg/{t}/xml", "xml")
        return Sample(jdump(doc, indent, esc), False, [], f"fhir/blind6/neg/{t}", "json")
    t = r.choice(["patient_read", "searchset", "transaction", "encounter_contained", "coverage", "everything"])
    rec = B6Rec(f, b6_pick(f, idx), nokw_ok=False)
    kv: list = []
    pt = b6_patient(f, rec, kv)
    kinds = ["fhir_patient", "patient_name"] + list(rec.kinds) + [k for k, _ in kv]
    pref = {"reference": f"Patient/{pt['id']}", "display": f"{rec.first} {rec.last}"}
    other = lambda: {"resource": b6_fhir_neg(f, r.choice(["slot_bundle", "medication_knowledge"]))}  # noqa: E731
    if t == "patient_read":
        doc = pt
    elif t == "searchset":
        doc = {"resourceType": "Bundle", "type": "searchset", "total": 1, "link": [{"relation": "self", "url": "https://fhir.example.org/r4/Patient?identifier=x"}],
               "entry": [{"fullUrl": f"https://fhir.example.org/r4/Patient/{pt['id']}", "resource": pt, "search": {"mode": "match"}}]}
    elif t == "transaction":
        enc = {"resourceType": "Encounter", "status": "arrived", "class": {"code": "AMB"}, "subject": {"reference": "urn:uuid:p1"}}
        doc = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": pt, "request": {"method": "POST", "url": "Patient"}},
            {"resource": enc, "request": {"method": "POST", "url": "Encounter"}}]}
    elif t == "encounter_contained":
        pt["id"] = "pt1"
        doc = {"resourceType": "Encounter", "id": f.uuid(), "contained": [pt], "status": "finished", "class": {"code": "EMER"},
               "subject": {"reference": "#pt1"}, "period": {"start": f.ts6()}}
    elif t == "coverage":
        doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": pt}, {"resource": {
            "resourceType": "Coverage", "status": "active", "subscriberId": f.member_id(), "beneficiary": pref,
            "payor": [{"display": r.choice(B6_PAYERS)}]}}]}
        kv.append(("member_id", doc["entry"][1]["resource"]["subscriberId"]))
        kinds.append("member_id")
    else:
        obs = {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4",
               "display": "Hemoglobin A1c"}]}, "subject": pref, "valueQuantity": {"value": round(r.uniform(5, 11), 1), "unit": "%"}}
        doc = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": pt}, {"resource": obs}]}
    if large:
        ents = place([{"resource": doc}], other, large, where, unit_len=lambda u: len(json.dumps(u)))
        doc = {"resourceType": "Bundle", "type": "collection", "entry": ents}
    vals = rec.values(kv) + [("patient_name", rec.last)]
    if xml:
        return Sample(fhir_xml(doc), True, kinds, f"fhir/blind6/{t}/xml", "xml", vals)
    return Sample(jdump(doc, indent, esc), True, kinds, f"fhir/blind6/{t}", "json", vals)


# ---------------------------------------------------------------- HL7 v2


def b6_msh(f: Faker, typ: str) -> str:
    r = f.r
    snd = r.choice(["EPIC|MERCYHLTH", "SMS|STJOHNS", "MEDITECH|VALLEYREG", "ATHENA|PRACTICE01", "SUNQUEST|CORELAB"])
    return f"MSH|^~\\&|{snd}|{r.choice(['RHAPSODY', 'CLOVERLEAF', 'MIRTH'])}|{r.choice(['RCV', 'DWH', 'BILLING'])}|{hl7_ts(f)}||{typ}|{r.randint(10**5, 10**10)}|P|{r.choice(['2.3', '2.4', '2.5.1'])}"


def b6_pid(f: Faker, rec: B6Rec, kinds: list) -> str:
    r = f.r
    c, st = f.city()
    v = rec.v
    pid3 = [f"{v['mrn'] if 'mrn' in v else f.mrn()}^^^MRN^MR"]
    if "mbi" in v:
        pid3.append(f"{v['mbi']}^^^CMS^MB")
        kinds.append("mbi")
    if "member_id" in v:
        pid3.append(f"{v['member_id']}^^^{r.choice(['BCBS', 'UHC', 'AETNA'])}^MB")
    dob = rec.birth.strftime("%Y%m%d")
    tel = v.get("patient_phone", f.phone() if r.random() < 0.5 else "")
    if "patient_email" in v:
        tel += f"~^NET^Internet^{v['patient_email']}"
    acct = v.get("account_number", str(r.randint(10**7, 10**9)))
    ssn = v.get("ssn", "")
    if ssn and not re.fullmatch(r"\d{9}", ssn):
        kinds.append("ssn")
    return (f"PID|1||{'~'.join(pid3)}||{rec.last.upper()}^{rec.first.upper()}^{r.choice('ABCDEFGHJ')}||{dob}|{r.choice('MF')}|||"
            f"{f.street()}^^{c}^{st}^{f.zipcode()}^USA||{tel}|||{r.choice(['S', 'M', 'W'])}||{acct}|{ssn}|||")


def b6_hl7_neg(f: Faker, t: str) -> list:
    r = f.r
    if t == "mfn_m02_staff":
        segs = [b6_msh(f, "MFN^M02"), f"MFI|STF||UPD|||AL"]
        for _ in range(r.randint(2, 5)):
            fi, la = f.name_parts()
            code = str(r.randint(1000, 99999))
            segs += [f"MFE|MAD|||{code}", f"STF|{code}|{code}|{la.upper()}^{fi.upper()}^^^^MD|P|||A|||{f.phone()}^WPN",
                     f"PRA|{code}||||||{f.npi()}^NPI~{f.dea(la)}^DEA"]
        return segs
    if t == "ack":
        return [b6_msh(f, "ACK^A08"), f"MSA|{r.choice(['AA', 'AE'])}|{r.randint(10**5, 10**10)}|{r.choice(['Message accepted', 'Segment sequence error'])}"]
    if t == "mfn_m08_test":
        segs = [b6_msh(f, "MFN^M08"), "MFI|OMA||UPD|||AL"]
        for _ in range(r.randint(2, 5)):
            code = f"{r.randint(1000, 99999)}-{r.randint(0, 9)}"
            segs += [f"MFE|MAD|||{code}^LN", f"OM1|1|{code}^{r.choice(['Glucose', 'Potassium', 'TSH', 'Hemoglobin A1c'])}^LN|||Y|||||||||||{r.randint(1, 999)}"]
        return segs
    if t == "qc_result":
        segs = [b6_msh(f, "OUL^R22"), f"SPM|1|QC{r.randint(10**5, 10**6)}||QC^Quality control material"]
        for i in range(r.randint(2, 5)):
            segs.append(f"OBX|{i + 1}|NM|{r.randint(1000, 99999)}-{r.randint(0, 9)}^Control level {i % 3 + 1}^LN||{round(r.uniform(1, 300), 1)}|mg/dL|||||F|||{hl7_ts(f)}")
        return segs
    if t == "nmd_status":
        return [b6_msh(f, "NMD^N02"), f"NCK|{hl7_ts(f)}", f"NST|Y|{r.randint(0, 9)}|{r.randint(10, 9999)}|{r.randint(10, 9999)}|0|0|0|{r.randint(0, 90)}"]
    raise ValueError(t)


def b6_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    eol = r.choice(["\r", "\r", "\n", "\r\n"])
    if pos:
        t = r.choice(["adt_a04", "adt_a08", "oru_r01", "siu_s12", "dft_p03", "vxu_v04", "adt_a40"])
        rec = B6Rec(f, b6_pick(f, idx), nokw_ok=False)
        if "dob" in rec.v:
            rec.v["dob"] = rec.birth.strftime("%Y%m%d")
        kinds = ["hl7_pid"]
        typ = {"adt_a04": "ADT^A04", "adt_a08": "ADT^A08", "oru_r01": "ORU^R01", "siu_s12": "SIU^S12", "dft_p03": "DFT^P03",
               "vxu_v04": "VXU^V04", "adt_a40": "ADT^A40"}[t]
        segs = [b6_msh(f, typ)]
        if t.startswith("adt"):
            segs.append(f"EVN|{typ[4:]}|{hl7_ts(f)}")
        if t == "siu_s12":
            segs.append(f"SCH|{r.randint(10**5, 10**7)}|||||ROUTINE|||30|MIN|^^30^{hl7_ts(f)}")
        segs.append(b6_pid(f, rec, kinds))
        fi, la = f.name_parts()
        npi = f.npi()
        segs.append(f"PV1|1|{r.choice('OIE')}|{r.choice(['4W', 'ED', 'CLINIC2'])}^{r.randint(1, 40)}^A||||{npi}^{la.upper()}^{fi.upper()}^^^^MD")
        if t == "adt_a40":
            segs.append(f"MRG|{f.mrn()}^^^MRN^MR")
        if "credit_card" in rec.v:
            segs.append(f"NTE|1||Patient paid copay with card {rec.v['credit_card']}")
            kinds.append("credit_card")
        if t == "oru_r01":
            segs.append(f"OBR|1|{r.randint(10**5, 10**8)}|{r.randint(10**5, 10**8)}|80053^CMP^CPT|||{hl7_ts(f)}")
            segs += [f"OBX|{i + 1}|NM|{r.randint(1000, 9999)}-{r.randint(0, 9)}^Analyte {i + 1}^LN||{round(r.uniform(1, 150), 1)}|mmol/L|||||F" for i in range(r.randint(2, 6))]
        if t == "dft_p03":
            segs.append(f"FT1|1|||{hl7_ts(f)}||CG|{r.randint(99202, 99215)}^Office visit^CPT|||1|{f.dollars()}")
        if t == "vxu_v04":
            segs += ["ORC|RE", f"RXA|0|1|{hl7_ts(f)}||{r.choice(['208^COVID-19 mRNA^CVX', '140^Influenza^CVX'])}|0.3|mL"]
        if "member_id" in rec.v:
            segs.append(f"IN1|1|{r.randint(100, 999)}|{r.randint(10000, 99999)}|{r.choice(B6_PAYERS)}||||||||||||{rec.last.upper()}^{rec.first.upper()}|01||||||||||||||||||||{rec.v['member_id']}")
        if large:
            filler = lambda: f"NTE|1||{' '.join(r.choice(['stable', 'afebrile', 'ambulating', 'tolerating diet', 'no distress']) for _ in range(12))}"  # noqa: E731
            segs = segs[:1] + place(segs[1:], filler, large, where)
        text = eol.join(segs) + eol
        if r.random() < 0.2:
            text = "\x0b" + text + "\x1c\r"
            t += "/mllp"
        vals = rec.values()
        return Sample(text, True, kinds, f"hl7/blind6/{t}", "hl7", vals)
    t = r.choice(["mfn_m02_staff", "ack", "mfn_m08_test", "qc_result", "nmd_status"])
    segs = b6_hl7_neg(f, t)
    if large:
        segs = segs[:1] + place(segs[1:], lambda: f"NTE|1||{' '.join(r.choice(['calibration', 'lot', 'reagent', 'verified', 'pass']) for _ in range(10))}", large, where)
    return Sample(eol.join(segs) + eol, False, [], f"hl7/blind6/neg/{t}", "hl7")


# ---------------------------------------------------------------- CSV

B6_CSV_HEAD = {
    "workbench_export": {"ssn": "SSN", "mbi": "Medicare Beneficiary ID", "mrn": "MRN", "member_id": "Subscriber ID",
                         "account_number": "Hospital Account #", "dob": "Birth Date", "credit_card": "Card Number",
                         "patient_email": "Patient Email", "patient_phone": "Patient Phone", "name": "Patient Name"},
    "payer_roster": {"ssn": "MEMBER_SSN", "mbi": "MEDICARE_MBI", "mrn": "PCP_CHART_MRN", "member_id": "SUBSCRIBER_ID",
                     "account_number": "PREMIUM_ACCOUNT_NUMBER", "dob": "MEMBER_DOB", "credit_card": "AUTOPAY_CARD_NUMBER",
                     "patient_email": "MEMBER_EMAIL", "patient_phone": "MEMBER_PHONE", "name": "MEMBER_NAME"},
    "collections_placement": {"ssn": "guarantor_ssn", "mbi": "medicare_id", "mrn": "patient_mrn", "member_id": "ins_member_id",
                              "account_number": "account_number", "dob": "patient_dob", "credit_card": "card_on_file",
                              "patient_email": "patient_email", "patient_phone": "patient_phone", "name": "patient_name"},
    "reminder_list": {"ssn": "SSN", "mbi": "MBI", "mrn": "MRN", "member_id": "Member ID", "account_number": "Account Number",
                      "dob": "DOB", "credit_card": "Card", "patient_email": "Patient E-mail", "patient_phone": "Patient Cell",
                      "name": "Patient"},
}


def b6_csv_neg(f: Faker, t: str):
    r = f.r
    n = r.randint(3, 9)
    if t == "provider_roster":
        h = ["NPI", "Provider Name", "Specialty", "Practice Phone", "Practice Address"]
        rows = [[f.npi(), f"{f.last()}, {f.first()} MD", r.choice(PROVIDER_SPECIALTIES), f.phone(), f"{f.street()} {f.city()[0]}"] for _ in range(n)]
    elif t == "charge_master":
        h = ["CDM Code", "CPT", "Description", "Rev Code", "Price"]
        rows = [[str(r.randint(10**6, 10**8)), str(r.randint(10000, 99499)), r.choice(["OFFICE VISIT LVL 3", "CBC W DIFF", "XR CHEST 2V", "VENIPUNCTURE"]),
                 f"0{r.randint(250, 999)}", f.dollars()] for _ in range(n)]
    elif t == "shipments":
        h = ["ship_date", "ndc", "lot", "qty", "tracking_number", "order_id"]
        rows = [[f.recent().date().isoformat(), f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}", f"L{r.randint(1000, 99999)}",
                 r.randint(1, 500), f.luhn_bad16(), f.id9()] for _ in range(n)]
    elif t == "rejected_ssns":
        h = ["row", "submitted_ssn", "reject_reason", "batch_id"]
        rows = []
        for i in range(n):
            bad, why = f.invalid_ssn()
            rows.append([i + 2, bad, why, f.uuid()])
    elif t == "dea_registrants":
        h = ["DEA Number", "Registrant", "Schedules", "Expiration"]
        rows = []
        for _ in range(n):
            fi, la = f.name_parts()
            rows.append([f.dea(la), f"{la.upper()} {fi.upper()} DO", "2 2N 3 3N 4 5", (f.recent() + dt.timedelta(days=500)).date().isoformat()])
    elif t == "census_counts":
        h = ["unit", "date", "midnight_census", "admits", "discharges", "epoch_loaded"]
        rows = [[r.choice(["4 WEST", "ICU", "L&D", "5 NORTH"]), f.recent().date().isoformat(), r.randint(5, 40), r.randint(0, 12),
                 r.randint(0, 12), f.epoch()] for _ in range(n)]
    else:  # lab_catalog
        h = ["LOINC", "Test Name", "Specimen", "TAT hours", "Hash"]
        rows = [[f"{r.randint(1000, 99999)}-{r.randint(0, 9)}", r.choice(["Lipid panel", "TSH", "Ferritin", "Urinalysis"]), "Serum",
                 r.randint(1, 72), f.hexhash(16)] for _ in range(n)]
    return h, rows


def b6_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    delim = r.choice([",", ",", "|", "\t"])
    eol = r.choice(["\n", "\r\n"])
    q = r.random() < 0.4
    if not pos:
        t = r.choice(["provider_roster", "charge_master", "shipments", "rejected_ssns", "dea_registrants", "census_counts", "lab_catalog"])
        h, rows = b6_csv_neg(f, t)
        if large:
            rows = place(rows, lambda: b6_csv_neg(f, t)[1][0], large, where, unit_len=lambda u: len(str(u)))
        return Sample(csv_text(h, rows, delim, q, eol), False, [], f"csv/blind6/neg/{t}", "csv")
    t = r.choice(list(B6_CSV_HEAD))
    heads = B6_CSV_HEAD[t]
    rec = B6Rec(f, b6_pick(f, idx))
    cols = ["name"] + rec.kinds
    h = [heads[c] if c not in rec.nokw else f"Ref{i}" for i, c in enumerate(cols)] + ["Provider", "Last Visit"]

    def row(rr: B6Rec):
        return [rr.name] + [rr.v[k] for k in rec.kinds] + [f"Dr. {f.last()}", f.recent().date().isoformat()]

    rows = [row(rec)]
    for _ in range(r.randint(0, 5)):
        o = B6Rec(f, rec.kinds, nokw_ok=False)
        for k in rec.kinds:
            if k == "ssn" and k in rec.nokw:
                o.v[k] = f.ssn(bare_ok=False)[0]
        rows.append(row(o))
    if large:
        def filler():
            o = B6Rec(f, rec.kinds, nokw_ok=False)
            if "ssn" in rec.nokw:
                o.v["ssn"] = f.ssn(bare_ok=False)[0]
            return row(o)
        rows = place(rows, filler, large, where, unit_len=lambda u: len(str(u)))
    text = csv_text(h, rows, delim, q, eol, bom=r.random() < 0.15)
    return Sample(text, True, rec.kinds + ["patient_name"], f"csv/blind6/{t}", "csv", rec.values([("patient_name", rec.name)]))


# ---------------------------------------------------------------- form-urlencoded


def b6_form_pairs_neg(f: Faker, t: str) -> list:
    r = f.r
    if t == "login":
        return [("username", f"{f.first().lower()}{r.randint(1, 99)}"), ("password", f.b64(12)), ("remember_me", "on"), ("csrf_token", f.hexhash(40))]
    if t == "provider_search":
        return [("specialty", r.choice(PROVIDER_SPECIALTIES)), ("zip", f.zipcode()), ("radius", r.choice(["10", "25", "50"])),
                ("accepting_new_patients", "true"), ("page", str(r.randint(1, 9)))]
    if t == "npi_lookup":
        return [("version", "2.1"), ("number", f.npi()), ("enumeration_type", "NPI-1"), ("limit", "10")]
    if t == "oauth_code":
        return [("grant_type", "authorization_code"), ("code", f.b64(24)), ("redirect_uri", "https://app.example.org/callback"),
                ("code_verifier", f.hexhash(64)), ("client_id", f.uuid())]
    if t == "telemetry":
        return [("event", r.choice(["page_view", "click", "scroll"])), ("ts", str(f.epoch() * 1000 + r.randint(0, 999))), ("sid", f.uuid()),
                ("uid", f.id9()), ("v", "3.4.1")]
    if t == "ssn_check":
        return [("action", "validate"), ("ssn", f.invalid_ssn()[0].replace("-", "")), ("request_id", f.uuid())]
    if t == "checkout_token":
        return [("amount", f.dollars()), ("source", "tok_" + f.hexhash(24)), ("last4", f"{r.randint(0, 9999):04d}"), ("order", f.order_id())]
    return [("survey_id", str(r.randint(100, 999))), ("rating", str(r.randint(1, 5))), ("comments", r.choice(["Front desk was friendly", "Wait was long", "Parking was easy"]))]


def b6_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if not pos:
        t = r.choice(["login", "provider_search", "npi_lookup", "oauth_code", "telemetry", "ssn_check", "checkout_token", "survey"])
        pairs = b6_form_pairs_neg(f, t)
        if large:
            pairs = place(pairs, lambda: ("ev[]", f"{f.uuid()}:{f.epoch()}"), large, where, unit_len=lambda u: len(u[1]) + 6)
        return Sample(form_encode(pairs, f), False, [], f"form/blind6/neg/{t}", "txt")
    t = r.choice(["portal_registration", "rails_nested", "bill_pay", "eligibility_check", "twilio_sms"])
    rec = B6Rec(f, b6_pick(f, idx))
    kinds = list(rec.kinds)
    extra = []
    if t == "twilio_sms":
        body = f"Hi this is {rec.first} {rec.last}. " + " ".join(b6_phrase(f, k, rec.v[k], rec) for k in rec.kinds) + " need my refill please"
        pairs = [("ToCountry", "US"), ("SmsMessageSid", "SM" + f.hexhash(32)), ("NumMedia", "0"), ("From", f.phone()),
                 ("To", f.phone()), ("Body", body), ("AccountSid", "AC" + f.hexhash(32))]
    else:
        style = {"portal_registration": "snake", "rails_nested": "snake", "bill_pay": "camel", "eligibility_check": "kebab"}[t]
        pairs = [("first_name" if style != "camel" else "firstName", rec.first), ("last_name" if style != "camel" else "lastName", rec.last)]
        for i, k in enumerate(rec.kinds):
            key = f"field_{i}" if k in rec.nokw else f.kw6(k, style)
            pairs.append((key, rec.v[k]))
        if t == "rails_nested":
            pairs = [(f"patient[{k}]", v) for k, v in pairs] + [("authenticity_token", f.b64(32)), ("commit", "Save")]
        if t == "eligibility_check":
            npi = f.npi()
            pairs.append(("provider-npi", npi))
            extra.append(("npi", npi))
            kinds.append("npi")
        if t == "bill_pay":
            pairs += [("expMonth", str(r.randint(1, 12))), ("amount", f.dollars())]
    if large:
        pairs = place(pairs, lambda: ("telemetry[]", f.b64(r.randint(200, 800))), large, where, unit_len=lambda u: len(u[1]) + 14)
    text = form_encode(pairs, f)
    return Sample(text, True, kinds + ["patient_name"], f"form/blind6/{t}", "txt", rec.values(extra))


def b6_phrase(f: Faker, kind: str, v, rec=None) -> str:
    if rec is not None and kind in rec.nokw:
        return f.r.choice(["ref {v}", "({v})", "#{v}", "on file: {v}"]).format(v=v)
    return f.r.choice(PHRASES[B6][kind]).format(v=v)


# ---------------------------------------------------------------- multipart


def b6_boundary(f: Faker):
    r = f.r
    c = r.choice(["webkit", "curl", "requests", "okhttp"])
    b = {"webkit": "----WebKitFormBoundary" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16)),
         "curl": "------------------------" + f.hexhash(16), "requests": f.hexhash(32), "okhttp": f.uuid()}[c]
    return c, b


def b6_mp(parts, b) -> bytes:
    out = b""
    for hdr, body in parts:
        out += f"--{b}\r\n{hdr}\r\n\r\n".encode() + (body if isinstance(body, bytes) else body.encode()) + b"\r\n"
    return out + f"--{b}--\r\n".encode()


def b6_field(name, val):
    return (f'Content-Disposition: form-data; name="{name}"', str(val))


def b6_file(name, fname, ctype, data):
    return (f'Content-Disposition: form-data; name="{name}"; filename="{fname}"\r\nContent-Type: {ctype}', data)


def b6_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    client, b = b6_boundary(f)
    if not pos:
        t = r.choice(["image", "roster_csv", "config_yaml", "blank_form_pdf", "ack_hl7"])
        if t == "image":
            parts = [b6_field("album", "clinic-lobby"), b6_file("photo", f"IMG_{r.randint(1000, 9999)}.png", "image/png", fake_png(f, r.randint(200, 2000)))]
        elif t == "roster_csv":
            s = b6_csv(f, idx, False, 0, where)
            parts = [b6_field("import_type", "providers"), b6_file("file", "roster.csv", "text/csv", s.data)]
        elif t == "config_yaml":
            y = f"service: eligibility-gw\nreplicas: {r.randint(1, 9)}\nimage: registry.example/elig@sha256:{f.hexhash(64)}\ntimeoutMs: {r.randint(100, 9000)}\n"
            parts = [b6_field("env", "staging"), b6_file("config", "values.yaml", "application/x-yaml", y)]
        elif t == "blank_form_pdf":
            pdf = b"%PDF-1.4\n1 0 obj << /Title (New Patient Intake - blank) >> endobj\n" + f.b64(300).encode() + b"\n%%EOF\n"
            parts = [b6_field("doc_type", "template"), b6_file("upload", "intake_blank.pdf", "application/pdf", pdf)]
        else:
            s = b6_hl7(f, idx, False, 0, where)
            parts = [b6_field("channel", "lab-mfn"), b6_file("message", "mfn.hl7", "application/hl7-v2", s.data)]
        if large:
            parts = place(parts, lambda: b6_file("attachment", f"chunk{r.randint(1, 999)}.bin", "application/octet-stream", f.b64(3000)),
                          large, where, unit_len=lambda u: len(u[1]) + 120)
        return Sample(b6_mp(parts, b), False, [], f"multipart/blind6/{client}/neg/{t}", "txt")
    t = r.choice(["referral_fields", "patient_csv", "hl7_upload", "json_meta", "insurance_card"])
    if t in ("patient_csv", "hl7_upload", "json_meta"):
        inner = {"patient_csv": b6_csv, "hl7_upload": b6_hl7, "json_meta": b6_json}[t](f, idx, True, 0, where)
        fn, ct = {"patient_csv": ("patients_export.csv", "text/csv"), "hl7_upload": ("adt.hl7", "application/hl7-v2"),
                  "json_meta": ("payload.json", "application/json")}[t]
        parts = [b6_field("source", r.choice(B6_CLINICS)), b6_file("file", fn, ct, inner.data)]
        kinds, vals = inner.kinds, inner.values
    else:
        rec = B6Rec(f, b6_pick(f, idx))
        kinds, vals = rec.kinds + ["patient_name"], rec.values([("patient_name", rec.last)])
        parts = [b6_field("patient_first_name", rec.first), b6_field("patient_last_name", rec.last)]
        for i, k in enumerate(rec.kinds):
            parts.append(b6_field(f"extra_{i}" if k in rec.nokw else f.kw6(k, "snake"), rec.v[k]))
        if t == "insurance_card":
            parts.append(b6_file("card_front", "card_front.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + bytes(r.getrandbits(8) for _ in range(400))))
        else:
            parts.append(b6_file("referral", "referral.pdf", "application/pdf", b"%PDF-1.5\n" + f.b64(400).encode() + b"\n%%EOF\n"))
    if large:
        parts = place(parts, lambda: b6_field("metadata", f.b64(3000)), large, where, unit_len=lambda u: len(u[1]) + 60)
    return Sample(b6_mp(parts, b), True, kinds, f"multipart/blind6/{client}/{t}", "txt", vals)


# ---------------------------------------------------------------- notes

B6_BODY = ["Chief complaint: cough and fever x3 days.", "HPI: reports intermittent chest tightness with exertion, no syncope.",
           "ROS negative except as noted in HPI.", "Exam: lungs with scattered rhonchi, no wheeze; heart RRR without murmur.",
           "Assessment: likely viral bronchitis; low suspicion for pneumonia.", "Plan: supportive care, return precautions reviewed.",
           "Labs reviewed: A1c 7.9, LDL 131, eGFR 68.", "Continue lisinopril, add atorvastatin 20 mg nightly.",
           "Follow up in 4 weeks or sooner if symptoms worsen.", "Discussed smoking cessation; patient is pre-contemplative."]


def b6_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    filler = lambda: " ".join(r.sample(B6_BODY, 4))  # noqa: E731
    if not pos:
        t = r.choice(["guideline", "newsletter", "case_report", "template", "policy", "qa_minutes", "monograph"])
        c = r.choice(B6_CLINICS)
        lines = {
            "guideline": ["Sepsis bundle (adult ED), rev. 2024", "Obtain lactate within 1 hour; repeat if > 2 mmol/L.",
                          "Give 30 mL/kg crystalloid for hypotension or lactate >= 4.", f"Order set ID {f.id9()}; last reviewed {f.recent().date().isoformat()}."],
            "newsletter": [f"{c} - Fall newsletter", "Flu shots are available every weekday morning without an appointment.",
                           f"Questions? Call the front desk at {f.phone()} or fax {f.phone()}.", f"Our new address is {f.street()}, {f.city()[0]}."],
            "case_report": ["Case report (de-identified)", f"A {r.randint(30, 89)}-year-old woman presented with three days of fever.",
                            "Blood cultures grew MSSA; she completed six weeks of cefazolin.", "No identifiers are included per IRB policy."],
            "template": ["Progress note template", "Patient name: {{patient.name}}", "DOB: {{patient.dob}}", "MRN: {{patient.mrn}}",
                         "Member ID: [ ]", "Assessment/Plan: ___"],
            "policy": ["Policy HIM-112: Release of information", "Verify two identifiers (full name and date of birth) before releasing records.",
                       "Requests must be logged in the ROI queue within 1 business day.", f"Effective {f.recent().date().isoformat()}; supersedes HIM-097."],
            "qa_minutes": ["Quality committee minutes", f"Falls with injury this quarter: {r.randint(0, 9)}; CLABSI: {r.randint(0, 3)}.",
                           f"Action item {f.uuid()[:8]} assigned to nursing education.", f"Next meeting ticket #{f.id9()}."],
            "monograph": ["Apixaban - pharmacy monograph", "Dose 5 mg BID; reduce to 2.5 mg BID with 2 of: age >= 80, weight <= 60 kg, Cr >= 1.5.",
                          f"NDC {r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}.", "Hold 48 hours before high-bleeding-risk procedures."],
        }[t]
        if large:
            lines = place(lines, filler, large, where)
        return Sample("\n".join(lines) + "\n", False, [], f"note/blind6/neg/{t}", "txt")
    t = r.choice(["hp_note", "ed_triage", "soap_progress", "prior_auth_letter", "phone_encounter", "discharge_instructions", "social_work"])
    rec = B6Rec(f, b6_pick(f, idx))
    idl = [b6_phrase(f, k, rec.v[k], rec) for k in rec.kinds]
    fi, la = f.name_parts()
    kinds = rec.kinds + ["patient_name"]
    vals = rec.values([("patient_name", rec.name)])
    if t == "hp_note":
        head = ["HISTORY AND PHYSICAL", f"Patient: {rec.name}"] + idl + [f"Attending: {fi} {la}, MD", f"Date of service: {f.recent().date().isoformat()}"]
    elif t == "ed_triage":
        head = [f"ED TRIAGE NOTE  {f.recent().strftime('%m/%d/%Y %H:%M')}", f"Pt: {rec.name}   " + "   ".join(idl),
                f"Acuity ESI {r.randint(1, 5)}; BP {r.randint(100, 180)}/{r.randint(60, 100)} HR {r.randint(55, 130)}"]
    elif t == "soap_progress":
        head = [f"S: Patient {rec.name} returns for follow up.", "O: " + "; ".join(idl), f"A/P: {r.choice(CONDITIONS)}"]
    elif t == "prior_auth_letter":
        npi = f.npi()
        kinds.append("npi")
        vals.append(("npi", npi))
        head = [f"{r.choice(B6_PAYERS)} - Utilization Management", "RE: Prior authorization request for MRI lumbar spine",
                f"Patient Name: {rec.name}"] + idl + [f"Requesting provider: {fi} {la}, MD (NPI {npi})", "To whom it may concern,"]
    elif t == "phone_encounter":
        head = [f"Telephone encounter {f.recent().strftime('%m/%d/%Y')}", f"Caller: patient, {rec.name}. Identity verified with " + ", ".join(idl) + ".",
                "Reason: asking about refill of " + r.choice(MEDS) + "."]
    elif t == "discharge_instructions":
        head = ["DISCHARGE INSTRUCTIONS", f"Name: {rec.name}"] + idl + [f"Diagnosis: {r.choice(CONDITIONS)}"]
    else:
        head = ["Social work assessment", f"Met with patient {rec.name} at bedside."] + [f"{x}." for x in idl] + ["Lives alone; daughter assists with transportation."]
    body = [filler() for _ in range(r.randint(1, 4))]
    lines = head + body
    if large:
        lines = place(head, filler, large, where)
    return Sample("\n".join(lines) + "\n", True, kinds, f"note/blind6/{t}", "txt", vals)


# ---------------------------------------------------------------- logs


def b6_clean_log(f: Faker) -> str:
    r = f.r
    t = f.recent()
    return r.choice([
        f'{f.ip()} - - [{t.strftime("%d/%b/%Y:%H:%M:%S")} -0500] "GET /api/v2/orders/{f.id9()} HTTP/1.1" 200 {r.randint(100, 9000)} "-" "okhttp/4.12.0" rt={r.random():.3f}',
        f'{t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}  INFO 1 --- [nio-8080-exec-{r.randint(1, 20)}] c.e.s.HealthController : ok latencyMs={r.randint(1, 900)} traceId={f.hexhash(32)}',
        f'{{"level":30,"time":{f.epoch() * 1000 + r.randint(0, 999)},"pid":{r.randint(1, 9999)},"msg":"request completed","reqId":"{f.uuid()}","status":200}}',
        f'{t.strftime("%b %d %H:%M:%S")} ip-{f.ip().replace(".", "-")} kubelet[{r.randint(100, 9999)}]: Pulled image "registry.example/app@sha256:{f.hexhash(64)}"',
        f'{t.isoformat()}Z WARN ssn_validator rejected value={f.invalid_ssn()[0]} reason=invalid_format request={f.uuid()}',
        f'{t.isoformat()}Z INFO payment captured amount={f.dollars()} card={f.masked_card()} charge=ch_{f.hexhash(24)}',
        f'{t.isoformat()}Z INFO prescriber lookup dea={f.dea(f.last())} npi={f.npi()} status=ACTIVE',
    ])


def b6_log_pos_line(f: Faker, t: str, rec: B6Rec) -> list:
    r = f.r
    tt = f.recent()
    v = rec.v
    kv = lambda style, sep, j: j.join(f"{('ref' + str(i)) if k in rec.nokw else f.kw6(k, style)}{sep}{v[k]}" for i, k in enumerate(rec.kinds))  # noqa: E731
    if t == "spring_tostring":
        inner = kv("camel", "=", ", ")
        return [f'{tt.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]} DEBUG 1 --- [nio-8443-exec-{r.randint(1, 20)}] c.h.r.PatientRepository : '
                f'saved Patient(id={r.randint(1, 10**6)}, firstName={rec.first}, lastName={rec.last}, {inner})']
    if t == "nginx_query":
        q = "&".join(f"{('x' + str(i)) if k in rec.nokw else f.kw6(k, 'snake')}={urllib.parse.quote(v[k])}" for i, k in enumerate(rec.kinds))
        return [f'{f.ip()} - portal [{tt.strftime("%d/%b/%Y:%H:%M:%S")} -0600] "GET /api/patients/search?last_name={rec.last}&{q} HTTP/1.1" '
                f'200 {r.randint(200, 9000)} "https://portal.example.org/" "Mozilla/5.0"']
    if t == "iis_w3c":
        q = "&".join(f"{('p' + str(i)) if k in rec.nokw else f.kw6(k, 'camel')}={urllib.parse.quote_plus(v[k])}" for i, k in enumerate(rec.kinds))
        return ["#Software: Microsoft Internet Information Services 10.0", "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port c-ip sc-status time-taken",
                f"{tt.strftime('%Y-%m-%d %H:%M:%S')} {f.ip()} POST /PatientPortal/Verify.aspx patientLast={rec.last}&{q} 443 {f.ip()} 302 {r.randint(5, 900)}"]
    if t == "pino_json":
        obj = {"level": 40, "time": f.epoch() * 1000, "msg": "eligibility mismatch", "patient": {"name": rec.name}}
        for i, k in enumerate(rec.kinds):
            obj["patient"][("ref" + str(i)) if k in rec.nokw else f.kw6(k, "camel")] = v[k]
        return [json.dumps(obj)]
    if t == "python_traceback":
        d = {("ref" + str(i)) if k in rec.nokw else f.kw6(k, "snake"): v[k] for i, k in enumerate(rec.kinds)}
        d["last_name"] = rec.last
        return ["Traceback (most recent call last):", '  File "/srv/app/intake/tasks.py", line 88, in sync_patient',
                "    resp = client.post(url, json=payload)", f"    payload = {d!r}",
                "requests.exceptions.HTTPError: 502 Server Error: Bad Gateway for url: https://ehr.example.org/api/patients"]
    if t == "audit_trail":
        return [f"{tt.isoformat()}Z AUDIT user=nurse{r.randint(1, 99)} action=CHART_VIEW patient=\"{rec.name}\" " + kv("snake", "=", " ")]
    # lambda
    rid = f.uuid()
    body = json.dumps({"patientName": rec.name, **{(("ref" + str(i)) if k in rec.nokw else f.kw6(k, "camel")): v[k] for i, k in enumerate(rec.kinds)}})
    return [f"START RequestId: {rid} Version: $LATEST", f"{tt.isoformat()}Z\t{rid}\tINFO\tinbound referral {body}",
            f"END RequestId: {rid}", f"REPORT RequestId: {rid}\tDuration: {r.uniform(5, 900):.2f} ms\tBilled Duration: {r.randint(5, 900)} ms"]


def b6_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if not pos:
        lines = [b6_clean_log(f) for _ in range(r.randint(3, 12))]
        if large:
            lines = place(lines, lambda: b6_clean_log(f), large, where)
        return Sample("\n".join(lines) + "\n", False, [], "log/blind6/neg/mixed", "log")
    t = r.choice(["spring_tostring", "nginx_query", "iis_w3c", "pino_json", "python_traceback", "audit_trail", "lambda"])
    rec = B6Rec(f, b6_pick(f, idx))
    core = b6_log_pos_line(f, t, rec)
    lines = place(core, lambda: b6_clean_log(f), large if large else r.randint(200, 1500), where)
    nm = rec.name if t in ("pino_json", "audit_trail", "lambda") else rec.last
    return Sample("\n".join(lines) + "\n", True, rec.kinds + ["patient_name"], f"log/blind6/{t}", "log",
                  rec.values([("patient_name", nm)]))


# ---------------------------------------------------------------- Prometheus


def b6_prom_block(f: Faker) -> str:
    r = f.r
    m = r.choice(["http_server_requests_seconds_count", "hl7_messages_processed_total", "jvm_memory_used_bytes", "eligibility_requests_total",
                  "process_start_time_seconds", "fhir_search_duration_seconds_bucket", "phi_redactions_total"])
    lines = [f"# HELP {m} Auto-generated metric.", f"# TYPE {m} {'gauge' if 'bytes' in m or 'start' in m else 'counter'}"]
    for _ in range(r.randint(1, 4)):
        if m == "process_start_time_seconds":
            lines.append(f"{m} {f.epoch()}.{r.randint(0, 99)}")
        elif m.endswith("bucket"):
            lines.append(f'{m}{{resource="Patient",le="{r.choice(["0.05", "0.1", "0.5", "+Inf"])}"}} {r.randint(0, 10**7)}')
        elif m == "phi_redactions_total":
            lines.append(f'{m}{{kind="{r.choice(["ssn", "mrn", "dob", "mbi"])}",route="/api/patients"}} {r.randint(0, 10**9)}')
        else:
            lines.append(f'{m}{{instance="{f.ip()}:9100",job="{r.choice(["interface-engine", "portal", "billing"])}",uri="/api/orders/{{id}}"}} {r.randint(0, 10**11)}')
    return "\n".join(lines)


def b6_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if not pos:
        blocks = [b6_prom_block(f) for _ in range(r.randint(2, 6))]
        if large:
            blocks = place(blocks, lambda: b6_prom_block(f), large, where)
        return Sample("\n".join(blocks) + "\n", False, [], "prometheus/blind6/neg/exposition", "prom")
    t = r.choice(["label_keyword", "uri_path", "exemplar_like"])
    rec = B6Rec(f, b6_pick(f, idx))
    if t == "label_keyword":
        labels = ",".join(f'{("l" + str(i)) if k in rec.nokw else f.kw6(k, "snake")}="{rec.v[k]}"' for i, k in enumerate(rec.kinds))
        core = ["# HELP portal_login_failures_total Failed portal logins by patient.", "# TYPE portal_login_failures_total counter",
                f'portal_login_failures_total{{{labels}}} {r.randint(1, 40)}']
    elif t == "uri_path":
        segs = "/".join(f"{k.replace('_', '-')}/{urllib.parse.quote(rec.v[k], safe='@+')}" if k not in rec.nokw else urllib.parse.quote(rec.v[k], safe='@+') for k in rec.kinds)
        core = ["# TYPE http_server_requests_seconds_count counter",
                f'http_server_requests_seconds_count{{method="GET",status="200",uri="/api/patients/{segs}"}} {r.randint(1, 99)}']
        # percent-free values only are checked raw; quote() leaves ssn/mbi/cards/dates with - and / encoded
    else:
        labels = ",".join(f'{("k" + str(i)) if k in rec.nokw else f.kw6(k, "camel")}="{rec.v[k]}"' for i, k in enumerate(rec.kinds))
        core = ["# TYPE eligibility_check_duration_seconds histogram",
                f'eligibility_check_duration_seconds_bucket{{le="1.0",{labels}}} {r.randint(1, 9)} # {{trace_id="{f.hexhash(32)}"}} 0.67 {f.epoch()}']
    blocks = place(core, lambda: b6_prom_block(f), large if large else r.randint(300, 2000), where)
    return Sample("\n".join(blocks) + "\n", True, rec.kinds, f"prometheus/blind6/{t}", "prom", rec.values())


# ---------------------------------------------------------------- source code


def b6_code_filler(f: Faker) -> str:
    r = f.r
    return r.choice([f"def normalize_zip(z):\n    return z.strip()[:5]\n",
                     f"// retry policy\nconst RETRY_MS = {r.randint(100, 5000)};\nconst MAX_TRIES = {r.randint(2, 9)};\n",
                     f"# build {f.hexhash(12)}\nTIMEOUT_SECONDS = {r.randint(1, 120)}\n",
                     f"public static final String REQUEST_ID = \"{f.uuid()}\";\n"])


def b6_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if not pos:
        t = r.choice(["ssn_validator_tests", "luhn_tests", "npi_tests", "schema_ddl", "regex_constants", "uuid_fixtures", "migration"])
        if t == "ssn_validator_tests":
            cases = ", ".join(f'"{f.invalid_ssn()[0]}"' for _ in range(r.randint(3, 7)))
            code = f"import pytest\n\n@pytest.mark.parametrize(\"value\", [{cases}])\ndef test_rejects_unissued_ssn(value):\n    assert not is_valid_ssn(value)\n"
        elif t == "luhn_tests":
            cases = "\n".join(f"    expect(luhnValid('{f.luhn_bad16()}')).toBe(false);" for _ in range(r.randint(3, 6)))
            code = f"describe('luhnValid', () => {{\n  it('rejects bad check digits', () => {{\n{cases}\n  }});\n}});\n"
        elif t == "npi_tests":
            cases = "\n".join(f'    [InlineData("{f.npi()}")]' for _ in range(r.randint(2, 5)))
            code = f"public class NpiValidatorTests\n{{\n    [Theory]\n{cases}\n    public void AcceptsIssuedProviderNpi(string npi) => Assert.True(Npi.IsValid(npi));\n}}\n"
        elif t == "schema_ddl":
            code = ("CREATE TABLE patient (\n  patient_id BIGINT PRIMARY KEY,\n  mrn VARCHAR(20) NOT NULL,\n  ssn CHAR(9),\n  birth_date DATE,\n"
                    "  email VARCHAR(254),\n  phone VARCHAR(20),\n  created_at TIMESTAMP DEFAULT now()\n);\nCREATE INDEX ix_patient_mrn ON patient (mrn);\n")
        elif t == "regex_constants":
            code = ('SSN_RE = re.compile(r"^(?!000|666|9\\d\\d)\\d{3}-(?!00)\\d{2}-(?!0000)\\d{4}$")\n'
                    'MBI_RE = re.compile(r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d[AC-HJKMNP-RT-Y]{2}\\d{2}$")\n'
                    f"MAX_BATCH = {r.randint(100, 5000)}\n")
        elif t == "uuid_fixtures":
            code = "FIXTURE_IDS = [\n" + "".join(f'    "{f.uuid()}",\n' for _ in range(r.randint(3, 8))) + "]\n" + f'SEED_SHA = "{f.hexhash(64)}"\n'
        else:
            code = (f"class AddEncounterIndexes < ActiveRecord::Migration[7.1]\n  # {f.recent().date().isoformat()} ticket {f.id9()}\n"
                    "  def change\n    add_index :encounters, :admitted_at\n    add_column :patients, :preferred_language, :string\n  end\nend\n")
        parts = [code]
        if large:
            parts = place(parts, lambda: b6_code_filler(f), large, where)
        return Sample("\n".join(parts), False, [], f"source/blind6/neg/{t}", "txt")
    t = r.choice(["pytest_fixture", "jest_mock", "nunit_testdata", "rspec_factory", "sql_insert", "http_file"])
    rec = B6Rec(f, b6_pick(f, idx))
    v = rec.v
    keys = [("ref" + str(i)) if k in rec.nokw else None for i, k in enumerate(rec.kinds)]
    if t == "pytest_fixture":
        body = "".join(f'        "{keys[i] or f.kw6(k, "snake")}": "{v[k]}",\n' for i, k in enumerate(rec.kinds))
        code = f'@pytest.fixture\ndef patient():\n    return {{\n        "first_name": "{rec.first}",\n        "last_name": "{rec.last}",\n{body}    }}\n'
    elif t == "jest_mock":
        body = "".join(f"  {keys[i] or f.kw6(k, 'camel')}: '{v[k]}',\n" for i, k in enumerate(rec.kinds))
        code = f"export const mockPatient = {{\n  firstName: '{rec.first}',\n  lastName: '{rec.last}',\n{body}}};\n"
    elif t == "nunit_testdata":
        body = "".join(f'            {keys[i] or f.kw6(k, "pascal")} = "{v[k]}",\n' for i, k in enumerate(rec.kinds))
        code = (f"[TestFixture]\npublic class PatientMapperTests\n{{\n    private static readonly Patient Sample = new Patient\n    {{\n"
                f'            FirstName = "{rec.first}",\n            LastName = "{rec.last}",\n{body}    }};\n}}\n')
    elif t == "rspec_factory":
        body = "".join(f"    {keys[i] or f.kw6(k, 'snake')} {{ '{v[k]}' }}\n" for i, k in enumerate(rec.kinds))
        code = f"FactoryBot.define do\n  factory :patient do\n    first_name {{ '{rec.first}' }}\n    last_name {{ '{rec.last}' }}\n{body}  end\nend\n"
    elif t == "sql_insert":
        cols = ", ".join(keys[i] or f.kw6(k, "snake") for i, k in enumerate(rec.kinds))
        vals = ", ".join(f"'{v[k]}'" for k in rec.kinds)
        code = f"-- seed data for local dev\nINSERT INTO patients (first_name, last_name, {cols})\nVALUES ('{rec.first}', '{rec.last}', {vals});\n"
    else:
        body = json.dumps({"firstName": rec.first, "lastName": rec.last, **{keys[i] or f.kw6(k, "camel"): v[k] for i, k in enumerate(rec.kinds)}}, indent=2)
        code = f"### Create patient\nPOST https://api.example.org/v1/patients\nContent-Type: application/json\nAuthorization: Bearer {{{{token}}}}\n\n{body}\n"
    parts = [code]
    if large:
        parts = place(parts, lambda: b6_code_filler(f), large, where)
    return Sample("\n".join(parts), True, rec.kinds + ["patient_name"], f"source/blind6/{t}", "txt", rec.values([("patient_name", rec.last)]))


# ---------------------------------------------------------------- evasions


def b6_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = r.choice(["json", "fhir", "hl7", "csv", "note", "log", "form", "source"])
    inner = B6_GEN[inner_fmt](f, idx, pos, large, where)
    how = r.choice(["gzip", "gzip_fname", "zlib", "gzip_two_members"])
    raw = inner.data
    if how == "gzip":
        data = gzip.compress(raw, mtime=f.epoch())
    elif how == "gzip_fname":
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = co.compress(raw) + co.flush()
        data = (b"\x1f\x8b\x08\x08" + f.epoch().to_bytes(4, "little") + b"\x00\x03" + f"export-{r.randint(1, 999)}.{inner.ext}".encode() + b"\x00"
                + body + (zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "little") + (len(raw) & 0xFFFFFFFF).to_bytes(4, "little"))
    elif how == "zlib":
        data = zlib.compress(raw, r.choice([6, 9]))
    else:
        cut = len(raw) // 2
        data = gzip.compress(raw[:cut], mtime=0) + gzip.compress(raw[cut:], mtime=0)
    ext = inner.ext + (".zz" if how == "zlib" else ".gz")
    return Sample(data, pos, inner.kinds, f"gzip/blind6/{how}/" + inner.note, ext, inner.values)


def esc_b6_digits_punct(s: str) -> str:  # digits and - / @ . as \\u00XX (upper-case hex)
    return re.sub(r"[0-9/@.\-]", lambda m: "\\u%04X" % ord(m.group(0)), esc_default(s))


def esc_b6_all_lower(s: str) -> str:
    return "".join("\\u%04x" % ord(c) for c in s)


def esc_b6_nonalpha(s: str) -> str:  # everything but letters
    return "".join(c if c.isalpha() and c.isascii() else "\\u%04x" % ord(c) for c in s)


def b6_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    how = r.choice(["digits_punct", "values_all", "keys_and_values_all", "nonalpha"])
    esc, kesc = {"digits_punct": (esc_b6_digits_punct, esc_default), "values_all": (esc_b6_all_lower, esc_default),
                 "keys_and_values_all": (esc_b6_all_lower, esc_b6_all_lower), "nonalpha": (esc_b6_nonalpha, esc_default)}[how]
    if r.random() < 0.6:
        s = b6_json(f, idx, pos, large, where, esc=esc, kesc=kesc)
    else:
        s = b6_fhir(f, idx, pos, large, where, esc=esc)
    s.note = f"json_escape/blind6/{how}/" + s.note
    return s


def b6_pct(s: str, mode: str) -> str:
    if mode == "all_upper":
        return "".join("%%%02X" % b for b in s.encode())
    if mode == "all_lower":
        return "".join("%%%02x" % b for b in s.encode())
    return urllib.parse.quote(s, safe="")  # reserved and specials only


def b6_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    how = r.choice(["request_line", "form_body", "return_url", "location_header"])
    mode = r.choice(["all_upper", "all_lower", "quote"])
    if large:
        how = "form_body"
    if pos:
        rec = B6Rec(f, b6_pick(f, idx))
        pairs = [("lastName", rec.last)] + [(("q" + str(i)) if k in rec.nokw else f.kw6(k, "camel"), rec.v[k]) for i, k in enumerate(rec.kinds)]
        kinds, vals, note = rec.kinds + ["patient_name"], rec.values([("patient_name", rec.last)]), f"percent/blind6/{how}/{mode}"
    else:
        tt = r.choice(["login", "provider_search", "npi_lookup", "telemetry", "ssn_check", "checkout_token"])
        pairs = b6_form_pairs_neg(f, tt)
        kinds, vals, note = [], [], f"percent/blind6/{how}/{mode}/neg/{tt}"
    if how == "return_url":
        inner = "/portal/patient/verify?" + "&".join(f"{k}={v}" for k, v in pairs)
        q = f"client_id={f.uuid()}&state={f.hexhash(16)}&returnUrl={b6_pct(inner, mode)}"
    else:
        enc = [f"{k}={b6_pct(str(v), mode)}" for k, v in pairs]
        if large:
            enc = place(enc, lambda: f"pad{r.randint(1, 99)}={f.b64(600)}", large, where)
        q = "&".join(enc)
    if how == "request_line":
        text = f"GET /api/v1/patients/lookup?{q} HTTP/1.1\r\nHost: api.example.org\r\nAccept: application/json\r\n\r\n"
    elif how == "form_body":
        text = f"POST /patient-intake/submit HTTP/1.1\r\nHost: portal.example.org\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(q)}\r\n\r\n{q}"
    elif how == "return_url":
        text = f"GET /oauth2/authorize?{q} HTTP/1.1\r\nHost: sso.example.org\r\n\r\n"
    else:
        text = f"HTTP/1.1 302 Found\r\nLocation: https://portal.example.org/patient/results?{q}\r\nContent-Length: 0\r\n\r\n"
    return Sample(text, pos, kinds, note, "txt", vals)


B6_GEN = {
    "json": b6_json, "fhir": b6_fhir, "hl7": b6_hl7, "csv": b6_csv, "form": b6_form, "multipart": b6_multipart,
    "note": b6_note, "log": b6_log, "prometheus": b6_prometheus, "source": b6_source, "gzip": b6_gzip,
    "json_escape": b6_json_escape, "percent": b6_percent,
}


# --------------------------------------------------------------------------------------------
# The `blind7` family: a seventh template set, written blind on 2026-11-23 against the detector at
# commit 0bdb79f from the issue text only (no detector code, tests, history or quality output read;
# no sample scanned while writing; never tuned on). Own names, streets, key and phrase spellings,
# value formats and envelopes; demanding hard negatives. Report its totals only; do not tune on it.
# --------------------------------------------------------------------------------------------

B7 = "blind7"
NAMES[B7] = (
    "Philomena Augustin Corliss Evangeline Lavern Sunita Raghav Chiamaka Bogdan Henrietta Wendell "
    "Loretta Cornelius Fumiko Idris Marisela Obadiah Rhiannon Santiago Thea Ulrich Violetta Warrick "
    "Yesenia Zoltan Althea Brennan Concepcion Dariusz Ephraim".split(),
    "Ambrosetti Blankenship Chudnovsky Dabrowski Etheridge Featherstone Gallardo Hutchings Ibarra "
    "Jorgensen Kettleborough Lachapelle Mwangi Nordstrom Ouellette Pasquale Quarles Runnels Szabo "
    "Tremblay Umberger Villanueva Wojcik Yoakum Zamudio Ashworth Bakshi Culpepper Dunleavy Espinoza".split(),
)
STREETS[B7] = ["Persimmon Hollow Rd", "SE 148th Ave", "Ridgecrest Blvd Apt 14C", "Farm to Market Rd 1960",
               "Lighthouse Point Dr", "Gristmill Ln", "E Wabash St Trlr 9"]
CITIES[B7] = [("Paducah", "KY"), ("Pueblo", "CO"), ("Duluth", "MN"), ("Lafayette", "LA"), ("Bangor", "ME"),
              ("Flagstaff", "AZ"), ("Wichita Falls", "TX")]
STYLES[B7] = ["snake", "camel", "pascal", "kebab", "upper"]
B7_KINDS = ["ssn", "mbi", "mrn", "member_id", "account_number", "dob", "credit_card", "patient_email", "patient_phone"]
B7_KEYS = {
    "ssn": [["ssn"], ["patient", "ssn"], ["social", "security", "number"], ["ssn", "no"], ["guarantor", "ssn"],
            ["socialsecurity"]],
    "mbi": [["mbi"], ["medicare", "mbi"], ["medicare", "id"], ["medicare", "beneficiary", "identifier"]],
    "mrn": [["mrn"], ["patient", "mrn"], ["medical", "record", "number"], ["mrn", "id"], ["ehr", "mrn"]],
    "member_id": [["member", "id"], ["subscriber", "id"], ["insurance", "member", "id"], ["member", "number"],
                  ["plan", "member", "id"]],
    "account_number": [["account", "number"], ["patient", "account", "no"], ["hospital", "account", "number"],
                       ["guarantor", "account", "number"], ["acct", "number"]],
    "dob": [["dob"], ["date", "of", "birth"], ["birth", "date"], ["patient", "dob"], ["birthdate"]],
    "credit_card": [["card", "number"], ["credit", "card"], ["cc", "number"], ["payment", "card", "number"]],
    "patient_email": [["patient", "email"], ["patient", "email", "address"], ["pt", "email"]],
    "patient_phone": [["patient", "phone"], ["patient", "cell", "phone"], ["patient", "home", "phone"],
                      ["pt", "phone", "number"]],
    "neutral": [["ref"], ["alt", "ref"], ["external", "code"], ["value"], ["linked", "token"]],
}
B7_PHRASES = {
    "ssn": ["SSN {v}", "Soc. Sec. # {v}", "social security no. {v}", "SSN#{v}", "SSN on file: {v}"],
    "mbi": ["MBI: {v}", "Medicare MBI {v}", "Medicare Beneficiary ID {v}", "Medicare No. {v}"],
    "mrn": ["MRN#: {v}", "Med Rec No {v}", "MRN {v}", "medical record # {v}", "EHR MRN: {v}"],
    "member_id": ["Member ID {v}", "Subscriber #: {v}", "ins. member no. {v}", "Member #{v}"],
    "account_number": ["Account Number: {v}", "Acct #{v}", "patient acct no. {v}", "hospital account {v}"],
    "dob": ["DOB {v}", "DOB: {v}", "Date of birth {v}", "d.o.b. {v}", "birth date: {v}"],
    "credit_card": ["card {v}", "paid by card {v}", "CC {v}", "card number {v}"],
    "patient_email": ["patient email {v}", "Pt e-mail: {v}", "Patient's email address: {v}"],
    "patient_phone": ["patient phone {v}", "Pt cell: {v}", "Patient home #: {v}", "patient callback {v}"],
    "neutral": ["ref {v}", "[{v}]", "token={v}", "(on file: {v})"],
}
B7_CLINICS = ["Bluestem Community Clinic", "Tidewater Internal Medicine", "Copper Hills Pediatrics",
              "Saint Brigid Medical Associates", "Ironwood Orthopedics", "Kestrel Bay Women's Health"]
B7_PAYERS = ["Keystone Mutual Health", "Great Plains Health Plan", "Silverline Medicare Advantage",
             "Coastal Medicaid Partners", "Summit Choice PPO"]
B7_DEPTS = ["4 West Med-Surg", "Cardiac Step-Down", "L&D", "Pediatric ED", "Infusion Center", "Dialysis Unit"]
B7_DX = ["E11.65", "I10", "J18.9", "N18.30", "M54.16", "K21.9", "F41.1", "Z79.4"]
B7_CPT = ["99213", "99214", "93000", "80053", "36415", "71046", "97110", "G0439"]


class Blind7Faker(Faker):
    """Value formats of the blind7 family."""

    def fmt_name(self, first, last):
        mi = self.r.choice("ABCDEFGHJKLMNPRSTW")
        return self.r.choice([f"{first} {last}", f"{last.upper()}, {first.upper()}", f"{last}, {first} {mi}.",
                              f"{first} {mi} {last}"])

    def email(self, first, last):
        dom = self.r.choice(["example.com", "example.net", "example.org", "inbox.example.com"])
        n = self.r.randint(2, 97)
        return self.r.choice([f"{first.lower()}{last[0].lower()}{n}@{dom}", f"{last.lower()}.{first.lower()}@{dom}",
                              f"{first[0].lower()}_{last.lower()}@{dom}"])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"1-{a}-{e}-{n:04d}", f"{a}.{e}.{n:04d}",
                              f"+1 ({a}) {e}-{n:04d}"])

    def fmt_date(self, d):
        return self.r.choice([d.strftime("%m/%d/%Y"), d.isoformat(), d.strftime("%m-%d-%Y"), d.strftime("%d %b %Y"),
                              f"{d.strftime('%B')} {d.day}, {d.year}", d.strftime("%m/%d/%y")])

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        o = self.r.choice(["dash", "dash", "dash", "bare", "space"] if bare_ok else ["dash", "dash", "space"])
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mbi(self, dashed=None):
        if dashed is None:
            dashed = self.r.random() < 0.5
        return super().mbi(dashed)

    def mrn(self):
        r = self.r
        return r.choice([str(r.randint(10**7, 10**8 - 1)), f"MR{r.randint(10**6, 10**7 - 1)}",
                         f"{r.randint(1, 10**7 - 1):09d}", f"UH-{r.randint(10**5, 10**6 - 1)}"])

    def member_id(self):
        r = self.r
        L = "ABCDEFGHJKMNPQRTUVWXYZ"
        return r.choice(["".join(r.choice(L) for _ in range(3)) + str(r.randint(10**8, 10**9 - 1)),
                         f"{r.randint(10**8, 10**9 - 1)}-0{r.randint(1, 4)}", f"MA{r.randint(10**7, 10**8 - 1)}",
                         str(r.randint(10**10, 10**11 - 1))])

    def account(self):
        r = self.r
        return r.choice([f"HAR{r.randint(10**8, 10**9 - 1)}", str(r.randint(10**9, 10**10 - 1)),
                         f"V{r.randint(10**6, 10**7 - 1)}-{r.randint(10, 99)}", f"{r.randint(1000, 9999)}-{r.randint(10**6, 10**7 - 1)}"])

    def card(self):
        r = self.r
        kind = r.choice(["visa", "visa", "mc", "mc2", "amex", "disc", "jcb"])
        pre, n = {"visa": ("4", 16), "mc": (str(r.randint(51, 55)), 16), "mc2": (str(r.randint(2221, 2720)), 16),
                  "amex": (r.choice(["34", "37"]), 15), "disc": (r.choice(["6011", "65", str(r.randint(644, 649))]), 16),
                  "jcb": (str(r.randint(3528, 3589)), 16)}[kind]
        d = luhn_complete(pre + "".join(str(r.randint(0, 9)) for _ in range(n - len(pre) - 1)))
        assert card_ok(d)
        groups = [d[:4], d[4:10], d[10:]] if n == 15 else [d[i:i + 4] for i in range(0, n, 4)]
        return r.choice(["", " ", "-", ""]).join(groups)

    def ts7(self):
        return self.recent().strftime("%Y-%m-%dT%H:%M:%S") + self.r.choice(["Z", "-06:00", ".%03d+00:00" % self.r.randint(0, 999)])

    def money(self):
        return f"{self.r.randint(3, 6400)}.{self.r.randint(0, 99):02d}"

    def ein(self):
        return f"{self.r.randint(10, 98)}-{self.r.randint(1000000, 9999999)}"

    def clinic_phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"1-800-{e}-{n:04d}"])

    def gift_card(self):  # Luhn-valid 16/19 digits, but no card issuer starts with 7 or 8
        n = self.r.choice([16, 19])
        return luhn_complete(self.r.choice(["7", "8"]) + "".join(str(self.r.randint(0, 9)) for _ in range(n - 2)))

    def bad_mbi(self):  # MBI shape with a forbidden letter, a leading 0 or a letter where a digit goes
        s = list(self.mbi(dashed=False))
        why = self.r.choice(["letter", "zero", "digitpos"])
        if why == "letter":
            s[self.r.choice([1, 4, 7, 8])] = self.r.choice("SLOIBZ")
        elif why == "zero":
            s[0] = "0"
        else:
            s[self.r.choice([3, 6, 9, 10])] = self.r.choice("SLOIBZ")
        t = "".join(s)
        assert not mbi_ok(t)
        return t

    def aba(self):  # 9-digit routing number with its checksum (not an SSN: no SSN keyword nearby)
        while True:
            d = [self.r.randint(0, 9) for _ in range(8)]
            d[0] = self.r.choice([0, 1, 2, 3])
            c = (10 - (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])) % 10) % 10
            return "".join(map(str, d)) + str(c)


def b7_key(f: Faker, kind: str, style=None) -> str:
    return style_key(f.r.choice(B7_KEYS[kind]), style or f.style)


def b7_phrase(f: Faker, kind: str, v) -> str:
    return f.r.choice(B7_PHRASES[kind]).format(v=v)


def b7_pick(f: Faker, idx: int, pool=None) -> list:
    """Every other positive carries one identifier (round robin); the others 2-4."""
    pool = pool or B7_KINDS
    p = idx // 2
    if p % 2 == 0:
        return [pool[(p // 2) % len(pool)]]
    return f.r.sample(pool, f.r.randint(2, min(4, len(pool))))


class B7Rec:
    def __init__(self, f: Faker, kinds: list, nokw_ok=True):
        r = f.r
        self.first, self.last = f.name_parts()
        self.birth = f.birth()
        self.kinds = list(kinds)
        self.v: dict = {}
        self.nokw: set = set()
        for k in kinds:
            if k == "dob":
                self.v[k] = f.fmt_date(self.birth)
            elif k == "ssn":
                self.v[k] = f.ssn()[0]
            else:
                self.v[k] = ident_value(f, k, (self.first, self.last))
            if nokw_ok and k in CONTEXT_FREE and r.random() < 0.2:
                if k == "ssn" and v_is_bare(self.v[k]):
                    self.v[k] = f.ssn(bare_ok=False)[0]
                self.nokw.add(k)
                f.flags.add(f"nokw:{k}")
        self.name = f.fmt_name(self.first, self.last)
        self.street = f.street()
        self.city, self.state = f.city()
        self.zip = f.zipcode()
        self.npi = None
        self.dea = None

    def values(self):
        out = [(k, self.v[k]) for k in self.kinds]
        if self.npi:
            out.append(("npi", self.npi))
        if self.dea:
            out.append(("dea", self.dea))
        return out

    def all_kinds(self):
        return self.kinds + (["npi"] if self.npi else []) + (["dea"] if self.dea else [])

    def pairs(self, f: Faker, style=None):
        """(key, value) for every identifier, each under its keyword (or a neutral key for nokw)."""
        out = []
        for k in self.kinds:
            v = self.v[k]
            key = b7_key(f, "neutral" if k in self.nokw else k, style)
            while key in [x for x, _ in out]:  # two values under one neutral key: keep both
                key = key + "2"
            if k == "ssn" and v_is_bare(v) and v[0] != "0" and f.r.random() < 0.15:
                v = int(v)
            out.append((key, v))
        return out

    def phrases(self, f: Faker):
        return [b7_phrase(f, "neutral" if k in self.nokw else k, self.v[k]) for k in self.kinds]

    def add_prescriber(self, f: Faker):
        self.npi = f.npi()
        self.dea = f.dea(f.last())


def v_is_bare(v) -> bool:
    return isinstance(v, str) and v.isdigit()


def b7_pad(f: Faker, filler, large: int, core: list, where: str, join="\n") -> str:
    return join.join(place(core, filler, large, where))


# ---------------------------------------------------------------- blind7 JSON

def b7_clean_item(f: Faker) -> dict:
    r = f.r
    k = f.key
    return r.choice([
        {k(["line", "id"]): f.uuid(), "sku": f"RX-{r.randint(1000, 99999)}", k(["qty"]): r.randint(1, 30),
         k(["unit", "price"]): f.money(), k(["ts"]): f.epoch() * 1000 + r.randint(0, 999)},
        {k(["event", "id"]): f.hexhash(24), k(["kind"]): r.choice(["page_view", "click", "heartbeat"]),
         k(["at"]): f.ts7(), k(["duration", "ms"]): r.randint(1, 90000)},
        {k(["slot", "id"]): f"SL{r.randint(10**6, 10**7 - 1)}", k(["dept"]): r.choice(B7_DEPTS),
         k(["starts", "at"]): f.ts7(), k(["open"]): r.random() < 0.5},
    ])


def b7_json_pos(f: Faker, idx: int, t: str) -> tuple[dict, B7Rec]:
    r = f.r
    k = f.key
    pool = B7_KINDS
    kinds = b7_pick(f, idx, pool)
    rec = B7Rec(f, kinds)
    pairs = rec.pairs(f)
    if t == "registration":
        pt = {k(["first", "name"]): rec.first, k(["last", "name"]): rec.last,
              k(["address"]): {k(["line1"]): rec.street, k(["city"]): rec.city, k(["state"]): rec.state, k(["zip"]): rec.zip}}
        for key, v in pairs:
            pt[key] = v
        return {k(["form", "id"]): f.uuid(), k(["submitted", "at"]): f.ts7(), k(["clinic"]): r.choice(B7_CLINICS),
                "patient": pt, k(["consent", "signed"]): True}, rec
    if t == "claim":
        rec.npi = f.npi()
        sub = {k(["name"]): rec.name}
        sub.update(dict(pairs))
        return {k(["claim", "id"]): f"CLM{r.randint(10**8, 10**9 - 1)}", k(["billing", "provider"]): {
            "npi": rec.npi, k(["tax", "id"]): f.ein(), k(["org"]): r.choice(B7_CLINICS)},
            k(["subscriber"]): sub, k(["payer"]): r.choice(B7_PAYERS),
            k(["service", "lines"]): [{"cpt": r.choice(B7_CPT), k(["charge"]): f.money(), "dx": r.choice(B7_DX)}
                                      for _ in range(r.randint(1, 3))]}, rec
    if t == "payment":
        d = {k(["receipt", "id"]): f"R-{r.randint(10**5, 10**6 - 1)}", k(["payer", "name"]): rec.name,
             k(["amount"]): f.money(), k(["posted", "at"]): f.ts7()}
        d.update(dict(pairs))
        return {k(["payment"]): d, k(["gateway"]): r.choice(["authnet", "stripe", "elavon"])}, rec
    if t == "eligibility":
        sub = dict(pairs)
        sub[k(["last", "name"])] = rec.last.upper()
        sub[k(["first", "name"])] = rec.first.upper()
        return {k(["transaction", "set"]): "271", k(["trace"]): f.uuid(), k(["payer"]): r.choice(B7_PAYERS),
                k(["subscriber"]): sub, k(["benefits"]): [{k(["code"]): "30", k(["status"]): "active",
                                                          k(["copay"]): f"{r.randint(5, 60)}.00"}]}, rec
    if t == "search":
        row = {k(["display", "name"]): rec.name, k(["sex"]): r.choice("MFU")}
        row.update(dict(pairs))
        return {k(["total"]): 1, k(["page"]): 1, k(["results"]): [row], k(["took", "ms"]): r.randint(3, 400)}, rec
    if t == "erx":
        rec.add_prescriber(f)
        pt = {k(["name"]): rec.name}
        pt.update(dict(pairs))
        return {k(["message", "type"]): "NewRx", k(["prescriber"]): {"npi": rec.npi, k(["dea", "number"]): rec.dea,
                                                                    k(["name"]): f"{f.first()} {f.last()}, MD"},
                "patient": pt, k(["drug"]): r.choice(MEDS), k(["refills"]): r.randint(0, 5)}, rec
    if t == "webhook":
        data = dict(pairs)
        data[k(["template"])] = r.choice(["appt_reminder_48h", "lab_result_ready", "balance_due"])
        return {k(["event"]): "notification.sent", k(["id"]): f"evt_{f.hexhash(20)}", k(["created"]): f.epoch(),
                k(["data"]): {"patient": data}}, rec
    # graphql
    node = {"__typename": "Patient", k(["full", "name"]): rec.name}
    node.update(dict(pairs))
    return {"data": {k(["patient", "lookup"]): {"node": node}}, "extensions": {"cost": r.randint(1, 40)}}, rec


B7_JSON_POS = ["registration", "claim", "payment", "eligibility", "search", "erx", "webhook", "graphql"]
B7_JSON_NEG = ["nppes", "order_status", "ssn_validation", "openapi_schema", "deid_record", "dea_verification",
               "clinic_info", "receipt_masked", "cursor_page", "slots", "batch_summary", "chargemaster",
               "claim_status", "feature_flags", "gift_card", "mbi_rejected", "redacted_record", "routing"]


def b7_json_neg(f: Faker, t: str) -> dict:
    r = f.r
    k = f.key
    if t == "nppes":
        res = []
        for _ in range(r.randint(1, 5)):
            c, st = f.city()
            res.append({"number": f.npi(), k(["enumeration", "type"]): "NPI-1",
                        k(["basic"]): {k(["first", "name"]): f.first().upper(), k(["last", "name"]): f.last().upper(),
                                       k(["credential"]): r.choice(["MD", "DO", "NP", "PA-C"])},
                        k(["taxonomy"]): r.choice(["207Q00000X", "207R00000X", "208000000X", "363LF0000X"]),
                        k(["practice", "location"]): {k(["address"]): f.street(), k(["city"]): c, k(["state"]): st,
                                                      k(["telephone"]): f.clinic_phone()}})
        return {k(["result", "count"]): len(res), k(["results"]): res}
    if t == "order_status":
        return {k(["order", "number"]): f.id9(), k(["status"]): r.choice(["SHIPPED", "PICKED", "CANCELLED"]),
                k(["placed", "epoch"]): f.epoch(), k(["updated", "ms"]): f.epoch() * 1000 + r.randint(0, 999),
                k(["tracking"]): f.luhn_bad16(), k(["warehouse"]): f"WH-{r.randint(1, 40):02d}",
                k(["confirmation"]): f.confirmation()}
    if t == "ssn_validation":
        bad, why = f.invalid_ssn()
        return {"error": {k(["code"]): "VALIDATION_FAILED", k(["field"]): r.choice(["ssn", "patient.ssn", "guarantorSsn"]),
                          k(["rejected", "value"]): bad,
                          k(["message"]): {"area000": "SSN area number cannot be 000",
                                           "area666": "SSN area number 666 is never assigned",
                                           "area9xx": "SSN area numbers 900-999 are not valid",
                                           "group00": "SSN group number cannot be 00",
                                           "serial0000": "SSN serial number cannot be 0000"}[why]},
                k(["request", "id"]): f.uuid()}
    if t == "openapi_schema":
        return {"openapi": "3.0.3", "info": {"title": "Registration API", "version": f"2.{r.randint(0, 9)}.0"},
                "components": {"schemas": {"PatientDemographics": {"type": "object", "required": ["ssn", "dob", "mrn"],
                    "properties": {
                        "ssn": {"type": "string", "pattern": "^\\d{3}-?\\d{2}-?\\d{4}$", "description": "US Social Security number; masked on read as ***-**-NNNN"},
                        "dob": {"type": "string", "format": "date", "description": "Date of birth, ISO 8601"},
                        "mrn": {"type": "string", "maxLength": 12, "description": "Medical record number assigned by the EHR"},
                        "memberId": {"type": "string", "description": "Health plan member ID from the insurance card"},
                        "email": {"type": "string", "format": "email"},
                        "phone": {"type": "string", "example": "(XXX) XXX-XXXX"}}}}}}
    if t == "deid_record":
        return {k(["study", "id"]): f"STUDY-{r.randint(100, 999)}", k(["subject"]): f"S{r.randint(1000, 9999)}",
                k(["age", "band"]): r.choice(["18-29", "40-49", "60-69", "70-79"]), k(["sex"]): r.choice("MF"),
                k(["zip3"]): f"{r.randint(100, 999)}", k(["dx"]): r.sample(B7_DX, 2),
                k(["los", "days"]): r.randint(1, 20), k(["deidentified"]): "HIPAA Safe Harbor",
                k(["birth", "year"]): r.randint(1935, 2000)}
    if t == "dea_verification":
        last = f.last()
        return {k(["prescriber"]): {k(["name"]): f"{f.first()} {last}, DO", "npi": f.npi(), k(["dea"]): f.dea(last),
                                    k(["schedules"]): "2,2N,3,3N,4,5", k(["expires"]): f"{r.randint(2025, 2028)}-{r.randint(1, 12):02d}-28"},
                k(["verified"]): True, k(["source"]): "DEA CSA registrant file"}
    if t == "clinic_info":
        c, st = f.city()
        return {k(["location"]): r.choice(B7_CLINICS), k(["address"]): f"{f.street()}, {c}, {st} {f.zipcode()}",
                k(["main", "line"]): f.clinic_phone(), k(["fax"]): f.clinic_phone(),
                k(["hours"]): {"mon_fri": "07:30-18:00", "sat": "08:00-12:00"}, k(["npi"]): f.npi(),
                k(["accepting", "new"]): r.random() < 0.7}
    if t == "receipt_masked":
        return {k(["receipt"]): f"R-{r.randint(10**5, 10**6 - 1)}", k(["card"]): f.masked_card(),
                k(["brand"]): r.choice(["VISA", "MC", "AMEX"]), k(["auth", "code"]): f"{r.randint(100000, 999999)}",
                k(["ssn", "on", "file"]): f.masked_ssn(), k(["acct"]): f.masked_account(), k(["amount"]): f.money(),
                k(["processor", "ref"]): f.luhn_bad16()}
    if t == "cursor_page":
        return {k(["items"]): [{k(["id"]): f.uuid(), k(["etag"]): f.hexhash(40)} for _ in range(r.randint(2, 6))],
                k(["next", "cursor"]): f.b64(48), k(["sha256"]): f.hexhash(64), k(["served", "at"]): f.epoch()}
    if t == "slots":
        return {k(["provider"]): f"Dr. {f.first()} {f.last()}", "npi": f.npi(), k(["location"]): r.choice(B7_CLINICS),
                k(["slots"]): [{k(["start"]): f.ts7(), k(["minutes"]): r.choice([15, 20, 30]), k(["status"]): "free"}
                               for _ in range(r.randint(2, 6))], k(["booking", "line"]): f.clinic_phone()}
    if t == "batch_summary":
        return {k(["job"]): "nightly-eligibility", k(["run", "id"]): f.uuid(), k(["started"]): f.epoch(),
                k(["records", "in"]): r.randint(10**5, 10**6), k(["ssn", "mismatches"]): r.randint(0, 400),
                k(["dob", "mismatches"]): r.randint(0, 400), k(["mrn", "merges"]): r.randint(0, 90),
                k(["duration", "s"]): round(r.uniform(10, 9000), 2)}
    if t == "chargemaster":
        return {k(["cdm"]): [{k(["code"]): f"{r.randint(10**7, 10**8 - 1)}", "cpt": r.choice(B7_CPT),
                             k(["description"]): r.choice(["OFFICE VISIT EST LVL 4", "CMP METABOLIC PANEL", "ECG 12 LEAD",
                                                           "VENIPUNCTURE", "CHEST XRAY 2V"]),
                             k(["gross", "charge"]): f.money(), k(["cash", "price"]): f.money()} for _ in range(r.randint(2, 6))],
                k(["effective"]): f"{r.randint(2024, 2026)}-01-01", k(["hospital", "ein"]): f.ein()}
    if t == "claim_status":
        return {k(["claim", "number"]): f"{r.randint(2023, 2025)}{r.randint(10**8, 10**9 - 1)}",
                k(["status"]): r.choice(["PAID", "DENIED", "PENDED"]),
                k(["date", "of", "service"]): f.recent().date().isoformat(), k(["billed"]): f.money(),
                k(["rendering", "npi"]): f.npi(), k(["carc"]): r.choice(["CO-45", "PR-1", "CO-97"]),
                k(["check", "number"]): f.id9()}
    if t == "feature_flags":
        return {k(["flags"]): {"mask_ssn_in_ui": True, "require_dob_match": r.random() < 0.5, "mrn_prefix": "UH-",
                               "show_member_id_on_card": True, "card_tokenization": "enabled"},
                k(["rollout", "pct"]): r.randint(0, 100), k(["build"]): f.hexhash(12)}
    if t == "gift_card":
        return {k(["gift", "card"]): f.gift_card(), k(["balance"]): f.money(), k(["loyalty"]): f.loyalty_number(),
                k(["device", "imei"]): f.imei(), k(["store"]): f"#{r.randint(100, 9999)}"}
    if t == "mbi_rejected":
        return {k(["errors"]): [{k(["field"]): "mbi", k(["value"]): f.bad_mbi(),
                                 k(["reason"]): "not a valid Medicare Beneficiary Identifier format"} for _ in range(r.randint(1, 3))],
                k(["batch"]): f.uuid()}
    if t == "redacted_record":
        return {k(["mrn"]): "[REDACTED]", k(["ssn"]): f.masked_ssn(), k(["dob"]): "**/**/****",
                k(["name"]): "REDACTED", k(["member", "id"]): "XXXXXXXX" + f"{r.randint(10, 99)}",
                k(["reason"]): "export for vendor QA under minimum-necessary policy", k(["exported"]): f.epoch()}
    # routing: bank routing and ids with 9 digits, no SSN keyword
    return {k(["remit", "to"]): r.choice(B7_CLINICS), k(["routing"]): f.aba(), k(["trace", "number"]): f.id9(),
            k(["eft", "amount"]): f.money(), k(["effective"]): f.recent().date().isoformat(), k(["payer", "id"]): f"{r.randint(10000, 99999)}"}


def b7_json(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default, kesc=esc_default) -> Sample:
    r = f.r
    if pos:
        t = B7_JSON_POS[(idx // 2) % len(B7_JSON_POS)]
        obj, rec = b7_json_pos(f, idx, t)
        kinds, vals = rec.all_kinds(), rec.values()
    else:
        t = B7_JSON_NEG[(idx // 2) % len(B7_JSON_NEG)]
        obj, kinds, vals = b7_json_neg(f, t), [], []
    if large:
        obj = {f.key(["batch", "id"]): f.uuid(), f.key(["records"]): place([obj], lambda: b7_clean_item(f), large, where,
                                                                           unit_len=lambda u: len(json.dumps(u)))}
    indent = r.choice([None, 2, 4])
    return Sample(jdump(obj, indent, esc, kesc), pos, kinds, f"json/b7/{t}", "json", vals)


# ---------------------------------------------------------------- blind7 FHIR

B7_FHIR_KINDS = ["ssn", "mbi", "mrn", "member_id", "dob", "patient_email", "patient_phone", "account_number"]


def b7_xml(name: str, v, ind: str, out: list):
    if isinstance(v, list):
        for x in v:
            b7_xml(name, x, ind, out)
        return
    if isinstance(v, dict):
        if "resourceType" in v:
            out.append(f"{ind}<{name}>")
            b7_xml_res(v, ind + "  ", out)
            out.append(f"{ind}</{name}>")
            return
        attrs = ""
        if "url" in v and name in ("extension",):
            attrs = f' url="{_xml_attr(v["url"])}"'
        out.append(f"{ind}<{name}{attrs}>")
        for kk, vv in v.items():
            if kk == "url" and attrs:
                continue
            b7_xml(kk, vv, ind + "  ", out)
        out.append(f"{ind}</{name}>")
        return
    if isinstance(v, bool):
        v = "true" if v else "false"
    out.append(f'{ind}<{name} value="{_xml_attr(v)}"/>')


def b7_xml_res(res: dict, ind: str, out: list, root=False):
    rt = res["resourceType"]
    out.append(f'{ind}<{rt}' + (' xmlns="http://hl7.org/fhir">' if root else ">"))
    for kk, vv in res.items():
        if kk != "resourceType":
            b7_xml(kk, vv, ind + "  ", out)
    out.append(f"{ind}</{rt}>")


def b7_to_xml(res: dict) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    b7_xml_res(res, "", out, root=True)
    return "\n".join(out)


def b7_patient(f: Faker, rec: B7Rec) -> tuple[dict, list]:
    """A Patient resource with the record's identifiers; returns it and the kinds it shows."""
    r = f.r
    kinds = ["fhir_patient"]
    ids = []
    res = {"resourceType": "Patient", "id": f.hexhash(16) if r.random() < 0.5 else f.uuid(),
           "meta": {"lastUpdated": f.ts7()}}
    tel = []
    for k in rec.kinds:
        v = rec.v[k]
        if k == "ssn":
            ids.append({"system": "http://hl7.org/fhir/sid/us-ssn", "value": v})
            kinds.append("ssn")
        elif k == "mbi":
            ids.append({"system": "http://hl7.org/fhir/sid/us-mbi", "value": v})
            kinds.append("mbi")
        elif k == "mrn":
            ids.append({"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                                                  "text": "MRN"}, "system": "urn:oid:2.16.840.1.113883.3.7418.1", "value": v})
        elif k == "member_id":
            ids.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}],
                                 "text": "Member ID"}, "system": "https://keystonemutual.example/member", "value": v})
        elif k == "account_number":
            ids.append({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "AN"}],
                                 "text": "Account number"}, "value": v})
        elif k == "patient_email":
            tel.append({"system": "email", "value": v, "use": "home"})
            kinds.append("patient_email")
        elif k == "patient_phone":
            tel.append({"system": "phone", "value": v, "use": r.choice(["home", "mobile"])})
            kinds.append("patient_phone")
    if ids:
        res["identifier"] = ids
    res["active"] = True
    res["name"] = [{"use": "official", "family": rec.last, "given": [rec.first]}]
    if tel:
        res["telecom"] = tel
    res["gender"] = r.choice(["female", "male", "unknown"])
    if "dob" in rec.kinds:
        res["birthDate"] = rec.birth.isoformat()
        kinds.append("dob")
    res["address"] = [{"line": [rec.street], "city": rec.city, "state": rec.state, "postalCode": rec.zip}]
    return res, kinds


def b7_fhir_neg(f: Faker, t: str) -> dict:
    r = f.r
    if t == "practitioner":
        return {"resourceType": "Practitioner", "id": f.hexhash(12),
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}],
                "name": [{"family": f.last(), "given": [f.first()], "prefix": ["Dr."]}],
                "telecom": [{"system": "phone", "value": f.clinic_phone(), "use": "work"}],
                "qualification": [{"code": {"text": r.choice(PROVIDER_SPECIALTIES)}}]}
    if t == "organization":
        return {"resourceType": "Organization", "id": f.uuid(), "name": r.choice(B7_CLINICS),
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()},
                               {"system": "urn:oid:2.16.840.1.113883.4.4", "value": f.ein()}],
                "telecom": [{"system": "phone", "value": f.clinic_phone()}, {"system": "fax", "value": f.clinic_phone()}],
                "address": [{"line": [f.street()], "city": f.city()[0]}]}
    if t == "role_bundle":
        ents = []
        for _ in range(r.randint(1, 4)):
            ents.append({"fullUrl": f"urn:uuid:{f.uuid()}", "resource": {
                "resourceType": "PractitionerRole", "id": f.hexhash(10),
                "practitioner": {"display": f"{f.first()} {f.last()}, MD",
                                 "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": f.npi()}},
                "specialty": [{"text": r.choice(PROVIDER_SPECIALTIES)}],
                "telecom": [{"system": "phone", "value": f.clinic_phone()}]}})
        return {"resourceType": "Bundle", "type": "searchset", "total": len(ents), "entry": ents}
    if t == "empty_search":
        return {"resourceType": "Bundle", "id": f.uuid(), "type": "searchset", "total": 0,
                "link": [{"relation": "self", "url": f"https://fhir.example.org/r4/Patient?_lastUpdated=gt{f.recent().date().isoformat()}&_count=50"}]}
    if t == "structure_definition":
        return {"resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/b7-patient",
                "name": "RegistrationPatient", "status": "draft", "kind": "resource", "abstract": False, "type": "Patient",
                "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint",
                "differential": {"element": [
                    {"id": "Patient.identifier:ssn", "path": "Patient.identifier", "sliceName": "ssn", "max": "1",
                     "short": "Social Security number (masked on read)"},
                    {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1},
                    {"id": "Patient.identifier:mrn", "path": "Patient.identifier", "sliceName": "mrn", "min": 1}]}}
    if t == "search_parameter":
        return {"resourceType": "SearchParameter", "url": "http://example.org/fhir/SearchParameter/patient-ssn",
                "name": "ssn", "status": "active", "code": "ssn", "base": ["Patient"], "type": "token",
                "expression": "Patient.identifier.where(system='http://hl7.org/fhir/sid/us-ssn')",
                "description": "Search by Social Security number (exact, digits only)"}
    if t == "capability":
        return {"resourceType": "CapabilityStatement", "status": "active", "date": f.recent().date().isoformat(),
                "kind": "instance", "fhirVersion": "4.0.1", "format": ["json", "xml"],
                "rest": [{"mode": "server", "resource": [
                    {"type": "Patient", "searchParam": [{"name": "birthdate", "type": "date"}, {"name": "identifier", "type": "token"}]},
                    {"type": "Coverage", "searchParam": [{"name": "subscriber-id", "type": "token"}]}]}]}
    if t == "operation_outcome":
        return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found",
                "diagnostics": r.choice(["No Patient matched the supplied identifier", "Member ID not found for payer",
                                         "Invalid MBI format"])}]}
    if t == "location":
        return {"resourceType": "Location", "id": f.hexhash(8), "name": r.choice(B7_DEPTS), "status": "active",
                "telecom": [{"system": "phone", "value": f.clinic_phone()}],
                "managingOrganization": {"display": r.choice(B7_CLINICS)}}
    if t == "medication":
        return {"resourceType": "Medication", "id": f.hexhash(8),
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc",
                                     "code": f"{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}"}],
                         "text": r.choice(MEDS)}, "batch": {"lotNumber": f"L{r.randint(10**5, 10**6 - 1)}",
                                                              "expirationDate": f"{r.randint(2025, 2028)}-{r.randint(1, 12):02d}"}}
    if t == "slot_bundle":
        ents = [{"resource": {"resourceType": "Slot", "id": f.hexhash(10), "schedule": {"reference": f"Schedule/{f.hexhash(6)}"},
                              "status": "free", "start": f.ts7(), "end": f.ts7()}} for _ in range(r.randint(2, 5))]
        return {"resourceType": "Bundle", "type": "searchset", "total": len(ents), "entry": ents}
    if t == "device":
        return {"resourceType": "Device", "id": f.hexhash(10), "serialNumber": f"SN{r.randint(10**7, 10**8 - 1)}",
                "udiCarrier": [{"deviceIdentifier": f"00{r.randint(10**11, 10**12 - 1)}",
                                "carrierHRF": f"(01)00{r.randint(10**11, 10**12 - 1)}(17){r.randint(25, 29)}0101"}],
                "manufacturer": "Acme Infusion Systems"}
    # group
    return {"resourceType": "Group", "id": f.hexhash(10), "type": "person", "actual": False, "quantity": r.randint(5, 5000),
            "characteristic": [{"code": {"text": "diagnosis"}, "valueCodeableConcept": {"text": r.choice(CONDITIONS)}, "exclude": False}]}


B7_FHIR_NEG = ["practitioner", "organization", "role_bundle", "empty_search", "structure_definition", "search_parameter",
               "capability", "operation_outcome", "location", "medication", "slot_bundle", "device", "group"]
B7_FHIR_POS = ["patient", "searchset", "transaction", "contained", "coverage_bundle", "ndjson", "observation_subject",
               "everything"]


def b7_fhir_pos(f: Faker, idx: int, t: str):
    r = f.r
    kinds = b7_pick(f, idx, B7_FHIR_KINDS)
    rec = B7Rec(f, kinds, nokw_ok=False)
    pt, pk = b7_patient(f, rec)
    if t == "patient":
        return pt, pk, rec
    if t == "searchset":
        return {"resourceType": "Bundle", "type": "searchset", "total": 1,
                "entry": [{"fullUrl": f"https://fhir.example.org/r4/Patient/{pt['id']}", "resource": pt,
                           "search": {"mode": "match"}}]}, pk, rec
    if t == "transaction":
        enc = {"resourceType": "Encounter", "status": "arrived", "class": {"code": "AMB"},
               "subject": {"reference": "urn:uuid:p1"}, "period": {"start": f.ts7()}}
        return {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": pt, "request": {"method": "POST", "url": "Patient"}},
            {"resource": enc, "request": {"method": "POST", "url": "Encounter"}}]}, pk, rec
    if t == "contained":
        pt["id"] = "pt1"
        return {"resourceType": "Observation", "status": "final", "contained": [pt],
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "Hemoglobin A1c"},
                "subject": {"reference": "#pt1"}, "valueQuantity": {"value": round(r.uniform(5, 11), 1), "unit": "%"}}, pk, rec
    if t == "coverage_bundle":
        cov = {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": f"Patient/{pt['id']}"},
               "payor": [{"display": r.choice(B7_PAYERS)}], "relationship": {"text": "self"}}
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": pt}, {"resource": cov}]}, pk, rec
    if t == "ndjson":
        return pt, pk, rec  # serialised as NDJSON by the caller
    if t == "observation_subject":
        # no Patient resource: the subject reference carries the identifier and the patient's name
        k0 = rec.kinds[0]
        sysmap = {"ssn": "http://hl7.org/fhir/sid/us-ssn", "mbi": "http://hl7.org/fhir/sid/us-mbi"}
        if k0 in sysmap:
            ident = {"system": sysmap[k0], "value": rec.v[k0]}
            ok = [k0]
        else:
            rec2 = B7Rec(f, ["ssn"], nokw_ok=False)
            rec.kinds.append("ssn")
            rec.v["ssn"] = rec2.v["ssn"]
            ident = {"system": sysmap["ssn"], "value": rec.v["ssn"]}
            ok = ["ssn"]
        rec.kinds = ok
        return {"resourceType": "Observation", "status": "final", "code": {"text": "Glucose, fasting"},
                "subject": {"identifier": ident, "display": rec.name},
                "effectiveDateTime": f.ts7(), "valueQuantity": {"value": r.randint(70, 240), "unit": "mg/dL"}}, ok, rec
    # everything: Patient + Encounter + Condition
    return {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": pt},
        {"resource": {"resourceType": "Condition", "code": {"text": r.choice(CONDITIONS)},
                      "subject": {"reference": f"Patient/{pt['id']}"}}},
        {"resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                      "medicationCodeableConcept": {"text": r.choice(MEDS)},
                      "subject": {"reference": f"Patient/{pt['id']}"}}}]}, pk, rec


def b7_fhir(f: Faker, idx: int, pos: bool, large: int, where: str, esc=esc_default) -> Sample:
    r = f.r
    if pos:
        t = B7_FHIR_POS[(idx // 2) % len(B7_FHIR_POS)]
        res, kinds, rec = b7_fhir_pos(f, idx, t)
        vals = [(k, rec.v[k]) for k in rec.kinds if k not in ("mrn", "member_id", "account_number")]
        # values inside FHIR are serialised as-is except birthDate (ISO)
        vals = [(k, rec.birth.isoformat() if k == "dob" else v) for k, v in vals]
    else:
        t = B7_FHIR_NEG[(idx // 2) % len(B7_FHIR_NEG)]
        res, kinds, vals = b7_fhir_neg(f, t), [], []
    if large:
        filler = lambda: {"resourceType": "Observation", "status": "final", "code": {"text": "Heart rate"},
                          "effectiveDateTime": f.ts7(), "valueQuantity": {"value": r.randint(50, 130), "unit": "/min"}}
        if t == "ndjson":
            lines = place([jdump(res, None, esc)], lambda: jdump(filler(), None, esc), large, where)
            return Sample("\n".join(lines) + "\n", pos, kinds, f"fhir/b7/{t}", "json", vals)
        ents = place([{"resource": res}], lambda: {"resource": filler()}, large, where,
                     unit_len=lambda u: len(json.dumps(u)))
        res = {"resourceType": "Bundle", "type": "collection", "entry": ents}
    if t == "ndjson":
        return Sample(jdump(res, None, esc) + "\n", pos, kinds, f"fhir/b7/{t}", "json", vals)
    if esc is esc_default and not large and r.random() < 1 / 6:
        return Sample(b7_to_xml(res), pos, kinds, f"fhir/b7/{t}/xml", "xml", vals)
    return Sample(jdump(res, r.choice([None, 2]), esc), pos, kinds, f"fhir/b7/{t}", "json", vals)


# ---------------------------------------------------------------- blind7 HL7 v2

def b7_hl7_ts(f: Faker) -> str:
    return f.recent().strftime("%Y%m%d%H%M") + f.r.choice(["", "00", f"{f.r.randint(0, 59):02d}-0600"])


def b7_msh(f: Faker, typ: str) -> str:
    r = f.r
    return (f"MSH|^~\\&|{r.choice(['MEDITECH', 'CERNER', 'ATHENA', 'LABSYS'])}|{r.choice(['UHS', 'BLUESTEM', 'TIDEWTR'])}|"
            f"{r.choice(['RHAPSODY', 'MIRTH', 'CLOVERLEAF'])}|{r.choice(['HIE', 'PAYER', 'REGISTRY'])}|{b7_hl7_ts(f)}||{typ}|"
            f"{r.randint(10**6, 10**9)}|{r.choice(['P', 'T'])}|{r.choice(['2.3', '2.4', '2.5.1', '2.6'])}")


def b7_pid(f: Faker, rec: B7Rec) -> str:
    v = rec.v
    ids = []
    if "mrn" in v:
        ids.append(f"{v['mrn']}^^^UHS^MR")
    else:
        ids.append(f"{f.r.randint(10**6, 10**7 - 1)}^^^UHS^MR")
    if "mbi" in v:
        ids.append(f"{v['mbi']}^^^CMS^MB")
    if "member_id" in v:
        ids.append(f"{v['member_id']}^^^KMH^MB")
    acct = v.get("account_number", "")
    ssn = v.get("ssn", "")
    dob = rec.birth.strftime("%Y%m%d")
    ph = v.get("patient_phone", "")
    em = v.get("patient_email", "")
    home = f"{ph}^PRN^PH" if ph else ""
    if em:
        home = (home + "~" if home else "") + f"^NET^Internet^{em}"
    return (f"PID|1||{'~'.join(ids)}||{rec.last.upper()}^{rec.first.upper()}^{f.r.choice('ABCDEJKM')}||{dob}|"
            f"{f.r.choice('MFU')}|||{rec.street}^^{rec.city}^{rec.state}^{rec.zip}^USA||{home}|||{f.r.choice(['S', 'M', 'W'])}||"
            f"{acct}|{ssn}")


def b7_hl7_pos(f: Faker, idx: int, t: str):
    r = f.r
    kinds = b7_pick(f, idx, ["ssn", "mbi", "mrn", "member_id", "account_number", "dob", "patient_phone", "patient_email"])
    rec = B7Rec(f, kinds, nokw_ok=False)
    if "ssn" in rec.v and r.random() < 0.5:
        rec.v["ssn"] = re.sub(r"\D", "", rec.v["ssn"])  # PID-19 usually holds the bare number
    pid = b7_pid(f, rec)
    pv1 = f"PV1|1|{r.choice(['I', 'O', 'E'])}|{r.choice(B7_DEPTS)}^{r.randint(100, 499)}^{r.choice('AB')}||||{f.npi()}^{f.last().upper()}^{f.first().upper()}"
    segs = [b7_msh(f, {"adt_a01": "ADT^A01", "adt_a08": "ADT^A08", "oru": "ORU^R01", "siu": "SIU^S12", "dft": "DFT^P03",
                       "rde": "RDE^O11", "vxu": "VXU^V04", "mdm": "MDM^T02"}[t]), f"EVN||{b7_hl7_ts(f)}"]
    if t in ("siu",):
        segs = [segs[0], f"SCH|{r.randint(10**5, 10**6)}||||||{r.choice(['FOLLOWUP', 'NEWPT'])}|||30|MIN|^^30^{b7_hl7_ts(f)}"]
    segs.append(pid)
    if t in ("adt_a01", "adt_a08", "dft", "mdm"):
        segs.append(pv1)
    if t in ("adt_a01", "adt_a08") and "member_id" in rec.v:
        segs.append(f"IN1|1|{r.choice(['PPO', 'HMO'])}|{r.randint(1000, 9999)}|{r.choice(B7_PAYERS)}||||||||||||"
                    f"{rec.last.upper()}^{rec.first.upper()}|01|{rec.birth.strftime('%Y%m%d')}||||||||||||||||||{rec.v['member_id']}")
    if t == "oru":
        segs.append(f"OBR|1|{r.randint(10**6, 10**7)}|{r.randint(10**6, 10**7)}|4548-4^HEMOGLOBIN A1C^LN|||{b7_hl7_ts(f)}")
        segs.append(f"OBX|1|NM|4548-4^HEMOGLOBIN A1C^LN||{round(r.uniform(5, 11), 1)}|%|4.0-5.6|H|||F")
    if t == "dft":
        segs.append(f"FT1|1|||{b7_hl7_ts(f)}||CG|{r.choice(B7_CPT)}|||1|{f.money()}")
    if t == "rde":
        rec.npi = f.npi()
        segs.append(f"ORC|NW|{r.randint(10**6, 10**7)}|||||||{b7_hl7_ts(f)}|||{rec.npi}^{f.last().upper()}^{f.first().upper()}^^^^^^NPI")
        segs.append(f"RXE|^^^{b7_hl7_ts(f)}|{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}^{r.choice(MEDS)}^NDC|1||TAB")
    if t == "vxu":
        segs.append(f"RXA|0|1|{b7_hl7_ts(f)}||208^COVID-19 mRNA^CVX|0.3|mL")
    if t == "mdm":
        segs.append(f"TXA|1|CN|TX|{b7_hl7_ts(f)}")
        segs.append("OBX|1|TX|NOTE||Patient seen for follow-up; see scanned consent.")
    vals = []
    ks = ["hl7_pid"]
    for k in rec.kinds:
        if k == "dob":
            continue
        vals.append((k, rec.v[k]))
        if k == "ssn" and not v_is_bare(rec.v[k]):
            ks.append("ssn")
        if k == "mbi":
            ks.append("mbi")
    if rec.npi:
        vals.append(("npi", rec.npi))
        ks.append("npi")
    return segs, ks, vals


def b7_hl7_neg(f: Faker, t: str) -> list:
    r = f.r
    if t == "mfn_staff":
        segs = [b7_msh(f, "MFN^M02"), f"MFI|PRA^Practitioner master file^HL70175||UPD|||AL"]
        for i in range(r.randint(1, 4)):
            last = f.last()
            segs += [f"MFE|MAD|{r.randint(10**5, 10**6)}||{f.npi()}^{last.upper()}^{f.first().upper()}",
                     f"STF|{f.npi()}|U{r.randint(1000, 9999)}|{last.upper()}^{f.first().upper()}^^^DR|||||"
                     f"|{f.clinic_phone()}^WPN^PH",
                     f"PRA||{r.choice(PROVIDER_SPECIALTIES)}|||{f.npi()}^NPI~{f.dea(last)}^DEA"]
        return segs
    if t == "ack_err":
        return [b7_msh(f, "ACK^A04"), f"MSA|AE|{r.randint(10**6, 10**9)}|Required field missing",
                f"ERR||PID^1^{r.choice([3, 7, 19])}|101^Required field missing^HL70357|E|||"
                f"{r.choice(['PID-3 patient identifier list empty', 'PID-7 date of birth missing', 'PID-19 SSN invalid (area 000)'])}"]
    if t == "mfn_location":
        return [b7_msh(f, "MFN^M05"), "MFI|LOC^Location master^HL70175||UPD|||NE",
                f"MFE|MAD|{r.randint(10**5, 10**6)}||{r.choice(B7_DEPTS)}",
                f"LOC|{r.choice(B7_DEPTS)}^^^UHS|{r.choice(B7_DEPTS)}|N|{r.choice(B7_CLINICS)}|{f.street()}^^{f.city()[0]}|{f.clinic_phone()}"]
    if t == "mfn_test":
        return [b7_msh(f, "MFN^M08"), "MFI|OMA^Numeric observation^HL70175||UPD|||AL",
                f"MFE|MAD|{r.randint(10**5, 10**6)}||2345-7^GLUCOSE^LN",
                "OM1|1|2345-7^GLUCOSE^LN|NM|Y|Y|||||||||||||||||||||||||||mg/dL",
                "OM2|1|mg/dL|70-99"]
    if t == "esu":
        return [b7_msh(f, "ESU^U01"), f"EQU|ANALYZER{r.randint(1, 9)}^^{f.hexhash(8).upper()}|{b7_hl7_ts(f)}|OP",
                f"ISD|1|{r.randint(1, 30)}|{r.choice(['IDLE', 'RUNNING', 'QC_PENDING'])}"]
    if t == "nmd":
        return [b7_msh(f, "NMD^N02"), f"NCK|{b7_hl7_ts(f)}", f"NST|Y|{r.randint(0, 999)}|{r.randint(0, 999)}|{r.randint(0, 9)}"]
    if t == "batch_empty":
        return [f"FHS|^~\\&|MIRTH|UHS|||{b7_hl7_ts(f)}", f"BHS|^~\\&|MIRTH|UHS|||{b7_hl7_ts(f)}", "BTS|0", "FTS|1"]
    if t == "qc_result":
        return [b7_msh(f, "OUL^R22"), f"SPM|1|QC{r.randint(10**5, 10**6)}||QC^Quality control^HL70369",
                f"SAC|||QC{r.randint(10**5, 10**6)}|||||||||||||||||||||||||||||||||",
                f"OBX|1|NM|2345-7^GLUCOSE^LN||{r.randint(80, 300)}|mg/dL|||||F|||{b7_hl7_ts(f)}",
                f"NTE|1||Lot {r.randint(10**5, 10**6)} level {r.randint(1, 3)} within 2SD"]
    # inventory
    return [b7_msh(f, "MFN^M15"), "MFI|INV^Inventory^HL70175||UPD|||AL",
            f"MFE|MAD|{r.randint(10**5, 10**6)}||{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
            f"IIM|{r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}^{r.choice(MEDS)}|L{r.randint(10**5, 10**6)}|"
            f"{r.randint(2025, 2028)}{r.randint(1, 12):02d}01|{r.randint(1, 500)}"]


B7_HL7_POS = ["adt_a01", "adt_a08", "oru", "siu", "dft", "rde", "vxu", "mdm"]
B7_HL7_NEG = ["mfn_staff", "ack_err", "mfn_location", "mfn_test", "esu", "nmd", "batch_empty", "qc_result", "inventory"]


def b7_hl7(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        t = B7_HL7_POS[(idx // 2) % len(B7_HL7_POS)]
        segs, kinds, vals = b7_hl7_pos(f, idx, t)
    else:
        t = B7_HL7_NEG[(idx // 2) % len(B7_HL7_NEG)]
        segs, kinds, vals = b7_hl7_neg(f, t), [], []
    if large:
        n0 = len(segs)
        filler = lambda: f"NTE|{r.randint(1, 999)}||{r.choice(['Specimen received', 'Result verified', 'Instrument calibrated', 'Reviewed'])} {f.uuid()}"
        head, rest = segs[:1], segs[1:]
        segs = head + place(rest, filler, large, where)
        assert len(segs) >= n0
    eol = r.choice(["\r", "\r\n", "\n"])
    body = eol.join(segs) + eol
    frame = r.choice(["none", "none", "mllp"])
    if frame == "mllp":
        body = "\x0b" + body + "\x1c\r"
    return Sample(body, pos, kinds, f"hl7/b7/{t}/{frame}", "hl7", vals)


# ---------------------------------------------------------------- blind7 CSV

def b7_csv_text(header, rows, delim, eol, quote_all=False, bom=False) -> str:
    def cell(v):
        v = str(v)
        if quote_all or delim in v or '"' in v or "\n" in v:
            return '"' + v.replace('"', '""') + '"'
        return v
    out = [delim.join(cell(h) for h in header)] + [delim.join(cell(c) for c in row) for row in rows]
    return ("\ufeff" if bom else "") + eol.join(out) + eol


B7_CSV_HEAD = {
    "ssn": ["SSN", "Patient SSN", "SOC_SEC_NO", "ssn"],
    "mbi": ["MBI", "Medicare ID", "MEDICARE_MBI"],
    "mrn": ["MRN", "Medical Record Number", "PAT_MRN", "mrn"],
    "member_id": ["Member ID", "SUBSCRIBER_ID", "Ins Member #"],
    "account_number": ["Account Number", "HAR", "PT_ACCT_NO", "Guarantor Account"],
    "dob": ["DOB", "Date of Birth", "BIRTH_DATE", "dob"],
    "credit_card": ["Card Number", "CC_NUM", "Payment Card"],
    "patient_email": ["Patient Email", "PT_EMAIL"],
    "patient_phone": ["Patient Phone", "PT_HOME_PHONE", "Patient Cell"],
}


def b7_csv(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    delim = r.choice([",", ",", "\t", "|", ";"])
    eol = r.choice(["\n", "\r\n"])
    quote_all = r.random() < 0.3
    bom = r.random() < 0.15
    if pos:
        t = ["patient_export", "claims_with_comment", "reminder_list", "payments"][(idx // 2) % 4]
        kinds = b7_pick(f, idx)
        rec = B7Rec(f, kinds, nokw_ok=False)
        if t == "claims_with_comment":
            header = ["Claim", "DOS", "CPT", "Charge", "Status", "Comment"]
            core = [[f"CLM{r.randint(10**7, 10**8)}", f.recent().date().isoformat(), r.choice(B7_CPT), f.money(), "PEND",
                     f"called re {rec.name}; " + "; ".join(rec.phrases(f))]]
            filler = lambda: [f"CLM{r.randint(10**7, 10**8)}", f.recent().date().isoformat(), r.choice(B7_CPT), f.money(),
                              r.choice(["PAID", "DENIED"]), r.choice(["", "resubmitted", "CO-45 adj", "awaiting EOB"])]
            ks = list(rec.kinds)
        else:
            cols = [("name", "Patient Name" if t != "payments" else "Payer Name")] + [(k, r.choice(B7_CSV_HEAD[k])) for k in rec.kinds]
            extra = {"patient_export": [("dept", "Dept"), ("adm", "Admit Date")],
                     "reminder_list": [("appt", "Appt Time"), ("prov", "Provider")],
                     "payments": [("amt", "Amount"), ("posted", "Posted")]}[t]
            cols += extra
            r.shuffle(cols)
            header = [h for _, h in cols]

            def row(real: bool):
                out = []
                for k, _ in cols:
                    if k == "name":
                        out.append(rec.name if real else "")
                    elif k in rec.v:
                        out.append(rec.v[k] if real else "")
                    elif k == "dept":
                        out.append(r.choice(B7_DEPTS))
                    elif k in ("adm", "posted"):
                        out.append(f.recent().date().isoformat())
                    elif k == "appt":
                        out.append(f.ts7())
                    elif k == "prov":
                        out.append(f"Dr. {f.last()}")
                    else:
                        out.append(f.money())
                return out
            core = [row(True)]
            filler = lambda: row(False)
            ks = list(rec.kinds)
        vals = rec.values()
        note = f"csv/b7/{t}"
    else:
        t = ["nppes", "orders", "deid", "dictionary", "rejected_ssn", "dea_roster", "lab_catalog", "census",
             "remittance", "shipments"][(idx // 2) % 10]
        header, gen = b7_csv_neg(f, t)
        core = [gen() for _ in range(r.randint(2, 8))]
        filler = gen
        ks, vals = [], []
        note = f"csv/b7/{t}"
    rows = place(core, filler, large, where, unit_len=lambda u: sum(len(str(c)) + 1 for c in u)) if large else core
    return Sample(b7_csv_text(header, rows, delim, eol, quote_all, bom), pos, ks, note, "csv", vals)


def b7_csv_neg(f: Faker, t: str):
    r = f.r
    if t == "nppes":
        return (["NPI", "Provider Last Name", "Provider First Name", "Taxonomy", "Practice Phone", "Practice City"],
                lambda: [f.npi(), f.last().upper(), f.first().upper(), r.choice(["207Q00000X", "208D00000X", "363A00000X"]),
                         f.clinic_phone(), f.city()[0]])
    if t == "orders":
        return (["order_id", "created_epoch", "sku", "qty", "tracking"],
                lambda: [f.id9(), f.epoch(), f"SKU-{r.randint(1000, 99999)}", r.randint(1, 9), f.luhn_bad16()])
    if t == "deid":
        return (["subject_key", "age_band", "sex", "zip3", "primary_dx", "los_days", "birth_year"],
                lambda: [f.hexhash(10), r.choice(["18-29", "30-39", "50-59", "70-79"]), r.choice("MF"), f"{r.randint(100, 999)}",
                         r.choice(B7_DX), r.randint(1, 30), r.randint(1935, 2004)])
    if t == "dictionary":
        items = [("PAT_SSN", "VARCHAR(11)", "Social Security number, stored encrypted; masked as ***-**-NNNN"),
                 ("PAT_DOB", "DATE", "Date of birth (MM/DD/YYYY on export)"),
                 ("PAT_MRN", "VARCHAR(12)", "Medical record number from the EHR"),
                 ("MEMBER_ID", "VARCHAR(20)", "Health plan member ID"),
                 ("ACCT_NO", "VARCHAR(16)", "Hospital account number"),
                 ("PAT_EMAIL", "VARCHAR(254)", "Patient contact e-mail"),
                 ("CARD_TOKEN", "CHAR(32)", "Processor token; raw card numbers are never stored")]
        cnt = [0]

        def g():
            cnt[0] += 1
            return list(items[(cnt[0] - 1) % len(items)])
        return (["column", "type", "description"], g)
    if t == "rejected_ssn":
        def g():
            bad, why = f.invalid_ssn()
            return [f.uuid(), bad, why, "REJECTED"]
        return (["row_id", "ssn_submitted", "reason", "result"], g)
    if t == "dea_roster":
        def g():
            last = f.last()
            return [f"{f.first()} {last}", f.dea(last), f.npi(), r.choice(["2,3,4,5", "2N,3N"]), f"{r.randint(2025, 2028)}-{r.randint(1, 12):02d}-31"]
        return (["Prescriber", "DEA", "NPI", "Schedules", "Expires"], g)
    if t == "lab_catalog":
        return (["LOINC", "Test", "Units", "Ref Range", "TAT hrs"],
                lambda: [r.choice(["2345-7", "4548-4", "2160-0", "718-7", "6690-2"]), r.choice(["Glucose", "HbA1c", "Creatinine", "Hemoglobin", "WBC"]),
                         r.choice(["mg/dL", "%", "g/dL", "10*3/uL"]), f"{r.randint(1, 70)}-{r.randint(80, 200)}", r.randint(1, 48)])
    if t == "census":
        return (["Date", "Unit", "Midnight Census", "Admits", "Discharges"],
                lambda: [f.recent().date().isoformat(), r.choice(B7_DEPTS), r.randint(5, 60), r.randint(0, 15), r.randint(0, 15)])
    if t == "remittance":
        return (["Check/EFT", "Payer", "Claim Ctrl No", "DOS", "Billed", "Paid", "CARC"],
                lambda: [f.id9(), r.choice(B7_PAYERS), f"{r.randint(10**12, 10**13)}", f.recent().date().strftime("%m/%d/%Y"),
                         f.money(), f.money(), r.choice(["CO-45", "PR-2", "CO-16"])])
    return (["shipment", "carrier", "tracking", "shipped_at", "weight_oz"],
            lambda: [f"SHP{r.randint(10**6, 10**7)}", r.choice(["UPS", "FedEx", "USPS"]), f.luhn_bad16(), f.ts7(), r.randint(1, 400)])


# ---------------------------------------------------------------- blind7 form-urlencoded

def b7_form_enc(pairs, mode="plus") -> str:
    if mode == "plus":
        return urllib.parse.urlencode([(k, str(v)) for k, v in pairs])
    return "&".join(f"{urllib.parse.quote(k, safe='[]')}={urllib.parse.quote(str(v), safe='')}" for k, v in pairs)


def b7_form_pos(f: Faker, idx: int, t: str):
    r = f.r
    rec = B7Rec(f, b7_pick(f, idx), nokw_ok=True)
    st = r.choice(["snake", "camel"])
    base = [(k if t != "rails" else f"patient[{k}]", v) for k, v in rec.pairs(f, st)]
    if t == "intake":
        pairs = [("first_name", rec.first), ("last_name", rec.last)] + base + [("reason", "new patient visit"), ("csrf", f.hexhash(32))]
    elif t == "rails":
        pairs = [("authenticity_token", f.b64(32)), ("patient[name]", rec.name)] + base + [("commit", "Save")]
    elif t == "billpay":
        pairs = [("guarantor", rec.name)] + base + [("amount", f.money()), ("exp", f"{r.randint(1, 12):02d}/{r.randint(26, 31)}")]
    else:  # eligibility check
        pairs = [("payer", r.choice(B7_PAYERS)), ("last", rec.last)] + base + [("svc", "30")]
    return pairs, rec


def b7_form_neg(f: Faker, t: str) -> list:
    r = f.r
    if t == "login":
        return [("username", f"{f.first().lower()}.{f.last().lower()}"), ("password", f.b64(12)), ("remember", "1"),
                ("csrf", f.hexhash(32))]
    if t == "npi_lookup":
        return [("npi", f.npi()), ("state", f.city()[1]), ("taxonomy", "207Q00000X"), ("page", r.randint(1, 9))]
    if t == "oauth":
        return [("grant_type", "authorization_code"), ("code", f.b64(24)), ("redirect_uri", "https://portal.example.org/cb"),
                ("client_id", f.uuid()), ("code_verifier", f.hexhash(64))]
    if t == "telemetry":
        return [("sid", f.hexhash(16)), ("ts", f.epoch() * 1000 + r.randint(0, 999)), ("ev", "scroll"), ("y", r.randint(0, 9000)),
                ("vp", f"{r.choice([1280, 1440, 390])}x{r.choice([720, 900, 844])}")]
    if t == "newsletter":
        first, last = f.name_parts()
        return [("list", "clinic-news"), ("email", f.email(first, last)), ("topics", "flu-shots,events"), ("source", "footer")]
    if t == "ssn_check":
        return [("field", "ssn"), ("value", f.invalid_ssn()[0]), ("check", "format_only")]
    if t == "pharmacy_search":
        return [("zip", f.zipcode()), ("radius_mi", r.choice([5, 10, 25])), ("open_now", "true"), ("drug", r.choice(MEDS))]
    if t == "feedback":
        return [("clinic", r.choice(B7_CLINICS)), ("rating", r.randint(1, 5)),
                ("comments", r.choice(["Front desk was friendly.", "Parking was hard to find.", "Wait time about 20 minutes."])),
                ("visit_month", f"{r.randint(2024, 2025)}-{r.randint(1, 12):02d}")]
    if t == "checkout_token":
        return [("payment_token", f"tok_{f.hexhash(24)}"), ("last4", f"{r.randint(0, 9999):04d}"), ("amount", f.money()),
                ("order", f.id9())]
    return [("dept", r.choice(B7_DEPTS)), ("from", f.recent().date().isoformat()), ("to", f.recent().date().isoformat()),
            ("provider_npi", f.npi()), ("visit_type", "follow-up")]


B7_FORM_POS = ["intake", "rails", "billpay", "eligibility"]
B7_FORM_NEG = ["login", "npi_lookup", "oauth", "telemetry", "newsletter", "ssn_check", "pharmacy_search", "feedback",
               "checkout_token", "slot_search"]


def b7_form(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    mode = r.choice(["plus", "quote"])
    if pos:
        t = B7_FORM_POS[(idx // 2) % len(B7_FORM_POS)]
        pairs, rec = b7_form_pos(f, idx, t)
        kinds, vals = rec.all_kinds(), rec.values()
    else:
        t = B7_FORM_NEG[(idx // 2) % len(B7_FORM_NEG)]
        pairs, kinds, vals = b7_form_neg(f, t), [], []
    if large:
        pairs = place(pairs, lambda: (f"x_{f.hexhash(6)}", f.b64(60)), large, where, unit_len=lambda u: len(u[0]) + len(u[1]) + 2)
    return Sample(b7_form_enc(pairs, mode), pos, kinds, f"form/b7/{t}/{mode}", "txt", vals)


# ---------------------------------------------------------------- blind7 multipart

def b7_mp(parts, b: str) -> bytes:
    out = b""
    for headers, body in parts:
        out += f"--{b}\r\n".encode() + "".join(h + "\r\n" for h in headers).encode() + b"\r\n"
        out += body if isinstance(body, bytes) else body.encode()
        out += b"\r\n"
    return out + f"--{b}--\r\n".encode()


def b7_mp_field(name, val):
    return ([f'Content-Disposition: form-data; name="{name}"'], str(val))


def b7_mp_file(name, fname, ctype, data):
    return ([f'Content-Disposition: form-data; name="{name}"; filename="{fname}"', f"Content-Type: {ctype}"], data)


def b7_multipart(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    b = r.choice([f"----WebKitFormBoundary{f.b64(12).replace('+', 'x').replace('/', 'y').replace('=', '')}",
                  f"------------------------{f.hexhash(16)}", f"Boundary_{r.randint(1, 99)}_{r.randint(10**8, 10**9)}"])
    if pos:
        t = ["fields", "csv_upload", "hl7_upload", "json_upload", "referral_txt"][(idx // 2) % 5]
        if t == "hl7_upload":
            segs, kinds, vals = b7_hl7_pos(f, idx, r.choice(B7_HL7_POS))
            parts = [b7_mp_field("interface", "adt-inbound"), b7_mp_file("file", "msg.hl7", "application/hl7-v2", "\r".join(segs) + "\r")]
        elif t == "json_upload":
            res, kinds, rec = b7_fhir_pos(f, idx, "patient")
            vals = [(k, rec.birth.isoformat() if k == "dob" else rec.v[k]) for k in rec.kinds if k not in ("mrn", "member_id", "account_number")]
            parts = [b7_mp_field("type", "fhir"), b7_mp_file("upload", "patient.json", "application/fhir+json", jdump(res, 2))]
        else:
            rec = B7Rec(f, b7_pick(f, idx), nokw_ok=(t == "fields"))
            kinds, vals = rec.all_kinds(), rec.values()
            if t == "fields":
                parts = [b7_mp_field("patient_name", rec.name)] + [b7_mp_field(k, v) for k, v in rec.pairs(f, "snake")]
                parts.append(b7_mp_file("insurance_card", "card_front.png", "image/png", fake_png(f, r.randint(80, 400))))
            elif t == "csv_upload":
                header = ["Patient Name"] + [B7_CSV_HEAD[k][0] for k in rec.kinds]
                body = b7_csv_text(header, [[rec.name] + [rec.v[k] for k in rec.kinds]], ",", "\r\n")
                parts = [b7_mp_field("batch", f.uuid()), b7_mp_file("file", "intake_batch.csv", "text/csv", body)]
            else:
                txt = (f"Referral to {r.choice(PROVIDER_SPECIALTIES)}\nPatient: {rec.name}\n" + "\n".join(rec.phrases(f))
                       + f"\nReason: {r.choice(CONDITIONS)}\n")
                parts = [b7_mp_field("to_fax", f.clinic_phone()), b7_mp_file("doc", "referral.txt", "text/plain", txt)]
    else:
        t = ["png", "pdf", "roster_csv", "yaml_config", "metrics_json", "release_notes"][(idx // 2) % 6]
        kinds, vals = [], []
        if t == "png":
            parts = [b7_mp_field("album", "lobby-photos"), b7_mp_file("photo", f"IMG_{r.randint(1000, 9999)}.png", "image/png", fake_png(f, r.randint(200, 3000)))]
        elif t == "pdf":
            pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
                   b"trailer<</Root 1 0 R>>\n%%EOF\n")
            parts = [b7_mp_field("form", "blank-consent-template"), b7_mp_file("file", "consent_blank.pdf", "application/pdf", pdf)]
        elif t == "roster_csv":
            header, gen = b7_csv_neg(f, r.choice(["nppes", "dea_roster"]))
            parts = [b7_mp_file("roster", "providers.csv", "text/csv", b7_csv_text(header, [gen() for _ in range(r.randint(2, 10))], ",", "\n"))]
        elif t == "yaml_config":
            y = (f"service: eligibility-sync\nschedule: \"0 2 * * *\"\nmask:\n  ssn: last4\n  dob: year_only\n  mrn: hash\n"
                 f"retry: {r.randint(1, 5)}\ntimeout_ms: {r.randint(1000, 60000)}\nbuild: {f.hexhash(40)}\n")
            parts = [b7_mp_file("config", "sync.yaml", "application/yaml", y)]
        elif t == "metrics_json":
            parts = [b7_mp_file("report", "daily.json", "application/json",
                                jdump({"date": f.recent().date().isoformat(), "visits": r.randint(100, 9000), "no_shows": r.randint(0, 300),
                                       "avg_wait_min": round(r.uniform(3, 50), 1), "run": f.uuid()}))]
        else:
            parts = [b7_mp_field("version", f"4.{r.randint(0, 20)}.{r.randint(0, 9)}"),
                     b7_mp_file("notes", "CHANGELOG.txt", "text/plain",
                                "- SSN fields are now masked to the last four digits in all exports\n"
                                "- DOB picker accepts MM/DD/YYYY and YYYY-MM-DD\n- MRN search is exact-match only\n"
                                f"- fixed crash on empty member ID (ticket {r.randint(1000, 9999)})\n")]
    if large:
        parts = place(parts, lambda: b7_mp_file("blob", f"chunk{r.randint(1, 999)}.bin", "application/octet-stream", fake_png(f, 4000)),
                      large, where, unit_len=lambda u: len(u[1]) + 120)
    return Sample(b7_mp(parts, b), pos, kinds, f"multipart/b7/{t}", "txt", vals)


# ---------------------------------------------------------------- blind7 notes

B7_NOTE_BODY = ["Subjective: reports fatigue and polyuria for two weeks.", "Objective: BP 148/92, HR 88, afebrile.",
                "Assessment: " + "poorly controlled type 2 diabetes.", "Plan: increase basal insulin by 2 units, recheck in 3 months.",
                "Reviewed labs with the patient; questions answered.", "Foot exam normal; monofilament intact bilaterally.",
                "Lungs clear to auscultation; no wheeze.", "Continue current regimen; return precautions given."]


def b7_note_filler(f: Faker) -> str:
    return f.r.choice(B7_NOTE_BODY)


def b7_note(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        t = ["progress", "referral", "discharge", "phone_encounter", "ed_triage", "prior_auth", "rx_note"][(idx // 2) % 7]
        rec = B7Rec(f, b7_pick(f, idx))
        ph = rec.phrases(f)
        if t == "rx_note":
            rec.add_prescriber(f)
            ph.append(f"Prescriber NPI {rec.npi}, DEA {rec.dea}")
        head = {"progress": [f"PROGRESS NOTE - {r.choice(B7_CLINICS)}", f"Patient: {rec.name}"],
                "referral": [f"Dear Dr. {f.last()},", f"I am referring {rec.name} for evaluation of {r.choice(CONDITIONS)}."],
                "discharge": ["DISCHARGE SUMMARY", f"Name: {rec.name}   Unit: {r.choice(B7_DEPTS)}"],
                "phone_encounter": [f"Telephone encounter {f.recent().strftime('%m/%d/%Y %H:%M')}", f"Caller: {rec.name} (self)"],
                "ed_triage": ["ED TRIAGE", f"Pt {rec.name}, arrived by private vehicle, ESI {r.randint(2, 4)}"],
                "prior_auth": [f"To: {r.choice(B7_PAYERS)} Utilization Management", f"Re: prior authorization for {rec.name}"],
                "rx_note": ["Medication reconciliation", f"Patient {rec.name}: {r.choice(MEDS)} continued"]}[t]
        sep = r.choice(["\n", "  ", "; "])
        core = head + [sep.join(ph)]
        lines = core + [b7_note_filler(f) for _ in range(r.randint(1, 4))]
        if large:
            lines = place(core, lambda: b7_note_filler(f), large, where)
        return Sample("\n".join(lines) + "\n", True, rec.all_kinds(), f"note/b7/{t}", "txt", rec.values())
    t = ["deid_case", "newsletter", "placeholder", "ssn_policy", "guideline", "handoff", "qa_minutes", "monograph",
         "protocol", "billing_faq"][(idx // 2) % 10]
    c = r.choice(B7_CLINICS)
    text = {
        "deid_case": [f"Case report: a {r.randint(40, 85)}-year-old {r.choice(['man', 'woman'])} presented with {r.choice(CONDITIONS)}.",
                      "Identifiers were removed per the Safe Harbor method; dates are shifted.",
                      f"HbA1c was {round(r.uniform(6, 12), 1)}% on day {r.randint(1, 40)} of admission."],
        "newsletter": [f"{c} newsletter - {f.recent().strftime('%B %Y')}", "Flu shots are available on walk-in Saturdays.",
                       f"Call our front desk at {f.clinic_phone()} or fax records to {f.clinic_phone()}.",
                       f"Our new address: {f.street()}, {f.city()[0]}."],
        "placeholder": ["Patient Name: {{patient.name}}", "DOB: {{patient.dob}}", "MRN: {{patient.mrn}}", "SSN: ___-__-____",
                        "Member ID: ________________", "Signature: ____________  Date: __/__/____"],
        "ssn_policy": ["Policy 4.12 - Collection of Social Security numbers",
                       "Staff must not ask for the full SSN at check-in; the last four digits (e.g. ***-**-1234) suffice.",
                       "Numbers beginning with 000, 666 or 9 are never valid and must be rejected by registration.",
                       "The date of birth and MRN together are the two-identifier check before any procedure."],
        "guideline": [f"Guideline: {r.choice(CONDITIONS)}", f"Start {r.choice(MEDS)} unless contraindicated.",
                      f"Recheck labs in {r.randint(2, 12)} weeks; target BP below 130/80.",
                      f"Reference: ADA Standards of Care {r.randint(2023, 2026)}, section {r.randint(1, 16)}."],
        "handoff": [f"Shift handoff {r.choice(B7_DEPTS)} {r.choice(['0700', '1900'])}", f"Rm {r.randint(401, 440)}-{r.choice('AB')}: post-op day {r.randint(1, 4)}, pain controlled.",
                    f"Rm {r.randint(401, 440)}-{r.choice('AB')}: on heparin drip, next PTT due {r.randint(1, 12):02d}00.",
                    f"Census {r.randint(10, 32)}; {r.randint(0, 5)} pending admits."],
        "qa_minutes": [f"Quality committee minutes, {f.recent().strftime('%B %d, %Y')}",
                       f"Wrong-patient events: {r.randint(0, 4)}. Duplicate MRN merges this quarter: {r.randint(0, 60)}.",
                       f"Hand hygiene compliance {r.randint(80, 99)}%. Next meeting in {r.randint(2, 6)} weeks."],
        "monograph": [f"{r.choice(MEDS).split()[0].capitalize()} - drug monograph", f"NDC {r.randint(10000, 99999)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
                      "Renal dosing: reduce dose when eGFR < 30 mL/min/1.73m2.", "Storage: 20-25 C."],
        "protocol": [f"Protocol {r.choice(['B7', 'KX', 'QM'])}-{r.randint(100, 999)} v{r.randint(1, 5)}.{r.randint(0, 9)}",
                     "Participants are identified only by study ID (e.g. S0421); no names, SSNs, or dates of birth are collected.",
                     f"Target enrollment: {r.randint(40, 900)} across {r.randint(2, 12)} sites."],
        "billing_faq": ["Where do I find my member ID? It is printed on the front of your insurance card.",
                        "What is my account number? It appears at the top right of your statement.",
                        f"Questions? Billing office: {f.clinic_phone()}, Mon-Fri 8-5."],
    }[t]
    lines = text
    if large:
        lines = place(text, lambda: b7_note_filler(f).replace("the patient", "them"), large, where)
    return Sample("\n".join(lines) + "\n", False, [], f"note/b7/{t}", "txt", [])


# ---------------------------------------------------------------- blind7 logs

def b7_clean_log(f: Faker) -> str:
    r = f.r
    ts = f.recent().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return r.choice([
        f'{f.ip()} - - [{f.recent().strftime("%d/%b/%Y:%H:%M:%S")} +0000] "GET /api/v2/orders/{f.id9()}?since={f.epoch()} HTTP/1.1" 200 {r.randint(90, 9000)} "-" "okhttp/4.12.0"',
        f"{ts} INFO  [scheduler] job=claims-sync run={f.uuid()} took={r.randint(10, 90000)}ms rows={r.randint(0, 99999)}",
        f'{{"ts":{f.epoch()},"level":"debug","msg":"cache hit","key":"{f.hexhash(40)}","trace":"{f.uuid()}"}}',
        f"{ts} WARN  [pool] connection {r.randint(1, 64)} idle for {r.randint(30, 600)}s, evicting",
    ])


def b7_log_pos(f: Faker, t: str, rec: B7Rec) -> str:
    r = f.r
    ts = f.recent().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if t == "logfmt":
        kv = " ".join(f'{k}="{v}"' if " " in str(v) else f"{k}={v}" for k, v in rec.pairs(f, "snake"))
        return f'ts={ts} level=info svc=registration msg="patient updated" {kv}'
    if t == "access_query":
        q = urllib.parse.urlencode([(k, str(v)) for k, v in rec.pairs(f, "camel")])
        return f'{f.ip()} - portal [{f.recent().strftime("%d/%b/%Y:%H:%M:%S")} -0600] "GET /patients/search?{q} HTTP/1.1" 200 {r.randint(200, 4000)}'
    if t == "json_log":
        return json.dumps({"@timestamp": ts, "level": "ERROR", "logger": "c.u.billing.StatementService",
                           "message": "statement render failed", "patient": dict(rec.pairs(f, "camel"))})
    if t == "tostring":
        inner = ", ".join(f"{k}={v}" for k, v in rec.pairs(f, "camel"))
        return f"{ts} DEBUG [http-nio-8080-exec-{r.randint(1, 40)}] PatientDto{{name={rec.name}, {inner}}}"
    if t == "exception":
        return (f"Traceback (most recent call last):\n  File \"/app/merge.py\", line {r.randint(10, 400)}, in merge\n"
                f"    raise DuplicateChart(msg)\nDuplicateChart: chart already exists for {rec.name}: " + "; ".join(rec.phrases(f)))
    # syslog
    return f"<{r.randint(130, 190)}>{f.recent().strftime('%b %d %H:%M:%S')} ifc01 cloverleaf[{r.randint(100, 9999)}]: outbound ADT for {rec.name} " + ", ".join(rec.phrases(f))


def b7_log_neg(f: Faker, t: str) -> str:
    r = f.r
    ts = f.recent().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if t == "ssn_rejected":
        bad, why = f.invalid_ssn()
        return f"{ts} WARN  [validation] rejected ssn={bad} reason={why} request_id={f.uuid()}"
    if t == "masked":
        return f"{ts} INFO  [payments] charge ok card={f.masked_card()} ssn_last4={f.masked_ssn()} amount={f.money()} txn={f.hexhash(20)}"
    if t == "dea_verify":
        last = f.last()
        return f"{ts} INFO  [eprescribe] prescriber {f.first()} {last} npi={f.npi()} dea={f.dea(last)} verified=true"
    if t == "k8s":
        return f'{ts} kubelet[{r.randint(100, 9999)}]: pod fhir-api-{f.hexhash(10)}-{f.hexhash(5)} restarted, exitCode={r.choice([0, 1, 137])}, epoch={f.epoch()}'
    if t == "zero_hits":
        return f"{ts} INFO  [search] patient search returned 0 rows query_hash={f.hexhash(64)} took={r.randint(2, 900)}ms"
    if t == "sql_placeholders":
        return f"{ts} DEBUG [jdbc] SELECT id FROM patients WHERE ssn = ? AND dob = ? AND mrn = ? -- bind count=3 elapsed={r.randint(1, 300)}ms"
    if t == "imei":
        return f"{ts} INFO  [mdm] device enrolled imei={f.imei()} serial=C{f.hexhash(10).upper()} gift={f.gift_card()}"
    if t == "mbi_bad":
        return f"{ts} WARN  [eligibility] mbi format check failed value={f.bad_mbi()} payer=CMS trace={f.uuid()}"
    if t == "claim":
        return f"{ts} INFO  [837] claim {r.randint(10**12, 10**13)} accepted dos={f.recent().date().isoformat()} rendering_npi={f.npi()} check={f.id9()}"
    return b7_clean_log(f)


B7_LOG_POS = ["logfmt", "access_query", "json_log", "tostring", "exception", "syslog"]
B7_LOG_NEG = ["ssn_rejected", "masked", "dea_verify", "k8s", "zero_hits", "sql_placeholders", "imei", "mbi_bad", "claim", "plain"]


def b7_log(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        t = B7_LOG_POS[(idx // 2) % len(B7_LOG_POS)]
        rec = B7Rec(f, b7_pick(f, idx), nokw_ok=t not in ("access_query",))
        core = [b7_log_pos(f, t, rec)]
        kinds, vals = rec.all_kinds(), rec.values()
        if t == "access_query":
            vals = [(k, v) for k, v in vals]  # percent-encoding is decoded by the self-check views
    else:
        t = B7_LOG_NEG[(idx // 2) % len(B7_LOG_NEG)]
        core = [b7_log_neg(f, t) for _ in range(r.randint(1, 3))]
        kinds, vals = [], []
    n = r.randint(2, 12)
    lines = place(core, lambda: b7_clean_log(f), large, where) if large else \
        [b7_clean_log(f) for _ in range(n // 2)] + core + [b7_clean_log(f) for _ in range(n - n // 2)]
    return Sample("\n".join(lines) + "\n", pos, kinds, f"log/b7/{t}", "log", vals)


# ---------------------------------------------------------------- blind7 Prometheus

def b7_prom_block(f: Faker) -> str:
    r = f.r
    m = r.choice(["http_server_requests_seconds", "fhir_api_latency_seconds", "hl7_ack_latency_seconds"])
    route = r.choice(["/patients/{id}", "/claims", "/Patient", "/eligibility"])
    out = [f"# HELP {m} Request latency.", f"# TYPE {m} histogram"]
    acc = 0
    for le in ["0.005", "0.05", "0.25", "1", "5", "+Inf"]:
        acc += r.randint(0, 40000)
        out.append(f'{m}_bucket{{route="{route}",le="{le}"}} {acc}')
    out.append(f'{m}_count{{route="{route}"}} {acc}')
    out.append(f'{m}_sum{{route="{route}"}} {round(r.uniform(10, 99999), 3)}')
    return "\n".join(out)


def b7_prometheus(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        t = ["label", "exemplar", "info"][(idx // 2) % 3]
        rec = B7Rec(f, b7_pick(f, idx), nokw_ok=False)
        labels = ",".join(f'{k}="{v}"' for k, v in rec.pairs(f, "snake"))
        if t == "label":
            core = [f"# TYPE registration_errors_total counter", f'registration_errors_total{{svc="intake",{labels}}} {r.randint(1, 9)}']
        elif t == "exemplar":
            core = ["# TYPE statement_render_seconds histogram",
                    f'statement_render_seconds_bucket{{le="1"}} {r.randint(1, 900)} # {{trace_id="{f.hexhash(32)}",{labels}}} 0.{r.randint(100, 999)} {f.epoch()}.{r.randint(100, 999)}']
        else:
            core = ["# TYPE last_failed_record_info gauge", f'last_failed_record_info{{job="merge",{labels}}} 1']
        kinds, vals = rec.all_kinds(), rec.values()
    else:
        t = ["histogram", "kind_labels", "build_info", "process", "provider_labels", "kafka"][(idx // 2) % 6]
        kinds, vals = [], []
        if t == "histogram":
            core = [b7_prom_block(f)]
        elif t == "kind_labels":
            core = ["# HELP phi_findings_total Findings by detector kind.", "# TYPE phi_findings_total counter"] + \
                   [f'phi_findings_total{{kind="{k}"}} {r.randint(0, 99999)}' for k in ["ssn", "mrn", "dob", "mbi", "member_id", "credit_card"]]
        elif t == "build_info":
            core = [f'app_build_info{{version="3.{r.randint(0, 30)}.{r.randint(0, 9)}",revision="{f.hexhash(40)}",goversion="go1.22.{r.randint(0, 9)}"}} 1']
        elif t == "process":
            core = [f"process_start_time_seconds {f.epoch()}", f"process_resident_memory_bytes {r.randint(10**7, 10**10)}",
                    f"process_cpu_seconds_total {round(r.uniform(1, 10**6), 2)}", f"process_open_fds {r.randint(10, 4000)}"]
        elif t == "provider_labels":
            core = ["# TYPE eprescribe_sent_total counter"] + [f'eprescribe_sent_total{{prescriber_npi="{f.npi()}",site="{r.choice(["bluestem", "tidewater"])}"}} {r.randint(0, 5000)}'
                                                               for _ in range(r.randint(1, 5))]
        else:
            core = [f'kafka_consumergroup_lag{{topic="adt.inbound",partition="{p}"}} {r.randint(0, 10**6)}' for p in range(r.randint(1, 6))] + \
                   [f"kafka_last_offset_timestamp_ms {f.epoch() * 1000 + r.randint(0, 999)}"]
    blocks = place(core, lambda: b7_prom_block(f), large, where) if large else [b7_prom_block(f)] + core
    return Sample("\n".join(blocks) + "\n", pos, kinds, f"prometheus/b7/{t}", "prom", vals)


# ---------------------------------------------------------------- blind7 source code

def b7_code_filler(f: Faker) -> str:
    r = f.r
    return r.choice([f"def _retry_delay(attempt):\n    return min({r.randint(2, 60)}, 2 ** attempt)\n",
                     f"const TIMEOUT_MS = {r.randint(100, 90000)};\n",
                     f"// TODO({f.first().lower()}): remove after migration {r.randint(100, 999)}\n",
                     f"static final String BUILD = \"{f.hexhash(12)}\";\n"])


def b7_source(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    if pos:
        t = ["pytest_fixture", "sql_insert", "yaml_seed", "jest_mock", "java_builder", "ruby_factory"][(idx // 2) % 6]
        rec = B7Rec(f, b7_pick(f, idx), nokw_ok=False)
        if t == "pytest_fixture":
            body = "@pytest.fixture\ndef patient():\n    return {\n" + "".join(
                f"        {json.dumps(k)}: {json.dumps(v)},\n" for k, v in [("name", rec.name)] + rec.pairs(f, "snake")) + "    }\n"
        elif t == "sql_insert":
            cols = ["full_name"] + [style_key(r.choice(B7_KEYS[k]), "snake") for k in rec.kinds]
            vals_sql = ", ".join("'" + str(v).replace("'", "''") + "'" for v in [rec.name] + [rec.v[k] for k in rec.kinds])
            body = f"-- seed for staging\nINSERT INTO patients ({', '.join(cols)})\nVALUES ({vals_sql});\n"
        elif t == "yaml_seed":
            body = "patients:\n  - name: \"" + rec.name + "\"\n" + "".join(f"    {k}: \"{v}\"\n" for k, v in rec.pairs(f, "snake"))
        elif t == "jest_mock":
            body = "const mockPatient = {\n" + "".join(f"  {k}: {json.dumps(str(v))},\n" for k, v in [("displayName", rec.name)] + rec.pairs(f, "camel")) + \
                   "};\n\ntest('renders chart header', () => {\n  render(<Header patient={mockPatient} />);\n});\n"
        elif t == "java_builder":
            body = "Patient p = Patient.builder()\n    .name(\"" + rec.name + "\")\n" + "".join(
                f"    .{k}(\"{v}\")\n" for k, v in rec.pairs(f, "camel")) + "    .build();\n"
        else:
            body = "FactoryBot.define do\n  factory :patient do\n    name { \"" + rec.name + "\" }\n" + "".join(
                f"    {k} {{ \"{v}\" }}\n" for k, v in rec.pairs(f, "snake")) + "  end\nend\n"
        kinds, vals = rec.all_kinds(), rec.values()
    else:
        t = ["ssn_validator", "luhn_tests", "npi_tests", "ddl", "go_struct", "regex_consts", "mbi_tests", "migration",
             "masking_util"][(idx // 2) % 9]
        kinds, vals = [], []
        if t == "ssn_validator":
            bads = [f.invalid_ssn()[0] for _ in range(r.randint(3, 6))]
            body = ("def is_valid_ssn(s: str) -> bool:\n    d = s.replace('-', '')\n    if len(d) != 9 or not d.isdigit():\n        return False\n"
                    "    area, group, serial = d[:3], d[3:5], d[5:]\n    return area not in ('000', '666') and area[0] != '9' and group != '00' and serial != '0000'\n\n\n"
                    "@pytest.mark.parametrize('ssn', [" + ", ".join(repr(b) for b in bads) + "])\ndef test_rejects(ssn):\n    assert not is_valid_ssn(ssn)\n")
        elif t == "luhn_tests":
            bads = [f.luhn_bad16() for _ in range(r.randint(3, 6))]
            body = ("func TestLuhnRejects(t *testing.T) {\n\tfor _, n := range []string{" + ", ".join(f'"{b}"' for b in bads) +
                    "} {\n\t\tif luhn.Valid(n) {\n\t\t\tt.Errorf(\"%s should fail\", n)\n\t\t}\n\t}\n}\n")
        elif t == "npi_tests":
            goods = [f.npi() for _ in range(r.randint(2, 5))]
            body = ("class NpiValidatorTest {\n  @ParameterizedTest\n  @ValueSource(strings = {" + ", ".join(f'"{g}"' for g in goods) +
                    "})\n  void acceptsValidProviderNpis(String npi) {\n    assertTrue(NpiValidator.isValid(npi));\n  }\n}\n")
        elif t == "ddl":
            body = ("CREATE TABLE patient (\n  id BIGSERIAL PRIMARY KEY,\n  mrn VARCHAR(12) NOT NULL UNIQUE,\n  ssn_enc BYTEA,\n"
                    "  dob DATE NOT NULL,\n  member_id VARCHAR(20),\n  email VARCHAR(254),\n  created_at TIMESTAMPTZ DEFAULT now()\n);\n"
                    "CREATE INDEX patient_dob_idx ON patient (dob);\n")
        elif t == "go_struct":
            body = ("type Patient struct {\n\tMRN      string    `json:\"mrn\"`\n\tSSN      string    `json:\"ssn,omitempty\"`\n"
                    "\tDOB      time.Time `json:\"dob\"`\n\tMemberID string    `json:\"memberId\"`\n\tPhone    string    `json:\"phone\"`\n}\n")
        elif t == "regex_consts":
            body = ("SSN_RE = re.compile(r\"\\b(?!000|666|9\\d\\d)\\d{3}-(?!00)\\d{2}-(?!0000)\\d{4}\\b\")\n"
                    "MBI_RE = re.compile(r\"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\\d[AC-HJKMNP-RT-Y]{2}\\d{2}\")\n"
                    "DOB_FORMATS = ('%m/%d/%Y', '%Y-%m-%d')\nMASK = 'XXX-XX-'\n")
        elif t == "mbi_tests":
            bads = [f.bad_mbi() for _ in range(r.randint(2, 5))]
            body = ("describe('mbi', () => {\n  it.each([" + ", ".join(f"'{b}'" for b in bads) +
                    "])('rejects %s', (v) => {\n    expect(isMbi(v)).toBe(false);\n  });\n});\n")
        elif t == "migration":
            body = (f"class AddMemberIdToCoverages < ActiveRecord::Migration[7.{r.randint(0, 1)}]\n  def change\n"
                    "    add_column :coverages, :member_id, :string, limit: 20\n    add_index :coverages, :member_id\n  end\nend\n"
                    f"# version {f.recent().strftime('%Y%m%d%H%M%S')}\n")
        else:
            body = ("export function maskSsn(ssn: string): string {\n  return '***-**-' + ssn.slice(-4);\n}\n"
                    "export const maskCard = (pan: string) => pan.replace(/\\d(?=\\d{4})/g, '*');\n"
                    f"// uuid fixture: {f.uuid()}\n")
    chunks = place([body], lambda: b7_code_filler(f), large, where) if large else [b7_code_filler(f), body]
    return Sample("\n".join(chunks), pos, kinds, f"source/b7/{t}", "txt", vals)


# ---------------------------------------------------------------- blind7 evasions

def b7_gzip(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    inner_fmt = ["json", "log", "hl7", "csv", "fhir", "note"][(idx // 2) % 6]
    s = B7_GEN[inner_fmt](f, idx, pos, large, where)
    mode = r.choice(["gzip", "gzip_mtime0", "zlib", "two_members"])
    if mode == "gzip":
        data = gzip.compress(s.data, compresslevel=r.choice([1, 6, 9]), mtime=f.epoch())
    elif mode == "gzip_mtime0":
        data = gzip.compress(s.data, mtime=0)
    elif mode == "zlib":
        data = zlib.compress(s.data, r.choice([1, 6, 9]))
    else:
        cut = len(s.data) // 2
        data = gzip.compress(s.data[:cut], mtime=0) + gzip.compress(s.data[cut:], mtime=0)
    return Sample(data, pos, s.kinds, f"gzip/b7/{mode}/{s.note}", "gz", s.values)


def esc7_digits_lower(s: str) -> str:  # digits and '-' as \u00xx
    return re.sub(r"[0-9-]", lambda m: "\\u%04x" % ord(m.group(0)), esc_default(s))


def esc7_alnum(s: str) -> str:  # every letter and digit
    return re.sub(r"[A-Za-z0-9]", lambda m: "\\u%04X" % ord(m.group(0)), esc_default(s))


def esc7_every_char(s: str) -> str:
    return "".join("\\u%04x" % ord(c) for c in s)


def esc7_alternate(s: str) -> str:  # every other character
    return "".join(("\\u%04X" % ord(c)) if i % 2 == 0 else esc_default(c) for i, c in enumerate(s))


def b7_json_escape(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    name, esc = r.choice([("digits", esc7_digits_lower), ("alnum", esc7_alnum), ("all", esc7_every_char), ("alternate", esc7_alternate)])
    keys_too = r.random() < 0.4
    if (idx // 2) % 3 == 2:
        s = b7_fhir(f, idx, pos, large, where, esc=esc)
    else:
        s = b7_json(f, idx, pos, large, where, esc=esc, kesc=esc if keys_too else esc_default)
    return Sample(s.data, pos, s.kinds, f"json_escape/b7/{name}{'+keys' if keys_too else ''}/{s.note}", "json", s.values)


def b7_pct(s: str, mode: str) -> str:
    if mode == "all":
        return "".join("%%%02X" % b for b in s.encode())
    if mode == "all_lower":
        return "".join("%%%02x" % b for b in s.encode())
    if mode == "digits":
        return re.sub(r"[0-9@.\-/ +]", lambda m: "%%%02X" % ord(m.group(0)), s)
    return urllib.parse.quote_plus(s)


def b7_percent(f: Faker, idx: int, pos: bool, large: int, where: str) -> Sample:
    r = f.r
    mode = r.choice(["all", "all_lower", "digits", "quote_plus"])
    shape = ["request_line", "form_body", "nested_param", "referer"][(idx // 2) % 4]
    if pos:
        rec = B7Rec(f, b7_pick(f, idx), nokw_ok=False)
        pairs = [(k, str(v)) for k, v in rec.pairs(f, "snake")]
        kinds, vals = rec.all_kinds(), rec.values()
        path = r.choice(["/api/patients/lookup", "/portal/register", "/billing/statement"])
    else:
        t = r.choice(["npi", "order", "ssn_check", "oauth", "slots", "search"])
        pairs = {"npi": [("npi", f.npi()), ("state", f.city()[1])],
                 "order": [("order_id", f.id9()), ("since", str(f.epoch()))],
                 "ssn_check": [("field", "ssn"), ("value", f.invalid_ssn()[0])],
                 "oauth": [("code", f.b64(24)), ("state", f.hexhash(16))],
                 "slots": [("dept", r.choice(B7_DEPTS)), ("date", f.recent().date().isoformat())],
                 "search": [("q", r.choice(CONDITIONS)), ("page", str(r.randint(1, 40)))]}[t]
        kinds, vals = [], []
        path = r.choice(["/api/providers", "/api/orders", "/oauth/callback", "/search"])
        shape = f"{shape}/{t}"
    q = "&".join(f"{k}={b7_pct(v, mode)}" for k, v in pairs)
    base = shape.split("/")[0]
    if base == "request_line":
        core = f"GET {path}?{q} HTTP/1.1\r\nHost: portal.example.org\r\nAccept: application/json\r\n\r\n"
    elif base == "form_body":
        core = f"POST {path} HTTP/1.1\r\nHost: portal.example.org\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{q}"
    elif base == "nested_param":
        inner = "&".join(f"{k}={v}" for k, v in pairs)
        core = f"GET /sso/login?return_to={urllib.parse.quote(path + '?' + inner, safe='')} HTTP/1.1\r\nHost: sso.example.org\r\n\r\n"
    else:
        core = f"GET /static/app.js HTTP/1.1\r\nHost: portal.example.org\r\nReferer: https://portal.example.org{path}?{q}\r\n\r\n"
    if large:
        pad = "".join(place([], lambda: f"X-Pad-{r.randint(1, 9999)}: {f.b64(90)}\r\n", large, where))
        head, _, rest = core.partition("\r\n")
        core = head + "\r\n" + (pad + rest if where != "end" else rest.replace("\r\n\r\n", "\r\n" + pad + "\r\n", 1))
    return Sample(core, pos, kinds, f"percent/b7/{shape}/{mode}", "txt", vals)


B7_GEN = {
    "json": b7_json, "fhir": b7_fhir, "hl7": b7_hl7, "csv": b7_csv, "form": b7_form, "multipart": b7_multipart,
    "note": b7_note, "log": b7_log, "prometheus": b7_prometheus, "source": b7_source, "gzip": b7_gzip,
    "json_escape": b7_json_escape, "percent": b7_percent,
}


# --------------------------------------------------------------------------------------------
# Self-check: an independent oracle over the decoded text of every sample
# --------------------------------------------------------------------------------------------

RE_SSN_SEP = re.compile(r"(\d{3})([- .])(\d{2})\2(\d{4})")
RE_CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
RE_MBI = re.compile(r"(?<![A-Za-z0-9])[1-9][A-Z0-9]{3}-?[A-Z0-9]{3}-?[A-Z0-9]{4}(?![A-Za-z0-9])")
RE_SSN_KW = re.compile(r"ssn|social[ _.-]?security|socialsecurity")
RE_DOB_KW = re.compile(r"dob|birth|d\.o\.b\.?|born")
RE_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{2,4}|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}|\d{8}")
RE_PATIENT_KW = re.compile(r"patient")
RE_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
RE_PHONE = re.compile(r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}")
RE_IDKW = re.compile(r"mrn|medical record|member|subscriber|account|acct|medicare|mbi")


def views(data: bytes) -> list[str]:
    raw = data
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        elif raw[:1] == b"\x78":
            raw = zlib.decompress(raw)
    except Exception:
        pass
    t = raw.decode("latin-1")
    out = [t]
    if "\\u" in t or "\\/" in t:
        out.append(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), t).replace("\\/", "/"))
    for v in list(out):
        if "%" in v or "+" in v:
            out.append(urllib.parse.unquote_plus(v))
    return out


def negative_violations(data: bytes) -> list[str]:
    out = []
    for t in views(data):
        low = t.lower()
        for m in RE_SSN_SEP.finditer(t):
            a, b = m.start(), m.end()
            if (a and (t[a - 1].isdigit() or t[a - 1] in ".-")) or (b < len(t) and (t[b].isdigit() or t[b] == "-")):
                continue
            if ssn_ok(m.group(1) + m.group(3) + m.group(4)):
                out.append("ssn_separated")
        for m in RE_CARD.finditer(t):
            d = re.sub(r"\D", "", m.group(0))
            if card_ok(d):
                out.append("card")
        for m in RE_MBI.finditer(t):
            if mbi_ok(m.group(0)):
                out.append("mbi")
        for m in RE_SSN_KW.finditer(low):
            win = t[m.end():m.end() + 30]
            for d in re.findall(r"(?<!\d)\d{9}(?!\d)", win):
                if ssn_ok(d):
                    out.append("ssn_bare_kw")
        for m in RE_DOB_KW.finditer(low):
            if RE_DATE.search(t[m.end():m.end() + 30]):
                out.append("dob_kw")
        for m in RE_PATIENT_KW.finditer(low):
            win = t[m.end():m.end() + 30]
            if RE_EMAIL.search(win):
                out.append("patient_email")
            if RE_PHONE.search(win):
                out.append("patient_phone")
        for m in RE_IDKW.finditer(low):
            if re.search(r"\d{6,}", t[m.end():m.end() + 20]):
                out.append("id_kw")
        if re.search(r"(^|[\r\n\x0b])PID\|", t):
            out.append("hl7_pid")
        if re.search(r'"resourceType"\s*:\s*"Patient"|<Patient[\s>]', t):
            out.append("fhir_patient")
    return sorted(set(out))


def check_positive(s: Sample) -> list[str]:
    errs = []
    if not s.kinds:
        errs.append("no kinds")
    text = "\n".join(views(s.data))
    for kind, v in s.values:
        if v not in text:
            errs.append(f"{kind} value missing")
        d = re.sub(r"\D", "", v)
        if kind == "ssn" and not ssn_ok(d):
            errs.append("ssn invalid")
        if kind == "mbi" and not mbi_ok(v):
            errs.append("mbi invalid")
        if kind == "credit_card" and not card_ok(d):
            errs.append("card invalid")
        if kind == "npi" and not npi_ok(v):
            errs.append("npi invalid")
        if kind == "dea" and not dea_ok(v):
            errs.append("dea invalid")
    for k in s.kinds:
        if k not in KINDS:
            errs.append(f"unknown kind {k}")
    return errs


def self_test():
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert npi_ok("1234567893") and not npi_ok("1234567890")
    assert ssn_ok("123456789") and not ssn_ok("000123456") and not ssn_ok("666123456")
    assert not ssn_ok("900123456") and not ssn_ok("123006789") and not ssn_ok("123450000")
    assert mbi_ok("1EG4TE5MK73") and mbi_ok("1EG4-TE5-MK73") and not mbi_ok("1EG4TE5MK7S") and not mbi_ok("0EG4TE5MK73")
    assert dea_ok("AB1234563") and not dea_ok("AB1234564")
    assert card_ok("4111111111111111") and not card_ok("4111111111111112") and not card_ok("9111111111111119")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def generate(out: str, seed: int, per_format: int, families: list[str], formats: list[str],
             large_every: int = 20) -> dict:
    labels = []
    stats = {"rerolled": 0}
    for fam in families:
        for fmt in formats:
            os.makedirs(os.path.join(out, fmt), exist_ok=True)
            for i in range(per_format):
                pos = i % 2 == 0
                for attempt in range(50):
                    rng = random.Random(f"{seed}/{fam}/{fmt}/{i}/{attempt}")
                    f = {"fresh": FreshFaker, "blind4": Blind4Faker, "blind5": Blind5Faker, "blind6": Blind6Faker, "blind7": Blind7Faker}.get(fam, Faker)(rng, fam)
                    large = rng.randint(100_000, 400_000) if i % large_every in (7, 12) else 0
                    where = ["start", "middle", "end"][(i // large_every + i) % 3]
                    s = {"fresh": FRESH_GEN, "blind4": B4_GEN, "blind5": B5_GEN, "blind6": B6_GEN, "blind7": B7_GEN}.get(fam, GEN)[fmt](f, i, pos, large, where)
                    assert s.phi == pos, (fmt, s.note)
                    if pos:
                        errs = check_positive(s)
                        if errs:
                            raise AssertionError(f"{fmt}/{fam}/{i}: {s.note}: {errs}")
                        break
                    bad = negative_violations(s.data)
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-format", type=int, default=40)
    ap.add_argument("--family", choices=["train", "holdout", "fresh", "blind4", "blind5", "blind6", "blind7", "both", "all"], default="train",
                    help="both = train + holdout; all = train + holdout + fresh + blind4 + blind5 + blind6 + blind7")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated subset")
    ap.add_argument("--large-every", type=int, default=20,
                    help="two samples in every N are large bodies (100-400 KB)")
    a = ap.parse_args(argv)
    self_test()
    fams = {"both": ["train", "holdout"], "all": ["train", "holdout", "fresh", "blind4", "blind5", "blind6", "blind7"]}.get(a.family, [a.family])
    fmts = [x for x in a.formats.split(",") if x]
    for x in fmts:
        if x not in GEN:
            ap.error(f"unknown format {x}")
    os.makedirs(a.out, exist_ok=True)
    stats = generate(a.out, a.seed, a.per_format, fams, fmts, a.large_every)
    print(f"gen.py: {stats['samples']} samples in {a.out} (families {','.join(fams)}, seed {a.seed}; "
          f"{stats['rerolled']} negatives re-drawn by the self-check)", file=sys.stderr)


if __name__ == "__main__":
    main()
