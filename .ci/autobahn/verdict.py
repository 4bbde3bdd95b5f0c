#!/usr/bin/env python3
"""Reads an Autobahn|Testsuite index.json and judges it strictly.

A case passes only when `behavior` is OK or INFORMATIONAL and
`behaviorClose` is OK or INFORMATIONAL: NON-STRICT, UNIMPLEMENTED, FAILED,
WRONG CODE, UNCLEAN and cases that never reported are failures.

usage: verdict.py INDEX_JSON AGENT EXPECTED_COUNT [MARKDOWN_OUT]
Prints one line per failing case (and a line if the count is not
EXPECTED_COUNT, either way), a table by case group, and last the line
"autobahn: N passed, M failed". Exit status 0 only when M is 0.
"""
import collections
import json
import sys

PASS = {"OK", "INFORMATIONAL"}


def group_of(case_id):
    return case_id.split(".")[0]


def case_key(case_id):
    return tuple(int(p) for p in case_id.split("."))


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    path, agent, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    md_out = sys.argv[4] if len(sys.argv) == 5 else None
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print(f"autobahn: cannot read {path}: {e}", file=sys.stderr)
        print("autobahn: 0 passed, 1 failed")
        return 1
    cases = index.get(agent, {})
    passed = failed = 0
    by_group = collections.OrderedDict()
    for case_id in sorted(cases, key=case_key):
        r = cases[case_id]
        b, bc = r.get("behavior"), r.get("behaviorClose")
        g = by_group.setdefault(group_of(case_id), collections.Counter())
        g[b] += 1
        if b in PASS and bc in PASS:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {case_id}: behavior={b} behaviorClose={bc} "
                  f"remoteCloseCode={r.get('remoteCloseCode')}")
    missing = expected - len(cases)
    if missing > 0:
        print(f"FAIL: {missing} cases never reported (expected {expected})")
        failed += missing
    elif missing < 0:
        # More cases than asked for: the case list is not what it claims.
        print(f"FAIL: {-missing} cases more than the {expected} expected")
        failed += 1
    header = "| group | cases | " + " | ".join(["OK", "INFORMATIONAL", "NON-STRICT", "FAILED", "other"]) + " |"
    rows = [header, "|---|---|---|---|---|---|---|"]
    for g, c in by_group.items():
        known = c["OK"] + c["INFORMATIONAL"] + c["NON-STRICT"] + c["FAILED"]
        rows.append(f"| {g} | {sum(c.values())} | {c['OK']} | {c['INFORMATIONAL']} | "
                    f"{c['NON-STRICT']} | {c['FAILED']} | {sum(c.values()) - known} |")
    table = "\n".join(rows)
    print(table)
    if md_out:
        with open(md_out, "w") as f:
            f.write(table + "\n")
    print(f"autobahn: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
