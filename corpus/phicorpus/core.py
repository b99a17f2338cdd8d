"""Shared core of the corpus generator: validators of generated values (Luhn, SSN, MBI, NPI, DEA,
card issuers), the train/holdout vocabulary and key styles, the seeded `Faker` every family builds
on, patient records, phrases, the JSON writer with pluggable escaping, `Sample` and `place`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re


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
