#!/usr/bin/env python3
"""Loads HTML reports in one headless Chromium and reports, per page, what a reader would see.

usage: browser-check.py [--shots DIR] [--size WxH] [--media print] PAGE.html...

For each page, one JSON line on stdout: the page, the console messages, exceptions and error log
entries it produced (a report must produce none), counts read from the DOM after its script ran
(timelines, lanes by kind, plots, table rows), whether the zoom buttons and a jump link changed the
view, and the screenshot written (DIR/<page name>.png) when --shots is given. Exit 0 when every
page loaded; 2 when Chromium could not be driven. Uses the DevTools protocol over
--remote-debugging-pipe (file descriptors 3 and 4, NUL-separated JSON) and only the standard library.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Read after the load event: everything the test checks, as one JSON string.
PROBE = r"""
(function(){
  function n(sel){return document.querySelectorAll(sel).length;}
  function rows(id){var t=document.querySelector('table[data-table="'+id+'"] tbody');return t?t.rows.length:-1;}
  var out={ready:document.body.dataset.ready||"", title:document.title,
    timelines:n("svg.tl"), lanes:{cpu:n('svg.tl g.lane[data-kind="cpu"]'), thread:n('svg.tl g.lane[data-kind="thread"]'),
      lock:n('svg.tl g.lane[data-kind="lock"]'), inversion:n('svg.tl g.lane[data-kind="inversion"]')},
    spans:n("svg.plot rect")-n("svg.plot rect.cursor"), priority_plots:n("svg.prio"), latency_plots:n("svg.hist"),
    tables:{threads:rows("threads"), cpus:rows("cpus"), locks:rows("locks"), workloops:rows("workloops"),
      interrupts:rows("interrupts"), misses:rows("misses")},
    panels:n("section.panel"), jumps:n("a.jump")};
  var qs=null; document.querySelectorAll("details.note summary").forEach(function(e){ if(/without a lane/.test(e.textContent)) qs=e; });
  out.quiet_threads=qs?parseInt(qs.textContent,10):0;
  var tools=document.querySelector(".tools"); out.tools_display=tools?getComputedStyle(tools).display:"";
  var plot=document.querySelector("svg.plot"), before=plot?plot.getAttribute("viewBox"):"";
  var zin=document.querySelector('button[data-zoom="0.5"]');
  if(zin){zin.click();}
  out.zoomed=plot?plot.getAttribute("viewBox"):"";
  var reset=document.querySelector('button[data-zoom="0"]'); if(reset){reset.click();}
  out.reset=plot&&plot.getAttribute("viewBox")===before;
  var jump=document.querySelector("a.jump");
  if(jump){jump.click(); var c=document.querySelector("rect.cursor"); out.jump_cursor=c?+c.getAttribute("x"):null;}
  if(reset){reset.click();}
  var c2=document.querySelector("rect.cursor"); if(c2){c2.setAttribute("x","-10");}
  if(location.hash){var h=document.getElementById(location.hash.slice(1)); if(h){h.scrollIntoView();}} else {window.scrollTo(0,0);}
  return JSON.stringify(out);
})()
"""


class Browser:
    def __init__(self, width, height):
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="xnusim-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # in the child: the pipe ends become 3 and 4; own process group
            a = os.dup(to_child_r)
            b = os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.setsid()

        env = dict(os.environ, HOME=self.profile)  # keeps ~/.config and ~/.cache clean
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--user-data-dir=" + os.path.join(self.profile, "p"), "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, session=None, timeout=30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, name, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    del self.events[i]
                    return e
            self.events.append(self._read(deadline))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:  # helpers (zygote, crashpad) share the group; end them too
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def problems_in(events):
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append(f"console.{p.get('type')}: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: " + d.get("exception", {}).get("description", d.get("text", "?")).splitlines()[0])
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            out.append(f"log.{p['entry']['level']}: {p['entry'].get('text', '')}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", help="directory for one PNG screenshot per page")
    ap.add_argument("--size", default="1400x1000")
    ap.add_argument("--media", choices=("screen", "print"), default="screen",
                    help="CSS media to emulate (print shows the page as it prints)")
    ap.add_argument("pages", nargs="+")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if shutil.which("chromium") is None:
        print("chromium is not installed", file=sys.stderr)
        return 2
    browser = Browser(width, height)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            browser.call(domain + ".enable", session)
        browser.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                     deviceScaleFactor=1, mobile=False)
        if args.media == "print":
            browser.call("Emulation.setEmulatedMedia", session, media="print")
        for page in args.pages:
            path, _, fragment = page.partition("#")
            url = "file://" + os.path.abspath(path) + ("#" + fragment if fragment else "")
            browser.events = [e for e in browser.events if e.get("method") != "Page.loadEventFired"]
            browser.call("Page.navigate", session, url=url)
            browser.wait_for("Page.loadEventFired")
            probe = browser.call("Runtime.evaluate", session, expression=PROBE, returnByValue=True)
            result = {"page": page}
            value = probe.get("result", {}).get("value")
            if "exceptionDetails" in probe or value is None:
                result["probe_error"] = json.dumps(probe.get("exceptionDetails", probe))[:500]
            else:
                result.update(json.loads(value))
            if args.shots:
                os.makedirs(args.shots, exist_ok=True)
                png = os.path.join(args.shots, os.path.splitext(os.path.basename(path))[0] + ".png")
                data = browser.call("Page.captureScreenshot", session, format="png")["data"]
                with open(png, "wb") as f:
                    f.write(base64.b64decode(data))
                result["screenshot"] = png
            # Messages of this page: those that arrived up to now (the probe itself logs nothing).
            result["problems"] = problems_in(browser.events)
            browser.events = []
            print(json.dumps(result), flush=True)
    except (TimeoutError, EOFError, RuntimeError, OSError) as e:
        print(f"browser-check: {e}", file=sys.stderr)
        return 2
    finally:
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
