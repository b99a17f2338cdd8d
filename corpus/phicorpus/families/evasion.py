"""The `evasion` family: ordinary patient data in the encodings careless clients and libraries put on
the wire, and clean look-alikes in the same encodings.

Written from the real-world forms of each encoding (RFC 4648 base64/base64url, JWS compact
serialisation, RFC 2397 `data:` URIs, RFC 2045 base64 and quoted-printable transfer encodings,
UTF-16 with and without byte-order mark as .NET, Java, PowerShell and Excel write it, HTML/XML
character references and HTML5 named entities, percent-encoding applied two or three times, Unicode
compatibility characters, gzip/zlib/raw deflate/zip), not from phimesh's detectors (`detect/` was
not read). Formats are encoding groups (`base64`, `utf16`, `html_entity`, `percent2`, `unicode`,
`qp`, `compress`, `combo`); each sample's note is `evasion/<encoding>/<template>` for a positive and
`evasion/<encoding>/neg/<template>` for a negative, so misses can be grouped by encoding.

A sample's values are checked by this module's own self-check: `deep_views` decodes the bytes with
the standard library alone (gzip, zlib, raw deflate, zip, MIME parts, UTF-16, base64 runs, HTML
references, repeated percent-decoding, quoted-printable, `\\u` escapes, NFKC plus the Unicode
dashes, spaces and decimal digits) and the shared oracle runs over every view of a negative; every
positive's values must appear in some view, and the values a variant encodes must not appear in
the raw bytes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import gzip
import hashlib
import html
import io
import json
import quopri
import re
import unicodedata
import urllib.parse
import zipfile
import zlib

from .. import oracle
from ..core import (
    CITIES, KINDS, NAMES, STREETS, STYLES, Faker, Sample, card_ok, dea_ok, mbi_ok, npi_ok, place,
    ssn_ok,
)
from .train_holdout import fake_png

FAM = "evasion"

NAMES[FAM] = (
    "Anneliese Bram Calla Dario Elspeth Fintan Gisela Hamid Ilse Joaquin Katell Lorcan Maelle "
    "Nuno Oona Pilar Quilla Rafferty Saoirse Tobias Ulla Vasco Wilma Xander Yara Zuri".split(),
    "Achterberg Brannigan Castellano Dufresne Eberhardt Faraday Gallagher Halvorsen Ibarra "
    "Jankowski Kavanagh Lindgren Moreau Norrington Oyelaran Prentice Quarles Rinaldi Sorensen "
    "Tremblay Uhlmann Valdivia Wainwright Yilmaz Zamora".split(),
)
ACCENTED = ("José Zoë Renée Björn Siobhán Inés Léa Søren Raúl Hélène".split(),
            "Peña Müller Nuñez Ødegaard Gómez Lefèvre Sánchez Brontë".split())
STREETS[FAM] = ["Quillmate Rd", "Harrow Glen Ct", "Tidewater Ln", "Sable Point Dr", "Orchard Bend Way"]
CITIES[FAM] = [("Bellmont", "OR"), ("Carver Falls", "WI"), ("East Hadley", "MA"), ("Pine Bluff", "AR")]
STYLES[FAM] = ["snake", "camel"]

CLINICS = ["Riverside Family Clinic", "Northgate Imaging Center", "Lakeshore Pediatrics",
           "Summit Orthopedics", "Harborview Dermatology", "Cedar Valley Cardiology"]
SPECIALTIES = ["Family Medicine", "Radiology", "Pediatrics", "Orthopedic Surgery", "Dermatology",
               "Cardiology"]
COMPLAINTS = ["follow-up of hypertension", "persistent cough", "left knee pain", "annual physical",
              "medication review", "post-operative check", "migraine", "elevated A1c"]


class EvasionFaker(Faker):
    """Ordinary US written forms of each value (the generator's value makers, fewer spellings)."""

    def fmt_name(self, first, last):
        return self.r.choice([f"{first} {last}", f"{first} {last}", f"{last}, {first}"])

    def accented_name(self):
        r = self.r
        if r.random() < 0.5:
            return r.choice(ACCENTED[0]), r.choice(NAMES[FAM][1] + ACCENTED[1])
        return r.choice(NAMES[FAM][0]), r.choice(ACCENTED[1])

    def phone(self):
        a, e, n = self.r.randint(201, 989), self.r.randint(201, 989), self.r.randint(0, 9999)
        return self.r.choice([f"({a}) {e}-{n:04d}", f"{a}-{e}-{n:04d}", f"{a}.{e}.{n:04d}"])

    def fmt_date(self, d):
        return self.r.choice([d.strftime("%m/%d/%Y"), d.isoformat(), d.strftime("%m-%d-%Y")])

    def ssn(self, bare_ok=True):
        d = self.ssn_digits()
        o = self.r.choice(["dash", "dash", "dash", "space", "bare"] if bare_ok else ["dash", "dash", "space"])
        sep = {"dash": "-", "space": " ", "bare": ""}[o]
        return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}", o

    def mrn(self):
        r = self.r
        return r.choice([f"{r.randint(1, 10**8 - 1):08d}", str(r.randint(10**6, 10**7 - 1)),
                         f"E{r.randint(10**6, 10**7 - 1)}"])

    def money(self):
        return f"{self.r.randint(3, 2400)}.{self.r.randint(0, 99):02d}"

    def clean_ssn_masked(self):
        t = f"{self.r.randint(1, 9999):04d}"
        return self.r.choice([f"***-**-{t}", f"XXX-XX-{t}", f"xxx-xx-{t}"])


# --------------------------------------------------------------------------------------------
# Records: a list of (tag, shown, kind); values (kind, plain) for the self-check
# --------------------------------------------------------------------------------------------

LABELS = {  # tag: (snake, camel, title)
    "ssn": ("ssn", "ssn", "SSN"),
    "ssn_long": ("social_security_number", "socialSecurityNumber", "Social Security Number"),
    "mrn": ("mrn", "mrn", "MRN"),
    "mrn_long": ("medical_record_number", "medicalRecordNumber", "Medical Record Number"),
    "dob": ("dob", "dob", "DOB"),
    "dob_long": ("date_of_birth", "dateOfBirth", "Date of Birth"),
    "birth_date": ("birth_date", "birthDate", "Birth Date"),
    "card": ("card_number", "cardNumber", "Card Number"),
    "mbi": ("medicare_mbi", "medicareMbi", "Medicare MBI"),
    "name": ("patient_name", "patientName", "Patient Name"),
    "phone": ("patient_phone", "patientPhone", "Patient Phone"),
    "email": ("patient_email", "patientEmail", "Patient Email"),
    "visit_id": ("visit_id", "visitId", "Visit ID"),
    "reason": ("reason", "reason", "Reason"),
    "updated_at": ("updated_at", "updatedAt", "Updated"),
    "order_id": ("order_id", "orderId", "Order ID"),
    "placed_at": ("placed_at", "placedAt", "Placed"),
    "total": ("total", "total", "Total"),
    "tracking": ("tracking_number", "trackingNumber", "Tracking Number"),
    "confirmation": ("confirmation", "confirmation", "Confirmation"),
    "sku": ("sku", "sku", "SKU"),
    "qty": ("qty", "qty", "Qty"),
    "request_id": ("request_id", "requestId", "Request ID"),
    "error": ("error", "error", "Error"),
    "field": ("field", "field", "Field"),
    "rejected": ("rejected_value", "rejectedValue", "Rejected Value"),
    "message": ("message", "message", "Message"),
    "status": ("status", "status", "Status"),
    "clinic": ("clinic", "clinic", "Clinic"),
    "clinic_phone": ("clinic_phone", "clinicPhone", "Clinic Phone"),
    "fax": ("fax", "fax", "Fax"),
    "address": ("address", "address", "Address"),
    "hours": ("hours", "hours", "Hours"),
    "provider": ("provider", "provider", "Provider"),
    "npi": ("npi", "npi", "NPI"),
    "specialty": ("specialty", "specialty", "Specialty"),
    "slot": ("slot_start", "slotStart", "Slot Start"),
    "duration": ("duration_min", "durationMin", "Duration (min)"),
    "room": ("room", "room", "Room"),
    "route": ("route", "route", "Route"),
    "latency": ("latency_ms", "latencyMs", "Latency (ms)"),
    "bytes": ("bytes", "bytes", "Bytes"),
    "ts": ("timestamp", "timestamp", "Timestamp"),
}
KIND_TAGS = {"ssn": ["ssn", "ssn", "ssn_long"], "mrn": ["mrn", "mrn", "mrn_long"],
             "dob": ["dob", "dob_long", "birth_date"], "credit_card": ["card"], "mbi": ["mbi"],
             "patient_name": ["name"], "patient_phone": ["phone"], "patient_email": ["email"]}
ROOT = {"patient": ("patient", "Patient", "Patient record"), "order": ("order", "Order", "Order"),
        "invalid_ssn": ("error", "ValidationError", "Validation error"),
        "masked": ("verification", "Verification", "Identity check (masked)"),
        "clinic": ("clinic", "Clinic", "Clinic information"), "provider": ("provider", "Provider", "Provider"),
        "slots": ("slot", "Slot", "Open appointment"), "telemetry": ("request", "Request", "Request")}
NEG_WHATS = ["order", "invalid_ssn", "masked", "clinic", "provider", "slots", "telemetry"]

# kind pools: ALL for encodings that hide every value; CONTEXT where values stay readable and only
# the keyword/value adjacency is encoded (no context-free separated SSN or card there)
POOL_ALL = ["ssn", "dob", "mrn", "credit_card", "patient_phone", "patient_name", "ssn", "mbi", "patient_email"]
POOL_CONTEXT = ["ssn", "dob", "mrn", "patient_phone", "patient_name"]
POOL_DIGITS = ["ssn", "dob", "mrn", "credit_card", "patient_phone", "mbi"]


def label(tag: str, style: str) -> str:
    s, c, t = LABELS[tag]
    if style == "snake":
        return s
    if style == "camel":
        return c
    if style == "title":
        return t
    if style == "upper":
        return s.upper()
    if style == "xml":
        return "".join(w[:1].upper() + w[1:] for w in re.sub(r"[()]", "", t).split())
    raise ValueError(style)


def ident(v, kind=None, tag=None):
    return v


class Doc:
    """A record; `vt(plain, kind, tag)` renders every value as the variant encodes it (returning
    the shown text, or (shown, plain) when the plain form changes, e.g. a date re-spelled)."""

    def __init__(self, pos: bool, what: str, vt=None):
        self.pos = pos
        self.what = what
        self.vt = vt or ident
        self.fields: list[tuple[str, str, str | None]] = []
        self.kinds: set[str] = set()
        self.values: list[tuple[str, str]] = []
        self.hidden: list[str] = []  # plain values that must not be readable in the raw bytes

    def add(self, tag, plain, kind=None, vt=None):
        plain = str(plain)
        shown, plain = vt_apply(vt or self.vt, plain, kind, tag)
        self.fields.append((tag, shown, kind))
        if kind:
            self.kinds.add(kind)
            self.values.append((kind, plain))
            if plain not in shown:
                self.hidden.append(plain)


def vt_apply(vt, plain, kind, tag):
    out = vt(plain, kind, tag)
    if isinstance(out, tuple):
        return out
    return out, plain


def kind_value(f: EvasionFaker, kind: str, person, mode: str):
    """A value of kind; mode 'any' (common forms), 'bare' (SSN digits only), 'sep' (separated)."""
    r = f.r
    if kind == "ssn":
        if mode == "bare":
            return f.ssn_digits()
        return f.ssn(bare_ok=(mode == "any"))[0]
    if kind == "credit_card":
        v = f.card()
        while mode == "sep" and v.isdigit():
            v = f.card()
        return v
    if kind == "mbi":
        return f.mbi(dashed=True if mode == "sep" else None)
    if kind == "mrn":
        return f.mrn()
    if kind == "dob":
        return f.fmt_date(f.birth())
    if kind == "patient_phone":
        return f.phone()
    if kind == "patient_name":
        return f.fmt_name(*person)
    if kind == "patient_email":
        return f.email(*person)
    raise ValueError(kind)


def pick(f: Faker, k: int, pool: list[str]) -> list[str]:
    """k-th positive of a variant: alternately one identifier (round-robin over the pool) or a
    record of 2-4 identifiers."""
    if k % 2 == 0:
        return [pool[(k // 2) % len(pool)]]
    uniq = list(dict.fromkeys(pool))
    return f.r.sample(uniq, min(len(uniq), f.r.randint(2, 4)))


def patient_doc(f: EvasionFaker, kinds: list[str], mode="any", vt=ident, person=None, extras=True) -> Doc:
    d = Doc(True, "patient", vt)
    r = f.r
    person = person or f.name_parts()
    if extras and r.random() < 0.4:
        d.add("visit_id", f.uuid())
    for k in kinds:
        d.add(r.choice(KIND_TAGS[k]), kind_value(f, k, person, mode), k)
    if extras and r.random() < 0.4:
        d.add("reason", r.choice(COMPLAINTS))
    if extras and r.random() < 0.3:
        d.add("updated_at", f.iso_ts())
    return d


INVALID_MSG = {"area000": "SSN area 000 is never issued", "area666": "SSN area 666 is never issued",
               "area9xx": "SSN areas 900-999 are not issued", "group00": "SSN group 00 is never issued",
               "serial0000": "SSN serial 0000 is never issued"}


def neg_doc(f: EvasionFaker, what: str, vt=ident) -> Doc:
    d = Doc(False, what, vt)
    r = f.r
    if what == "order":
        d.add("order_id", r.choice([f"ORD-{r.randint(10**6, 10**7 - 1)}", f.id9()]))
        d.add("placed_at", f.recent().date().isoformat())
        d.add("sku", f"SKU-{r.randint(1000, 99999)}")
        d.add("qty", r.randint(1, 9))
        d.add("total", f.money())
        if r.random() < 0.5:
            d.add("tracking", f.luhn_bad16())
        if r.random() < 0.4:
            d.add("confirmation", f.confirmation())
    elif what == "invalid_ssn":
        v, why = f.invalid_ssn()
        if "-" not in v and r.random() < 0.7:
            v = f"{v[:3]}-{v[3:5]}-{v[5:]}"
        d.add("error", "validation_failed")
        d.add("field", "ssn")
        d.add("rejected", v)
        d.add("message", INVALID_MSG[why])
    elif what == "masked":
        d.add("ssn", f.clean_ssn_masked())
        if r.random() < 0.6:
            d.add("card", f.masked_card())
        if r.random() < 0.5:
            d.add("dob", r.choice(["**/**/****", "XX/XX/XXXX", "[redacted]"]))
        if r.random() < 0.5:
            d.add("phone", f"(***) ***-{r.randint(0, 9999):04d}")
        d.add("status", r.choice(["verified", "pending_review", "mismatch"]))
    elif what == "clinic":
        d.add("clinic", r.choice(CLINICS))
        d.add("clinic_phone", f.phone())
        if r.random() < 0.5:
            d.add("fax", f.phone())
        city, st = f.city()
        d.add("address", f"{f.street()}, {city}, {st} {f.zipcode()}")
        d.add("hours", r.choice(["Mon-Fri 8:00-17:00", "Mon-Thu 7:30-18:00, Fri 7:30-12:00"]))
    elif what == "provider":
        d.add("provider", f"Dr. {f.first()} {f.last()}")
        d.add("npi", f.npi())
        d.add("specialty", r.choice(SPECIALTIES))
        d.add("clinic_phone", f.phone())
    elif what == "slots":
        t = f.recent().replace(minute=r.choice([0, 15, 30, 45]), second=0)
        d.add("slot", t.strftime(r.choice(["%Y-%m-%dT%H:%M:00", "%m/%d/%Y %H:%M"])))
        d.add("duration", r.choice([15, 20, 30, 45]))
        d.add("room", f"{r.choice('ABCD')}-{r.randint(1, 40)}")
        d.add("provider", f"Dr. {f.last()}")
    elif what == "telemetry":
        d.add("request_id", f.uuid())
        d.add("route", r.choice([f"/v1/orders/{f.id9()}", "/healthz", f"/v2/carts/{f.uuid()}"]))
        d.add("latency", r.randint(1, 2400))
        d.add("bytes", r.randint(100, 90000))
        d.add("ts", f.epoch() * 1000 + r.randint(0, 999))
    else:
        raise ValueError(what)
    return d


def any_doc(f: EvasionFaker, pos: bool, k: int, pool=POOL_ALL, mode="any", vt=ident, whats=NEG_WHATS) -> Doc:
    if pos:
        return patient_doc(f, pick(f, k, pool), mode, vt)
    return neg_doc(f, f.r.choice(whats), vt)


# --------------------------------------------------------------------------------------------
# Shapes: a Doc rendered as JSON, CSV, a note, log lines, a form body, XML, HTML or HL7 v2
# --------------------------------------------------------------------------------------------


def xml_esc(s: str) -> str:
    return html.escape(s, quote=False)


def filler_doc(f: EvasionFaker) -> Doc:
    return neg_doc(f, f.r.choice(["order", "slots", "telemetry"]))


def sized(core_units: list, filler, large: int, where: str, unit_len=None) -> list:
    return place(core_units, filler, large, where, unit_len) if large else core_units


def r_json(f: EvasionFaker, d: Doc, large=0, where="start", style=None, kt=ident, ensure_ascii=False,
           indent=None) -> str:
    style = style or f.style
    obj = {kt(label(t, style)): v for t, v, _ in d.fields}
    if large:
        items = sized([obj], lambda: {label(t, style): v for t, v, _ in filler_doc(f).fields}, large, where,
                      lambda u: len(json.dumps(u)))
        return json.dumps({"results": items, "count": len(items)}, ensure_ascii=ensure_ascii, indent=indent)
    wrap = f.r.choice([None, ROOT[d.what][0], "data"])
    return json.dumps({kt(wrap): obj} if wrap else obj, ensure_ascii=ensure_ascii, indent=indent)


def csv_line(cells, delim):
    out = []
    for c in cells:
        c = str(c)
        out.append('"' + c.replace('"', '""') + '"' if (delim in c or '"' in c or "," in c) else c)
    return delim.join(out)


def r_csv(f: EvasionFaker, d: Doc, large=0, where="start", delim=",", eol="\r\n", kt=ident) -> str:
    table = csv_line([kt(label(t, "title")) for t, _, _ in d.fields], delim) + eol + \
        csv_line([v for _, v, _ in d.fields], delim) + eol
    if not large:
        return table
    head = csv_line(["Order ID", "Placed", "SKU", "Qty", "Total"], delim)

    def row():
        r = f.r
        return csv_line([f"ORD-{r.randint(10**6, 10**7 - 1)}", f.recent().date().isoformat(),
                         f"SKU-{r.randint(1000, 99999)}", str(r.randint(1, 9)), f.money()], delim)
    rows = place(["#CORE#"], row, large, where)
    i = rows.index("#CORE#")
    before, after = rows[:i], rows[i + 1:]

    def sect(rs):
        return eol + "Orders" + eol + head + eol + eol.join(rs) + eol + eol
    return (sect(before) if before else "") + table + (sect(after) if after else "")


def note_filler(f: EvasionFaker) -> str:
    r = f.r
    return r.choice([
        f"Vitals: BP {r.randint(100, 160)}/{r.randint(60, 95)}, HR {r.randint(55, 105)}, T {r.randint(361, 383) / 10} C.",
        f"Plan: continue current medications; recheck in {r.randint(2, 12)} weeks.",
        f"Assessment: {r.choice(COMPLAINTS)}, {r.choice(['stable', 'improving', 'unchanged'])}.",
        f"Clinic hours are Monday to Friday, 8 am to 5 pm; {r.choice(CLINICS)} closes on public holidays.",
    ])


def r_note(f: EvasionFaker, d: Doc, large=0, where="start", kt=ident, eol="\n") -> str:
    r = f.r
    lines = [ROOT[d.what][2] if d.pos or r.random() < 0.5 else r.choice(CLINICS)]
    lines += [f"{kt(label(t, 'title'))}: {v}" for t, v, _ in d.fields]
    body = eol.join(lines) + eol
    if d.pos:
        body += r.choice(COMPLAINTS).capitalize() + ". " + note_filler(f) + eol
    if large:
        return eol.join(sized([body], lambda: note_filler(f), large, where)) + eol
    return body


def log_line(f: EvasionFaker, d: Doc, kt=ident) -> str:
    kv = " ".join(f"{kt(label(t, 'snake'))}=" + (f'"{v}"' if " " in v else v) for t, v, _ in d.fields)
    lvl = "INFO" if d.pos or d.what != "invalid_ssn" else "WARN"
    msg = {"patient": "patient lookup", "order": "order shipped", "invalid_ssn": "validation failed",
           "masked": "identity check", "clinic": "clinic directory", "provider": "provider lookup",
           "slots": "slot offered", "telemetry": "request done"}[d.what]
    return f"{f.iso_ts()} {lvl} [{f.r.choice(['intake-api', 'portal', 'worker-3'])}] {msg} {kv}"


def r_log(f: EvasionFaker, d: Doc, large=0, where="start", kt=ident, eol="\n") -> str:
    core = log_line(f, d, kt)
    units = place([core], lambda: log_line(f, filler_doc(f)), large or f.r.randint(1, 300), where)
    return eol.join(units) + eol


def form_enc(v: str) -> str:
    return urllib.parse.quote_plus(v, safe="")


def r_form(f: EvasionFaker, d: Doc, large=0, where="start", kt=ident, escape=True, style="snake") -> str:
    enc = form_enc if escape else ident
    pairs = [f"{kt(label(t, style))}={enc(v)}" for t, v, _ in d.fields]
    if f.r.random() < 0.5:
        pairs.append(f"csrf_token={f.hexhash(32)}")
    core = "&".join(pairs)
    if large:
        n = [0]

        def fill():
            n[0] += 1
            return f"opt{n[0]}={f.hexhash(24)}"
        return "&".join(sized([core], fill, large, where))
    return core


def r_xml(f: EvasionFaker, d: Doc, large=0, where="start", kt=ident, escape=True, decl=True,
          encoding="UTF-8") -> str:
    enc = xml_esc if escape else ident
    root = ROOT[d.what][1]
    inner = "".join(f"  <{label(t, 'xml')}>{enc(v)}</{label(t, 'xml')}>\n" for t, v, _ in d.fields)
    core = f"<{root}>\n{inner}</{root}>"
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if decl else ""
    if large:
        def item():
            fd = filler_doc(f)
            return f"<{ROOT[fd.what][1]}>" + "".join(f"<{label(t, 'xml')}>{xml_esc(v)}</{label(t, 'xml')}>"
                                                     for t, v, _ in fd.fields) + f"</{ROOT[fd.what][1]}>"
        return head + "<Export>\n" + "\n".join(sized([core], item, large, where)) + "\n</Export>\n"
    return head + core + "\n"


def r_html(f: EvasionFaker, d: Doc, large=0, where="start", kt=ident, escape=True) -> str:
    enc = xml_esc if escape else ident
    r = f.r
    style = r.choice(["dl", "p", "table"])
    if style == "dl":
        rows = "".join(f"    <dt>{kt(label(t, 'title'))}:</dt><dd>{enc(v)}</dd>\n" for t, v, _ in d.fields)
        core = f'  <dl class="summary">\n{rows}  </dl>'
    elif style == "p":
        core = "\n".join(f'  <p><span class="lbl">{kt(label(t, "title"))}:</span> {enc(v)}</p>' for t, v, _ in d.fields)
    else:
        rows = "".join(f"    <tr><td>{kt(label(t, 'title'))}: {enc(v)}</td></tr>\n" for t, v, _ in d.fields)
        core = f"  <table>\n{rows}  </table>"
    title = ROOT[d.what][2]
    if large:
        core = "\n".join(sized([core], lambda: f"  <p>{note_filler(f)}</p>", large, where))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
            f"<body>\n  <h1>{title}</h1>\n{core}\n</body></html>\n")


def hl7_ts(f: EvasionFaker) -> str:
    return f.recent().strftime("%Y%m%d%H%M%S")


def r_hl7(f: EvasionFaker, d: Doc, eol="\r") -> str:
    """Positive: ADT^A08 with a PID built from the record; negative: an ACK."""
    r = f.r
    ctl = f"{r.randint(10**6, 10**7 - 1)}"
    if not d.pos:
        return eol.join([f"MSH|^~\\&|PORTAL|RIVERSIDE|INTAKE|RIVERSIDE|{hl7_ts(f)}||ACK^A08^ACK|{ctl}|P|2.5.1",
                         f"MSA|AA|{r.randint(10**6, 10**7 - 1)}|message accepted"]) + eol
    by = {k: v for t, v, k in d.fields if k}
    name = by.get("patient_name", "")
    if ", " in name:
        last, first = name.split(", ", 1)
    elif name:
        first, last = name.split(" ", 1)
    else:
        first, last = "", ""
    dob = _parse_date(by["dob"]).strftime("%Y%m%d") if "dob" in by else ""
    pid = ["PID", "1", "", f"{by.get('mrn', '')}^^^RIV^MR", "", f"{last}^{first}", "", dob,
           r.choice(["F", "M", "U"]), "", "", "", "", by.get("patient_phone", ""), "", "", "", "", "",
           by.get("ssn", "")]
    return eol.join([f"MSH|^~\\&|PORTAL|RIVERSIDE|INTAKE|RIVERSIDE|{hl7_ts(f)}||ADT^A08^ADT_A01|{ctl}|P|2.5.1",
                     f"EVN|A08|{hl7_ts(f)}", "|".join(pid).rstrip("|"),
                     f"PV1|1|O|{r.choice(['CLN', 'ER', 'RAD'])}^{r.randint(1, 40)}"]) + eol


def hl7_kinds(d: Doc) -> tuple[list[str], list]:
    """An HL7 record is labelled hl7_pid (+ ssn when separated); the PID fields are its values."""
    kinds = ["hl7_pid"]
    for k, v in d.values:
        if k == "ssn" and not v.isdigit():
            kinds.append("ssn")
    return kinds, [(k, v) for k, v in d.values if k in ("ssn", "mrn", "patient_phone")]


HL7_POOL = ["patient_name", "dob", "mrn", "ssn", "patient_phone"]


def render(f: EvasionFaker, d: Doc, shape: str, large=0, where="start", **kw) -> str:
    if shape == "json":
        return r_json(f, d, large, where, **kw)
    if shape == "csv":
        return r_csv(f, d, large, where, **kw)
    if shape == "tsv":
        return r_csv(f, d, large, where, delim="\t", **kw)
    if shape == "note":
        return r_note(f, d, large, where, **kw)
    if shape == "log":
        return r_log(f, d, large, where, **kw)
    if shape == "form":
        return r_form(f, d, large, where, **kw)
    if shape == "xml":
        return r_xml(f, d, large, where, **kw)
    if shape == "html":
        return r_html(f, d, large, where, **kw)
    if shape == "hl7":
        return r_hl7(f, d, **kw)
    raise ValueError(shape)


def doc_for_shape(f: EvasionFaker, pos: bool, k: int, shape: str, pool=POOL_ALL, mode="any", vt=ident) -> Doc:
    if shape == "hl7" and pos:
        kinds = list(dict.fromkeys(["patient_name", "dob", "mrn"] + pick(f, k, HL7_POOL)))
        return patient_doc(f, kinds, mode, vt, extras=False)
    return any_doc(f, pos, k, pool, mode, vt)


def doc_kinds(d: Doc, shape: str):
    if shape == "hl7" and d.pos:
        return hl7_kinds(d)
    return sorted(d.kinds), list(d.values)


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------


def b64s(b: bytes) -> str:
    return base64.b64encode(b).decode()


def b64u(b: bytes, pad=False) -> str:
    s = base64.urlsafe_b64encode(b).decode()
    return s if pad else s.rstrip("=")


def wrap(s: str, n: int, eol: str) -> str:
    return eol.join(s[i:i + n] for i in range(0, len(s), n))


def uri_component(s: str) -> str:  # JavaScript encodeURIComponent
    return urllib.parse.quote(s, safe="-_.!~*'()")


def gz(b: bytes, f: Faker, level=6, mtime=None, name=None) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", compresslevel=level, fileobj=buf,
                       mtime=f.epoch() if mtime is None else mtime) as g:
        g.write(b)
    return buf.getvalue()


def boundary(f: Faker) -> str:
    r = f.r
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return r.choice(["----WebKitFormBoundary" + "".join(r.choice(alnum) for _ in range(16)),
                     "------------------------" + f.hexhash(16),
                     "----geckoformboundary" + f.hexhash(32),
                     "=_Part_" + f"{r.randint(0, 99)}_{r.randint(10**8, 10**9)}.{f.epoch()}"])


def multipart(parts: list, b: str) -> bytes:
    out = b""
    for headers, body in parts:
        out += f"--{b}\r\n".encode() + "".join(h + "\r\n" for h in headers).encode() + b"\r\n"
        out += body if isinstance(body, bytes) else body.encode()
        out += b"\r\n"
    return out + f"--{b}--\r\n".encode()


def mp_field(name: str, val: str):
    return ([f'Content-Disposition: form-data; name="{name}"'], val)


def crlf(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def mail_headers(f: EvasionFaker, ctype: str, subject: str, extra=()) -> str:
    r = f.r
    who = f"{f.first().lower()}.{f.last().lower()}"
    when = f.recent().strftime("%a, %d %b %Y %H:%M:%S -0500")
    return crlf("\n".join([
        f"From: {r.choice(CLINICS)} <noreply@{r.choice(['clinic', 'referrals', 'portal'])}.example.org>",
        f"To: {who}@example.net", f"Subject: {subject}", f"Date: {when}",
        f"Message-ID: <{f.uuid()}@mail.example.org>", "MIME-Version: 1.0", f"Content-Type: {ctype}",
        *extra])) + "\r\n\r\n"


def http_request(f: EvasionFaker, method: str, target: str, ctype: str | None, body: bytes | str = b"",
                 headers=()) -> bytes:
    body = body.encode() if isinstance(body, str) else body
    hs = [f"{method} {target} HTTP/1.1", f"Host: {f.r.choice(['api', 'portal', 'intake'])}.example.org",
          f"User-Agent: {f.r.choice(['okhttp/4.12.0', 'python-requests/2.31.0', 'Mozilla/5.0', 'Apache-HttpClient/4.5.14'])}",
          *headers]
    if ctype:
        hs.append(f"Content-Type: {ctype}")
    if body or method in ("POST", "PUT"):
        hs.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(hs) + "\r\n\r\n").encode() + body


def access_log_lines(f: EvasionFaker, target: str, large: int, where: str) -> str:
    def line(t):
        return (f'{f.ip()} - - [{f.recent():%d/%b/%Y:%H:%M:%S} +0000] "GET {t} HTTP/1.1" 200 '
                f'{f.r.randint(120, 9000)} "-" "Mozilla/5.0"')

    def fill():
        return line(f.r.choice([f"/v1/orders/{f.id9()}", "/healthz", f"/static/app.{f.hexhash(8)}.js",
                                f"/api/slots?date={f.recent().date().isoformat()}"]))
    units = sized([line(target)], fill, large, where) if large else place([line(target)], fill, 1, where)[:3]
    return "\n".join(units) + "\n"


# --------------------------------------------------------------------------------------------
# Variants. Each returns (data, kinds, values, hidden, template); `k` is the sample's ordinal
# among the positives (or negatives) of its variant.
# --------------------------------------------------------------------------------------------

TEXT_SHAPES = ["json", "csv", "note", "hl7", "xml", "log"]


def pick_shape(f: EvasionFaker, shapes: list[str], large: int) -> str:
    s = f.r.choice(shapes)
    if large and s == "hl7":
        s = f.r.choice([x for x in shapes if x != "hl7"] or ["json"])
    return s


def whole_doc(f: EvasionFaker, pos: bool, k: int, large: int, where: str, shapes=TEXT_SHAPES, pool=POOL_ALL):
    """A whole plaintext body (to be encoded as a whole)."""
    shape = pick_shape(f, shapes, large)
    d = doc_for_shape(f, pos, k, shape, pool)
    text = render(f, d, shape, large, where)
    kinds, values = doc_kinds(d, shape)
    tpl = shape if pos else f"{d.what}-{shape}"
    return text, kinds, values, tpl


def clean_blob(f: EvasionFaker, large: int) -> tuple[bytes, str]:
    """A clean binary or token payload: a PNG, random bytes or a token string."""
    r = f.r
    t = r.choice(["png", "random", "uuid-list", "token"])
    n = large or r.randint(200, 3000)
    if t == "png":
        return fake_png(f, n), "png"
    if t == "random":
        return bytes(r.getrandbits(8) for _ in range(n)), "random-bytes"
    if t == "uuid-list":
        return json.dumps({"ids": [f.uuid() for _ in range(max(2, n // 40))]}).encode(), "uuid-list"
    return f"{f.hexhash(40)}:{f.b64(48)}".encode(), "token"


# ---- base64 ---------------------------------------------------------------------------------


def v_b64_body(f, k, pos, large, where, url=False):
    r = f.r
    if not pos and r.random() < 0.35:
        raw, tpl = clean_blob(f, large)
        kinds, values = [], []
    else:
        text, kinds, values, tpl = whole_doc(f, pos, k, large, where)
        raw = text.encode()
    if url:
        return b64u(raw), kinds, values, True, tpl
    how = r.choice(["oneline", "wrap76", "wrap64"])
    s = b64s(raw)
    if how == "wrap76":
        s = wrap(s, 76, "\n") + "\n"      # base64(1)
    elif how == "wrap64":
        s = wrap(s, 64, "\n") + "\n"      # openssl base64
    return s, kinds, values, True, f"{tpl}-{how}"


def v_b64url_body(f, k, pos, large, where):
    return v_b64_body(f, k, pos, large, where, url=True)


def v_b64_json_value(f, k, pos, large, where):
    """Identifier values base64'd under their keyword keys (apps that treat base64 as protection)."""
    r = f.r
    url = r.random() < 0.4
    enc = (lambda v, kind, tag: b64u(v.encode(), pad=r.random() < 0.3)) if url else \
        (lambda v, kind, tag: b64s(v.encode()))
    if pos:
        d = patient_doc(f, pick(f, k, POOL_ALL), "any", enc)
    else:
        d = neg_doc(f, r.choice(["invalid_ssn", "masked", "order", "telemetry"]), enc)
    obj = {label(t, f.style): v for t, v, _ in d.fields}
    obj[r.choice(["token", "nonce", "sessionKey"])] = f.b64(r.choice([16, 24, 32]))
    if large:
        items = sized([obj], lambda: {"id": f.uuid(), "blob": f.b64(48), "ts": f.epoch()}, large, where,
                      lambda u: len(json.dumps(u)))
        body = json.dumps({"items": items})
    else:
        body = json.dumps({ROOT[d.what][0]: obj} if r.random() < 0.5 else obj)
    tpl = ("url" if url else "std") + ("" if pos else f"-{d.what}")
    return body, sorted(d.kinds), d.values, d.hidden, tpl


def event_envelope(f: EvasionFaker, tpl: str, payload_b64: str) -> dict:
    r = f.r
    if tpl == "pubsub":
        return {"message": {"attributes": {"eventType": r.choice(["patient.updated", "record.synced", "order.updated"])},
                            "data": payload_b64, "messageId": "1" + str(r.randint(10**14, 10**15 - 1)),
                            "publishTime": f.iso_ts()},
                "subscription": "projects/intake-prod/subscriptions/ehr-sync-push"}
    if tpl == "kinesis":
        return {"Records": [{"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": f.uuid(),
                                         "sequenceNumber": "4959" + "".join(str(r.randint(0, 9)) for _ in range(52)),
                                         "data": payload_b64, "approximateArrivalTimestamp": f.epoch() + 0.123},
                             "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{f.hexhash(12)}",
                             "eventName": "aws:kinesis:record", "awsRegion": "us-east-1"}]}
    if tpl == "cloudevents":
        return {"specversion": "1.0", "type": "org.example.ehr.record.changed", "source": "/ehr/intake",
                "id": f.uuid(), "time": f.iso_ts(), "datacontenttype": "application/json", "data_base64": payload_b64}
    return {"body": payload_b64, "contentType": "application/json", "messageId": f.uuid(),
            "enqueuedTimeUtc": f.iso_ts(), "deliveryCount": r.randint(1, 4)}  # servicebus


def v_b64_json_payload(f, k, pos, large, where):
    """A JSON/CSV record base64'd into an event envelope (Pub/Sub push, Kinesis, CloudEvents, Service Bus)."""
    r = f.r
    tpl = r.choice(["pubsub", "kinesis", "cloudevents", "servicebus"])
    text, kinds, values, inner = whole_doc(f, pos, k, 0, where, ["json", "json", "csv", "hl7"])
    env = event_envelope(f, tpl, b64s(text.encode()))
    if large:
        tpl = "kinesis-batch"
        rec = event_envelope(f, "kinesis", b64s(text.encode()))["Records"][0]
        recs = sized([rec], lambda: event_envelope(f, "kinesis", b64s(render(f, filler_doc(f), "json").encode()))["Records"][0],
                     large, where, lambda u: len(json.dumps(u)))
        env = {"Records": recs}
    return json.dumps(env, indent=r.choice([None, 2])), kinds, values, True, f"{tpl}-{inner}"


def query_payload(f: EvasionFaker, pos: bool, k: int):
    d = any_doc(f, pos, k, POOL_ALL, "any", ident, ["order", "invalid_ssn", "masked", "slots", "telemetry"])
    shape = f.r.choice(["json", "form"])
    text = json.dumps({label(t, f.style): v for t, v, _ in d.fields}, separators=(",", ":")) if shape == "json" \
        else r_form(f, d)
    return d, text, shape


def query_template(f: EvasionFaker, param: str, val: str, large: int, where: str, tpl: str) -> bytes | str:
    path = f.r.choice(["/api/v1/lookup", "/portal/continue", "/sso/callback", "/r"])
    target = f"{path}?{param}={val}&ts={f.epoch()}"
    if tpl == "request":
        if large:
            return http_request(f, "GET", target, None, b"", [f"Cookie: pref={f.hexhash(large // 2)}"])
        return http_request(f, "GET", target, None)
    if tpl == "redirect":
        loc = f"https://portal.example.org{target}"
        body = json.dumps({"status": 302, "next": loc, "request_id": f.uuid()})
        if large:
            body = json.dumps({"next": loc, "trace": [f.uuid() for _ in range(large // 40)]})
        return f"HTTP/1.1 302 Found\r\nLocation: {loc}\r\nContent-Type: application/json\r\n\r\n{body}"
    return access_log_lines(f, target, large, where)


def v_b64_query(f, k, pos, large, where, url=False):
    r = f.r
    d, text, shape = query_payload(f, pos, k)
    tpl = r.choice(["request", "redirect", "access-log"])
    param = r.choice(["q", "ctx", "state", "data", "p"])
    if url:
        val = b64u(text.encode())               # unpadded base64url needs no escaping
    else:
        val = uri_component(b64s(text.encode()))  # '+', '/', '=' as %2B, %2F, %3D
    out = query_template(f, param, val, large, where, tpl)
    return out, sorted(d.kinds), d.values, True, f"{tpl}-{shape}" + ("" if pos else f"-{d.what}")


def v_b64url_query(f, k, pos, large, where):
    return v_b64_query(f, k, pos, large, where, url=True)


def jwt(f: EvasionFaker, claims: dict) -> str:
    r = f.r
    alg = r.choice(["HS256", "RS256", "ES256"])
    hdr = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        hdr["kid"] = f.hexhash(16)
    sig = bytes(r.getrandbits(8) for _ in range({"HS256": 32, "RS256": 256, "ES256": 64}[alg]))
    seg = [b64u(json.dumps(hdr, separators=(",", ":")).encode()),
           b64u(json.dumps(claims, separators=(",", ":"), ensure_ascii=r.random() < 0.5).encode()), b64u(sig)]
    return ".".join(seg)


def v_jwt(f, k, pos, large, where):
    r = f.r
    iat = f.epoch()
    claims = {"iss": "https://login.portal.example.org", "sub": f.uuid(), "aud": r.choice(["portal-web", "intake-api"]),
              "iat": iat, "exp": iat + r.choice([300, 900, 3600])}
    if pos:
        d = patient_doc(f, pick(f, k, POOL_ALL), "any", extras=False)
        how = r.choice(["flat", "nested", "namespaced"])
        obj = {label(t, "snake"): v for t, v, _ in d.fields}
        if how == "nested":
            claims["patient"] = {label(t, "camel"): v for t, v, _ in d.fields}
        elif how == "namespaced":
            claims.update({f"https://ehr.example.org/claims/{kk}": v for kk, v in obj.items()})
        else:
            claims.update(obj)
        kinds, values, what = sorted(d.kinds), d.values, how
    else:
        claims.update(r.choice([{"scope": "openid profile orders:read", "client_id": f.hexhash(20)},
                                {"roles": ["scheduler"], "tenant": f.uuid(), "sid": f.hexhash(32)},
                                {"nonce": f.b64(16), "at_hash": b64u(bytes(r.getrandbits(8) for _ in range(16)))}]))
        kinds, values, what = [], [], "standard-claims"
    tok = jwt(f, claims)
    tpl = r.choice(["bearer", "id-token-response", "cookie"])
    if tpl == "bearer":
        body = json.dumps({"page": 1, "filter": r.choice(["open", "all"])}) if not large else \
            json.dumps({"ids": [f.uuid() for _ in range(large // 40)]})
        out = http_request(f, "POST", "/api/v1/records/search", "application/json", body,
                           [f"Authorization: Bearer {tok}"])
    elif tpl == "cookie":
        out = http_request(f, "GET", "/portal/home", None, b"", [f"Cookie: session={tok}; theme=dark"] +
                           ([f"X-Trace: {f.hexhash(large)}"] if large else []))
    else:
        resp = {"access_token": f.b64(48), "token_type": "Bearer", "expires_in": 3600, "id_token": tok}
        if large:
            resp["debug"] = [f.uuid() for _ in range(large // 40)]
        out = json.dumps(resp, indent=2)
    return out, kinds, values, True, f"{tpl}-{what}"


def v_data_uri(f, k, pos, large, where):
    r = f.r
    if not pos and r.random() < 0.4:
        mime, raw, what = "image/png", fake_png(f, large or r.randint(300, 4000)), "png"
        kinds, values = [], []
    else:
        shape = r.choice(["csv", "json", "note"])
        d = any_doc(f, pos, k)
        raw = render(f, d, shape, large, where).encode()
        mime = {"csv": "text/csv", "json": "application/json", "note": "text/plain;charset=utf-8"}[shape]
        kinds, values, what = sorted(d.kinds), d.values, shape if pos else f"{d.what}-{shape}"
    uri = f"data:{mime};base64,{b64s(raw)}"
    tpl = r.choice(["html-download", "json-attachment", "markdown"])
    if tpl == "html-download":
        out = (f'<!DOCTYPE html><html><body><h2>Export ready</h2>\n<a download="export.{"png" if what == "png" else "dat"}" '
               f'href="{uri}">Download</a>\n</body></html>\n')
    elif tpl == "json-attachment":
        out = json.dumps({"message": "see attachment", "attachment": {"name": f"file-{f.hexhash(6)}", "url": uri},
                          "sent_at": f.iso_ts()})
    else:
        out = f"Attached: [export]({uri})\n\nSent from the portal.\n"
    return out, kinds, values, True, f"{tpl}-{what}"


def b64_part_body(raw: bytes) -> str:
    return wrap(b64s(raw), 76, "\r\n")


def v_b64_multipart(f, k, pos, large, where):
    r = f.r
    b = boundary(f)
    if not pos and r.random() < 0.4:
        raw, name, ctype = fake_png(f, large or r.randint(400, 5000)), "scan.png", "image/png"
        kinds, values, what = [], [], "png"
    else:
        shape = r.choice(["csv", "json", "hl7", "note"]) if not large else r.choice(["csv", "json", "note"])
        d = doc_for_shape(f, pos, k, shape)
        raw = render(f, d, shape, large, where).encode()
        kinds, values = doc_kinds(d, shape)
        name, ctype = {"csv": ("export.csv", "text/csv"), "json": ("record.json", "application/json"),
                       "hl7": ("adt.hl7", "x-application/hl7-v2+er7"), "note": ("referral.txt", "text/plain")}[shape]
        what = shape if pos else f"{d.what}-{shape}"
    mixed = r.random() < 0.3
    if mixed:  # multipart/mixed (e.g. a Direct/AS2 message body)
        parts = [(["Content-Type: text/plain; charset=us-ascii"], "Please find the attached file."),
                 ([f"Content-Type: {ctype}; name=\"{name}\"", "Content-Transfer-Encoding: base64",
                   f'Content-Disposition: attachment; filename="{name}"'], b64_part_body(raw))]
    else:
        parts = [mp_field("upload_type", r.choice(["referral", "document", "attachment"])),
                 ([f'Content-Disposition: form-data; name="file"; filename="{name}"', f"Content-Type: {ctype}",
                   "Content-Transfer-Encoding: base64"], b64_part_body(raw))]
    return multipart(parts, b), kinds, values, True, ("mixed-" if mixed else "form-data-") + what


def v_b64_mime(f, k, pos, large, where):
    r = f.r
    how = r.choice(["body", "attachment"])
    if how == "body":
        d = any_doc(f, pos, k)
        text = crlf(render(f, d, "note", large, where))
        out = mail_headers(f, 'text/plain; charset="utf-8"', "Referral" if pos else "Your appointment",
                           ["Content-Transfer-Encoding: base64"]) + wrap(b64s(text.encode()), 76, "\r\n") + "\r\n"
        return out, sorted(d.kinds), d.values, True, "body" + ("" if pos else f"-{d.what}")
    b = "=_" + f.hexhash(24)
    if not pos and r.random() < 0.4:
        raw, name, ctype, kinds, values, what = fake_png(f, large or 2000), "logo.png", "image/png", [], [], "png"
    else:
        shape = r.choice(["csv", "note", "hl7"]) if not large else r.choice(["csv", "note"])
        d = doc_for_shape(f, pos, k, shape)
        raw = crlf(render(f, d, shape, large, where)).encode()
        kinds, values = doc_kinds(d, shape)
        name, ctype = {"csv": ("patients.csv", "text/csv"), "note": ("referral.txt", "text/plain"),
                       "hl7": ("message.hl7", "application/octet-stream")}[shape]
        what = shape if pos else f"{d.what}-{shape}"
    body = (f"This is a multi-part message in MIME format.\r\n\r\n--{b}\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\nPlease see the attached file.\r\n\r\n--{b}\r\n"
            f"Content-Type: {ctype}; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{b64_part_body(raw)}\r\n--{b}--\r\n")
    return mail_headers(f, f'multipart/mixed; boundary="{b}"', "Records" if pos else "Newsletter") + body, \
        kinds, values, True, f"attachment-{what}"


# ---- UTF-16 ---------------------------------------------------------------------------------


def v_utf16(f, k, pos, large, where, be=False, bom=True):
    """.NET/PowerShell/Excel write UTF-16LE (Excel 'Unicode Text' and Out-File with a BOM,
    Encoding.Unicode.GetBytes without); Java getBytes("UTF-16") is big-endian with a BOM."""
    r = f.r
    tpl = r.choice(["unicode-text", "csv", "xml-serializer", "json", "out-file-list", "log"])
    d = any_doc(f, pos, k)
    if tpl == "unicode-text":
        text = r_csv(f, d, large, where, delim="\t")
    elif tpl == "csv":
        text = r_csv(f, d, large, where)
    elif tpl == "xml-serializer":
        text = r_xml(f, d, large, where, encoding="utf-16").replace("\n", "\r\n")
    elif tpl == "json":
        text = r_json(f, d, large, where, indent=r.choice([None, 2]))
    elif tpl == "log":
        text = r_log(f, d, large, where, eol="\r\n")
    else:  # PowerShell Format-List | Out-File
        w = max(len(label(t, "xml")) for t, _, _ in d.fields)
        core = "\r\n".join(f"{label(t, 'xml'):<{w}} : {v}" for t, v, _ in d.fields)
        text = "\r\n" + "\r\n\r\n".join(sized([core], lambda: "\r\n".join(
            f"{label(t, 'xml'):<{w}} : {v}" for t, v, _ in filler_doc(f).fields), large, where)) + "\r\n\r\n"
    data = text.encode("utf-16-be" if be else "utf-16-le")
    if bom:
        data = (b"\xfe\xff" if be else b"\xff\xfe") + data
    ext = {"unicode-text": "txt", "csv": "csv", "xml-serializer": "xml", "json": "json", "out-file-list": "txt",
           "log": "log"}[tpl]
    return data, sorted(d.kinds), d.values, True, tpl + ("" if pos else f"-{d.what}"), ext


def v_utf16le_bom(f, k, pos, large, where):
    return v_utf16(f, k, pos, large, where, be=False, bom=True)


def v_utf16le(f, k, pos, large, where):
    return v_utf16(f, k, pos, large, where, be=False, bom=False)


def v_utf16be_bom(f, k, pos, large, where):
    return v_utf16(f, k, pos, large, where, be=True, bom=True)


def v_utf16be(f, k, pos, large, where):
    return v_utf16(f, k, pos, large, where, be=True, bom=False)


# ---- HTML / XML character references ---------------------------------------------------------


def ncr(c: str, how: str) -> str:
    o = ord(c)
    if how == "dec":
        return f"&#{o};"
    if how == "dec0":
        return f"&#{o:04d};"
    if how == "hex":
        return f"&#x{o:x};"
    if how == "HEX":
        return f"&#X{o:X};"
    return f"&#x{o:04x};"


def vt_ncr(f: EvasionFaker, what: str, how: str):
    r = f.r

    def vt(v, kind, tag):
        if not re.search(r"\d", v) and kind not in ("patient_name", "patient_email"):
            return xml_esc(v)
        out = []
        for c in v:
            if what == "digits" and c.isdigit():
                out.append(ncr(c, how))
            elif what == "digits_punct" and (c.isdigit() or c in "-/.()@ "):
                out.append(ncr(c, how))
            elif what == "all":
                out.append(ncr(c, how))
            elif what == "mixed" and (c.isdigit() or c in "-/.() @"):
                out.append(ncr(c, r.choice(["dec", "hex", "HEX", "dec0", "hex0"])) if r.random() < 0.85 or c.isdigit() else c)
            else:
                out.append(xml_esc(c))
        return "".join(out)
    return vt


def html_envelope(f: EvasionFaker, d: Doc, large: int, where: str, tpl: str, kt=ident) -> str:
    """HTML page, SOAP/XML, hidden form inputs or JSON in a data- attribute; values already encoded."""
    r = f.r
    if tpl == "page":
        return r_html(f, d, large, where, kt=kt, escape=False)
    if tpl == "soap":
        inner = r_xml(f, d, large, where, kt=ident, escape=False, decl=False)
        return ('<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">\n'
                f"<soap:Body>\n{inner}</soap:Body>\n</soap:Envelope>\n")
    if tpl == "hidden-inputs":
        inputs = "\n".join(f'  <input type="hidden" name="{kt(label(t, "snake"))}" value="{v}">' for t, v, _ in d.fields)
        if large:
            inputs = "\n".join(sized([inputs], lambda: f'  <input type="hidden" name="opt_{f.hexhash(6)}" value="{f.hexhash(32)}">',
                                     large, where))
        return (f'<form method="post" action="/intake/confirm">\n{inputs}\n  <button type="submit">Confirm</button>\n</form>\n')
    # JSON props serialised into a data- attribute (server-side rendered React/Rails)
    props = "{" + ",".join(f"&quot;{kt(label(t, 'camel'))}&quot;:&quot;{v}&quot;" for t, v, _ in d.fields) + "}"
    pad = ""
    if large:
        pad = "\n".join(f"<p>{note_filler(f)}</p>" for _ in range(large // 60))
    core = f'<div id="root" data-component="{ROOT[d.what][1]}Card" data-props="{props}"></div>'
    parts = {"start": [core, pad], "end": [pad, core], "middle": [pad[:len(pad) // 2], core, pad[len(pad) // 2:]]}[where]
    return f'<!DOCTYPE html>\n<html><body>\n{chr(10).join(p for p in parts if p)}\n<script src="/app.js"></script></body></html>\n'


HTML_TPLS = ["page", "soap", "hidden-inputs", "data-props"]


def v_ncr(f, k, pos, large, where, what="digits", how="dec"):
    r = f.r
    vt = vt_ncr(f, what, how)
    pool = POOL_DIGITS if what != "all" else POOL_ALL
    d = any_doc(f, pos, k, pool, "any", vt)
    tpl = r.choice(HTML_TPLS)
    kt = ident
    if what == "all":  # e-mail/number obfuscators encode the labels as well
        kt = lambda s: "".join(ncr(c, how) for c in s)  # noqa: E731
    out = html_envelope(f, d, large, where, tpl, kt)
    return out, sorted(d.kinds), d.values, d.hidden, tpl + ("" if pos else f"-{d.what}")


def v_ncr_dec_digits(f, k, pos, large, where):
    return v_ncr(f, k, pos, large, where, "digits", "dec")


def v_ncr_hex(f, k, pos, large, where):
    return v_ncr(f, k, pos, large, where, "digits_punct", f.r.choice(["hex", "hex", "HEX", "hex0"]))


def v_ncr_mixed(f, k, pos, large, where):
    return v_ncr(f, k, pos, large, where, "mixed", "dec")


def v_ncr_all(f, k, pos, large, where):
    return v_ncr(f, k, pos, large, where, "all", f.r.choice(["dec", "hex"]))


NAMED_DASH = ["&ndash;", "&hyphen;", "&dash;", "&minus;", "&#8209;"]


def v_entity_named(f, k, pos, large, where):
    """Named entities around and inside values: &quot;-quoted JSON in an attribute, &nbsp; between
    label and value (WYSIWYG editors), &ndash;/&hyphen;/&minus; as separators."""
    r = f.r
    tpl = r.choice(["data-props", "nbsp", "dash-entities"])
    if tpl == "dash-entities":
        dash = r.choice(NAMED_DASH)

        def vt(v, kind, tag):
            if kind in ("ssn", "credit_card", "mbi", "patient_phone", "dob") or (kind is None and re.search(r"\d-\d", v)):
                v = dashed(v, kind)
                return v.replace("-", dash), v
            return xml_esc(v)
        pool, mode = ["ssn", "patient_phone", "dob", "credit_card", "mbi"], "sep"
        d = any_doc(f, pos, k, pool, mode, vt, ["invalid_ssn", "masked", "order", "clinic"])
        out = html_envelope(f, d, large, where, r.choice(["page", "hidden-inputs"]))
    elif tpl == "nbsp":
        def vt(v, kind, tag):
            if kind in ("patient_name", "patient_phone", "dob"):
                return xml_esc(v).replace(" ", "&nbsp;"), v
            return xml_esc(v)
        d = any_doc(f, pos, k, POOL_CONTEXT, "bare", vt)
        body = "\n".join(f"<p><b>{label(t, 'title').replace(' ', '&nbsp;')}:</b>&nbsp;{v}</p>" for t, v, _ in d.fields)
        if large:
            body = "\n".join(sized([body], lambda: f"<p>{note_filler(f).replace(' ', '&nbsp;', 3)}</p>", large, where))
        out = f"<html><body>\n<div class=\"editor-content\">\n{body}\n</div>\n</body></html>\n"
    else:
        d = any_doc(f, pos, k, POOL_CONTEXT, "bare", lambda v, kind, tag: xml_esc(v))
        out = html_envelope(f, d, large, where, "data-props")
    return out, sorted(d.kinds), d.values, d.hidden, tpl + ("" if pos else f"-{d.what}")


# ---- double and triple percent-encoding ------------------------------------------------------


def pct_every(s: str) -> str:
    return "".join(f"%{b:02X}" for b in s.encode())


def pct_nonalnum(s: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in s)


def again(s: str, times=1) -> str:
    for _ in range(times):
        s = s.replace("%", "%25")
    return s


def pct_envelope(f: EvasionFaker, pairs: list[tuple[str, str]], large: int, where: str, tpl: str):
    body = "&".join(f"{a}={b}" for a, b in pairs)
    if tpl == "query":
        target = f"/api/v1/patients/search?{body}"
        if large:
            return access_log_lines(f, target, large, where)
        return http_request(f, "GET", target, None)
    if tpl == "form-body":
        if large:
            body = "&".join(sized([body], lambda: f"opt_{f.hexhash(4)}={f.hexhash(24)}", large, where))
        return http_request(f, "POST", "/intake/submit", "application/x-www-form-urlencoded", body)
    if tpl == "access-log":
        return access_log_lines(f, f"/portal/lookup?{body}", large, where)
    return json.dumps({"callback_url": f"https://portal.example.org/cb?{body}", "request_id": f.uuid(),
                       **({"trace": [f.uuid() for _ in range(large // 40)]} if large else {})})


PCT_TPLS = ["query", "form-body", "access-log", "json-url"]


def v_pct(f, k, pos, large, where, how):
    r = f.r
    if how == "digits":       # every value character encoded, then the result encoded again
        vt, pool, mode = (lambda v, kind, tag: again(pct_every(v))), POOL_ALL, "any"
    elif how == "separators":  # only the separators (and spaces), encoded twice: 123%252D45%252D6789
        vt, pool, mode = (lambda v, kind, tag: again(pct_nonalnum(v))), \
            ["ssn", "dob", "patient_phone", "patient_name", "credit_card", "mbi"], "sep"
    elif how == "all":         # keys and values, every byte, twice
        vt, pool, mode = (lambda v, kind, tag: again(pct_every(v))), POOL_ALL, "any"
    else:                      # triple
        vt, pool, mode = (lambda v, kind, tag: again(pct_every(v), 2)), POOL_ALL, "any"
    d = any_doc(f, pos, k, pool, mode, vt, ["order", "invalid_ssn", "masked", "clinic", "slots", "telemetry"])
    kt = (lambda s: again(pct_every(s))) if how == "all" else ident
    pairs = [(kt(label(t, "snake")), v) for t, v, _ in d.fields]
    tpl = r.choice(PCT_TPLS)
    return pct_envelope(f, pairs, large, where, tpl), sorted(d.kinds), d.values, d.hidden, \
        tpl + ("" if pos else f"-{d.what}")


def v_pct2_digits(f, k, pos, large, where):
    return v_pct(f, k, pos, large, where, "digits")


def v_pct2_separators(f, k, pos, large, where):
    return v_pct(f, k, pos, large, where, "separators")


def v_pct2_all(f, k, pos, large, where):
    return v_pct(f, k, pos, large, where, "all")


def v_pct3(f, k, pos, large, where):
    return v_pct(f, k, pos, large, where, "triple")


def v_pct2_nested(f, k, pos, large, where):
    """A return URL with its own query string, encodeURIComponent'd twice (a redirect through a
    second login hop): the keyword and value are joined by %253D."""
    r = f.r
    d = any_doc(f, pos, k, POOL_CONTEXT, "bare", ident, ["order", "slots", "telemetry", "clinic"])
    inner = f"/{r.choice(['patients', 'chart', 'records'])}/search?" + "&".join(
        f"{label(t, 'snake')}={urllib.parse.quote(v, safe='')}" for t, v, _ in d.fields)
    val = uri_component(uri_component(inner))
    param = r.choice(["returnUrl", "ReturnUrl", "redirect_uri", "next"])
    tpl = r.choice(["login-redirect", "access-log"])
    target = f"/login?{param}={val}"
    if tpl == "access-log" or large:
        out = access_log_lines(f, target, large, where)
        tpl = "access-log"
    else:
        out = (f"HTTP/1.1 302 Found\r\nLocation: https://sso.example.org{target}\r\nContent-Length: 0\r\n\r\n")
    return out, sorted(d.kinds), d.values, [], tpl + ("" if pos else f"-{d.what}")


# ---- Unicode look-alikes --------------------------------------------------------------------

FW_DIGIT = {str(i): chr(0xFF10 + i) for i in range(10)}
FW_PUNCT = {"-": "\uff0d", "/": "\uff0f", "(": "\uff08", ")": "\uff09", ".": "\uff0e", " ": "\u3000"}
DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\ufe63", "\uff0d"]
USPACES = ["\u00a0", "\u2007", "\u202f", "\u3000"]
ARABIC = {str(i): chr(0x0660 + i) for i in range(10)}
PERSIAN = {str(i): chr(0x06F0 + i) for i in range(10)}


def has_digit(v: str) -> bool:
    return any(c.isdigit() for c in v)


def dashed(v: str, kind) -> str:
    """The same value with '-' separators (a date 03-04-1961, a card or SSN in dashed groups, a
    phone 415-555-0123 or (415) 555-0123)."""
    if kind == "patient_phone":
        return v.replace(".", "-")
    return re.sub(r"[ ./]", "-", v)


KEEP_TAGS = ("updated_at", "visit_id", "request_id", "route")  # machine-written values stay ASCII


def vt_unicode(f: EvasionFaker, how: str):
    r = f.r

    def vt(v, kind, tag):
        if how == "fullwidth":
            if not has_digit(v) or tag in KEEP_TAGS:
                return v
            punct = r.random() < 0.5
            return "".join(FW_DIGIT.get(c) or (FW_PUNCT.get(c, c) if punct else c) for c in v)
        if how == "dash":
            if kind in ("dob", "ssn", "credit_card", "patient_phone") or (kind is None and tag in ("placed_at", "slot")):
                v = dashed(v, kind)
            if "-" not in v or tag in KEEP_TAGS + ("order_id",):
                return v
            dash = r.choice(DASHES)
            return v.replace("-", dash), v
        if how == "space":
            sp = r.choice(USPACES)
            if kind == "dob":
                d = _parse_date(v)
                v = r.choice([f"{d.strftime('%B')} {d.day}, {d.year}", f"{d.day} {d.strftime('%b')} {d.year}"])
            if " " not in v or tag in ("reason", "message", "hours", "address", "provider", "clinic"):
                return v
            return v.replace(" ", sp), v
        if how in ("arabic", "persian"):
            table = ARABIC if how == "arabic" else PERSIAN
            if not has_digit(v) or tag in KEEP_TAGS:
                return v
            return "".join(table.get(c, c) for c in v)
        # mixed: copy-pasted from a PDF or a phone keyboard
        if not has_digit(v) or tag in KEEP_TAGS:
            return v
        out, changed = [], False
        for c in v:
            if c.isdigit() and r.random() < 0.5:
                out.append(FW_DIGIT[c])
                changed = True
            elif c == "-":
                out.append(r.choice(DASHES))
                changed = True
            else:
                out.append(c)
        if not changed:
            i = next(i for i, c in enumerate(v) if c.isdigit())
            out[i] = FW_DIGIT[v[i]]
        return "".join(out)
    return vt


def _parse_date(v: str):
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y"):
        try:
            return dt.datetime.strptime(v, fmt).date()
        except ValueError:
            pass
    raise ValueError(v)


def v_unicode(f, k, pos, large, where, how):
    r = f.r
    vt = vt_unicode(f, how)
    if how == "dash":
        pool, mode = ["ssn", "dob", "patient_phone", "credit_card", "mbi"], "sep"
    elif how == "space":
        pool, mode = ["ssn", "patient_phone", "credit_card", "patient_name", "dob"], "space"
    else:
        pool, mode = POOL_DIGITS, "any"
    if how == "space":
        d = Doc(pos, "patient")
        if pos:
            person = f.name_parts()
            for kind in pick(f, k, pool):
                if kind == "ssn":
                    x = f.ssn_digits()
                    v = f"{x[:3]} {x[3:5]} {x[5:]}"
                elif kind == "patient_phone":
                    v = f"({r.randint(201, 989)}) {r.randint(201, 989)}-{r.randint(0, 9999):04d}" if r.random() < 0.5 \
                        else f"{r.randint(201, 989)} {r.randint(201, 989)} {r.randint(0, 9999):04d}"
                elif kind == "credit_card":
                    v = f.card()
                    while " " not in v:
                        v = f.card()
                else:
                    v = kind_value(f, kind, person, "any")
                d.add(r.choice(KIND_TAGS[kind]), v, kind, vt)
        else:
            d = neg_doc(f, r.choice(["masked", "clinic", "provider", "invalid_ssn"]), vt)
            if d.what == "invalid_ssn":
                d.fields = [(t, (v.replace("-", r.choice(USPACES)) if t == "rejected" else v), kd) for t, v, kd in d.fields]
    else:
        whats = ["order", "invalid_ssn", "masked", "clinic", "slots"] if how == "dash" else \
            ["order", "invalid_ssn", "masked", "clinic", "provider", "slots", "telemetry"]
        d = any_doc(f, pos, k, pool, mode, vt, whats)
    shape = r.choice(["json", "note", "csv", "log", "form-utf8"])
    if shape == "form-utf8":  # browsers send raw UTF-8 in multipart; forms as JSON fetch bodies
        out = http_request(f, "POST", "/api/intake", "application/json; charset=utf-8",
                           r_json(f, d, large, where).encode())
    else:
        out = render(f, d, shape, large, where)
    return out, sorted(d.kinds), d.values, d.hidden, shape + ("" if pos else f"-{d.what}")


def v_fullwidth(f, k, pos, large, where):
    return v_unicode(f, k, pos, large, where, "fullwidth")


def v_udash(f, k, pos, large, where):
    return v_unicode(f, k, pos, large, where, "dash")


def v_uspace(f, k, pos, large, where):
    return v_unicode(f, k, pos, large, where, "space")


def v_arabic(f, k, pos, large, where):
    return v_unicode(f, k, pos, large, where, f.r.choice(["arabic", "persian"]))


def v_umixed(f, k, pos, large, where):
    return v_unicode(f, k, pos, large, where, "mixed")


# ---- quoted-printable -----------------------------------------------------------------------


def qp_atoms(line: str, extra: str = "") -> list[str]:
    b = line.encode("utf-8")
    out = []
    for i, x in enumerate(b):
        c = chr(x)
        if x in (9, 32):
            out.append(f"={x:02X}" if i == len(b) - 1 else c)
        elif 33 <= x <= 126 and c != "=" and c not in extra:
            out.append(c)
        else:
            out.append(f"={x:02X}")
    return out


def qp_break(atoms: list[str], width=76) -> tuple[list[str], list[int]]:
    """Soft line breaks as RFC 2045 encoders place them (lines of at most 76 characters, the '='
    included); returns the lines and the line number of every atom."""
    lines, cur, where = [], "", []
    for a in atoms:
        if len(cur) + len(a) > width - 1:
            lines.append(cur + "=")
            cur = ""
        cur += a
        where.append(len(lines))
    lines.append(cur)
    return lines, where


def qp_encode(text: str, extra: str = "") -> str:
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        out.extend(qp_break(qp_atoms(line, extra))[0])
    return "\r\n".join(out)


QP_SENTENCES = [
    "Thank you for choosing our clinic.", "We look forward to seeing you again.",
    "Please keep this message for your records.", "If anything below is wrong, reply to this message.",
    "Our front desk can update your details at your next visit.",
    "The information below was confirmed at check-in.",
    "Please bring a photo ID and your insurance card to every appointment.",
    "This summary was prepared by the care team after your visit today.",
    "Questions about billing can be directed to the business office during regular hours.",
]
QP_LEADS = ["", "Also ", "On file, ", "As recorded, ", "For reference, ", "Per our records, ",
            "Confirmed at intake, ", "As updated today, ", "Please note "]


def qp_split_line(f: EvasionFaker, pieces: list, extra="") -> str:
    """pieces: str (text) or (label, value) pairs. Before each pair a lead-in (a sentence and/or a
    short phrase) is chosen among those that make a 76-column soft line break fall inside its value,
    as it falls wherever a long paragraph happens to put it."""
    leads = [""] * len(pieces)
    cands = QP_LEADS + [s + " " + p for s in QP_SENTENCES for p in QP_LEADS]

    def text_upto(i, lead):
        t = ""
        for j, q in enumerate(pieces[:i + 1]):
            t += lead if j == i else leads[j]
            if isinstance(q, str):
                t += q
            else:
                t += q[0]
                if j == i:
                    return t
                t += q[1]
        return t
    for i, p in enumerate(pieces):
        if isinstance(p, str) or len(p[1]) < 3:
            continue
        ok = []
        for c in cands:
            head = text_upto(i, c)
            a = len(qp_atoms(head, extra))
            z = len(qp_atoms(head + p[1], extra))
            _, where = qp_break(qp_atoms(head + p[1], extra))
            if where[a] != where[z - 1]:
                ok.append(c)
        if ok:
            leads[i] = f.r.choice(ok)
    return "".join(leads[j] + (q if isinstance(q, str) else q[0] + q[1]) for j, q in enumerate(pieces))


def qp_paragraph(f: EvasionFaker, d: Doc, html_mode=False, sep=". ", prefix="", suffix="") -> str:
    pieces: list = [prefix + ("Summary for today's visit: " if d.pos else "Details of your request: ")]
    for i, (t, v, _) in enumerate(d.fields):
        if i:
            pieces.append(sep)
        lab = label(t, "title")
        pieces.append((f"<b>{lab}:</b> " if html_mode else f"{lab}: ", v))
    pieces.append(". " + note_filler(f) + suffix)
    return qp_split_line(f, pieces)


def v_qp(f, k, pos, large, where, how):
    r = f.r
    extra = ""
    pool, mode = POOL_ALL, "any"
    if how == "dash":
        extra = "-/.()"
        pool, mode = ["ssn", "dob", "patient_phone", "credit_card", "mbi"], "sep"
    elif how == "multipart":
        pool, mode = POOL_CONTEXT, "bare"
    d = None
    if how == "utf8" and pos:
        d = Doc(True, "patient")
        first, last = f.accented_name()
        d.add("name", f.fmt_name(first, last), "patient_name")
        for kind in pick(f, k, ["dob", "mrn", "ssn", "patient_phone"]):
            d.add(r.choice(KIND_TAGS[kind]), kind_value(f, kind, (first, last), "any"), kind)
    if d is None:
        d = any_doc(f, pos, k, pool, mode, ident, ["order", "invalid_ssn", "masked", "clinic", "slots"])
    filler = "\n".join(note_filler(f) for _ in range(large // 80)) if large else ""

    def padded(core):
        return {"start": core + "\n\n" + filler, "end": filler + "\n\n" + core,
                "middle": filler[:len(filler) // 2] + "\n\n" + core + "\n\n" + filler[len(filler) // 2:]}[where] if large else core
    subject = "Visit summary" if pos else "Your request"
    if how in ("softbreak", "dash", "utf8"):
        if how == "utf8":
            para = "\n".join(f"{label(t, 'title')}:\u00a0{v}" for t, v, _ in d.fields) + "\n\n" + note_filler(f)
        elif how == "dash":
            para = "\n".join(f"{label(t, 'title')}: {v}" for t, v, _ in d.fields) + "\n\n" + note_filler(f)
        else:
            para = qp_paragraph(f, d)
        body = qp_encode(padded("Hello,\n\n" + para + "\n\nThank you,\n" + r.choice(CLINICS)), extra)
        out = mail_headers(f, 'text/plain; charset="utf-8"', subject, ["Content-Transfer-Encoding: quoted-printable"]) + body + "\r\n"
        tpl = "text-plain"
    elif how == "html":
        page = qp_paragraph(
            f, d, html_mode=True, sep="<br>",
            prefix=('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
                    '<body style="font-family:Arial,sans-serif;font-size:14px"><table width="100%" cellpadding="0" '
                    'cellspacing="0" border="0"><tr><td style="padding:12px">'),
            suffix="</td></tr></table></body></html>")
        b = "_000_" + f.hexhash(20) + "_"
        plain = "View this message in an HTML-capable mail client."
        out = (mail_headers(f, f'multipart/alternative; boundary="{b}"', subject) +
               f"--{b}\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{plain}\r\n\r\n"
               f"--{b}\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               f"{qp_encode(padded(page))}\r\n--{b}--\r\n")
        tpl = "html-alternative"
    else:  # multipart/form-data part of key=value lines in quoted-printable: '=' becomes =3D
        b = boundary(f)
        lines = "\n".join(f"{label(t, 'snake')}={v}" for t, v, _ in d.fields)
        part = qp_encode(padded(f"# exported {f.iso_ts()}\n" + lines + "\n"))
        out = multipart([mp_field("source", r.choice(["kiosk", "portal", "fax-gateway"])),
                         ([f'Content-Disposition: form-data; name="record"; filename="intake.properties"',
                           "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"], part)], b)
        tpl = "form-data-properties"
    hidden = list(d.hidden)
    if how in ("softbreak", "html", "dash", "utf8"):
        raw = out if isinstance(out, str) else out.decode()
        hidden = [v for _, v in d.values if v not in raw]
    return out, sorted(d.kinds), d.values, hidden, tpl + ("" if pos else f"-{d.what}")


def v_qp_softbreak(f, k, pos, large, where):
    return v_qp(f, k, pos, large, where, "softbreak")


def v_qp_html(f, k, pos, large, where):
    return v_qp(f, k, pos, large, where, "html")


def v_qp_dash(f, k, pos, large, where):
    return v_qp(f, k, pos, large, where, "dash")


def v_qp_multipart(f, k, pos, large, where):
    return v_qp(f, k, pos, large, where, "multipart")


def v_qp_utf8(f, k, pos, large, where):
    return v_qp(f, k, pos, large, where, "utf8")


# ---- compression ----------------------------------------------------------------------------


def v_gzip_gzip(f, k, pos, large, where):
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where)
    inner = gz(text.encode(), f, level=f.r.choice([1, 6, 9]))
    return gz(inner, f, level=f.r.choice([1, 6]), mtime=0), kinds, values, True, tpl, "gz"


def v_zlib(f, k, pos, large, where):
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where)
    lvl = f.r.choice([1, 6, 9])
    return zlib.compress(text.encode(), lvl), kinds, values, True, f"{tpl}-level{lvl}", "zz"


def v_gzip_file(f, k, pos, large, where):
    """A .gz file as `gzip FILE` writes it (FNAME, mtime), sent as the raw body."""
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where, ["csv", "json", "note", "log", "hl7"])
    ext = {"csv": "csv", "json": "json", "note": "txt", "log": "log", "hl7": "hl7", "xml": "xml"}.get(tpl.split("-")[-1], "txt")
    name = f"{f.r.choice(['export', 'patients', 'batch', 'records'])}_{f.recent():%Y%m%d}.{ext}"
    return gz(text.encode(), f, level=6, name=name), kinds, values, True, f"fname-{tpl}", "gz"


def v_deflate_raw(f, k, pos, large, where):
    """Raw deflate without a zlib or gzip header (IIS-era Content-Encoding: deflate, deflate-raw)."""
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where)
    co = zlib.compressobj(f.r.choice([1, 6, 9]), zlib.DEFLATED, -15)
    return co.compress(text.encode()) + co.flush(), kinds, values, True, tpl, "bin"


def v_gzip_multipart(f, k, pos, large, where):
    r = f.r
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where, ["csv", "json", "hl7", "log"])
    ext = tpl.split("-")[-1]
    name = f"{r.choice(['export', 'upload', 'batch'])}.{ext}.gz"
    ctype = r.choice(["application/gzip", "application/x-gzip", "application/octet-stream"])
    b = boundary(f)
    parts = [mp_field("description", r.choice(["nightly export", "batch upload", "resend"])),
             ([f'Content-Disposition: form-data; name="file"; filename="{name}"', f"Content-Type: {ctype}"],
              gz(text.encode(), f, level=6, name=name[:-3]))]
    return multipart(parts, b), kinds, values, True, tpl, "txt"


def cloudwatch_logs(f: EvasionFaker, lines: list[str]) -> dict:
    return {"messageType": "DATA_MESSAGE", "owner": str(f.r.randint(10**11, 10**12 - 1)),
            "logGroup": f"/aws/lambda/{f.r.choice(['intake-handler', 'portal-api', 'sync-worker'])}",
            "logStream": f"{f.recent():%Y/%m/%d}/[$LATEST]{f.hexhash(32)}",
            "subscriptionFilters": ["to-siem"],
            "logEvents": [{"id": "".join(str(f.r.randint(0, 9)) for _ in range(56)), "timestamp": f.epoch() * 1000,
                           "message": ln} for ln in lines]}


def v_b64_gzip_json(f, k, pos, large, where):
    r = f.r
    tpl = r.choice(["cloudwatch-logs", "json-field"])
    if tpl == "cloudwatch-logs":
        d = any_doc(f, pos, k)
        lines = r_log(f, d, large, where).rstrip("\n").split("\n")
        inner = json.dumps(cloudwatch_logs(f, lines)).encode()
        out = json.dumps({"awslogs": {"data": b64s(gz(inner, f, mtime=0))}})
        kinds, values = sorted(d.kinds), d.values
    else:
        text, kinds, values, t2 = whole_doc(f, pos, k, large, where, ["json", "csv", "hl7"])
        out = json.dumps({"id": f.uuid(), "encoding": "gzip+base64", "content": b64s(gz(text.encode(), f)),
                          "created": f.iso_ts()})
        tpl += "-" + t2
    return out, kinds, values, True, tpl, "json"


def v_zip(f, k, pos, large, where):
    r = f.r
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where, ["csv", "json", "note", "xml"])
    ext = tpl.split("-")[-1]
    buf = io.BytesIO()
    t = f.recent()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        zi = zipfile.ZipInfo(f"{r.choice(['export', 'report', 'records'])}." + {"note": "txt"}.get(ext, ext),
                             date_time=(t.year, t.month, t.day, t.hour, t.minute, t.second - t.second % 2))
        zi.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(zi, text.encode())
    return buf.getvalue(), kinds, values, True, tpl, "zip"


# ---- combinations ---------------------------------------------------------------------------


def v_gzip_json_b64(f, k, pos, large, where):
    """base64 inside JSON inside gzip (a document API's gzipped request body)."""
    r = f.r
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where, ["json", "csv", "hl7", "note"])
    ctype = {"json": "application/json", "csv": "text/csv", "hl7": "x-application/hl7-v2+er7", "note": "text/plain"}[tpl.split("-")[-1]]
    doc = {"document": {"id": f.uuid(), "contentType": ctype, "data": b64s(text.encode())}, "submittedAt": f.iso_ts()}
    return gz(json.dumps(doc).encode(), f, level=r.choice([6, 9]), mtime=0), kinds, values, True, tpl, "gz"


def v_form_html_entity(f, k, pos, large, where):
    """Form fields holding HTML character references, percent-encoded: a page that entity-encodes
    its input, or a browser submitting characters outside the form's charset (full-width digits
    typed into an ISO-8859-1 form arrive as &#65297;...)."""
    r = f.r
    how = r.choice(["ncr-ascii", "ncr-fullwidth"])

    def vt(v, kind, tag):
        if not has_digit(v):
            return urllib.parse.quote_plus(v)
        if how == "ncr-ascii":
            s = "".join(f"&#{ord(c)};" if c.isdigit() else c for c in v)
        else:
            s = "".join(f"&#{ord(FW_DIGIT[c])};" if c.isdigit() else c for c in v)
        return urllib.parse.quote_plus(s, safe="")
    d = any_doc(f, pos, k, POOL_DIGITS, "any", vt, ["order", "invalid_ssn", "masked", "slots"])
    body = r_form(f, d, large, where, escape=False)
    out = http_request(f, "POST", "/intake/step2", "application/x-www-form-urlencoded", body)
    return out, sorted(d.kinds), d.values, d.hidden, how + ("" if pos else f"-{d.what}"), "txt"


def v_gzip_utf16_csv(f, k, pos, large, where):
    r = f.r
    d = any_doc(f, pos, k)
    text = r_csv(f, d, large, where, delim=r.choice(["\t", ","]))
    data = b"\xff\xfe" + text.encode("utf-16-le")
    return gz(data, f, level=6, name=f"report_{f.recent():%Y%m%d}.csv" if r.random() < 0.5 else None), \
        sorted(d.kinds), d.values, True, "bom-csv" + ("" if pos else f"-{d.what}"), "gz"


def v_b64_utf16(f, k, pos, large, where):
    """.NET Convert.ToBase64String(Encoding.Unicode.GetBytes(json)) in a JSON field."""
    r = f.r
    d = any_doc(f, pos, k)
    inner = r_json(f, d, large, where)
    out = json.dumps({"payloadEncoding": "base64/utf-16le", "payload": b64s(inner.encode("utf-16-le")),
                      "correlationId": f.uuid()})
    return out, sorted(d.kinds), d.values, True, "json-field" + ("" if pos else f"-{d.what}"), "json"


def v_json_u_fullwidth(f, k, pos, large, where):
    """Full-width digits typed by the user, escaped by an ASCII-only JSON encoder as \\uff11..."""
    vt = vt_unicode(f, "fullwidth")
    d = any_doc(f, pos, k, POOL_DIGITS, "any", vt)
    out = r_json(f, d, large, where, ensure_ascii=True)
    return out, sorted(d.kinds), d.values, d.hidden, "ensure-ascii" + ("" if pos else f"-{d.what}"), "json"


def v_pct_utf8_lookalike(f, k, pos, large, where):
    """Look-alike characters percent-encoded as UTF-8 in a query or form (%EF%BC%91, %E2%80%91)."""
    r = f.r
    how = r.choice(["fullwidth", "dash", "mixed"])
    vt0 = vt_unicode(f, how)

    def vt(v, kind, tag):
        shown, plain = vt_apply(vt0, v, kind, tag)
        return urllib.parse.quote_plus(shown, safe=""), plain
    pool = ["ssn", "dob", "patient_phone", "credit_card", "mbi"] if how == "dash" else POOL_DIGITS
    d = any_doc(f, pos, k, pool, "sep" if how == "dash" else "any", vt, ["order", "invalid_ssn", "masked", "slots"])
    pairs = [(label(t, "snake"), v) for t, v, _ in d.fields]
    tpl = r.choice(["query", "form-body", "access-log"])
    return pct_envelope(f, pairs, large, where, tpl), sorted(d.kinds), d.values, d.hidden, \
        f"{how}-{tpl}" + ("" if pos else f"-{d.what}"), "txt"


def v_b64_b64(f, k, pos, large, where):
    """base64 of base64 (a client encoding an already encoded field again)."""
    text, kinds, values, tpl = whole_doc(f, pos, k, large, where, ["json", "csv", "note"])
    out = json.dumps({"data": b64s(b64s(text.encode()).encode()), "v": 2})
    return out, kinds, values, True, tpl, "json"


VARIANTS: dict[str, list[tuple[str, object]]] = {
    "base64": [("b64-body", v_b64_body), ("b64url-body", v_b64url_body), ("b64-json-value", v_b64_json_value),
               ("b64-json-payload", v_b64_json_payload), ("b64-query", v_b64_query),
               ("b64url-query", v_b64url_query), ("jwt", v_jwt), ("data-uri", v_data_uri),
               ("b64-multipart", v_b64_multipart), ("b64-mime", v_b64_mime)],
    "utf16": [("utf16le-bom", v_utf16le_bom), ("utf16le", v_utf16le), ("utf16be-bom", v_utf16be_bom),
              ("utf16be", v_utf16be)],
    "html_entity": [("ncr-dec-digits", v_ncr_dec_digits), ("ncr-hex", v_ncr_hex), ("ncr-mixed", v_ncr_mixed),
                    ("ncr-all", v_ncr_all), ("entity-named", v_entity_named)],
    "percent2": [("pct2-digits", v_pct2_digits), ("pct2-separators", v_pct2_separators),
                 ("pct2-all", v_pct2_all), ("pct3", v_pct3), ("pct2-nested-query", v_pct2_nested)],
    "unicode": [("fullwidth", v_fullwidth), ("unicode-dash", v_udash), ("unicode-space", v_uspace),
                ("arabic-indic", v_arabic), ("mixed-lookalike", v_umixed)],
    "qp": [("qp-softbreak", v_qp_softbreak), ("qp-html", v_qp_html), ("qp-dash", v_qp_dash),
           ("qp-multipart", v_qp_multipart), ("qp-utf8", v_qp_utf8)],
    "compress": [("gzip-gzip", v_gzip_gzip), ("zlib", v_zlib), ("gzip-file", v_gzip_file),
                 ("deflate-raw", v_deflate_raw), ("gzip-multipart", v_gzip_multipart),
                 ("b64-gzip-json", v_b64_gzip_json), ("zip", v_zip)],
    "combo": [("gzip-json-b64", v_gzip_json_b64), ("form-html-entity", v_form_html_entity),
              ("gzip-utf16-csv", v_gzip_utf16_csv), ("b64-utf16", v_b64_utf16),
              ("json-u-fullwidth", v_json_u_fullwidth), ("pct-utf8-lookalike", v_pct_utf8_lookalike),
              ("b64-b64", v_b64_b64)],
}
DEFAULT_EXT = {"base64": "txt", "utf16": "txt", "html_entity": "html", "percent2": "txt", "unicode": "txt",
               "qp": "eml", "compress": "bin", "combo": "txt"}


def raw_texts(data: bytes) -> list[str]:
    return [data.decode("latin-1"), data.decode("utf-8", "replace")]


def make_gen(fmt: str):
    table = VARIANTS[fmt]

    def gen(f: EvasionFaker, idx: int, pos: bool, large: int, where: str) -> Sample:
        enc, fn = table[(idx // 2) % len(table)]
        k = (idx // 2) // len(table)
        for _ in range(20):
            res = fn(f, k, pos, large, where)
            data, kinds, values, hidden, tpl = res[:5]
            ext = res[5] if len(res) > 5 else DEFAULT_EXT[fmt]
            data = data.encode() if isinstance(data, str) else data
            if hidden is True:
                hidden = [v for _, v in values]
            raw = raw_texts(data)
            if not any(v in t for v in hidden for t in raw):
                break
        else:
            raise AssertionError(f"evasion/{enc}: an encoded value stays readable")
        head = data[:16].lstrip()
        if ext in ("txt", "html") and head.startswith((b"{", b"[")):
            ext = "json"
        elif ext in ("txt", "html") and head.startswith(b"<?xml"):
            ext = "xml"
        elif ext == "txt" and head.startswith((b"<!DOCTYPE html", b"<html", b"<form")):
            ext = "html"
        note = f"evasion/{enc}/{tpl}" if pos else f"evasion/{enc}/neg/{tpl}"
        return Sample(data, pos, kinds, note, ext, values)
    return gen


EVASION_GEN = {fmt: make_gen(fmt) for fmt in VARIANTS}


# --------------------------------------------------------------------------------------------
# Self-check: decode with the standard library, then the shared oracle over every view
# --------------------------------------------------------------------------------------------

_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_B64_ONLY = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_REQ_LINE = re.compile(rb"^(?:GET|POST|PUT|PATCH|DELETE) \S+ HTTP/1\.[01]\r?\n")
NORM = {ord(c): "-" for c in DASHES + ["\u2014", "\ufe58"]}
NORM.update({ord(c): " " for c in USPACES + ["\u2009", "\u2002", "\u2003"]})


def normalize(t: str) -> str:
    t = unicodedata.normalize("NFKC", t).translate(NORM)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in t)


def _looks_utf16(b: bytes) -> str | None:
    if len(b) < 8:
        return None
    n = len(b) // 2
    ev, od = b[0:2 * n:2].count(0), b[1:2 * n:2].count(0)
    if od > 0.6 * n and ev < 0.1 * n:
        return "utf-16-le"
    if ev > 0.6 * n and od < 0.1 * n:
        return "utf-16-be"
    return None


def _plausible(b: bytes) -> bool:
    if len(b) < 4:
        return False
    if b[:2] in (b"\x1f\x8b", b"\xff\xfe", b"\xfe\xff") or b[:4] == b"PK\x03\x04":
        return True
    if b[0] == 0x78 and (b[0] * 256 + b[1]) % 31 == 0:
        return True
    if _looks_utf16(b):
        return True
    try:
        t = b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return sum(c.isprintable() or c in "\r\n\t" for c in t) >= 0.9 * len(t)


def _b64_try(s: str) -> bytes | None:
    s = s.rstrip("=")
    if len(s) % 4 == 1:
        return None
    try:
        b = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) if ("-" in s or "_" in s) else \
            base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return b if _plausible(b) else None


def _decode(b: bytes) -> str:
    if b[:2] == b"\xff\xfe":
        return b[2:].decode("utf-16-le", "replace")
    if b[:2] == b"\xfe\xff":
        return b[2:].decode("utf-16-be", "replace")
    enc = _looks_utf16(b)
    if enc:
        return b.decode(enc, "replace")
    return b.decode("utf-8", "replace")


def _bytes_children(b: bytes) -> list[bytes]:
    out = []
    try:
        if b[:2] == b"\x1f\x8b":
            out.append(gzip.decompress(b))
        elif len(b) > 2 and b[0] == 0x78 and (b[0] * 256 + b[1]) % 31 == 0:
            out.append(zlib.decompress(b))
        elif b[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(b)) as z:
                out.extend(z.read(n) for n in z.namelist())
    except (OSError, zlib.error, zipfile.BadZipFile, EOFError):
        pass
    if not out and not _plausible(b[:4096]):
        try:
            do = zlib.decompressobj(-15)
            x = do.decompress(b)
            if do.eof and x:
                out.append(x)
        except zlib.error:
            pass
    for m in re.finditer(rb"\x1f\x8b\x08", b[1:]):  # gzip members inside a multipart body
        try:
            out.append(zlib.decompressobj(31).decompress(b[m.start() + 1:]))
        except zlib.error:
            pass
    body = _REQ_LINE.sub(b"", b, count=1)
    m = re.match(rb"--([^\r\n]{1,200})\r?\n", body)
    src = None
    if m:
        src = b'Content-Type: multipart/mixed; boundary="' + m.group(1) + b'"\r\n\r\n' + body
    elif re.search(rb"(?im)^content-transfer-encoding:|^content-type: multipart/", body[:8192]):
        src = body
    if src is not None:
        try:
            msg = email.message_from_bytes(src)
            for part in msg.walk():
                if not part.is_multipart():
                    p = part.get_payload(decode=True)
                    if p:
                        out.append(p)
        except Exception:  # noqa: BLE001 - a self-check view, not a parser of record
            pass
    return out


def _text_children(t: str) -> list:
    out: list = []
    if "&" in t:
        out.append(html.unescape(t))
    if "\\u" in t:
        out.append(re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), t))
    if "%" in t or "+" in t:
        out.append(urllib.parse.unquote_plus(t))
    if re.search(r"=\r?\n|=[0-9A-F]{2}", t):
        out.append(quopri.decodestring(t.encode("utf-8", "surrogateescape")))
    if not t.isascii():
        out.append(normalize(t))
    compact = re.sub(r"\s+", "", t)
    if len(compact) >= 16 and _B64_ONLY.fullmatch(compact):
        b = _b64_try(compact)
        if b is not None:
            out.append(b)
    for m in _B64_RUN.finditer(t):
        b = _b64_try(m.group(0))
        if b is not None:
            out.append(b)
    return out


def deep_views(data: bytes, max_views=160, max_depth=7) -> list[str]:
    texts: list[str] = []
    seen: set = set()
    queue: list = [(data, 0)]
    while queue and len(texts) < max_views:
        item, depth = queue.pop(0)
        key = hashlib.sha1(item if isinstance(item, bytes) else item.encode("utf-8", "surrogatepass")).digest() + \
            (b"b" if isinstance(item, bytes) else b"t")
        if key in seen:
            continue
        seen.add(key)
        if isinstance(item, bytes):
            if depth < max_depth:
                queue.extend((c, depth + 1) for c in _bytes_children(item))
            queue.append((_decode(item), depth))
            continue
        texts.append(item)
        if depth < max_depth:
            queue.extend((c, depth + 1) for c in _text_children(item))
    return texts


def check_positive(s: Sample) -> list[str]:
    errs = []
    if not s.kinds:
        errs.append("no kinds")
    views = deep_views(s.data)
    for kind, v in s.values:
        if not any(v in t for t in views):
            errs.append(f"{kind} value missing after decoding")
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


def negative_violations(data: bytes) -> list[str]:
    out: set = set()
    for t in deep_views(data):
        out.update(oracle.negative_violations(t.encode("utf-8", "surrogatepass")))
    return sorted(out)
