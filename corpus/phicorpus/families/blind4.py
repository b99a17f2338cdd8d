"""The `blind4` family (`Blind4Faker`, `B4_GEN`).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import urllib.parse
import zlib

from ..core import (
    luhn_complete, card_ok, NAMES, STREETS, CITIES, PROVIDER_SPECIALTIES, CONDITIONS, MEDS, KW,
    STYLES, CONTEXT_FREE, NEUTRAL_KEYS, NEUTRAL_PHRASES, style_key, Faker, ident_value,
    patient_record, pick_kinds, PHRASES, esc_default, esc_digits, esc_all, jdump, Sample, place
)
from .train_holdout import (
    fhir_xml, hl7_ts, msh, pv1, obx, csv_cell, csv_text, form_encode
)


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
