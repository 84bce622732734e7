#!/usr/bin/python3
"""soak.py - the soak of `actr-lane serve` (scripts/soak.sh runs it inside a
loopback-only network namespace; docs/soak.md says what it shows).

  soak.py ACTR_LANE OUT_DIR

For SOAK_SECONDS (default 600) against one `actr-lane serve --listen
127.0.0.1:0`:
  - 2 WebSocket drivers and 1 DataChannel driver run `actr-lane send` one
    run after the other (every payload type, 0 B .. 4 MiB, a new connection
    or peer connection per run); every run must exit 0;
  - an in-process driver runs `actr-lane demo` (every lane kind, the
    in-process one included, in its own process) every SOAK_DEMO_PAUSE s
    (default 20); every run must exit 0;
  - scripts/soak_hostile.py attacks serve in a loop (its errors are expected);
  - serve's VmRSS, threads and open fds are sampled every second into
    OUT_DIR/rss.csv.
Then serve must still be alive, get back to its idle thread and fd counts once
the clients are gone, and exit 0 on SIGTERM.

RSS flatness: the warm-up is the first SOAK_WARMUP s (default 10% of the run);
L is the median of every sample after it.  Flat within 10% (SOAK_TOLERANCE,
default 0.10) means both: the median of the second half of the samples after
the warm-up is within 10% of the first half's, and the least-squares line
through them rises (or falls) by less than 10% of L over that time.  Medians
and a trend, not single samples: the messages in flight (up to 4 MiB each,
24 MiB queued for a client that stops reading) come and go within seconds,
so single samples (and the medians of 60-s windows, SOAK_WINDOW, reported
and plotted) swing by more than 10% around a level that does not move;
growth moves both figures.  Leaks are checked directly too: serve's heap in
use (malloc_stats through gdb) once the clients are gone must be within
1 MiB of its idle figure, and its threads and fds back to their idle counts.
OUT_DIR/summary.json holds the figures; OUT_DIR/rss.png (gnuplot) the plot.
Exit 0 only if every check passed."""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

TOOL = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = float(os.environ.get("SOAK_WARMUP", str(SECONDS / 10)))
TOLERANCE = float(os.environ.get("SOAK_TOLERANCE", "0.10"))
DEMO_PAUSE = float(os.environ.get("SOAK_DEMO_PAUSE", "20"))
WINDOW = float(os.environ.get("SOAK_WINDOW", "60"))  # s: the windows whose RSS medians are compared
HEAP_SLACK_KIB = 1024  # heap in use after the clients vs. idle

WS_TYPES = ["RPC_RELIABLE", "RPC_SIGNAL", "STREAM_RELIABLE", "STREAM_LATENCY_FIRST", "MEDIA_RTP"]
DC_TYPES = WS_TYPES[:4]
# (size, count) of one run; a driver's i-th run takes type i % T, plan (i // T) % P.
WS_PLAN = [(0, 500), (64, 2000), (1024, 2000), (65536, 200), (1 << 20, 10), (4 << 20, 3)]
DC_PLAN = [(0, 200), (64, 1000), (1024, 1000), (65536, 100), (1 << 20, 5), (4 << 20, 2)]
RUN_TIMEOUT = 180

lock = threading.Lock()
failures = []  # what makes the soak fail
traffic = {}   # lane kind -> {"runs", "messages", "bytes", "failed_runs"}
demo_rss = []  # max RSS (KiB) of each demo run
t0 = time.time()


def log(msg):
    print("soak [%5.0fs] %s" % (time.time() - t0, msg), flush=True)


def fail(msg):
    with lock:
        failures.append(msg)
    log("FAIL: " + msg)


def add(kind, messages, nbytes, ok):
    with lock:
        t = traffic.setdefault(kind, {"runs": 0, "messages": 0, "bytes": 0, "failed_runs": 0})
        t["runs"] += 1
        t["messages"] += messages
        t["bytes"] += nbytes
        t["failed_runs"] += 0 if ok else 1


def run(args, logname):
    """Run the tool; returns (exit code or None on time-out, stdout, stderr, rusage)."""
    p = subprocess.Popen([TOOL] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(RUN_TIMEOUT, p.kill)
    timer.start()
    out, err = p.communicate()
    timer.cancel()
    rc = p.returncode
    if rc != 0:
        with open(os.path.join(OUT, logname), "ab") as f:
            f.write(("== %s: exit %s after %.0f s\n" % (" ".join(args), rc, time.time() - t0)).encode())
            f.write(out[-4000:] + err[-4000:])
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


def send_driver(name, url, lane, types, plan, deadline):
    i = 0
    kind = "serve " + ("WebSocket" if lane == "ws" else "DataChannel")
    while time.time() < deadline:
        ptype = types[i % len(types)]
        size, n = plan[(i // len(types)) % len(plan)]
        i += 1
        args = ["send", "--url", url, "--lane", lane, "--type", ptype, "--size", str(size),
                "--count", str(n)]
        rc, out, err = run(args, "traffic-errors.log")
        m = re.search(r"(\d+) echoes matched", out)
        matched = int(m.group(1)) if m else 0
        add(kind, matched, matched * size, rc == 0)
        if rc != 0:
            fail("%s: send --lane %s --type %s --size %d --count %d exited %s: %s" %
                 (name, lane, ptype, size, n, rc, err.strip().splitlines()[-1:] or ""))


def demo_driver(deadline):
    while time.time() < deadline:
        # Reaped by os.wait4 for its rusage (max RSS); stderr (progress) to a file.
        with open(os.path.join(OUT, "demo.stderr"), "w+b") as ef:
            p = subprocess.Popen([TOOL, "demo"], stdout=subprocess.PIPE, stderr=ef)
            timer = threading.Timer(RUN_TIMEOUT, p.kill)
            timer.start()
            out = p.stdout.read()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            timer.cancel()
            ef.seek(0)
            err = ef.read()
        rc = os.waitstatus_to_exitcode(status)
        text = out.decode(errors="replace")
        demo_rss.append(ru.ru_maxrss)
        # The last table (the final report): lane, messages, bytes, ...
        report = text.rsplit("\nlane ", 1)[-1]
        per = {}
        for line in report.splitlines():
            f = line.split()
            if len(f) >= 3 and "/" in f[0] and f[1].isdigit():
                k = f[0].split("/")[0]
                per.setdefault(k, [0, 0])
                per[k][0] += int(f[1])
                per[k][1] += int(f[2])
        names = {"Mpsc": "demo in-process", "WebSocket": "demo WebSocket",
                 "WebRtcDataChannel": "demo DataChannel"}
        for k, (msgs, nbytes) in per.items():
            add(names.get(k, "demo " + k), msgs, nbytes, rc == 0)
        if rc != 0:
            with open(os.path.join(OUT, "traffic-errors.log"), "ab") as f:
                f.write(b"== demo: exit %d\n" % rc + out[-4000:] + err[-4000:])
            fail("demo exited %s" % rc)
        end = time.time() + DEMO_PAUSE
        while time.time() < min(end, deadline):
            time.sleep(0.5)


def proc_status(pid):
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads, len(os.listdir("/proc/%d/fd" % pid))


def heap_in_use(serve):
    """glibc's malloc_stats() of serve through gdb (if installed): the bytes
    malloc holds from the system and those in use, all arenas together.
    Separates memory still allocated (a leak) from memory malloc keeps."""
    if serve.poll() is not None or not shutil.which("gdb"):
        return None
    err_path = os.path.join(OUT, "serve.stderr")
    size0 = os.path.getsize(err_path)
    subprocess.run(["gdb", "-p", str(serve.pid), "-batch", "-nx", "-ex", "call (void)malloc_stats()",
                    "-ex", "call (void)fflush(0)"], capture_output=True, timeout=60)
    time.sleep(0.5)
    with open(err_path, "rb") as f:
        f.seek(size0)
        text = f.read().decode(errors="replace")
    m = re.search(r"Total \(incl. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", text)
    arenas = len(re.findall(r"^Arena \d+:", text, re.M))
    if not m:
        return None
    return {"system_kib": int(m.group(1)) // 1024, "in_use_kib": int(m.group(2)) // 1024,
            "arenas": arenas}


def trim(serve):
    """serve's RSS (KiB) after malloc_trim(0) through gdb: what is left once
    malloc gives back every free page it holds."""
    if serve.poll() is not None or not shutil.which("gdb"):
        return None
    subprocess.run(["gdb", "-p", str(serve.pid), "-batch", "-nx", "-ex", "call (int)malloc_trim(0)"],
                   capture_output=True, timeout=60)
    return proc_status(serve.pid)[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in ("traffic-errors.log",):
        if os.path.exists(os.path.join(OUT, f)):
            os.unlink(os.path.join(OUT, f))
    serve_err = open(os.path.join(OUT, "serve.stderr"), "wb")
    serve = subprocess.Popen([TOOL, "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=serve_err)
    line = serve.stdout.readline().decode().strip()
    if not line.startswith("listening ws://127.0.0.1:"):
        serve.kill()
        print("soak: serve said %r" % line, file=sys.stderr)
        return 1
    url = line.split()[1]
    # One WebSocket and one DataChannel run first: they check the set-up and
    # start what lives as long as the process (usrsctp's "SCTP iterator"
    # thread, GLib's), so that the idle figures are those of a served serve.
    for lane in ("ws", "rtc"):
        rc, out, err = run(["send", "--url", url, "--lane", lane, "--count", "10"], "traffic-errors.log")
        if rc != 0:
            serve.kill()
            print("soak: the first send --lane %s failed: %s" % (lane, err.strip()), file=sys.stderr)
            return 1
    time.sleep(3)
    heap_idle = heap_in_use(serve)
    idle = proc_status(serve.pid)
    log("serve at %s, pid %d, idle: RSS %d KiB, %d threads, %d fds" % ((url, serve.pid) + idle))

    samples = []  # (t, rss KiB, threads, fds)
    stop_sampling = threading.Event()
    start = time.time()

    def sampler():
        nxt = start
        while not stop_sampling.is_set():
            try:
                samples.append((time.time() - start,) + proc_status(serve.pid))
            except (FileNotFoundError, ProcessLookupError):
                break
            nxt += 1
            stop_sampling.wait(max(0, nxt - time.time()))
    sth = threading.Thread(target=sampler)
    sth.start()

    deadline = start + SECONDS
    drivers = [
        threading.Thread(target=send_driver, args=("ws-1", url, "ws", WS_TYPES, WS_PLAN, deadline)),
        threading.Thread(target=send_driver,
                         args=("ws-2", url, "ws", WS_TYPES[::-1], WS_PLAN[::-1], deadline)),
        threading.Thread(target=send_driver, args=("rtc", url, "rtc", DC_TYPES, DC_PLAN, deadline)),
        threading.Thread(target=demo_driver, args=(deadline,)),
    ]
    for d in drivers:
        d.start()
    hostile_stats = os.path.join(OUT, "hostile.json")
    hostile = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "soak_hostile.py"), url,
                                str(SECONDS), hostile_stats],
                               stdout=open(os.path.join(OUT, "hostile.log"), "wb"),
                               stderr=subprocess.STDOUT)
    next_report = start + 60
    while any(d.is_alive() for d in drivers) or hostile.poll() is None:
        time.sleep(1)
        if serve.poll() is not None:
            fail("serve died (exit %s)" % serve.returncode)
            break
        if time.time() >= next_report and samples:
            next_report += 60
            with lock:
                brief = ", ".join("%s %d" % (k, v["messages"]) for k, v in sorted(traffic.items()))
            log("RSS %d KiB, %d threads, %d fds; messages: %s" % (samples[-1][1:] + (brief,)))
        if time.time() > deadline + RUN_TIMEOUT + 60:
            fail("clients still running %d s after the end" % (RUN_TIMEOUT + 60))
            hostile.kill()
            break
    for d in drivers:
        d.join(5)
    if hostile.poll() is None:
        hostile.kill()
    hostile.wait()
    clients_done = time.time() - start

    # Quiet: every client gone; serve must let go of their threads and fds.
    quiet = None
    if serve.poll() is None:
        for _ in range(30):
            time.sleep(1)
            quiet = proc_status(serve.pid)
            if quiet[1] <= idle[1] and quiet[2] <= idle[2]:
                break
        if quiet[1] > idle[1] or quiet[2] > idle[2]:
            fail("serve holds %d threads and %d fds 30 s after the clients left (idle: %d, %d)" %
                 (quiet[1], quiet[2], idle[1], idle[2]))
    stop_sampling.set()
    sth.join()
    heap = heap_in_use(serve)
    trimmed = trim(serve)

    serve_rc = None
    if serve.poll() is None:
        serve.send_signal(signal.SIGTERM)
        try:
            serve_rc = serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
            fail("serve did not stop within 30 s of SIGTERM")
        if serve_rc not in (None, 0):
            fail("serve exited %s on SIGTERM" % serve_rc)
    serve_err.close()

    # ---- RSS figures ----
    with open(os.path.join(OUT, "rss.csv"), "w") as f:
        f.write("# seconds,rss_kib,threads,fds\n")
        for s in samples:
            f.write("%.1f,%d,%d,%d\n" % s)
    rss = [(t, r) for t, r, _, _ in samples if t <= SECONDS]
    after = [(t, r) for t, r in rss if t >= WARMUP]
    windows = []  # (start s, end s, median KiB) of each window after the warm-up
    w0 = WARMUP
    while w0 + WINDOW / 2 <= SECONDS:
        vals = [r for t, r in after if w0 <= t < w0 + WINDOW]
        if len(vals) >= WINDOW / 2:
            windows.append((w0, min(w0 + WINDOW, SECONDS), statistics.median(vals)))
        w0 += WINDOW
    with open(os.path.join(OUT, "rss-windows.csv"), "w") as f:
        f.write("# start_s,end_s,median_rss_kib\n")
        for w in windows:
            f.write("%g,%g,%d\n" % w)
    fig = {}
    if len(windows) < 2:
        fail("too few RSS samples after the warm-up (%d s)" % len(after))
    else:
        vals = [r for _, r in after]
        level = statistics.median(vals)
        lo, hi = level * (1 - TOLERANCE), level * (1 + TOLERANCE)
        mt = statistics.mean(t for t, _ in after)
        mr = statistics.mean(vals)
        slope = sum((t - mt) * (r - mr) for t, r in after) / sum((t - mt) ** 2 for t, _ in after)
        first, last = windows[0][2], windows[-1][2]
        fig = {
            "rss_idle_kib": idle[0],
            "rss_level_kib": level,
            "rss_band_kib": [lo, hi],
            "rss_window_seconds": WINDOW,
            "rss_window_medians_kib": [[a, b, m] for a, b, m in windows],
            "rss_warmup_end_level_kib": first,
            "rss_end_level_kib": last,
            "end_over_warmup_end": last / first,
            "rss_min_after_warmup_kib": min(vals),
            "rss_max_after_warmup_kib": max(vals),
            "max_over_level": max(vals) / level,
            "rss_samples_after_warmup": len(vals),
            "rss_samples_above_band": sum(1 for r in vals if r > hi),
            "rss_slope_kib_per_min_after_warmup": slope * 60,
            "rss_trend_at_warmup_end_kib": mr + slope * (WARMUP - mt),
        }
        half = WARMUP + (SECONDS - WARMUP) / 2
        h1 = statistics.median(r for t, r in after if t < half)
        h2 = statistics.median(r for t, r in after if t >= half)
        rise = slope * (SECONDS - WARMUP)
        fig.update({"rss_first_half_median_kib": h1, "rss_second_half_median_kib": h2,
                    "second_half_over_first": h2 / h1,
                    "rss_trend_rise_kib": rise, "trend_rise_over_level": rise / level,
                    "rss_windows_outside_band": sum(1 for _, _, m in windows
                                                    if not lo <= m <= hi)})
        if abs(h2 / h1 - 1) > TOLERANCE:
            fail("RSS not flat: median %d KiB in the second half after the warm-up, %d KiB in "
                 "the first (x%.3f)" % (h2, h1, h2 / h1))
        if abs(rise) > TOLERANCE * level:
            fail("RSS not flat: its linear trend after the warm-up moves it by %+d KiB over "
                 "%d s, more than %d%% of %d KiB" % (rise, SECONDS - WARMUP, TOLERANCE * 100,
                                                     level))
    if heap_idle and heap:
        grown = heap["in_use_kib"] - heap_idle["in_use_kib"]
        if grown > HEAP_SLACK_KIB:
            fail("serve's heap in use grew by %d KiB (idle %d KiB, after the clients %d KiB): "
                 "a leak" % (grown, heap_idle["in_use_kib"], heap["in_use_kib"]))
    hostile_fig = {}
    try:
        with open(hostile_stats) as f:
            hostile_fig = json.load(f)
    except (OSError, ValueError):
        fail("the hostile client left no figures (see hostile.log)")
    with open(os.path.join(OUT, "serve.stderr"), "rb") as f:
        serve_warnings = sum(1 for line in f if b": warning: " in line)
    summary = {
        "seconds": SECONDS, "warmup_seconds": WARMUP, "tolerance": TOLERANCE,
        "clients_done_at_s": round(clients_done, 1),
        "serve_idle": {"rss_kib": idle[0], "threads": idle[1], "fds": idle[2]},
        "serve_quiet_after_clients": dict(zip(("rss_kib", "threads", "fds"), quiet or (0, 0, 0))),
        "serve_max_threads": max((s[2] for s in samples), default=0),
        "serve_max_fds": max((s[3] for s in samples), default=0),
        "serve_exit_on_sigterm": serve_rc,
        "serve_heap_idle": heap_idle,
        "serve_heap_after_clients": heap,
        "serve_rss_after_malloc_trim_kib": trimmed,
        "serve_warnings_logged": serve_warnings,
        "rss": fig,
        "traffic": traffic,
        "demo_max_rss_kib_per_run": demo_rss,
        "hostile": hostile_fig,
        "failures": failures,
    }
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)

    if fig and shutil.which("gnuplot"):
        gp = subprocess.run(
            ["gnuplot", "-e", "csv='%s'; wcsv='%s'; png='%s'; warmup=%g; level=%g; lo=%g; hi=%g; "
             "tol=%g; dur=%g; y0=%g; y1=%g" %
             (os.path.join(OUT, "rss.csv"), os.path.join(OUT, "rss-windows.csv"),
              os.path.join(OUT, "rss.png"), WARMUP,
              fig["rss_level_kib"] / 1024, fig["rss_band_kib"][0] / 1024,
              fig["rss_band_kib"][1] / 1024, TOLERANCE, SECONDS,
              fig["rss_trend_at_warmup_end_kib"] / 1024,
              (fig["rss_trend_at_warmup_end_kib"] + fig["rss_trend_rise_kib"]) / 1024),
             os.path.join(HERE, "soak-rss.gnuplot")], capture_output=True, text=True)
        if gp.returncode != 0:
            fail("gnuplot: " + gp.stderr.strip())

    log("done: %s" % ("PASS" if not failures else "FAIL (%d)" % len(failures)))
    for k, v in sorted(traffic.items()):
        log("  %-18s %4d runs %10d messages %14d bytes %d failed runs" %
            (k, v["runs"], v["messages"], v["bytes"], v["failed_runs"]))
    if fig:
        log("  RSS idle %d KiB; after the warm-up: median %d KiB, halves %d and %d KiB (x%.3f), "
            "trend %+d KiB (%+.1f%%), max %d KiB (x%.2f); %d-s window medians %s KiB" %
            (idle[0], fig["rss_level_kib"], fig["rss_first_half_median_kib"],
             fig["rss_second_half_median_kib"], fig["second_half_over_first"],
             fig["rss_trend_rise_kib"], 100 * fig["trend_rise_over_level"],
             fig["rss_max_after_warmup_kib"], fig["max_over_level"], WINDOW,
             " ".join("%d" % m for _, _, m in windows)))
    for what, h in (("idle", heap_idle), ("once the clients left", heap)):
        if h:
            log("  serve's heap %s (malloc_stats): %d KiB in use, %d KiB held, %d arenas" %
                (what, h["in_use_kib"], h["system_kib"], h["arenas"]))
    if trimmed:
        log("  serve's RSS once the clients left: %d KiB, after malloc_trim(0): %d KiB" %
            (quiet[0], trimmed))
    for f in failures:
        log("  failure: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
