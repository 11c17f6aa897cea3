"""A real HTTP server on 127.0.0.1 (random port, own thread) that stands in for a Slack
incoming webhook and the few GitHub REST endpoints the zoho_alert role uses.

Every request is recorded (method, path, query, headers, JSON body). GitHub issues are
kept in memory:

  GET    /api/v3/repos/{owner}/{repo}/issues?state=open&labels=a,b   list (labels ANDed)
  POST   /api/v3/repos/{owner}/{repo}/issues                          create (201)
  POST   /api/v3/repos/{owner}/{repo}/issues/{n}/comments             comment (201)
  PATCH  /api/v3/repos/{owner}/{repo}/issues/{n}                      update state/labels (200)
  POST   /hooks/{secret path}                                         webhook ("ok", 200)

GitHub calls need ``Authorization: Bearer <token>`` (401 "Bad credentials" otherwise).
``fail_next(method, path_prefix, status)`` makes the next matching request fail.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/api/v3"


class Recorded(dict):
    """One request: method, path, query, headers, body (parsed JSON or raw text)."""

    @property
    def json(self):
        return self["body"]


class FakeServices:
    def __init__(self, token, repo="tsh/erp-ops", webhook_path="/hooks/T000/B000/s3cr3tW3bh00kP4th"):
        self.token = token
        self.repo = repo
        self.webhook_path = webhook_path
        self.requests = []
        self.issues = {}
        self.comments = {}
        self._failures = []
        self._lock = threading.Lock()
        self._next_number = 1
        self._httpd = None
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        services = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _handle(self):
                services._dispatch(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self._httpd.server_address[1]

    @property
    def api_url(self):
        return self.base_url + API_PREFIX

    @property
    def webhook_url(self):
        return self.base_url + self.webhook_path

    # -- test helpers ------------------------------------------------------------
    def fail_next(self, method, path_prefix, status=500, message="Server Error"):
        with self._lock:
            self._failures.append((method, path_prefix, status, message))

    def clear(self):
        with self._lock:
            self.requests = []

    def webhooks(self):
        return [r for r in self.requests if r["path"] == self.webhook_path and r["method"] == "POST"
                and r.get("status", 200) < 300]

    def github_calls(self, method=None, suffix_re=None):
        out = []
        for r in self.requests:
            if not r["path"].startswith(API_PREFIX):
                continue
            if method and r["method"] != method:
                continue
            if suffix_re and not re.search(suffix_re, r["path"]):
                continue
            out.append(r)
        return out

    def issue_creations(self):
        return [r for r in self.github_calls("POST", r"/issues$") if r["status"] == 201]

    def comment_posts(self):
        return [r for r in self.github_calls("POST", r"/issues/\d+/comments$") if r["status"] == 201]

    def closes(self):
        return [r for r in self.github_calls("PATCH", r"/issues/\d+$")
                if r["status"] == 200 and (r["body"] or {}).get("state") == "closed"]

    def open_issues(self):
        return [i for i in self.issues.values() if i["state"] == "open"]

    # -- request handling ---------------------------------------------------------
    def _dispatch(self, handler):
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(method=handler.command, path=parts.path, query=parse_qs(parts.query),
                          headers={k.lower(): v for k, v in handler.headers.items()}, body=body)
        with self._lock:
            self.requests.append(record)
            status, payload = self._route(record)
            record["status"] = status
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain" if isinstance(payload, bytes) else "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _injected_failure(self, record):
        for index, (method, prefix, status, message) in enumerate(self._failures):
            if method == record["method"] and record["path"].startswith(prefix):
                del self._failures[index]
                return status, {"message": message}
        return None

    def _route(self, r):
        failure = self._injected_failure(r)
        if failure:
            return failure
        if r["path"] == self.webhook_path:
            if r["method"] != "POST" or not isinstance(r["body"], dict) or "text" not in r["body"]:
                return 400, b"invalid_payload"
            return 200, b"ok"
        if not r["path"].startswith(API_PREFIX + "/repos/"):
            return 404, {"message": "Not Found"}
        if r["headers"].get("authorization") != "Bearer %s" % self.token:
            return 401, {"message": "Bad credentials"}
        rest = r["path"][len(API_PREFIX + "/repos/"):]
        if not rest.startswith(self.repo + "/issues"):
            return 404, {"message": "Not Found"}
        rest = rest[len(self.repo + "/issues"):]
        if rest == "" and r["method"] == "GET":
            return 200, self._list(r["query"])
        if rest == "" and r["method"] == "POST":
            return self._create(r["body"] or {})
        m = re.match(r"^/(\d+)(/comments)?$", rest)
        if not m or int(m.group(1)) not in self.issues:
            return 404, {"message": "Not Found"}
        issue = self.issues[int(m.group(1))]
        if m.group(2) and r["method"] == "POST":
            if not (r["body"] or {}).get("body"):
                return 422, {"message": "Validation Failed"}
            comment = {"id": len(self.comments.get(issue["number"], [])) + 1, "body": r["body"]["body"]}
            self.comments.setdefault(issue["number"], []).append(comment)
            return 201, comment
        if not m.group(2) and r["method"] == "PATCH":
            body = r["body"] or {}
            if "state" in body:
                issue["state"] = body["state"]
                issue["state_reason"] = body.get("state_reason")
            return 200, issue
        if not m.group(2) and r["method"] == "GET":
            return 200, issue
        return 405, {"message": "Method Not Allowed"}

    def _list(self, query):
        state = (query.get("state") or ["open"])[0]
        wanted = [x for x in (query.get("labels") or [""])[0].split(",") if x]
        out = []
        for issue in sorted(self.issues.values(), key=lambda i: -i["number"]):
            if state != "all" and issue["state"] != state:
                continue
            names = {lab["name"] for lab in issue["labels"]}
            if all(w in names for w in wanted):
                out.append(issue)
        return out

    def _create(self, body):
        if not body.get("title"):
            return 422, {"message": "Validation Failed"}
        number = self._next_number
        self._next_number += 1
        issue = {"number": number, "title": body["title"], "body": body.get("body") or "", "state": "open",
                 "labels": [{"name": n} for n in body.get("labels") or []],
                 "html_url": "https://github.example/%s/issues/%d" % (self.repo, number)}
        self.issues[number] = issue
        return 201, issue
