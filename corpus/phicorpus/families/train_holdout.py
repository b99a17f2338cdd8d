"""The `train` and `holdout` families: one set of templates (`GEN`) that draws its vocabulary, key
styles, phrasings and value formats from the family of the `Faker` it is given, so `train` and
`holdout` samples come from separate word lists and spellings.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.parse
import zlib

from ..core import (
    NAMES, PROVIDER_SPECIALTIES, CONDITIONS, MEDS, Faker, ID_KINDS, Rec, ident_value,
    patient_record, pick_kinds, phrase, esc_default, esc_digits, esc_all, jdump, Sample, place
)


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
