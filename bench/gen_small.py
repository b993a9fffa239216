#!/usr/bin/env python3
"""Many small player saves for bench/scale.sh (stdlib only, deterministic).

  gen_small.py generate --out D --n N [--per-dir P] [--seed S] [--jobs J]
  gen_small.py mutate D --pct PCT [--seed S]    rewrite every (100/PCT)th file: version+1, mtime +1 h
  gen_small.py verify D M                        compare tree D against manifest M (exit 1 on a difference)

Files are D/dNNNN/save_NNNNNNN.json, P per directory. Sizes are log-normal around 3.9 KiB (clamped to
200 B - 64 KiB) and the content is JSON drawn from Random(f"{seed}:{i}"), so it compresses like a save.
File i gets mtime 1.7e9 + i s. `generate` and `mutate` write D.manifest (path, size, sha256) beside D.
"""
import argparse
import hashlib
import json
import math
import os
import random
import sys
from multiprocessing import Pool

BASE_MTIME = 1_700_000_000


def rel_path(i, per_dir):
    return f"d{i // per_dir:04d}/save_{i:07d}.json"


def content(seed, i, version):
    rnd = random.Random(f"{seed}:{i}")
    size = int(min(64 << 10, max(200, rnd.lognormvariate(math.log(3000), 0.75))))
    doc = {"player": f"p{i:07d}", "version": version, "level": rnd.randint(1, 99),
           "gold": rnd.randint(0, 10**7), "inventory": []}
    body = json.dumps(doc)
    total = len(body)
    while total < size:
        item = {"item": rnd.choice(("sword", "shield", "potion", "scroll", "gem")),
                "id": rnd.getrandbits(40), "qty": rnd.randint(1, 50)}
        doc["inventory"].append(item)
        total += len(json.dumps(item)) + 1
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def write_one(out, per_dir, seed, i, version, mtime):
    p = os.path.join(out, rel_path(i, per_dir))
    data = content(seed, i, version)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (mtime, mtime))
    return rel_path(i, per_dir), len(data), hashlib.sha256(data).hexdigest()


def gen_range(args):
    out, per_dir, seed, lo, hi = args
    rows = []
    for i in range(lo, hi):
        if i % per_dir == 0:
            os.makedirs(os.path.join(out, f"d{i // per_dir:04d}"), exist_ok=True)
        rows.append(write_one(out, per_dir, seed, i, 1, BASE_MTIME + i))
    return rows


def write_manifest(path, rows, meta):
    with open(path + ".tmp", "w") as f:
        json.dump(meta, f)
        f.write("\n")
        for r, size, digest in sorted(rows):
            f.write(f"{r}\t{size}\t{digest}\n")
    os.replace(path + ".tmp", path)


def read_manifest(path):
    with open(path) as f:
        meta = json.loads(f.readline())
        rows = {}
        for line in f:
            r, size, digest = line.rstrip("\n").split("\t")
            rows[r] = (int(size), digest)
    return meta, rows


def generate(a):
    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists: remove it or pick another --out")
    os.makedirs(a.out)
    step = max(a.per_dir, (a.n // (a.jobs * 8)) // a.per_dir * a.per_dir)
    ranges = [(a.out, a.per_dir, a.seed, lo, min(a.n, lo + step)) for lo in range(0, a.n, step)]
    rows = []
    with Pool(a.jobs) as pool:
        for part in pool.imap_unordered(gen_range, ranges):
            rows.extend(part)
    for d in range((a.n + a.per_dir - 1) // a.per_dir):
        os.utime(os.path.join(a.out, f"d{d:04d}"), (BASE_MTIME, BASE_MTIME))
    write_manifest(a.out + ".manifest", rows,
                   {"n": a.n, "per_dir": a.per_dir, "seed": a.seed, "version": 1})


def mutate(a):
    meta, rows = read_manifest(a.dir + ".manifest")
    every = max(1, round(100 / a.pct))
    version = meta["version"] + 1
    changed = 0
    for i in range(0, meta["n"], every):
        r, size, digest = write_one(a.dir, meta["per_dir"], meta["seed"], i, version,
                                    BASE_MTIME + i + 3600 * (version - 1))
        rows[r] = (size, digest)
        changed += 1
    meta["version"] = version
    write_manifest(a.dir + ".manifest", [(r, s, d) for r, (s, d) in rows.items()], meta)
    print(f"changed {changed} files")


def verify(a):
    _, rows = read_manifest(a.manifest)
    seen = 0
    bad = []
    for dp, dns, fns in os.walk(a.dir):
        for fn in fns:
            p = os.path.join(dp, fn)
            r = os.path.relpath(p, a.dir)
            want = rows.get(r)
            with open(p, "rb") as f:
                data = f.read()
            if want is None or want != (len(data), hashlib.sha256(data).hexdigest()):
                bad.append(r)
            seen += 1
    if seen != len(rows) or bad:
        sys.exit(f"verify: {seen} files, manifest {len(rows)}, {len(bad)} differ (first: {bad[:3]})")
    print(f"verify: {seen} files match")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True)
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--per-dir", type=int, default=1000)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--jobs", type=int, default=2)
    m = sub.add_parser("mutate")
    m.add_argument("dir")
    m.add_argument("--pct", type=float, required=True)
    v = sub.add_parser("verify")
    v.add_argument("dir")
    v.add_argument("manifest")
    a = ap.parse_args()
    {"generate": generate, "mutate": mutate, "verify": verify}[a.cmd](a)


if __name__ == "__main__":
    main()
