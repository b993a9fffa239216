#!/usr/bin/env python3
"""treecmp.py A B [--ignore GLOB...]: exit 0 when trees A and B are identical in type, mode, size,
mtime (ns), owner, symlink target and content; otherwise print the differences and exit 1."""
import fnmatch, hashlib, os, stat, sys

def scan(root, ignore):
    out = {}
    for dp, dns, fns in os.walk(root):
        for name in dns + fns:
            p = os.path.join(dp, name)
            rel = os.path.relpath(p, root)
            if any(fnmatch.fnmatch(part, g) for part in rel.split(os.sep) for g in ignore):
                continue
            st = os.lstat(p)
            e = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns]
            if stat.S_ISREG(st.st_mode):
                e += [st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest()]
            elif stat.S_ISLNK(st.st_mode):
                e += [os.readlink(p)]
            out[rel] = e
    st = os.stat(root)
    out["."] = [stat.S_IMODE(st.st_mode), st.st_mtime_ns]
    return out

args = sys.argv[1:]
ignore = []
if "--ignore" in args:
    i = args.index("--ignore")
    ignore, args = args[i + 1:], args[:i]
a, b = scan(args[0], ignore), scan(args[1], ignore)
diffs = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in diffs[:20]:
    print(f"differs: {k!r}: {a.get(k)} vs {b.get(k)}", file=sys.stderr)
sys.exit(1 if diffs else 0)
