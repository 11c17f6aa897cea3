"""Chromium, headless, as the HTML report tests drive it: the DOM after the browser parsed
the page, screenshots, a PDF as printed, the page's own layout measured in the browser,
and the requests the page made (from Chromium's net log).

Nothing here is a stand-in: it is the browser (``/usr/bin/chromium`` or the one on PATH);
the tests skip without one unless CI is set."""

import json
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]

# Injected into a scratch copy of a page (never into the report itself): the browser's
# own measurements, written into the DOM for --dump-dom to carry out.
MEASURE = """<script>
(function () {
  var doc = document.documentElement, out = {width: window.innerWidth, scroll_width: doc.scrollWidth,
             height: Math.ceil(doc.scrollHeight), sections: {}};
  document.querySelectorAll('main > section').forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.sections[s.id] = {top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left),
                          right: Math.round(r.right)};
  });
  var wide = [];
  document.querySelectorAll('main *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width && r.right > window.innerWidth + 1 && !el.closest('.scroll')) wide.push(el.tagName + '.' + el.className);
  });
  out.overflowing = wide.slice(0, 10);
  document.body.setAttribute('data-measure', JSON.stringify(out));
  if (window.parent !== window) window.parent.postMessage(JSON.stringify(out), '*');
})();
</script>"""

# Chromium's headless window is at least 500 px wide, whatever --window-size says: a
# narrower viewport (a phone) is an iframe of that width in a page of its own.
NARROW = 500
FRAME = """<!DOCTYPE html><html><body style="margin: 0">
<iframe src="%(src)s" style="border: 0; display: block; width: %(width)dpx; height: %(height)dpx"></iframe>
<script>window.addEventListener('message', function (e) { document.body.setAttribute('data-measure', e.data); });
</script></body></html>"""


def find_chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if not path:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    return path


class Browser:
    def __init__(self, workdir):
        self.binary = find_chromium()
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.runs = 0

    def run(self, url, *args, width=1300, height=900, timeout=120):
        self.runs += 1
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.workdir)
        cmd = [self.binary] + FLAGS + ["--user-data-dir=%s" % profile, "--window-size=%d,%d" % (width, height)]
        proc = subprocess.run(cmd + list(args) + [url], capture_output=True, text=True, timeout=timeout)
        shutil.rmtree(profile, ignore_errors=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    def dom(self, path, width=1300):
        return self.run("file://" + os.path.abspath(path), "--dump-dom", width=width).stdout

    def requests(self, path):
        """The URLs the page itself asked for while loading (the browser's own background
        requests, which carry no file:// isolation key, are not the page's)."""
        log = os.path.join(self.workdir, "net-%d.json" % self.runs)
        self.run("file://" + os.path.abspath(path), "--dump-dom", "--log-net-log=%s" % log)
        with open(log) as fh:
            data = json.load(fh)
        names = dict((v, k) for k, v in data["constants"]["logEventTypes"].items())
        urls = []
        for event in data["events"]:
            params = event.get("params") or {}
            if names.get(event["type"]) == "URL_REQUEST_START_JOB" and \
                    str(params.get("network_isolation_key", "")).startswith("file://"):
                urls.append(params.get("url"))
        return urls

    def _framed(self, src, width, height):
        frame = os.path.join(self.workdir, "frame-%d.html" % self.runs)
        with open(frame, "w") as fh:
            fh.write(FRAME % {"src": "file://" + os.path.abspath(src), "width": width, "height": height})
        return "file://" + frame

    def measure(self, path, width=1300, height=900):
        """Layout as the browser computed it in a viewport of ``width``: page height,
        scroll width, section boxes, elements sticking out on the right."""
        with open(path) as fh:
            page = fh.read()
        copy = os.path.join(os.path.dirname(os.path.abspath(path)), ".measure-%d.html" % width)
        with open(copy, "w") as fh:
            fh.write(page.replace("</body>", MEASURE + "</body>"))
        try:
            url = "file://" + copy if width >= NARROW else self._framed(copy, width, height)
            dom = self.run(url, "--dump-dom", "--virtual-time-budget=3000", width=max(width, NARROW),
                           height=height).stdout
        finally:
            os.unlink(copy)
        root = parse(dom)
        return json.loads(root.find("body").attrs["data-measure"])

    def screenshot(self, path, out, width=1300, height=None):
        """A PNG of the page in a viewport of ``width``; ``height`` None: the whole page."""
        if height is None:
            height = self.measure(path, width)["height"]
        if os.path.exists(out):
            os.unlink(out)
        url = "file://" + os.path.abspath(path) if width >= NARROW else self._framed(path, width, height)
        self.run(url, "--screenshot=%s" % out, width=width, height=height)
        return out

    def pdf(self, path, out):
        if os.path.exists(out):
            os.unlink(out)
        self.run("file://" + os.path.abspath(path), "--no-pdf-header-footer", "--print-to-pdf=%s" % out)
        return out


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "%s is no PNG" % path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# --------------------------------------------------------------------------- a small DOM
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self):
        return " ".join(self.text().split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def elements(self):
        return [c for c in self.children if isinstance(c, Node)]

    def find_all(self, tag=None, cls=None, **attrs):
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.classes:
                continue
            if any(node.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def by_id(self, ident):
        return self.find(id=ident)

    def __repr__(self):
        return "<%s %s>" % (self.tag, self.attrs)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html):
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
