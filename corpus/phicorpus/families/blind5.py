"""The `blind5` family (`Blind5Faker`, `B5_GEN`).
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
    STYLES, CONTEXT_FREE, NEUTRAL_KEYS, NEUTRAL_PHRASES, style_key, Faker, ident_value,
    patient_record, pick_kinds, PHRASES, esc_default, jdump, Sample, place
)
from .train_holdout import (
    fhir_xml, hl7_ts, msh, csv_text, fake_png, pct_all
)
from .blind4 import (
    b4_words
)


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
