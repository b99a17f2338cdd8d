"""The `blind7` family (`Blind7Faker`, `B7_GEN`).
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.parse
import zlib

from ..core import (
    luhn_complete, mbi_ok, card_ok, NAMES, STREETS, CITIES, PROVIDER_SPECIALTIES, CONDITIONS, MEDS,
    STYLES, CONTEXT_FREE, style_key, Faker, ident_value, esc_default, jdump, Sample, place
)
from .train_holdout import (
    _xml_attr, pid, pv1, fake_png
)


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
