#!/usr/bin/env python3
"""Lists the longest function bodies in C++ sources, and fails when one in the given limit's scope
is longer: `function_lengths.py [--max N --scope PATH ...] [--top K] FILE_OR_DIR...`.

A textual scan (comments and literals blanked, braces matched), not a parser: a function is a
top-level `{ ... }` block (namespaces do not count as a level) whose header ends in `)` plus
qualifiers. Lambdas and local classes count towards the function that holds them."""
import argparse
import os
import re
import sys

HEADER_END = re.compile(r"\)\s*(const|override|final|noexcept|mutable|->\s*[\w:<>,\s*&]+|\s)*$")
NOT_FUNCTION = re.compile(r"^\s*(namespace|class|struct|enum|union|extern)\b|=\s*$")


def blank(text):
    """Comments, string and char literals (raw strings too) replaced by spaces, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i):
            m = re.match(r'R"([^()\s]{0,16})\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                j = n if end < 0 else end + len(m.group(1)) + 2
                out.append(re.sub(r"[^\n]", " ", text[i:j]))
                i = j
            else:
                out.append(c)
                i += 1
        elif c in "\"'" and not (c == "'" and i > 0 and text[i - 1].isalnum()):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    depth_kinds, results, header_start = [], [], 0
    func_open = None  # (start line, name) while inside a function
    for i, c in enumerate(text):
        if c == "{":
            header = text[header_start:i]
            h = header.strip()
            if func_open is None and HEADER_END.search(h + " ") and not NOT_FUNCTION.search(h):
                start = text.count("\n", 0, header_start + len(header) - len(header.lstrip())) + 1
                name = re.findall(r"([~\w:]+)\s*\(", header)
                func_open = (start, name[0] if name else "?", len(depth_kinds))
                depth_kinds.append("func")
            else:
                depth_kinds.append("block")
            header_start = i + 1
        elif c == "}":
            if depth_kinds:
                depth_kinds.pop()
            if func_open and len(depth_kinds) == func_open[2]:
                end = text.count("\n", 0, i) + 1
                results.append((end - func_open[0] + 1, path, func_open[0], func_open[1]))
                func_open = None
            header_start = i + 1
        elif c == ";" and func_open is None:
            header_start = i + 1
    return results


def sources(args):
    for a in args:
        if os.path.isdir(a):
            for root, _, files in os.walk(a):
                for f in sorted(files):
                    if f.endswith((".cc", ".h")):
                        yield os.path.join(root, f)
        else:
            yield a


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--max", type=int, default=0, help="fail when a function in --scope is longer")
    p.add_argument("--scope", action="append", default=[], help="a path prefix --max applies to (repeatable)")
    a = p.parse_args()
    found = sorted((f for s in sources(a.paths) for f in functions(s)), reverse=True)
    for lines, path, line, name in found[: a.top]:
        print(f"{lines:5d}  {path}:{line}  {name}")
    if a.max:
        over = [f for f in found if f[0] > a.max and any(f[1].startswith(s) for s in a.scope)]
        for lines, path, line, name in over:
            print(f"error: {path}:{line}: {name} is {lines} lines (at most {a.max} here: split it)", file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
