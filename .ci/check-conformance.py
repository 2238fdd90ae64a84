#!/usr/bin/env python3
"""Fail unless every hard difference in a conformance report.json is listed
in the known-differences file (lines "id[transport]  reason").

Usage: check-conformance.py REPORT_JSON KNOWN_DIFFERENCES
"""
import json
import sys

report, known_file = sys.argv[1], sys.argv[2]
known = set()
with open(known_file) as f:
    for line in f:
        line = line.split("#", 1)[0].strip()
        if line:
            # "[suite:]id[transport]": the harness report has no suite prefix.
            known.add(line.split()[0].split(":")[-1])
with open(report) as f:
    r = json.load(f)
if r["meta"].get("died"):
    sys.exit(f"servers died during the run: {r['meta']['died']}")
sections = [s for s in r["sections"] if s["sut"] == "levee"]
if not sections:
    sys.exit("no levee section in the report")
hard = []
for row in sections[0]["rows"]:
    if row["hard"]:
        key = f"{row['query']}[{row['transport']}]"
        hard.append((key, sorted({d['facet'] for d in row['hard']})))
unexpected = [(k, f) for k, f in hard if k not in known]
print(f"{r['meta']['suite']}: {r['meta']['exchanges']} exchanges, {len(hard)} with hard differences, "
      f"{len(unexpected)} not in {known_file}")
for k, f in hard:
    print(f"  {'KNOWN     ' if k in known else 'UNEXPECTED'} {k}: {', '.join(f)}")
sys.exit(1 if unexpected else 0)
