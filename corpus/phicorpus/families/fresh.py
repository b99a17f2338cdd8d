"""The `fresh` family (`FreshFaker`, `FRESH_GEN`).
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.parse
import zlib

from ..core import (
    luhn_complete, NAMES, STREETS, CITIES, PROVIDER_SPECIALTIES, CONDITIONS, MEDS, KW, STYLES,
    CONTEXT_FREE, NEUTRAL_KEYS, NEUTRAL_PHRASES, style_key, Faker, ident_value, patient_record,
    pick_kinds, PHRASES, esc_default, esc_all, jdump, Sample, place
)
from .train_holdout import (
    json_rec, fhir_xml, hl7_ts, msh, obx, csv_text, form_encode, code_filler, pct_all
)


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
