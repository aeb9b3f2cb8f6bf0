#!/usr/bin/env python3
"""Seeded generator of valid xnusim scenarios, and a driver that runs them.

Every scenario is built from its seed alone (same seed, same file, on any machine) and uses the
whole scenario format (docs/scenario-format.md): 1-4 CPUs, both releases, costs, both policies;
timeshare, fixed and realtime threads, periodic or not, bound or not, kernel threads, tasks; every
op (the kernel interfaces too: thread and task policies, setpriority, pthread_setschedparam,
try-locks with an `else` that waits, rw upgrades and downgrades, timed and interruptible waits,
clear_wait, threads created, exited and terminated at run time, funnel switch and merge); locks
of every kind and protocol, events, funnels, work loops with interrupt and filter sources,
interrupts (periodic, Poisson, listed; several lines on one source; handlers as programs that
take spin locks), timers, command gates, driver stacks (queued and direct), random IOKit
durations, expects; and in about 4% of seeds a SimGrid platform (docs/platforms.md): pstates,
disks with sized reads and writes, links to peers with NICs, `send` and a peer's packet traffic
(drawn from a stream of their own, so the other seeds' scenarios are unchanged). The programs keep the rules the format and the model give a
well-behaved program (locks released by their holder in the block that took them, no recursive
lock, funnels released before another is taken, spin-lock sections that only compute); what they
do not avoid is what may legitimately happen in a simulated system: deadlocks, waits nobody
signals, refused command sleeps, rejected real-time requests, and (rarely, on purpose) panics.

A small share of scenarios is "hostile" (--hostile PERCENT, default 3): a huge finite loop of
zero-time ops, or a sleep that reaches past the end of representable time; so is any scenario
with a `forever` loop whose ops may all take no time (an uncontended lock, a funnel, a refused
command_sleep). The loader may refuse those (exit 2), which the driver accepts for them only.

    scripts/gen-scenarios.py emit SEED                 # print one scenario
    scripts/gen-scenarios.py run --seeds 1:3000 [--jobs 2] [--timeout 10] [--keep DIR]
                               [--binary build/sim/cli/xnusim] [--asan-binary B --asan-every 20]

`run` runs each scenario twice (`xnusim run S --check --json F --trace T`) and fails on: a signal
(crash), exit 3, a timeout (hang), exit 2 (an invalid scenario: a generator or loader bug; the
diagnostic is printed), different output between the two runs, or results that break the
accounting (a negative time or count, bar a thread's created_ns / ended_ns of -1 for never; a CPU whose busy + interrupt + idle is not the run's duration,
or whose by-band times and overhead do not add up to its busy time; a trace instant that is
negative, goes backwards or passes the run's end). Exits 0, 1 and 4 are fine. Each failing scenario is kept in --keep with the
command that reproduces it. The last line is `gen-scenarios: P of N scenarios passed (F failed)`.
"""
import argparse
import collections
import filecmp
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SUMMARY = ["count", "min", "p50", "p90", "p99", "p999", "max", "mean"]
BANDS = ["aged", "lowered", "default", "raised", "elevated", "system", "kernel", "realtime"]
THREAD_METRICS = ["cpu_time_ns", "jobs", "deadline_misses", "jitter_ns", "blocked_ns", "inversion_ns",
                  "preemptions", "context_switches", "migrations", "demotions", "min_sched_pri",
                  "max_sched_pri"] + [f"{m}.{s}" for m in ("response_ns", "latency_ns") for s in SUMMARY]
CPU_METRICS = ["busy_ns", "interrupt_ns", "idle_ns", "overhead_ns"] + [f"by_band_ns.{b}" for b in BANDS]
LOCK_METRICS = ["acquisitions", "contended"] + [f"{m}.{s}" for m in ("wait_ns", "hold_ns") for s in SUMMARY]
INTERRUPT_METRICS = ["count"] + [f"latency_ns.{s}" for s in SUMMARY]
WORKLOOP_METRICS = ["actions", "interrupts_delivered"] + [
    f"{m}.{s}" for m in ("action_latency_ns", "gate_wait_ns") for s in SUMMARY]
DEVICE_METRICS = ["ios", "completed", "offline"] + [f"io_ns.{s}" for s in SUMMARY]
SYSTEM_METRICS = ["context_switches", "events"]

# Ops that take simulated time or block (what a `forever` loop must contain).
TIMED_OPS = {"run", "sleep", "sleep_until_next_period", "wait", "lock", "run_action", "command_sleep",
             "io", "funnel"}
# Of those, the ones that surely take time: an uncontended `lock` or `funnel`, or a `command_sleep`
# outside an action (refused), take none, so a `forever` loop with only those spins at one instant.
SURELY_TIMED_OPS = {"run", "sleep", "sleep_until_next_period", "wait", "run_action", "io"}
MAX_NS = 2**63 - 1


class Gen:
    """One scenario from one seed. `cov` counts the features used (for the coverage report)."""

    def __init__(self, seed, hostile_percent=3):
        self.r = random.Random(seed)
        # Platform decisions draw from their own stream, so that scenarios without a platform are
        # the same as before platforms were generated.
        self.pr = random.Random(seed * 1_000_003 + 17)
        self.platform = None
        self.seed = seed
        self.cov = collections.Counter()
        self.hostile_percent = hostile_percent
        self.hostile = []

    # -- small helpers ------------------------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def pick(self, xs):
        return self.r.choice(xs)

    def feat(self, name):
        self.cov[name] += 1

    def dur(self, lo_us, hi_us, allow_zero=False):
        """A duration string, exact, in one of the spellings the format accepts (ns, us, ms, s,
        with or without a decimal fraction)."""
        if allow_zero and self.chance(0.1):
            self.feat("duration:zero")
            return self.pick(["0ns", "0us", "0ms", "0s"])
        lo = max(int(lo_us * 1000), 0 if allow_zero else 1)
        ns = self.r.randint(lo, max(lo, int(hi_us * 1000)))
        if self.chance(0.5):
            ns = ns // 1000 * 1000 or ns  # mostly whole microseconds
        unit, scale = self.pick([("ns", 1), ("us", 1000), ("us", 1000), ("ms", 10**6), ("s", 10**9)])
        whole, frac = divmod(ns, scale)
        digits = len(str(scale)) - 1
        text = str(whole) + (("." + str(frac).rjust(digits, "0").rstrip("0")) if frac else "")
        if frac:
            self.feat("duration:fraction")
        return text + unit

    def dur_or_random(self, lo_us, hi_us):
        k = self.r.random()
        if k < 0.55:
            self.feat("duration:fixed")
            return self.dur(lo_us, hi_us)
        if k < 0.75:
            self.feat("duration:uniform")
            a = self.r.randint(int(lo_us), int(hi_us))
            b = self.r.randint(a, int(hi_us))
            return {"uniform": [f"{a}us", f"{b}us"]}
        if k < 0.88:
            self.feat("duration:exponential")
            return {"exponential": self.dur(lo_us, hi_us)}
        self.feat("duration:normal")
        return {"normal": {"mean": self.dur(lo_us, hi_us), "stddev": self.dur(0, hi_us / 2, allow_zero=True)}}

    def iokit_dur(self, lo_us, hi_us):
        """An IOKit duration: fixed mostly, sometimes random (the forms `run` takes)."""
        if self.chance(0.8):
            return self.dur(lo_us, hi_us)
        self.feat("iokit:random_duration")
        return self.dur_or_random(lo_us, hi_us)

    def random_filter(self, source):
        """Whether the event source "W.s" has a random filter (a handler program cannot feed it)."""
        if not source:
            return False
        wl, src = source.split(".")
        for w in self.workloops:
            for x in w.get("sources", []):
                if w["id"] == wl and x["id"] == src:
                    return isinstance(x.get("filter"), dict)
        return False

    def handler_program(self):
        spins = [lk for lk in self.locks if lk["kind"] == "spin"]
        ops = [{"op": "run", "for": self.dur(1, 30)}]
        if spins and self.chance(0.6):
            lk = self.pick(spins)["id"]
            ops = [{"op": "lock", "lock": lk}, {"op": "run", "for": self.dur(1, 20)}, {"op": "unlock", "lock": lk}] + \
                (ops if self.chance(0.5) else [])
            self.feat("interrupt:handler_spin_lock")
        self.feat("interrupt:handler_program")
        return ops

    def realtime(self, admissible=True):
        comp_us = self.pick([50, 50_000, self.r.randint(50, 3000), self.r.randint(50, 3000)])
        rt = {"computation": f"{comp_us}us",
              "constraint": f"{comp_us + self.pick([0, self.r.randint(0, 5000), self.r.randint(0, 30000)])}us"}
        if not admissible:
            # set_mode is not admission-checked: xnu refuses these at run time.
            self.feat("set_mode:rt_refused")
            if self.chance(0.5):
                rt["computation"] = f"{self.r.randint(50_001, 90_000)}us"
                rt["constraint"] = f"{self.r.randint(90_000, 100_000)}us"
            else:
                rt["computation"] = f"{self.r.randint(1, 49)}us"
        if self.chance(0.4):
            rt["period"] = self.pick(["0ns", self.dur(1000, 20000)])
        if self.chance(0.3):
            rt["preemptible"] = self.chance(0.5)
            self.feat("realtime:preemptible")
        return rt

    def note(self, o):
        if self.chance(0.05):
            o["note"] = self.pick(["decode one packet", "", "hold the buffer", "ünïcode note"])
            self.feat("note")
        return o

    # -- the world ----------------------------------------------------------------------------
    def scenario(self):
        r = self.r
        s = {"format": "xnusim-scenario", "version": 1}
        if self.chance(0.5):
            s["name"] = f"gen-{self.seed}"
        if self.chance(0.3):
            s["description"] = f"generated by scripts/gen-scenarios.py from seed {self.seed}"
        if self.chance(0.8):
            s["seed"] = r.randint(0, 2**63 - 1) if self.chance(0.2) else r.randint(0, 10**6)
        if self.chance(0.03):
            # a few long runs: some defects only show after seconds (accounting drift)
            s["duration"] = self.dur(1_000_000, 6_000_000)
            self.feat("duration:long")
        else:
            s["duration"] = self.dur(5000, self.pick([30_000, 100_000, 250_000]))
        self.cpus = r.randint(1, 4)
        self.xnu = self.pick(["517", "792"])
        machine = {}
        if self.cpus != 1 or self.chance(0.5):
            machine["cpus"] = self.cpus
        if self.xnu != "517" or self.chance(0.5):
            machine["xnu"] = self.xnu
        self.feat(f"machine:cpus={self.cpus}")
        self.feat(f"machine:xnu={self.xnu}")
        if self.chance(0.25):
            machine["quantum"] = self.dur(500, 20000)
            self.feat("machine:quantum")
        if self.chance(0.4):
            costs = {}
            for k in ["context_switch", "interrupt_entry", "interrupt_exit", "thread_wakeup"]:
                if self.chance(0.7):
                    costs[k] = self.dur(0, 20, allow_zero=True)
                    self.feat(f"cost:{k}")
            machine["costs"] = costs
        self.funnels = "split"
        if self.chance(0.2):
            self.funnels = self.pick(["split", "merged"])
            machine["funnels"] = self.funnels
            self.feat(f"machine:funnels={self.funnels}")
        if machine:
            s["machine"] = machine
        if self.chance(0.7):
            s["policy"] = self.pick(["xnu", "fixed"])
        self.feat(f"policy:{s.get('policy', 'xnu')}")

        # locks
        self.locks = []
        for i in range(r.randint(0, 4)):
            kind = self.pick(["mutex", "mutex", "spin", "rw"])
            lk = {"id": f"L{i}", "kind": kind}
            if kind == "mutex":
                proto = self.pick(["default", "xnu", "none", "inherit", "ceiling"])
                if proto != "default":
                    lk["protocol"] = proto
                if proto == "ceiling":
                    lk["ceiling"] = r.randint(0, 127)
                self.feat(f"lock:mutex:{proto}")
            else:
                self.feat(f"lock:{kind}")
            self.locks.append(lk)
        if self.locks:
            s["locks"] = self.locks

        self.events = [f"E{i}" for i in range(r.randint(0, 3))]
        if self.events:
            s["events"] = [{"id": e} for e in self.events]

        # work loops and their event sources
        self.workloops = []
        for i in range(r.randint(0, 3)):
            wl = {"id": f"W{i}"}
            if self.chance(0.3):
                wl["priority"] = r.randint(0, 127)
                self.feat("workloop:priority")
            sources = []
            for j in range(r.randint(0, 2)):
                kind = self.pick(["interrupt", "filter_interrupt"])
                src = {"id": f"s{j}", "kind": kind, "action": self.iokit_dur(5, 500)}
                if kind == "filter_interrupt":
                    src["filter"] = self.iokit_dur(1, 20)
                    if self.chance(0.7):
                        src["accept"] = self.pick([0, 1, 0.25, round(r.random(), 3)])
                        self.feat("source:accept")
                if self.events and self.chance(0.3):
                    src["wakeup"] = self.pick(self.events)
                    self.feat("source:wakeup")
                self.feat(f"source:{kind}")
                sources.append(src)
            if sources or self.chance(0.5):
                wl["sources"] = sources
            self.workloops.append(wl)
        if self.workloops:
            s["workloops"] = self.workloops
        all_sources = [f"{w['id']}.{x['id']}" for w in self.workloops for x in w.get("sources", [])]

        # interrupts (several lines may feed one source: a shared line)
        interrupts = []
        for i in range(r.randint(0, 3)):
            it = {"id": f"I{i}", "handler": self.iokit_dur(1, 50)}
            if self.cpus > 1 or self.chance(0.3):
                it["cpu"] = r.randint(0, self.cpus - 1)
            k = self.pick(["periodic", "poisson", "at"])
            if k == "periodic":
                period_us = r.randint(200, 10000)
                arr = {"periodic": f"{period_us}us"}
                if self.chance(0.5):
                    arr["jitter"] = f"{r.randint(0, period_us - 1)}us"
                    self.feat("arrival:jitter")
            elif k == "poisson":
                arr = {"poisson": self.pick(["3000/s", "500/s", "0.5/s", f"{r.randint(1, 10000)}/s"])}
            else:
                times = sorted(r.randint(0, 50000) for _ in range(r.randint(0, 5)))
                if times and self.chance(0.3):
                    times.append(times[-1])  # two arrivals at one instant
                arr = {"at": [f"{t}us" for t in times]}
            self.feat(f"arrival:{k}")
            it["arrival"] = arr
            if all_sources and self.chance(0.7):
                it["source"] = self.pick(all_sources)
            if self.chance(0.25) and not self.random_filter(it.get("source")):
                # a handler program: run, and spin locks taken in primary context
                it["handler"] = self.handler_program()
            interrupts.append(it)
        fed = collections.Counter(i.get("source") for i in interrupts if "source" in i)
        if any(n > 1 for n in fed.values()):
            self.feat("interrupt:shared_source")
        if interrupts:
            s["interrupts"] = interrupts

        self.timers = []
        if self.workloops:
            for i in range(r.randint(0, 2)):
                self.timers.append({"id": f"T{i}", "workloop": self.pick(self.workloops)["id"],
                                    "action": self.iokit_dur(5, 300)})
                self.feat("timer")
        if self.timers:
            s["timers"] = self.timers

        # devices: providers form chains towards devices declared earlier (no cycles); every chain
        # ends at a device with a work loop.
        self.devices = []
        if self.workloops:
            for i in range(r.randint(0, 4)):
                d = {"id": f"D{i}", "service": self.iokit_dur(10, 3000)}
                if self.chance(0.25):
                    d["path"] = "direct"
                    self.feat("device:direct")
                if self.devices and self.chance(0.5):
                    d["provider"] = self.pick(self.devices)["id"]
                    self.feat("device:provider")
                    if self.chance(0.3):
                        d["workloop"] = self.pick(self.workloops)["id"]
                else:
                    d["workloop"] = self.pick(self.workloops)["id"]
                self.devices.append(d)
                self.feat("device")
        if self.devices and self.pr.random() < 0.06:
            self.make_platform(s, interrupts, all_sources)
        if self.devices:
            order = self.devices[:]
            r.shuffle(order)  # key order and declaration order carry no meaning
            s["devices"] = order

        # threads
        n = r.randint(1, 8)
        self.thread_ids = [f"t{i}" for i in range(n)]
        # the last thread is sometimes created at run time by another's create_thread
        self.spawned = self.thread_ids[-1] if n >= 2 and self.chance(0.25) else None
        threads = [self.thread(i) for i in range(n)]
        if self.spawned:
            creators = [t for t in threads[:-1] if "period" not in t and t.get("start") != "spawned"]
            if creators:
                creator = self.pick(creators)
                creator["program"].insert(r.randint(0, 1) if creator["program"][0]["op"] != "loop" else 0,
                                          {"op": "create_thread", "thread": self.spawned})
                self.feat("thread:spawned")
            else:
                threads[-1]["start"] = "0ns"
        s["threads"] = threads

        if self.chance(0.6):
            s["expect"] = self.expects(threads, interrupts)
        if self.chance(self.hostile_percent / 100.0):
            self.make_hostile(s)
        return s

    def size(self, lo, hi):
        """A transfer size in bytes: an integer or a string with a unit."""
        n = self.pr.randint(lo, hi)
        if self.pr.random() < 0.5:
            return n
        for unit, mult in (("MiB", 1 << 20), ("KiB", 1 << 10), ("kB", 1000)):
            if n >= mult and self.pr.random() < 0.5:
                return f"{max(1, n // mult)}{unit}"
        return f"{n}B"

    def make_platform(self, s, interrupts, all_sources):
        """machine.platform (docs/platforms.md): pstates, SimGrid disks and links to peers; some
        devices on a disk or a link (a NIC); maybe a peer's packet traffic into a NIC."""
        pr = self.pr
        pstates = [{"speed": pr.choice([1e9, 2e9, 5e8]), "idle_w": pr.randint(1, 20),
                    "all_cores_w": pr.randint(20, 120)} for _ in range(pr.randint(1, 2))]
        plat = {"pstates": pstates}
        disks = [{"id": f"d{i}", "read_bw": pr.choice([1e8, "100MBps", 2.5e7, "1GBps"]),
                  "write_bw": pr.choice([4e7, "40MBps", 1e8])} for i in range(pr.randint(1, 2))]
        plat["disks"] = disks
        links = [{"id": f"L{i}", "peer": f"peer{i}", "bandwidth": pr.choice([1.25e7, "125MBps", 1e6]),
                  "latency": pr.choice(["50us", "100us", "1ms", "0ns"])} for i in range(pr.randint(0, 2))]
        if links:
            plat["links"] = links
        s.setdefault("machine", {})["platform"] = plat
        self.feat("platform")
        self.platform = plat
        for d in self.devices:
            x = pr.random()
            if x < 0.5:
                d["disk"] = pr.choice(disks)["id"]
                self.feat("platform:disk")
            elif x < 0.8 and links:
                d["nic"] = pr.choice(links)["id"]
                self.feat("platform:nic")
        nics = [d for d in self.devices if "nic" in d]
        if nics and pr.random() < 0.6:
            nic = pr.choice(nics)
            packets = {"nic": nic["id"], "bytes": self.size(64, 9000), "every": f"{pr.randint(100, 5000)}us"}
            if pr.random() < 0.5:
                packets["count"] = pr.randint(1, 50)
            it = {"id": f"IP{len(interrupts)}", "handler": f"{pr.randint(1, 30)}us", "arrival": {"packets": packets}}
            if all_sources and pr.random() < 0.7:
                it["source"] = pr.choice(all_sources)
            interrupts.append(it)
            s["interrupts"] = interrupts
            self.feat("arrival:packets")

    def io_op(self, dev):
        """An io on `dev`, or on a platform's disk or NIC a sized transfer or a send."""
        op = {"op": "io", "device": dev["id"], "for": self.dur(10, 3000)}
        if "disk" in dev and self.pr.random() < 0.7:
            op[self.pr.choice(["read", "write"])] = self.size(1, 4 << 20)
            if self.pr.random() < 0.4:
                del op["for"]
            self.cov["op:io:sized"] += 1
        elif "nic" in dev and self.pr.random() < 0.7:
            peer = next(l["peer"] for l in self.platform["links"] if l["id"] == dev["nic"])
            op = {"op": "send", "device": dev["id"], "to": peer, "bytes": self.size(1, 1 << 20)}
            if self.pr.random() < 0.5:
                op["for"] = self.dur(1, 200)
            self.cov["op:send"] += 1
        else:
            self.cov["op:io"] += 1
        return [op]

    def thread(self, i):
        r = self.r
        t = {"id": self.thread_ids[i]}
        if self.chance(0.3):
            t["task"] = self.pick(["user", "coreaudio", "kernel_task", "WindowServer"])
            self.feat("thread:task")
        kernel = self.chance(0.2)
        if kernel:
            t["kernel"] = True
            self.feat("thread:kernel")
        elif self.chance(0.05):
            t["kernel"] = False
        mode = self.pick(["timeshare", "fixed", "realtime", "default"])
        if mode != "default":
            t["mode"] = mode
        else:
            mode = "fixed" if kernel else "timeshare"
        self.feat(f"thread:mode={mode}")
        if mode == "realtime":
            t["realtime"] = self.realtime()
        elif self.chance(0.6):
            t["priority"] = r.randint(0, 127)
        if self.chance(0.3):
            t["cpu"] = r.randint(0, self.cpus - 1)
            self.feat("thread:bound")
            if mode == "realtime":
                self.feat("thread:realtime+bound")
        spawned = t["id"] == self.spawned
        if spawned:
            t["start"] = "spawned"
        elif self.chance(0.5):
            t["start"] = self.dur(0, 5000, allow_zero=True)
        periodic = self.chance(0.35) and not spawned
        if periodic:
            t["period"] = self.dur(500, 30000)
            self.feat("thread:periodic")
            if self.chance(0.4):
                t["deadline"] = self.dur(100, 30000)
                self.feat("thread:deadline")
        else:
            self.feat("thread:one-shot")
        self.cur = {"id": t["id"], "periodic": periodic, "held": set(), "funnel": None,
                    "spin": 0, "depth": 0, "mode": mode}
        prog = self.block(r.randint(1, 6))
        if not periodic and self.chance(0.4):
            body = prog + [{"op": "run", "for": self.dur(50, 2000)}]
            self.cov["op:run"] += 1
            self.cov["op:loop:forever"] += 1
            prog = [{"op": "loop", "forever": True, "body": body}]
        elif periodic and self.chance(0.5):
            prog.append({"op": "sleep_until_next_period"})
            self.cov["op:sleep_until_next_period"] += 1
        t["program"] = prog
        return t

    # -- programs -----------------------------------------------------------------------------
    def block(self, n):
        """n ops (plus whatever releases what the block took); balanced: every lock and funnel
        taken in the block is released in it, by this thread."""
        c = self.cur
        taken = []  # (kind, ...)
        ops = []
        for _ in range(n):
            ops.extend(self.op(taken))
        # release what is still held, innermost first (sometimes in another order for mutexes)
        if len(taken) > 1 and self.chance(0.2) and all(x[0] == "lock" for x in taken):
            self.r.shuffle(taken)
            self.feat("unlock:out_of_order")
        for item in reversed(taken):
            ops.append(self.release(item))
        return ops

    def release(self, item):
        c = self.cur
        if item[0] == "lock":
            lk, mode = item[1], item[2]
            c["held"].discard(lk["id"])
            if lk["kind"] == "spin":
                c["spin"] -= 1
            op = {"op": "unlock", "lock": lk["id"]}
            if mode:
                op["mode"] = mode
            self.cov["op:unlock"] += 1
            return op
        c["funnel"] = None
        self.cov["op:funnel:none"] += 1
        return {"op": "funnel", "funnel": "none"}

    def op(self, taken):
        """One op (or a short sequence: an action's body), appended to the current block."""
        r, c = self.r, self.cur
        if c["spin"] > 0:
            # Holding a spin lock (preemption disabled): compute only; blocking would panic.
            if self.chance(0.01):
                self.feat("hostile:block_under_spin")
                return [{"op": "sleep", "for": "10us"}]
            self.cov["op:run"] += 1
            return [{"op": "run", "for": self.dur(1, 50)}]
        choices = ["run"] * 6 + ["sleep"] * 3 + ["loop"] * 2 + ["yield", "swtch_pri", "set_priority",
                                                                 "set_mode", "signal"]
        if c["periodic"]:
            choices += ["sleep_until_next_period"]
        if self.locks:
            choices += ["lock"] * 4
        if self.events:
            choices += ["wait", "signal", "signal"]
        choices += ["funnel"]
        if self.workloops:
            choices += ["run_action"] * 2 + ["command_sleep", "command_wakeup"]
        if self.devices:
            choices += ["io"] * 2 + (["terminate"] if self.chance(0.2) else [])
        if self.timers:
            choices += ["timer_arm", "timer_cancel"]
        # the kernel interfaces of issue 11
        choices += ["thread_policy", "task_policy", "setpriority", "pthread_setschedparam", "clear_wait",
                    "terminate_thread"]
        if self.chance(0.1):
            choices += ["exit_thread"]
        if self.locks:
            choices += ["try_lock"] * 2
        if any(x[0] == "lock" and x[2] == "read" for x in taken):
            choices += ["upgrade"] * 2
        if any(x[0] == "lock" and x[2] == "write" for x in taken):
            choices += ["downgrade"] * 2
        if c["funnel"] is not None and self.xnu == "517":
            choices += ["funnel_switch", "funnel_merge"]
        k = self.pick(choices)
        if k == "loop" and c["depth"] >= 3:
            k = "run"
        if k in ("run", "sleep"):
            self.cov[f"op:{k}"] += 1
            return [self.note({"op": k, "for": self.dur_or_random(10, 3000 if k == "run" else 5000)})]
        if k == "sleep_until_next_period":
            self.cov["op:sleep_until_next_period"] += 1
            return [{"op": k}]
        if k == "loop":
            c["depth"] += 1
            body = self.block(r.randint(1, 4))
            c["depth"] -= 1
            timed = self.has_timed(body)
            if timed and self.chance(0.15):
                self.cov["op:loop:forever"] += 1
                self.note_forever(body)
                return [{"op": "loop", "forever": True, "body": body}]
            self.cov["op:loop:times"] += 1
            # a try with an `else` counts its ops for the loader's zero-time limit: keep it small too
            small = timed or self.has_timed(body, {"try_lock", "upgrade"})
            return [self.note({"op": "loop", "times": r.randint(1, 5) if small else r.randint(1, 100), "body": body})]
        if k == "yield":
            op = {"op": "yield"}
            if self.chance(0.5):
                op["to"] = self.pick(self.thread_ids)
                self.cov["op:yield:to"] += 1
            else:
                self.cov["op:yield"] += 1
            return [op]
        if k == "swtch_pri":
            self.cov["op:swtch_pri"] += 1
            return [{"op": "swtch_pri"}]
        if k == "set_priority":
            self.cov["op:set_priority"] += 1
            return [{"op": "set_priority", "priority": r.randint(0, 127)}]
        if k == "set_mode":
            mode = self.pick(["timeshare", "fixed", "realtime"])
            self.cov[f"op:set_mode:{mode}"] += 1
            if (c["mode"] == "realtime") != (mode == "realtime"):
                self.feat("op:set_mode:" + ("from_realtime" if mode != "realtime" else "to_realtime"))
            c["mode"] = mode  # as written (a refused realtime request leaves it; close enough)
            op = {"op": "set_mode", "mode": mode}
            if mode == "realtime":
                op["realtime"] = self.realtime(admissible=not self.chance(0.15))
            elif self.chance(0.5):
                op["priority"] = r.randint(0, 127)
            return [op]
        if k == "signal":
            if not self.events:
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            op = {"op": "signal", "event": self.pick(self.events)}
            if self.chance(0.5):
                op["all"] = self.chance(0.5)
            self.cov["op:signal"] += 1
            return [op]
        if k == "wait":
            self.cov["op:wait"] += 1
            op = {"op": "wait", "event": self.pick(self.events)}
            if self.chance(0.3):
                op["timeout"] = self.dur(10, 5000)
                self.feat("wait:timeout")
            if self.chance(0.3):
                op["interruptible"] = self.chance(0.7)
                self.feat("wait:interruptible")
            return [op]
        if k == "thread_policy":
            flavor = self.pick(["standard", "extended", "precedence", "time_constraint"])
            self.cov[f"op:thread_policy:{flavor}"] += 1
            op = {"op": "thread_policy", "policy": flavor}
            if flavor == "extended":
                op["timeshare"] = self.chance(0.5)
            elif flavor == "precedence":
                op["importance"] = r.randint(-127, 127)
            elif flavor == "time_constraint":
                op["realtime"] = self.realtime(admissible=not self.chance(0.15))
            return [op]
        if k == "task_policy":
            self.cov["op:task_policy"] += 1
            op = {"op": "task_policy",
                  "role": self.pick(["foreground", "background", "control", "graphics_server", "unspecified"])}
            if self.chance(0.2):
                op["task"] = "kernel_task"
            return [op]
        if k == "setpriority":
            self.cov["op:setpriority"] += 1
            return [{"op": "setpriority", "nice": r.randint(-25, 25)}]
        if k == "pthread_setschedparam":
            self.cov["op:pthread_setschedparam"] += 1
            return [{"op": "pthread_setschedparam", "policy": self.pick(["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR"]),
                     "priority": r.randint(0, 127)}]
        if k == "clear_wait":
            self.cov["op:clear_wait"] += 1
            return [{"op": "clear_wait", "thread": self.pick(self.thread_ids)}]
        if k == "terminate_thread":
            others = [t for t in self.thread_ids if t != c["id"]]
            if not others:
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            self.cov["op:terminate_thread"] += 1
            return [{"op": "terminate_thread", "thread": self.pick(others)}]
        if k == "exit_thread":
            self.cov["op:exit_thread"] += 1
            return [{"op": "exit_thread"}]
        if k in ("upgrade", "downgrade"):
            want = "read" if k == "upgrade" else "write"
            i = self.pick([i for i, x in enumerate(taken) if x[0] == "lock" and x[2] == want])
            lk = taken[i][1]
            new = "write" if k == "upgrade" else "read"
            taken[i] = ("lock", lk, new)
            self.cov[f"op:{k}"] += 1
            op = {"op": k, "lock": lk["id"]}
            if k == "upgrade":
                # a failed upgrade holds nothing: take it for writing again
                op["else"] = [{"op": "lock", "lock": lk["id"], "mode": "write"}]
            return [op]
        if k == "funnel_switch":
            other = "kernel" if c["funnel"] == "network" else "network"
            op = {"op": "funnel_switch", "from": c["funnel"], "to": other}
            c["funnel"] = other
            self.cov["op:funnel_switch"] += 1
            return [op]
        if k == "funnel_merge":
            if c["funnel"] != "kernel":
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            self.cov["op:funnel_merge"] += 1
            return [{"op": "funnel_merge"}]
        if k in ("lock", "try_lock"):
            free = [lk for lk in self.locks if lk["id"] not in c["held"]]
            if not free:
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            lk = self.pick(free)
            mode = self.pick(["read", "write"]) if lk["kind"] == "rw" else None
            op = {"op": "lock", "lock": lk["id"]}
            if mode:
                op["mode"] = mode
            if k == "lock":
                if lk["kind"] == "spin" and self.chance(0.3):
                    op["disable_interrupts"] = True
                    self.feat("lock:disable_interrupts")
                self.cov[f"op:lock:{lk['kind']}" + (f":{mode}" if mode else "")] += 1
            else:
                # the `else` takes it by waiting, so either way the thread holds it after the try
                op = {**op, "op": "try_lock", "else": [op]}
                self.cov[f"op:try_lock:{lk['kind']}"] += 1
            c["held"].add(lk["id"])
            if lk["kind"] == "spin":
                c["spin"] += 1
            taken.append(("lock", lk, mode))
            return [op]
        if k == "funnel":
            if c["funnel"] is not None:
                if self.chance(0.02):
                    # Asking for the other funnel while holding one panics (exit 4), by design.
                    self.feat("hostile:second_funnel")
                    return [{"op": "funnel", "funnel": "kernel" if c["funnel"] == "network" else "network"}]
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            name = "network" if (self.xnu == "517" and self.chance(0.4)) else "kernel"
            c["funnel"] = name
            self.cov[f"op:funnel:{name}"] += 1
            taken.append(("funnel", name))
            return [{"op": "funnel", "funnel": name}]
        if k == "run_action":
            wl = self.pick(self.workloops)
            ops = [self.note({"op": "run_action", "workloop": wl["id"], "for": self.dur(5, 500)})]
            self.cov["op:run_action"] += 1
            # the action's body: ops on the same work loop that follow it run with the gate held
            for _ in range(r.randint(0, 2)):
                kind = self.pick(["command_sleep", "command_wakeup", "timer_arm", "timer_cancel"])
                wl_timers = [t for t in self.timers if t["workloop"] == wl["id"]]
                if kind.startswith("command") and self.events:
                    op = {"op": kind, "workloop": wl["id"], "event": self.pick(self.events)}
                    if kind == "command_wakeup" and self.chance(0.5):
                        op["all"] = self.chance(0.5)
                elif kind.startswith("timer") and wl_timers:
                    op = {"op": kind, "timer": self.pick(wl_timers)["id"]}
                    if kind == "timer_arm":
                        op["after"] = self.dur(10, 5000)
                else:
                    continue
                self.cov[f"op:{kind}:in_action"] += 1
                ops.append(op)
            return ops
        if k in ("command_sleep", "command_wakeup"):
            if not self.events:
                self.cov["op:run"] += 1
                return [{"op": "run", "for": self.dur(10, 100)}]
            op = {"op": k, "workloop": self.pick(self.workloops)["id"], "event": self.pick(self.events)}
            if k == "command_wakeup" and self.chance(0.5):
                op["all"] = self.chance(0.5)
            # a command_sleep outside an action's body is refused (kIOReturnNotPermitted)
            self.cov[f"op:{k}" + (":refused" if k == "command_sleep" else "")] += 1
            return [op]
        if k == "io":
            return self.io_op(self.pick(self.devices))
        if k == "terminate":
            self.cov["op:terminate"] += 1
            return [{"op": "terminate", "device": self.pick(self.devices)["id"]}]
        if k == "timer_arm":
            self.cov["op:timer_arm"] += 1
            return [{"op": "timer_arm", "timer": self.pick(self.timers)["id"], "after": self.dur(10, 5000)}]
        if k == "timer_cancel":
            self.cov["op:timer_cancel"] += 1
            return [{"op": "timer_cancel", "timer": self.pick(self.timers)["id"]}]
        raise AssertionError(k)

    def has_timed(self, ops, timed=TIMED_OPS):
        for o in ops:
            if o["op"] in timed or (o["op"] == "loop" and self.has_timed(o["body"], timed)):
                return True
        return False

    def note_forever(self, body):
        """A forever loop the loader accepts whose ops may all take no time: may spin at one
        instant; the simulator may refuse it (exit 2) or stop it (exit 4), never hang."""
        if not self.has_timed(body, SURELY_TIMED_OPS):
            self.feat("hostile:maybe_zero_time_forever")
            self.hostile.append("maybe_zero_time_forever")

    def expects(self, threads, interrupts):
        r = self.r
        out = []
        targets = [("thread", t["id"], THREAD_METRICS) for t in threads]
        targets += [("thread", f"workloop:{w['id']}", THREAD_METRICS) for w in self.workloops]
        targets += [("lock", lk["id"], LOCK_METRICS) for lk in self.locks if lk["kind"] != "spin" or True]
        targets += [("lock", f"{w['id']}.gate", LOCK_METRICS) for w in self.workloops]
        targets += [("lock", "kernel_funnel", LOCK_METRICS)]
        if self.xnu == "517" and self.funnels == "split":
            targets += [("lock", "network_funnel", LOCK_METRICS)]
        targets += [("cpu", c, CPU_METRICS) for c in range(self.cpus)]
        targets += [("interrupt", i["id"], INTERRUPT_METRICS) for i in interrupts]
        targets += [("workloop", w["id"], WORKLOOP_METRICS) for w in self.workloops]
        targets += [("device", d["id"], DEVICE_METRICS) for d in self.devices]
        targets += [(None, None, SYSTEM_METRICS)]
        for _ in range(r.randint(1, 5)):
            kind, ident, metrics = self.pick(targets)
            metric = self.pick(metrics)
            e = {} if kind is None else {kind: ident}
            e["metric"] = metric
            bound = self.pick(["min", "max", "eq"])
            first = metric.split(".")[0]
            is_ns = first.endswith("_ns") and not metric.endswith(".count")
            e[bound] = f"{r.randint(0, 5000)}us" if is_ns and self.chance(0.5) else r.randint(0, 1000)
            self.feat(f"expect:{kind or 'system'}")
            out.append(e)
        return out

    def make_hostile(self, s):
        """Inputs a hostile user would try: the simulator must end them (exit 0, 1, 4) or refuse
        them (exit 2), never hang, crash or report nonsense."""
        t = self.pick(s["threads"])
        kind = self.pick(["zero_time_loop", "time_overflow", "many_yields"])
        self.feat(f"hostile:{kind}")
        self.hostile.append(kind)
        if kind == "zero_time_loop":
            body = [self.pick([{"op": "signal", "event": self.events[0]} if self.events else {"op": "yield"},
                               {"op": "set_priority", "priority": 40}, {"op": "swtch_pri"},
                               {"op": "yield"}])]
            t["program"].insert(0, {"op": "loop", "times": self.pick([10**7, 10**9, 10**12]), "body": body})
        elif kind == "many_yields":
            t["program"].insert(0, {"op": "loop", "times": 10**7, "body": [{"op": "yield"}]})
        else:
            t["program"].insert(0, {"op": "run", "for": "1ms"})
            t["program"].insert(1, {"op": "sleep", "for": self.pick(
                [f"{MAX_NS - 775}ns", f"{MAX_NS}ns", "9223372036s"])})


def generate(seed, hostile_percent=3):
    g = Gen(seed, hostile_percent)
    s = g.scenario()
    return s, g.cov, g.hostile


# -- the driver ------------------------------------------------------------------------------------

def limit_memory(limit_mb):
    def f():
        if limit_mb:
            resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
        os.setsid()
    return f


SANITIZER_EXIT = 99  # what a sanitizer report exits with (its default, 1, is xnusim's "expect failed")


def sanitizer_env():
    env = dict(os.environ)
    for var, base in (("ASAN_OPTIONS", "detect_leaks=1"), ("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")):
        env[var] = ":".join(x for x in (base, os.environ.get(var, ""), f"exitcode={SANITIZER_EXIT}") if x)
    return env


def run_once(binary, scenario, outdir, tag, timeout, limit_mb, sanitized=False):
    j, tr = os.path.join(outdir, f"{tag}.json"), os.path.join(outdir, f"{tag}.trace")
    cmd = [binary, "run", scenario, "--check", "--json", j, "--trace", tr]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit_memory(limit_mb),
                         env=sanitizer_env() if sanitized else None)
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        code = "timeout"
    return {"code": code, "stdout": out, "stderr": err, "json": j, "trace": tr,
            "seconds": time.monotonic() - t0}


def check_accounting(path):
    """Results that make no sense: a negative number anywhere, or a CPU whose time does not add
    up to the run's duration."""
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        return f"results unreadable: {e}"
    bad = []

    def walk(o, where):
        if isinstance(o, dict):
            # A distribution's max_at_ns is -1 exactly when it has no sample; max_job is -1 when
            # the maximum belongs to no job (docs/results-format.md).
            if "max_at_ns" in o and "count" in o:
                if (o["max_at_ns"] == -1) != (o["count"] == 0):
                    bad.append(f"{where}/max_at_ns = {o['max_at_ns']} with count {o['count']}")
                if o.get("max_job", 0) < -1 or o["max_at_ns"] < -1:
                    bad.append(f"{where}: max_at_ns {o['max_at_ns']}, max_job {o.get('max_job')}")
                o = {k: v for k, v in o.items() if k not in ("max_at_ns", "max_job")}
            # A thread's created_ns / ended_ns are -1 for never (docs/results-format.md); else
            # inside the run, and it ends no earlier than it was created.
            if "created_ns" in o and "ended_ns" in o:
                created, ended, total = o["created_ns"], o["ended_ns"], d.get("duration_ns", 0)
                for k, v in (("created_ns", created), ("ended_ns", ended)):
                    if v < -1 or v > total:
                        bad.append(f"{where}/{k} = {v}")
                if ended >= 0 and (created < 0 or ended < created):
                    bad.append(f"{where}: ended_ns {ended} with created_ns {created}")
                o = {k: v for k, v in o.items() if k not in ("created_ns", "ended_ns")}
            for k, v in o.items():
                walk(v, f"{where}/{k}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{where}/{i}")
        elif isinstance(o, (int, float)) and not isinstance(o, bool) and o < 0:
            bad.append(f"{where} = {o}")

    walk(d, "")
    total = d.get("duration_ns")
    for i, c in enumerate(d.get("cpus", [])):
        # docs/results-format.md: idle = duration - busy - interrupt; busy = by_band + overhead
        got = sum(c.get(k, 0) for k in ("busy_ns", "interrupt_ns", "idle_ns"))
        if got != total:
            bad.append(f"/cpus/{i}: busy+interrupt+idle = {got} != duration_ns {total}")
        bands = sum(c.get("by_band_ns", {}).values()) + c.get("overhead_ns", 0)
        if bands != c.get("busy_ns"):
            bad.append(f"/cpus/{i}: by_band+overhead = {bands} != busy_ns {c.get('busy_ns')}")
    return "; ".join(bad[:4]) if bad else None


def check_trace(path, duration_ns):
    """The trace's instants (seconds with 9 decimals, first on each line) never go backwards, are
    never negative and never pass the run's duration."""
    last = 0
    try:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                word = line.split(b" ", 1)[0]
                whole, dot, frac = word.partition(b".")
                if not dot or len(frac) != 9 or not frac.isdigit() or not whole.lstrip(b"-").isdigit():
                    continue
                ns = int(whole) * 10**9 + (int(frac) if not whole.startswith(b"-") else -int(frac))
                if ns < 0:
                    return f"trace line {n}: negative instant {word.decode()}"
                if ns < last:
                    return f"trace line {n}: instant {word.decode()} before the previous line's"
                if duration_ns is not None and ns > duration_ns:
                    return f"trace line {n}: instant {word.decode()} after the run's end ({duration_ns} ns)"
                last = ns
    except OSError as e:
        return f"trace unreadable: {e}"
    return None


def check_seed(args_tuple):
    seed, opts = args_tuple
    s, cov, hostile = generate(seed, opts["hostile"])
    tmp = tempfile.mkdtemp(prefix=f"xnusim-gen-{seed}-")
    path = os.path.join(tmp, f"seed-{seed}.json")
    with open(path, "w") as f:
        json.dump(s, f, indent=1)
    problems = []
    a = run_once(opts["binary"], path, tmp, "a", opts["timeout"], opts["limit_mb"])
    code = a["code"]
    def what(r):
        if r["code"] == "timeout":
            return f"timeout after {opts['timeout']} s (hang)"
        if isinstance(r["code"], int) and r["code"] < 0:
            return f"killed by signal {-r['code']} ({signal.Signals(-r['code']).name})"
        return f"exit {r['code']}"
    stderr_tail = a["stderr"].decode(errors="replace").strip().splitlines()[-6:]
    if code == 2 and hostile:
        pass  # the loader may refuse a hostile scenario (a documented limit)
    elif code not in (0, 1, 4):
        problems.append(what(a))
    else:
        b = run_once(opts["binary"], path, tmp, "b", opts["timeout"], opts["limit_mb"])
        if b["code"] != code:
            problems.append(f"second run: {what(b)}, first: {what(a)}")
        else:
            for k in ("stdout", "stderr"):
                if a[k] != b[k]:
                    problems.append(f"{k} differs between two runs")
            for k in ("json", "trace"):
                ea, eb = os.path.exists(a[k]), os.path.exists(b[k])
                if ea != eb or (ea and not filecmp.cmp(a[k], b[k], shallow=False)):
                    problems.append(f"--{k} output differs between two runs")
            acc = check_accounting(a["json"]) if os.path.exists(a["json"]) else "no --json output"
            if acc:
                problems.append(f"results: {acc}")
            else:
                with open(a["json"]) as f:
                    tr = check_trace(a["trace"], json.load(f).get("duration_ns"))
                if tr:
                    problems.append(tr)
    asan = None
    if opts["asan_binary"] and opts["asan_every"] and seed % opts["asan_every"] == 0:
        c = run_once(opts["asan_binary"], path, tmp, "asan", opts["timeout"] * 6, 0, sanitized=True)
        asan = c["code"]
        report = any(m in c["stderr"] for m in (b"runtime error:", b"Sanitizer"))
        if report or not (c["code"] in (0, 1, 4) or (c["code"] == 2 and hostile)):
            problems.append(f"under ASan/UBSan: {what(c)}" + (" (sanitizer report)" if report else ""))
            stderr_tail = c["stderr"].decode(errors="replace").strip().splitlines()[-12:]
    kept = None
    if problems:
        os.makedirs(opts["keep"], exist_ok=True)
        kept = os.path.join(opts["keep"], f"seed-{seed}.json")
        shutil.copy(path, kept)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"seed": seed, "code": code, "problems": problems, "kept": kept, "cov": cov,
            "stderr": stderr_tail if problems else [], "seconds": a["seconds"], "asan": asan,
            "hostile": hostile}


def parse_seeds(text):
    lo, _, hi = text.partition(":")
    lo = int(lo)
    hi = int(hi) if hi else lo
    if hi < lo:
        raise argparse.ArgumentTypeError("--seeds LO:HI needs LO <= HI")
    return range(lo, hi + 1)


def cmd_run(args):
    import multiprocessing
    seeds = args.seeds
    opts = {"binary": os.path.abspath(args.binary), "timeout": args.timeout, "keep": os.path.abspath(args.keep),
            "limit_mb": args.memory_mb, "hostile": args.hostile,
            "asan_binary": os.path.abspath(args.asan_binary) if args.asan_binary else None,
            "asan_every": args.asan_every}
    for b in [opts["binary"]] + ([opts["asan_binary"]] if opts["asan_binary"] else []):
        if not os.access(b, os.X_OK):
            print(f"gen-scenarios: {b} is not an executable; build it first", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    tally, asan_tally, cov = collections.Counter(), collections.Counter(), collections.Counter()
    failures = []
    slowest = (0, None)
    with multiprocessing.Pool(args.jobs) as pool:
        for res in pool.imap_unordered(check_seed, ((s, opts) for s in seeds), chunksize=4):
            tally[res["code"]] += 1
            cov.update(res["cov"])
            if res["asan"] is not None:
                asan_tally[res["asan"]] += 1
            if res["seconds"] > slowest[0]:
                slowest = (res["seconds"], res["seed"])
            if res["problems"]:
                failures.append(res)
                print(f"FAIL seed {res['seed']}: {'; '.join(res['problems'])}", file=sys.stderr)
                for line in res["stderr"]:
                    print(f"    {line}", file=sys.stderr)
                print(f"    kept: {res['kept']}\n    reproduce: {args.binary} run {res['kept']} --check "
                      f"--json /tmp/a.json --trace /tmp/a.trace", file=sys.stderr)
    elapsed = time.monotonic() - t0
    if args.coverage:
        print("coverage (features generated over the run):")
        width = max(len(k) for k in cov) if cov else 0
        for k in sorted(cov):
            print(f"  {k:<{width}}  {cov[k]}")
    print(f"seeds {seeds.start}:{seeds.stop - 1}: {len(seeds)} scenarios in {elapsed:.1f} s on {args.jobs} "
          f"jobs; slowest run {slowest[0]:.2f} s (seed {slowest[1]}); exit codes: "
          + ", ".join(f"{k}: {tally[k]}" for k in sorted(tally, key=str)))
    if asan_tally:
        print("under ASan/UBSan: " + ", ".join(f"{k}: {asan_tally[k]}" for k in sorted(asan_tally, key=str)))
    if failures:
        print(f"{len(failures)} failing scenarios kept in {opts['keep']}")
    # not the plain "N passed, N failed": scripts/test.sh prints that once, for every stage
    print(f"gen-scenarios: {len(seeds) - len(failures)} of {len(seeds)} scenarios passed ({len(failures)} failed)")
    return 1 if failures else 0


# -- the reducer -----------------------------------------------------------------------------------

def outcome(binary, path, timeout):
    """What a run of `path` does, as a short class: "timeout", "signal N", "exit 3: <message>",
    "exit N"."""
    with tempfile.TemporaryDirectory(prefix="xnusim-reduce-") as tmp:
        r = run_once(binary, path, tmp, "r", timeout, 4096)
        bad = None
        if r["code"] in (0, 1, 4) and os.path.exists(r["json"]):
            bad = check_accounting(r["json"])
            if not bad:
                with open(r["json"]) as f:
                    bad = check_trace(r["trace"], json.load(f).get("duration_ns"))
    if bad:
        # the kind of problem, without its numbers, so a smaller case still matches
        return "bad results: " + "".join(ch for ch in bad.split(";")[0] if not ch.isdigit() and ch != "-")
    if r["code"] == "timeout":
        return "timeout"
    if r["code"] < 0:
        return f"signal {-r['code']}"
    if r["code"] == 3:
        msg = r["stderr"].decode(errors="replace").strip().splitlines()
        msg = msg[0] if msg else ""
        # keep the message without its numbers (instants, counts), so a smaller case still matches
        return "exit 3: " + "".join(ch for ch in msg if not ch.isdigit())[:60]
    return f"exit {r['code']}"


def candidates(o):
    """Smaller variants of the JSON value `o`, biggest cuts first."""
    if isinstance(o, list):
        n = len(o)
        chunk = n // 2
        while chunk >= 1:
            for i in range(0, n, chunk):
                yield o[:i] + o[i + chunk:]
            chunk //= 2
        for i, v in enumerate(o):
            for c in candidates(v):
                yield o[:i] + [c] + o[i + 1:]
    elif isinstance(o, dict):
        for k in list(o):
            if k in ("format", "version", "duration", "threads", "op", "id"):
                continue
            yield {kk: vv for kk, vv in o.items() if kk != k}
        for k in list(o):
            for c in candidates(o[k]):
                yield {**o, k: c}
    elif isinstance(o, int) and not isinstance(o, bool) and o > 1:
        yield o // 2
        yield 1


def flatten_loops(o):
    """Variants where one loop is replaced by its body (spliced into the program)."""
    if isinstance(o, dict):
        for k, v in o.items():
            for c in flatten_loops(v):
                yield {**o, k: c}
    elif isinstance(o, list):
        for i, v in enumerate(o):
            if isinstance(v, dict) and v.get("op") == "loop":
                yield o[:i] + v["body"] + o[i + 1:]
            for c in flatten_loops(v):
                yield o[:i] + [c] + o[i + 1:]


def cmd_reduce(args):
    binary = os.path.abspath(args.binary)
    with open(args.file) as f:
        cur = json.load(f)
    work = tempfile.mkdtemp(prefix="xnusim-reduce-")
    path = os.path.join(work, "try.json")

    def same(s):
        with open(path, "w") as f:
            json.dump(s, f)
        return outcome(binary, path, args.timeout) == target

    with open(path, "w") as f:
        json.dump(cur, f)
    target = outcome(binary, path, args.timeout)
    print(f"reduce: {args.file}: {target}", file=sys.stderr)
    if target in ("exit 0", "exit 1", "exit 2", "exit 4"):
        print("reduce: nothing to reduce (the run does not fail)", file=sys.stderr)
        return 1
    progress = True
    while progress:
        progress = False
        for gen in (flatten_loops, candidates):
            for c in gen(cur):
                if same(c):
                    cur = c
                    progress = True
                    print(f"reduce: {len(json.dumps(cur))} bytes", file=sys.stderr)
                    break
            if progress:
                break
    shutil.rmtree(work, ignore_errors=True)
    out = args.out or args.file.replace(".json", "") + "-min.json"
    with open(out, "w") as f:
        json.dump(cur, f, indent=1)
        f.write("\n")
    print(f"{out}: {target}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("emit", help="print the scenario of one seed")
    e.add_argument("seed", type=int)
    e.add_argument("--hostile", type=float, default=3, help="percent of hostile scenarios (default 3)")
    e.add_argument("--coverage", action="store_true", help="print the features used on stderr")
    r = sub.add_parser("run", help="run generated scenarios twice each and check them")
    r.add_argument("--seeds", type=parse_seeds, default=parse_seeds("1:1000"), help="LO:HI, inclusive")
    r.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    r.add_argument("--timeout", type=float, default=10, help="seconds per run before it counts as a hang")
    r.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per run (0: none)")
    r.add_argument("--binary", default=os.path.join(ROOT, "build/sim/cli/xnusim"))
    r.add_argument("--asan-binary", help="also run every --asan-every'th seed once under this binary")
    r.add_argument("--asan-every", type=int, default=20)
    r.add_argument("--keep", default="/tmp/xnusim-gen-failures", help="where failing scenarios are kept")
    r.add_argument("--hostile", type=float, default=3, help="percent of hostile scenarios (default 3)")
    r.add_argument("--coverage", action="store_true", help="print how often each feature was generated")
    d = sub.add_parser("reduce", help="shrink a failing scenario while it fails the same way")
    d.add_argument("file")
    d.add_argument("--out", help="where the smaller scenario goes (default: FILE-min.json)")
    d.add_argument("--timeout", type=float, default=2, help="seconds before a run counts as a hang")
    d.add_argument("--binary", default=os.path.join(ROOT, "build/sim/cli/xnusim"))
    args = ap.parse_args()
    if args.cmd == "reduce":
        return cmd_reduce(args)
    if args.cmd == "emit":
        s, cov, hostile = generate(args.seed, args.hostile)
        json.dump(s, sys.stdout, indent=1)
        print()
        if args.coverage:
            for k in sorted(cov):
                print(f"{k} {cov[k]}", file=sys.stderr)
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
