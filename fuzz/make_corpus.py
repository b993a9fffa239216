#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/<name>, small real examples
of each format (answers as the services send them, objects as this program writes them).
Run from anywhere; it rewrites only the seeds it names."""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
H = "ab" * 32  # a 64-hex-digit id


def seed(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def s(b):
    b = b.encode() if isinstance(b, str) else b
    return varint(len(b)) + b


# RESP replies (and a replication handshake a replica sends).
seed("resp", "simple", "+OK\r\n")
seed("resp", "error", "-ERR unknown command 'FOO'\r\n")
seed("resp", "integer", ":-42\r\n:1000\r\n")
seed("resp", "bulk", "$11\r\nredis_ver:7\r\n$-1\r\n$0\r\n\r\n")
seed("resp", "array", "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
seed("resp", "nested", "*2\r\n*2\r\n:1\r\n+a\r\n*1\r\n*-1\r\n")
seed("resp", "deep", "*1\r\n" * 40 + ":1\r\n")

# INFO answers.
seed("redis_info", "keyspace", "# Keyspace\r\ndb0:keys=200000,expires=2000,avg_ttl=86399\r\ndb5:keys=12,expires=0,avg_ttl=0\r\n")
seed("redis_info", "server", "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux\r\n\r\n# Persistence\r\nloading:0\r\n")
seed("redis_info", "empty", "# Keyspace\r\n")

# RDB streams: the first byte picks the piece size; a zero CRC means "checksums off".
rdb = b"REDIS0011" + b"\xfa\x09redis-ver\x057.0.0" + b"\xfe\x00\xfb\x01\x00\x00\x03key\x05value" + b"\xff" + b"\x00" * 8
seed("rdb", "small", b"\x07" + rdb)
seed("rdb", "bytewise", b"\x00" + rdb)
seed("rdb", "empty_db", b"\x20" + b"REDIS0009\xff" + b"\x00" * 8)

# The replication stream (first byte: piece size), PSYNC answers, RDB headers with aux fields.
def resp_cmd(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
stream = (resp_cmd(b"SELECT", b"0") + resp_cmd(b"SET", b"k", b"v\r\n") + resp_cmd(b"PING") + resp_cmd(b"MULTI") +
          resp_cmd(b"INCR", b"n") + resp_cmd(b"EXEC") + resp_cmd(b"REPLCONF", b"GETACK", b"*") + resp_cmd(b"SELECT", b"7"))
seed("redis_resp_stream", "commands", b"\x03" + stream)
seed("redis_resp_stream", "bytewise", b"\x00" + stream)
seed("redis_resp_stream", "truncated", b"\x05" + stream[:-3])
seed("redis_aof_encode", "commands", b"\x10" + stream)
seed("redis_aof_encode", "multi", b"\x07" + resp_cmd(b"MULTI") + resp_cmd(b"INCR", b"c") + resp_cmd(b"EXEC") + resp_cmd(b"PING"))
seed("redis_psync_reply", "fullresync", "+FULLRESYNC 591d2b67626d3d07f0a9c6534de839de439d0aac 1234")
seed("redis_psync_reply", "continue", "+CONTINUE 591d2b67626d3d07f0a9c6534de839de439d0aac")
seed("redis_psync_reply", "continue_same", "+CONTINUE")
seed("redis_psync_reply", "loading", "-LOADING Redis is loading the dataset in memory")
seed("redis_psync_reply", "noperm", "-NOPERM this user has no permissions to run the 'psync' command")
aux = lambda k, v: b"\xfa" + bytes([len(k)]) + k + v
seed("rdb_aux", "replication", b"REDIS0011" + aux(b"redis-ver", b"\x067.0.15") + aux(b"ctime", b"\xc2\xd9\xa1\x0b\x6b") +
     aux(b"repl-id", b"\x28" + b"591d2b67626d3d07f0a9c6534de839de439d0aac") + aux(b"repl-offset", b"\xc0\x00") + b"\xfe\x00")
seed("rdb_aux", "lzf", b"REDIS0011" + aux(b"repl-id", b"\xc3\x14\x28\x0f0123456789abcdef\xe0\x0f\x0f") +
     aux(b"repl-offset", b"\x0c123456789012"))

# HTTP answer headers: the first byte picks the status (400 + byte % 200).
seed("http_headers", "retry_after", "g" + "HTTP/1.1 503 Slow Down\r\nRetry-After: 7\r\nContent-Length: 0\r\n")
seed("http_headers", "retry_date", "g" + "HTTP/1.1 503\r\nretry-after: Wed, 21 Oct 2099 07:28:00 GMT\r\n")
seed("http_headers", "azure_error", "\x94" + "HTTP/1.1 404 Not Found\r\nx-ms-error-code: BlobNotFound\r\nContent-Length: 215\r\n")
seed("http_headers", "continue", "\x00" + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nETag: \"abc\"\r\nx-goog-hash: crc32c=n03x6A==\r\n")

# Listings.
seed("s3_list", "page", '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>bkt</Name><Prefix>pre/</Prefix>'
     "<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr&#x2F;XYExHnhbYLgveDs2J</NextContinuationToken>"
     "<Contents><Key>pre/config</Key><Size>312</Size><ETag>&quot;x&quot;</ETag></Contents>"
     "<Contents><Key>pre/data/ab/" + H + "</Key><Size>16777216</Size></Contents></ListBucketResult>")
seed("s3_list", "last", "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>pre/a&amp;b</Key><Size>0</Size></Contents></ListBucketResult>")
seed("s3_list", "error", "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>")
seed("azure_list", "page", '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="c"><Prefix>pre/</Prefix>'
     "<Blobs><Blob><Name>pre/config</Name><Properties><Content-Length>312</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>"
     "<Blob><Name>pre/keys/" + H + "</Name><Properties><Content-Length>540</Content-Length></Properties></Blob></Blobs>"
     "<NextMarker>2!96!MDAwMDE0</NextMarker></EnumerationResults>")
seed("azure_list", "last", "<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>")
seed("azure_list", "connection_string", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
seed("gcs_list", "page", json.dumps({"kind": "storage#objects", "nextPageToken": "CgRwcmUv",
                                      "items": [{"name": "pre/config", "size": "312"}, {"name": "pre/data/ab/" + H, "size": 16777216}]}))
seed("gcs_list", "last", '{"items":[{"name":"pre/x","size":"0"}]}')
seed("gcs_list", "empty", "{}")

# Cron expressions.
for i, e in enumerate(["0 2 * * *", "0 * * * *", "*/15 9-17 * * mon-fri", "30 2 29 2 */7", "@daily", "0 0 13 * fri",
                       "5,10-20/5 */2 1-31/3 jan,jul sun,7"]):
    seed("cron", "expr%d" % i, e)

# TOML settings.
seed("settings_toml", "full", """[repository]
root = "/var/backups/spacetime"
encryption_key = "/etc/spacetime/key"
compression = 3
workers = 4
[database]
host = "db"
port = 5432
name = "game"
restore_jobs = 4
checksums = true
[redis]
host = "redis"
port = 6379
tls = false
[schedule]
full = "0 2 * * *"
incremental = "0 * * * *"
[alerts]
rpo_seconds = 600
on_success = false
[configuration]
dirs = ["/etc/game", "/etc/k8s"]
[application]
exclude = ["*.pyc", "__pycache__"]
[s3]
bucket = "b"
prefix = "backups/primary/"
""")
seed("settings_toml", "small", '[database]\nport = 6543\n[redis]\nport = 7000\n')

# Trees (the binary encoding of components/files/tree.cc).
tree = bytearray(b"STBT\x01")
tree += varint(1) + s("saves") + s("/srv/saves")
tree += varint(3)
tree += bytes([0]) + varint(0) + s("saves") + varint(0o755) + varint(1000) + varint(1000) + varint(1704291930000000000)
tree += bytes([1]) + varint(5) + s("/a.json") + varint(0o644) + varint(0) + varint(0) + varint(1) + varint(12) + varint(99) + varint(1) + bytes(32)
tree += bytes([2]) + varint(6) + s("link") + varint(0o777) + varint(0) + varint(0) + varint(2) + s("a.json")
seed("tree", "small", bytes(tree))
seed("tree", "empty", b"STBT\x01\x00\x00")
# Version 2 (since issue 17): no node count, the nodes end with 0xFF.
tree2 = bytearray(b"STBT\x02") + tree[5:]
tree2 = tree2.replace(varint(1) + s("saves") + s("/srv/saves") + varint(3), varint(1) + s("saves") + s("/srv/saves"), 1) + b"\xff"
seed("tree", "small-v2", bytes(tree2))
seed("tree", "empty-v2", b"STBT\x02\x00\xff")

# Repository objects as this program writes them.
seed("index", "one_pack", json.dumps({"version": 1, "packs": [{"id": H, "blobs": [[H, 0, 0, 100, 60], ["cd" * 32, 1, 100, 200, 150]]}]}))
seed("index", "empty", '{"version":1,"packs":[]}')
# Repeated members (a document parser keeps the last copy; the streaming parser must refuse them).
seed("index", "repeated_members",
     '{"packs":[],"packs":[{"id":"%s","blobs":[["%s",1,0,100,60]],"blobs":[],"id":"%s"}]}' % (H, "cd" * 32, H))
seed("repo_config", "default", json.dumps({"version": 1, "id": "ef" * 32,
                                            "chunker": {"min_size": 262144, "avg_size": 1048576, "max_size": 8388608},
                                            "pack_size": 16777216, "created": "2026-11-28T07:00:00Z"}, indent=2))
seed("repo_config", "small_chunks", '{"version":1,"id":"' + "01" * 32 + '","chunker":{"min_size":64,"avg_size":256,"max_size":1024},"pack_size":4096}')
seed("key_object", "keyfile", json.dumps({"version": 1, "kdf": "keyfile", "salt": "00" * 32, "wrapped": "11" * 60,
                                           "created": "2026-11-28T07:00:00Z", "host": "backup-1"}, indent=2))
seed("key_object", "argon", json.dumps({"version": 1, "kdf": "argon2id", "salt": "00" * 16, "ops": 3, "mem": 67108864,
                                         "wrapped": "22" * 60}))
seed("snapshot", "full", json.dumps({"version": 1, "backup_id": "20261128_070000", "type": "full", "parent": None,
                                      "time_unix": 1796108400.5, "end_time": "2026-11-28T07:00:05Z", "hostname": "h",
                                      "size_bytes": 1234, "components": {"player_saves": {"kind": "files", "tree": H}}}))
seed("snapshot", "odd", '{"backup_id":"20261128_070001","time_unix":"soon"}')
# Pack headers: byte 0 odd = seal the rest as a header behind (byte 1) * 16 bytes of blobs.
entry = bytes([0]) + bytes(32) + struct.pack("<III", 0, 32, 4)
seed("pack_header", "one_entry", b"\x01\x02" + b"\x01" + entry)
seed("pack_header", "two_entries", b"\x01\x04" + b"\x01" + entry + bytes([1]) + bytes(range(32)) + struct.pack("<III", 32, 32, 20))
seed("pack_header", "raw", b"\x00" + bytes(40) + struct.pack("<I", 28))

# WAL (issue 16): names, timeline history files, object plaintexts and segment first pages.
seed("wal_names", "segment", "000000010000000000000023")
seed("wal_names", "partial", "0000000200000001000000FF.partial")
seed("wal_names", "history", "00000002.history")
seed("wal_names", "backup", "000000010000000000000005.00000028.backup")
seed("wal_names", "object", "wal/0123456789abcdef/0000000100000000/000000010000000000000023")
seed("wal_names", "part", "wal/0123456789abcdef/0000000100000000/000000010000000000000005.r00000000-00002000")
seed("wal_names", "lsn", "16/B374D848")
seed("wal_history", "two", "1\t0/3000158\tno recovery target specified\n\n# c\n2\t0/5000000\tbefore 2026-11-28\n")
SEG = 1 << 20
SYSID = 7310931155431581234
page = struct.pack("<HHIQI4xQII", 0xD110, 2, 1, 1 * SEG, 0, SYSID, SEG, 8192)
seed("wal_object", "segment_page", b"\x01" + page + b"\x00" * 64)
seed("wal_object", "plaintext_raw", b"\x00" + b"STBW" + bytes([1, 3, 0, 0]) + struct.pack("<QIIIQ", SYSID, 0, 0, 4, 0)
     + b"\x00" * 32 + b"1\t0/")
seed("walstream_message", "xlogdata", b"w" + struct.pack(">QQQ", 0x5000028, 0x5001000, 0x29A3B5C4D1E00) + b"\x00\x01\x02")
seed("walstream_message", "keepalive", b"k" + struct.pack(">QQ", 0x5001000, 0x29A3B5C4D1E00) + b"\x01")

# Redis stream objects (issue 14): names, plaintexts (content id = HMAC under the target's fixed
# key, so the seeds open), chain meta and events.
import hashlib
import hmac as hmac_mod

RS = "redis/0123456789abcdef/"
RC = "01a1ee565e00-89abcdef"
seed("redis_stream_names", "meta", RS + "chains/" + RC)
seed("redis_stream_names", "piece", RS + "base/" + RC + "/000012")
seed("redis_stream_names", "segment", RS + "seg/" + RC + "/2026111811/0000000000000010-0000000000002000")
seed("redis_stream_names", "ids", RS + "ids/" + RC + "/0000000000000abc")
seed("redis_stream_names", "event", RS + "events/" + RC + "/01a1ee565e00")
seed("redis_stream_names", "hour", "2024022923")


def redis_plain(kind, start, body, index=(), db=-1, first=10, last=20):
    cid = hmac_mod.new(b"\x29" * 32, body, hashlib.sha256).digest()
    h = b"STBR" + bytes([1, kind, 0, 0]) + struct.pack("<QQqqqiII", start, start + len(body), 30, first, last, db, 0,
                                                          len(index))
    return h + cid + b"".join(struct.pack("<Iq", o, t) for o, t in index) + body


seed("redis_stream_object", "segment", b"\x00" + redis_plain(0, 16, b"*1\r\n$4\r\nPING\r\n", [(0, 10), (7, 20)]))
seed("redis_stream_object", "piece", b"\x00" + redis_plain(1, 0, b"REDIS0011", db=0))
seed("redis_stream_object", "sealed_segment", b"\x01" + redis_plain(0, 0, b"*1\r\n$4\r\nPING\r\n", [(0, 10)]))
seed("redis_chain_meta", "meta", json.dumps({
    "replid": "8371445ee0d8e5bd81a1a2a4d3c1ed4ba2c6b8b5", "base_offset": 1000, "base_ms": 1795000000000,
    "redis_version": "7.2.4", "run_id_hash": "0123456789abcdef", "rdb_size": 20,
    "pieces": [{"size": 16, "content_id": H}, {"size": 4, "content_id": H}],
    "keyspace": [{"db": 0, "keys": 10, "expires": 2}]}, separators=(",", ":")))
seed("redis_chain_meta", "gap", json.dumps({"type": "gap", "at_ms": 1795000000000, "offset": 5000,
                                            "last_arrival_ms": 1794999999990, "next_chain": RC,
                                            "detail": "same run_id"}, separators=(",", ":")))
seed("redis_chain_meta", "link_lost", '{"type":"link-lost","at_ms":1,"offset":2,"last_arrival_ms":1}')
