#!/usr/bin/env python3
"""A tiny S3 client for the sandbox's object store (scripts/sandbox-s3.sh).

Python's standard library only: SigV4-signed, path-style requests. The
credentials come from the environment (SANDBOX_S3_ENDPOINT, SANDBOX_S3_REGION,
SANDBOX_S3_ACCESS_KEY_ID, SANDBOX_S3_SECRET_ACCESS_KEY), never from arguments,
and are never printed.

  sandbox-s3.py mkbucket NAME   create the bucket; one that is already ours is fine
  sandbox-s3.py check NAME      exercise the store by hand: multipart upload,
                                ListObjectsV2 with a prefix, GET, ranged GET,
                                HEAD, DELETE, an aborted multipart upload, a
                                body that differs from its signed hash and a
                                request with a wrong secret (both refused)
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Error(Exception):
    pass


def env(name):
    value = os.environ.get(name)
    if not value:
        raise S3Error(f"{name} is not set: source the sandbox's env file "
                      f"(scripts/sandbox env-file) first")
    return value


def quote(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


class Client:
    def __init__(self, secret=None):
        url = urllib.parse.urlsplit(env("SANDBOX_S3_ENDPOINT"))
        if url.scheme != "http":
            raise S3Error(f"SANDBOX_S3_ENDPOINT must be http://host:port (got scheme {url.scheme!r})")
        self.host = url.netloc
        self.region = os.environ.get("SANDBOX_S3_REGION", "us-east-1")
        self.key = env("SANDBOX_S3_ACCESS_KEY_ID")
        self.secret = secret if secret is not None else env("SANDBOX_S3_SECRET_ACCESS_KEY")

    def request(self, method, path, query=None, body=b"", headers=None, payload_hash=None):
        """One signed request -> (status, headers dict with lower-case names, body).

        payload_hash: what to sign as the body's SHA-256 (default: the real one)."""
        query = query or {}
        headers = dict(headers or {})
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
        headers.update({"host": self.host, "x-amz-date": amz_date,
                        "x-amz-content-sha256": payload_hash})
        canon_uri = quote(path, safe="/-_.~")
        canon_query = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(query.items()))
        names = sorted(h.lower() for h in headers)
        lower = {k.lower(): str(v).strip() for k, v in headers.items()}
        canon_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
        signed = ";".join(names)
        creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed, payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={sig}")
        target = canon_uri + ("?" + canon_query if canon_query else "")
        conn = http.client.HTTPConnection(self.host, timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()


def error_code(body):
    try:
        return ET.fromstring(body).findtext("Code") or ""
    except ET.ParseError:
        return ""


def mkbucket(c, bucket):
    status, _, body = c.request("PUT", f"/{bucket}")
    if status == 200 or (status == 409 and error_code(body) == "BucketAlreadyOwnedByYou"):
        return
    raise S3Error(f"creating bucket {bucket}: HTTP {status} {error_code(body) or body[:200]!r}")


def expect(what, status, want, body=b""):
    if status != want:
        raise S3Error(f"{what}: HTTP {status}, expected {want} ({error_code(body) or body[:200]!r})")
    print(f"ok  {what}")


def check(c, bucket):
    mkbucket(c, bucket)
    print(f"ok  CreateBucket {bucket} (idempotent)")
    prefix = f"check-{uuid.uuid4().hex[:8]}/"
    key = prefix + "archive.bin"
    mib = 1024 * 1024
    # Three 5 MiB parts (S3's minimum for all but the last) and a small last one.
    parts = [os.urandom(5 * mib) for _ in range(3)] + [os.urandom(12345)]
    whole = b"".join(parts)

    st, _, body = c.request("POST", f"/{bucket}/{key}", {"uploads": ""})
    expect("CreateMultipartUpload", st, 200, body)
    upload_id = ET.fromstring(body).findtext(f"{NS}UploadId")
    etags = []
    for n, data in enumerate(parts, 1):
        st, h, body = c.request("PUT", f"/{bucket}/{key}",
                                {"partNumber": str(n), "uploadId": upload_id}, data)
        expect(f"UploadPart {n} ({len(data)} bytes)", st, 200, body)
        etags.append(h["etag"])
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
    st, _, body = c.request("POST", f"/{bucket}/{key}", {"uploadId": upload_id}, xml.encode())
    expect("CompleteMultipartUpload", st, 200, body)
    if b"<Error>" in body:  # S3 may report a failure inside a 200
        raise S3Error(f"CompleteMultipartUpload: {error_code(body)}")

    st, _, body = c.request("PUT", f"/{bucket}/{prefix}small.txt", body=b"hello")
    expect("PutObject", st, 200, body)
    st, _, body = c.request("PUT", f"/{bucket}/elsewhere-{prefix}x", body=b"x")
    expect("PutObject outside the prefix", st, 200, body)

    st, _, body = c.request("GET", f"/{bucket}", {"list-type": "2", "prefix": prefix})
    expect("ListObjectsV2 with a prefix", st, 200, body)
    listed = {e.findtext(f"{NS}Key"): int(e.findtext(f"{NS}Size"))
              for e in ET.fromstring(body).iter(f"{NS}Contents")}
    want = {key: len(whole), prefix + "small.txt": 5}
    if listed != want:
        raise S3Error(f"ListObjectsV2 listed {listed}, expected {want}")
    print(f"ok  ListObjectsV2 listed exactly {sorted(listed)}")

    st, h, body = c.request("HEAD", f"/{bucket}/{key}")
    expect("HeadObject", st, 200)
    if int(h["content-length"]) != len(whole):
        raise S3Error(f"HeadObject: content-length {h['content-length']}, expected {len(whole)}")
    # S3's multipart ETag: the MD5 of the parts' MD5s, then "-<parts>".
    want_etag = '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(),
                             len(parts))
    if h.get("etag") != want_etag:
        raise S3Error(f"HeadObject: ETag {h.get('etag')}, expected S3's multipart ETag {want_etag}")
    print(f"ok  HeadObject content-length {len(whole)}, multipart ETag {want_etag} as S3 computes it")

    st, _, body = c.request("GET", f"/{bucket}/{key}")
    expect("GetObject", st, 200, body)
    if hashlib.sha256(body).digest() != hashlib.sha256(whole).digest():
        raise S3Error("GetObject: the bytes differ from those uploaded")
    print(f"ok  GetObject returned the {len(whole)} bytes uploaded")

    lo, hi = 5 * mib - 10, 5 * mib + 9  # across the first part boundary
    st, h, body = c.request("GET", f"/{bucket}/{key}", headers={"Range": f"bytes={lo}-{hi}"})
    expect("GetObject ranged", st, 206, body)
    if body != whole[lo:hi + 1]:
        raise S3Error(f"ranged GetObject: wrong bytes (content-range {h.get('content-range')})")
    print(f"ok  ranged GetObject bytes {lo}-{hi} across a part boundary ({h.get('content-range')})")

    for k in (key, prefix + "small.txt", f"elsewhere-{prefix}x"):
        st, _, body = c.request("DELETE", f"/{bucket}/{k}")
        expect(f"DeleteObject {k}", st, 204, body)
    st, _, _ = c.request("HEAD", f"/{bucket}/{key}")
    expect("HeadObject after delete", st, 404)

    # An interrupted backup aborts its upload: the parts are gone with it.
    st, _, body = c.request("POST", f"/{bucket}/{prefix}aborted", {"uploads": ""})
    expect("CreateMultipartUpload (to abort)", st, 200, body)
    aborted = ET.fromstring(body).findtext(f"{NS}UploadId")
    st, _, body = c.request("PUT", f"/{bucket}/{prefix}aborted",
                            {"partNumber": "1", "uploadId": aborted}, parts[0])
    expect("UploadPart 1 (to abort)", st, 200, body)
    st, _, body = c.request("DELETE", f"/{bucket}/{prefix}aborted", {"uploadId": aborted})
    expect("AbortMultipartUpload", st, 204, body)
    st, _, body = c.request("GET", f"/{bucket}/{prefix}aborted", {"uploadId": aborted})
    expect(f"ListParts of the aborted upload ({error_code(body)})", st, 404, body)

    st, _, body = c.request("PUT", f"/{bucket}/{prefix}tampered", body=b"not what was signed",
                            payload_hash=hashlib.sha256(b"signed").hexdigest())
    expect(f"a body that differs from its signed SHA-256 is refused ({error_code(body)})", st, 400, body)
    st, _, _ = c.request("HEAD", f"/{bucket}/{prefix}tampered")
    expect("HeadObject of the refused object", st, 404)

    st, _, body = Client(secret="wrong" + c.secret).request("GET", f"/{bucket}", {"list-type": "2"})
    expect(f"a request signed with a wrong secret is refused ({error_code(body)})", st, 403, body)
    print("all checks passed")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("mkbucket", "check"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        c = Client()
        (mkbucket if argv[1] == "mkbucket" else check)(c, argv[2])
    except OSError as e:
        print(f"sandbox-s3: cannot reach the object store at {os.environ.get('SANDBOX_S3_ENDPOINT')}: {e} "
              f"(is it running? scripts/sandbox status; scripts/sandbox s3-up starts it)", file=sys.stderr)
        return 1
    except (S3Error, ET.ParseError) as e:
        print(f"sandbox-s3: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
