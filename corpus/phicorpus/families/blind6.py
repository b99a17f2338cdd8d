"""The `blind6` family (`Blind6Faker`, `B6_GEN`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import urllib.parse
import zlib

from ..core import (
    luhn_complete, card_ok, NAMES, STREETS, CITIES, PROVIDER_SPECIALTIES, CONDITIONS, MEDS, KW,
    STYLES, CONTEXT_FREE, style_key, Faker, ident_value, PHRASES, esc_default, jdump, Sample, place
)
from .train_holdout import (
    fhir_xml, hl7_ts, csv_text, form_encode, fake_png
)


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
