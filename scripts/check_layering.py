#!/usr/bin/env python3
"""Fails when a module includes a module it may not: the rules are the layering table of
doc/design.md ("Modules and layering"), read from between its `layering:begin` and `layering:end`
markers, so the documentation and the check cannot drift apart. Run as the ctest test
lint.layering; `--self-test` proves on a scratch tree that a forbidden include fails.

A module is a directory of src/ (a component is its own module: components/files is not
components/redis); `main.cc` is the module `main`. Each row lists what its files may include
directly, besides themselves. Unit tests (`*_test.cc`) may include any module except `cli/`, since
they test the modules from outside; test/ and fuzz/ are not checked."""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|[^|]*\|\s*(.*?)\s*\|\s*$")


def read_table(design_md):
    text = open(design_md, encoding="utf-8").read()
    m = re.search(r"<!-- layering:begin -->(.*?)<!-- layering:end -->", text, re.S)
    if not m:
        sys.exit(f"error: {design_md} has no <!-- layering:begin --> ... <!-- layering:end --> table")
    rules = {}
    for line in m.group(1).splitlines():
        row = ROW.match(line)
        if not row:
            continue
        module = row.group(1).rstrip("/")
        allowed = set(re.findall(r"`([^`]+)`", row.group(2)))
        if "every module" in row.group(2):
            allowed = {"*"}
        rules["main" if module == "main.cc" else module] = {a.rstrip("/") for a in allowed}
    return rules


def module_of(rel, modules):
    """The longest module that is a directory prefix of rel (a path below src/)."""
    if rel == "main.cc":
        return "main"
    best = None
    for m in modules:
        if rel.startswith(m + "/") and (best is None or len(m) > len(best)):
            best = m
    return best


def check(src, rules):
    errors = []
    modules = [m for m in rules if m != "main"]
    for root, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith((".cc", ".h")):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            own = module_of(rel, modules)
            if own is None:
                errors.append(f"{path}: in no module of the layering table (add a row to doc/design.md)")
                continue
            is_test = f.endswith("_test.cc")
            for inc in INCLUDE.findall(open(path, encoding="utf-8", errors="replace").read()):
                if not os.path.exists(os.path.join(src, inc)):
                    continue  # a system or generated header
                target = module_of(inc, modules)
                if target is None or target == own:
                    continue
                if is_test:
                    if target == "cli" and own != "cli":
                        errors.append(f"{path}: a unit test includes {inc} (nothing but main.cc includes cli/)")
                    continue
                if target not in rules[own] and "*" not in rules[own]:
                    errors.append(f"{path}: {own}/ may not include {inc} ({target}/); doc/design.md, "
                                  f"'Modules and layering', lists what {own}/ may use")
    return errors


def self_test():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        for sub in ("storage", "repository", "components/files", "components/redis", "cli"):
            os.makedirs(os.path.join(src, sub))
        open(os.path.join(src, "repository/r.h"), "w").write('#include "storage/s.h"\n')
        open(os.path.join(src, "storage/s.h"), "w").write('#include "repository/r.h"\n')
        open(os.path.join(src, "components/files/f.h"), "w").write('#include "components/redis/x.h"\n')
        open(os.path.join(src, "components/redis/x.h"), "w").write('#include "repository/r.h"\n')
        open(os.path.join(src, "cli/c.h"), "w").write('#include "components/files/f.h"\n')
        rules = {"storage": set(), "repository": {"storage"}, "components/files": {"repository"},
                 "components/redis": {"repository"}, "cli": {"components/files", "repository"}}
        errors = check(src, rules)
        want = ["storage/s.h", "components/files/f.h"]
        got = sorted(e.split(": ")[0].split("/src/")[1] for e in errors)
        if got != sorted(want):
            print("self-test failed: expected errors in", want, "got", errors, file=sys.stderr)
            return 1
    print("layering self-test ok")
    return 0


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    rules = read_table(os.path.join(top, "doc", "design.md"))
    errors = check(os.path.join(top, "src"), rules)
    for e in errors:
        print("error:", e, file=sys.stderr)
    if not errors:
        print(f"layering ok ({len(rules)} modules)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
