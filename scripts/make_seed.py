#!/usr/bin/env python3
"""Make a broker-load seed file through the broker's HTTP API (a stand-in for `broker seed-load`).

Creates USERS users (POST /api/users), logs each in (POST /api/login) and pairs users 2k-1 and 2k in a
conversation (POST /api/conversations), then writes
{"users": [{"id", "token"}], "conversations": [{"id", "a", "b"}]}.
Loopback targets only; every request has a timeout and the number of requests is 2*USERS + USERS/2.
"""
import argparse
import json
import sys
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor


def request(base, method, path, body, token=None):
    data = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def make_user(base, tag, index):
    email = f"load-{tag}-{index}@example.com"
    body = {"user": {"name": f"Load{index}", "subname": "Test", "email": email, "job": "load"}}
    created = request(base, "POST", "/api/users", body)
    created = created.get("data", created)
    login = request(base, "POST", "/api/login", {"creds": {"email": email, "password": created["password"]}})
    return {"id": created["id"], "token": login["data"]["token"]}


def make_conversation(base, a, b):
    created = request(base, "POST", "/api/conversations", {"conversation": {"recipient_id": b["id"]}}, a["token"])
    return {"id": created["data"]["id"], "a": a["id"], "b": b["id"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:4000")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--out", required=True)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit(f"refusing non-loopback target {host}")
    if not 2 <= args.users <= 100_000:
        sys.exit("--users must be 2..100000")
    tag = uuid.uuid4().hex[:8]
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        users = list(pool.map(lambda i: make_user(args.url, tag, i), range(args.users)))
        pairs = [(users[i], users[i + 1]) for i in range(0, args.users - 1, 2)]
        conversations = list(pool.map(lambda p: make_conversation(args.url, *p), pairs))
    with open(args.out, "w") as handle:
        json.dump({"users": users, "conversations": conversations}, handle)
    print(f"{len(users)} users, {len(conversations)} conversations -> {args.out}")


if __name__ == "__main__":
    main()
