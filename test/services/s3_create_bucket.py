"""Creates $BACKUP_S3_BUCKET at $BACKUP_S3_ENDPOINT with one Signature V4 request (stdlib only):
what an operator does once before the first backup. An existing bucket of ours is fine."""
import datetime, hashlib, hmac, os, sys, urllib.error, urllib.parse, urllib.request

endpoint, bucket = os.environ["BACKUP_S3_ENDPOINT"], os.environ["BACKUP_S3_BUCKET"]
region = os.environ.get("BACKUP_S3_REGION", "us-east-1")
ak, sk = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
host = urllib.parse.urlparse(endpoint).netloc
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
payload = hashlib.sha256(b"").hexdigest()
headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical = "\n".join(["PUT", "/" + bucket, "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
scope = f"{day}/{region}/s3/aws4_request"
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + sk).encode()
for part in (day, region, "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", headers={
    "x-amz-content-sha256": payload, "x-amz-date": amz_date,
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature={signature}"})
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    if e.code != 409:  # BucketAlreadyOwnedByYou
        sys.exit(f"PUT bucket: HTTP {e.code} {e.read()[:200]!r}")
