"""Self-check: an independent regex oracle over the decoded text of every sample (negatives that
trip it are redrawn) and the check that every positive's values are present and valid.
"""

from __future__ import annotations

import gzip
import re
import urllib.parse
import zlib

from .core import (
    KINDS, luhn_ok, ssn_ok, mbi_ok, npi_ok, dea_ok, card_ok, Sample
)


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
