#!/usr/bin/env python3
"""Measures phimesh's detection quality on a labelled corpus made by corpus/gen.py.

    python3 corpus/quality.py --corpus DIR [--bin PATH] [--json] [--min-recall R] [--max-fpr F] [--by-note DEPTH]

Runs `phimesh scan FILE...` in batches, compares each file's verdict with DIR/labels.jsonl and
prints, per family and format and overall: samples, TP, FP, TN, FN, recall, precision and
false-positive rate; recall per PHI kind (a PHI file counts as recalled for a kind when a finding
of that kind is reported); with --by-note, the same counts per template-note prefix; and the
misclassified files (names, formats and template notes only; never a value).

An *uninspectable* verdict counts as a positive prediction (the proxy would refuse the body) and
is also counted on its own. Exit status: 0, or 1 when --min-recall / --max-fpr are not met, or 2
when the corpus or the binary cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

KINDS = [
    "ssn", "mbi", "mrn", "member_id", "account_number", "dob", "credit_card", "npi", "dea",
    "hl7_pid", "fhir_patient", "patient_email", "patient_phone", "patient_name",
]


def default_bin() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for p in ("target/release/phimesh", "target/debug/phimesh"):
        cand = os.path.join(root, p)
        if os.path.exists(cand):
            return cand
    return os.path.join(root, "target/release/phimesh")


def run_scan(binary: str, paths: list[str], extra: list[str], timeout: float) -> dict[str, dict]:
    """Scans paths; returns {path: result}. A batch that breaks is retried file by file."""
    try:
        p = subprocess.run([binary, "scan", *extra, *paths], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        code, out, err = -1, b"", b"timeout"
    results = {}
    for line in out.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "file" in obj:
            results[obj["file"]] = obj
    missing = [x for x in paths if x not in results]
    if missing and len(missing) > 1:
        # a crash or a timeout part-way: bisect the files without a result
        half = len(missing) // 2
        results.update(run_scan(binary, missing[:half], extra, timeout))
        results.update(run_scan(binary, missing[half:], extra, timeout))
        return results
    if missing and len(paths) > 1:
        results.update(run_scan(binary, missing, extra, timeout))
        return results
    for x in missing:
        why = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {code}"]
        results[x] = {"file": x, "error": f"no result (exit {code}): {why[0][:200]}"}
    return results


def ratio(a: int, b: int):
    return None if b == 0 else a / b


class Counts:
    def __init__(self):
        self.n = self.tp = self.fp = self.tn = self.fn = self.uninspectable = self.errors = 0

    def add(self, label: bool, pred: bool, unins: bool, err: bool):
        self.n += 1
        if err:
            self.errors += 1
        if unins:
            self.uninspectable += 1
        if label and pred:
            self.tp += 1
        elif label:
            self.fn += 1
        elif pred:
            self.fp += 1
        else:
            self.tn += 1

    def as_dict(self):
        return {"samples": self.n, "tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn,
                "uninspectable": self.uninspectable, "errors": self.errors,
                "recall": ratio(self.tp, self.tp + self.fn),
                "precision": ratio(self.tp, self.tp + self.fp),
                "fpr": ratio(self.fp, self.fp + self.tn)}


def fmt_r(x):
    return "   -  " if x is None else f"{x:6.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, help="directory with labels.jsonl (from gen.py)")
    ap.add_argument("--bin", default=None, help="phimesh binary (default target/release, then target/debug)")
    ap.add_argument("--batch", type=int, default=200, help="files per `phimesh scan` run")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per batch")
    ap.add_argument("--scan-arg", action="append", default=[], help="extra argument for `phimesh scan`")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--min-recall", type=float, default=None)
    ap.add_argument("--max-fpr", type=float, default=None)
    ap.add_argument("--family", default=None, help="only this family")
    ap.add_argument("--format", default=None, help="only these formats (comma-separated)")
    ap.add_argument("--by-note", type=int, default=0, metavar="DEPTH",
                    help="also count per note prefix: the first DEPTH '/'-separated parts of each template note "
                         "(2 gives evasion/<encoding>, positives and negatives together)")
    a = ap.parse_args(argv)

    binary = a.bin or default_bin()
    if not os.path.exists(binary):
        print(f"quality.py: no phimesh binary at {binary} (cargo build --bin phimesh)", file=sys.stderr)
        return 2
    lab_path = os.path.join(a.corpus, "labels.jsonl")
    try:
        with open(lab_path) as fh:
            labels = [json.loads(x) for x in fh if x.strip()]
    except OSError as e:
        print(f"quality.py: cannot read {lab_path}: {e.strerror}", file=sys.stderr)
        return 2
    if a.family:
        labels = [x for x in labels if x.get("family") == a.family]
    if a.format:
        fs = set(a.format.split(","))
        labels = [x for x in labels if x["format"] in fs]
    if not labels:
        print("quality.py: no samples", file=sys.stderr)
        return 2

    paths = [os.path.join(a.corpus, x["file"]) for x in labels]
    # Probe: a binary that cannot scan anything (no JSON line at all) stops the run here rather
    # than being retried file by file.
    probe = subprocess.run([binary, "scan", *a.scan_arg, paths[0]], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=a.timeout)
    if not probe.stdout.strip():
        msg = probe.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        print(f"quality.py: {binary} scan printed no result (exit {probe.returncode}): {msg[0][:300]}",
              file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    for i in range(0, len(paths), a.batch):
        results.update(run_scan(binary, paths[i:i + a.batch], a.scan_arg, a.timeout))

    groups: dict[tuple, Counts] = defaultdict(Counts)
    by_note: dict[str, Counts] = defaultdict(Counts)
    kind_tot: dict[tuple, int] = defaultdict(int)
    kind_hit: dict[tuple, int] = defaultdict(int)
    wrong = []
    errors = []
    for lab, path in zip(labels, paths):
        res = results.get(path, {"error": "no result"})
        err = "error" in res
        unins = bool(res.get("uninspectable"))
        pred = bool(res.get("phi")) or unins
        found = {f.get("kind") for f in res.get("findings", []) if isinstance(f, dict)}
        fam = lab.get("family", "-")
        for key in (("all", "all"), (fam, "all"), ("all", lab["format"]), (fam, lab["format"])):
            groups[key].add(lab["phi"], pred, unins, err)
        if a.by_note > 0:
            tpl = lab.get("note", "").split(" ")[0].split("/large:")[0]
            by_note["/".join(tpl.split("/")[:a.by_note])].add(lab["phi"], pred, unins, err)
        if lab["phi"]:
            for k in lab["kinds"]:
                for key in (("all", k), (fam, k)):
                    kind_tot[key] += 1
                    kind_hit[key] += k in found
        if err:
            errors.append({"file": lab["file"], "format": lab["format"], "error": res["error"]})
        if pred != lab["phi"]:
            wrong.append({"file": lab["file"], "format": lab["format"], "family": fam,
                          "expected": "phi" if lab["phi"] else "clean",
                          "got": "uninspectable" if unins else ("phi" if pred else ("error" if err else "clean")),
                          "label_kinds": lab["kinds"], "found_kinds": sorted(k for k in found if k),
                          "note": lab.get("note", "")})

    overall = groups[("all", "all")].as_dict()
    ok = True
    why = []
    if a.min_recall is not None and (overall["recall"] is None or overall["recall"] < a.min_recall):
        ok = False
        why.append(f"recall {fmt_r(overall['recall']).strip()} < {a.min_recall}")
    if a.max_fpr is not None and (overall["fpr"] is not None and overall["fpr"] > a.max_fpr):
        ok = False
        why.append(f"false-positive rate {fmt_r(overall['fpr']).strip()} > {a.max_fpr}")
    if errors:
        ok = False if (a.min_recall is not None or a.max_fpr is not None) else ok
        why.append(f"{len(errors)} scan errors")

    fams = sorted({k[0] for k in groups if k[0] != "all"})
    fmts = [f for f in dict.fromkeys(x["format"] for x in labels)]
    if a.json:
        out = {"binary": binary, "overall": overall,
               "by_family": {f: groups[(f, "all")].as_dict() for f in fams},
               "by_format": {fm: groups[("all", fm)].as_dict() for fm in fmts},
               "by_family_format": {f: {fm: groups[(f, fm)].as_dict() for fm in fmts if (f, fm) in groups} for f in fams},
               "kind_recall": {fa: {k: {"files": kind_tot[(fa, k)], "recalled": kind_hit[(fa, k)],
                                        "recall": ratio(kind_hit[(fa, k)], kind_tot[(fa, k)])}
                                    for k in KINDS if kind_tot[(fa, k)]} for fa in ["all"] + fams},
               "misclassified": wrong, "errors": errors, "ok": ok, "why": why}
        if a.by_note > 0:
            out["by_note"] = {k: by_note[k].as_dict() for k in sorted(by_note)}
        print(json.dumps(out, indent=2))
    else:
        hdr = f"{'family':8} {'format':12} {'samples':>7} {'TP':>5} {'FP':>4} {'TN':>5} {'FN':>4} {'unins':>5} {'recall':>7} {'precis':>7} {'FPR':>7}"
        print(f"phimesh detection quality ({binary})")
        print(hdr)
        print("-" * len(hdr))
        for f in fams + ["all"]:
            for fm in fmts + ["all"]:
                if (f, fm) not in groups:
                    continue
                c = groups[(f, fm)].as_dict()
                print(f"{f:8} {fm:12} {c['samples']:7d} {c['tp']:5d} {c['fp']:4d} {c['tn']:5d} {c['fn']:4d} "
                      f"{c['uninspectable']:5d} {fmt_r(c['recall']):>7} {fmt_r(c['precision']):>7} {fmt_r(c['fpr']):>7}")
            print("-" * len(hdr))
        if a.by_note > 0:
            w = max(len(k) for k in by_note)
            nh = f"{'note prefix':{w}} {'samples':>7} {'TP':>5} {'FP':>4} {'TN':>5} {'FN':>4} {'unins':>5} {'recall':>7} {'precis':>7} {'FPR':>7}"
            print(f"\nby note prefix (depth {a.by_note})")
            print(nh)
            print("-" * len(nh))
            for k in sorted(by_note):
                c = by_note[k].as_dict()
                print(f"{k:{w}} {c['samples']:7d} {c['tp']:5d} {c['fp']:4d} {c['tn']:5d} {c['fn']:4d} "
                      f"{c['uninspectable']:5d} {fmt_r(c['recall']):>7} {fmt_r(c['precision']):>7} {fmt_r(c['fpr']):>7}")
        print("\nrecall per kind (PHI files labelled with the kind that got a finding of that kind)")
        print(f"{'kind':16}" + "".join(f"{fa:>16}" for fa in ["all"] + fams))
        for k in KINDS:
            if not kind_tot[("all", k)]:
                continue
            cells = ""
            for fa in ["all"] + fams:
                t, h = kind_tot[(fa, k)], kind_hit[(fa, k)]
                cells += f"{(f'{h}/{t} ' + fmt_r(ratio(h, t)).strip()) if t else '-':>16}"
            print(f"{k:16}{cells}")
        if wrong:
            by_tpl: dict[str, int] = defaultdict(int)
            for w in wrong:
                tpl = w["note"].split(" ")[0].split("/large:")[0]
                flags = [x for x in w["note"].split(" ")[1:] if x]
                by_tpl[f"{w['expected']}->{w['got']} {tpl}" + (f" {' '.join(flags)}" if flags else "")] += 1
            print(f"\nmisclassified by template ({len(by_tpl)} groups):")
            for k, n in sorted(by_tpl.items(), key=lambda kv: (-kv[1], kv[0])):
                print(f"  {n:4d}  {k}")
            print(f"\nmisclassified ({len(wrong)}):")
            for w in wrong:
                print(f"  {w['expected']:5} -> {w['got']:13} {w['format']:11} {w['file']}  [{w['note']}]"
                      f" labelled={','.join(w['label_kinds']) or '-'} found={','.join(w['found_kinds']) or '-'}")
        if errors:
            print(f"\nscan errors ({len(errors)}):")
            for e in errors[:50]:
                print(f"  {e['format']:11} {e['file']}: {e['error']}")
        print(f"\noverall: recall {fmt_r(overall['recall']).strip()}, precision "
              f"{fmt_r(overall['precision']).strip()}, false-positive rate {fmt_r(overall['fpr']).strip()}"
              + ("" if not why else " -- " + "; ".join(why)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
