#!/usr/bin/env python3
"""bench/sqlite/report on a synthetic runs.csv and host-samples.csv whose
answers are known: the median run of a point and its range, lookups/s
against SQLite's taken repetition by repetition, the guest CPU per lookup
from the host's vCPU counts less the idle rate, the medians of the
guest-side columns, the checked lookups, the busy-host list and the plot.
Then the same without host samples.  KEEP=1 keeps the directory.

SQLite: 1000 lookups/s times 1, 1.2, 0.8 by repetition; every other point a
constant, except chain at cache 2, 1 in flight: 2000, 2100, 1900, so its
ratio to SQLite is 2.00, 1.75, 2.375.  p50 = 100 + 10 * rep, p99 twice
that.  Each window is 2 s; the vCPUs use 1000 µs/s idle, added to every
window, and G µs per lookup.  Others use 20 of 400 host ticks (5 %) in every
window but one (30 %)."""
import os
import subprocess
import sys
import tempfile

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sqlite", "report")
CONST = {("pread", 0, 1): 600, ("pread", 2, 1): 1200, ("chain", 0, 1): 900, ("chain", 0, 8): 3000,
         ("chain", 2, 8): 5000, ("chain-poll", 0, 1): 1500, ("chain-poll", 0, 8): 4000,
         ("chain-poll", 2, 1): 3000, ("chain-poll", 2, 8): 6000}
GUEST = {"sqlite": 300, "pread": 200, "chain": 50, "chain-poll": 120}


def synthesize(out):
    runs = ["mode,cache,inflight,lookups,window_s,lookups_per_s,mean_us,p50_us,p99_us,"
            "rusage_us_per_lookup,stat_us_per_lookup,reads_per_lookup,pages_per_lookup,found,"
            "checked,id,rep"]
    samples = ["id,phase,t_s,vcpu_ns,qemu_ticks,busy_ticks,total_ticks,load1",
               "idle,start,0.000,0,0,0,0,0.40", "idle,end,2.000,2000000,0,0,0,0.40"]
    points = [("sqlite", 0, 1)] + [(m, c, q) for c in (0, 2) for m, q in
                                   (("pread", 1), ("chain", 1), ("chain", 8),
                                    ("chain-poll", 1), ("chain-poll", 8))]
    n = 0
    for rep, f in ((1, 1.0), (2, 1.2), (3, 0.8)):
        for mode, cache, q in points:
            n += 1
            if mode == "sqlite":
                lps = 1000 * f
            elif (mode, cache, q) == ("chain", 2, 1):
                lps = {1: 2000, 2: 2100, 3: 1900}[rep]
            else:
                lps = CONST[(mode, cache, q)]
            p50 = 100 + 10 * rep
            pages = 0 if mode == "sqlite" else {0: 4, 2: 2}[cache]
            reads = 0.7 if mode == "sqlite" else pages
            rus = 20 + rep
            runs.append(f"{mode},{cache},{q},{int(lps * 2)},2.000,{lps:.1f},{p50 + 5:.1f},{p50:.1f},"
                        f"{2 * p50:.1f},{rus:.1f},{rus + 5:.1f},{reads:.3f},{pages:.3f},{int(lps * 2)},"
                        f"40,{n},{rep}")
            busy = 220 if (mode, cache, q, rep) == ("chain-poll", 2, 8, 2) else 120
            vcpu = (GUEST[mode] * lps * 2 + 1000 * 2) * 1000
            t = 100.0 * n
            samples.append(f"{n},start,{t:.3f},{10 ** 9 * n},{1000 * n},{5000 * n},{20000 * n},0.5")
            samples.append(f"{n},end,{t + 2:.3f},{10 ** 9 * n + vcpu:.0f},{1000 * n + 100},"
                           f"{5000 * n + busy},{20000 * n + 400},0.7")
    for name, lines in (("runs.csv", runs), ("host-samples.csv", samples),
                        ("machine.txt", ["guest kernel test"])):
        with open(os.path.join(out, name), "w") as fh:
            fh.write("\n".join(lines) + "\n")


def main():
    out = tempfile.mkdtemp()
    failures = []

    def has(name, text, what):
        with open(os.path.join(out, name)) as fh:
            if not any(text in line for line in fh):
                failures.append(f"{what}: no line with: {text}")

    def report(what):
        r = subprocess.run([REPORT, out], stderr=subprocess.PIPE, text=True)
        if r.returncode:
            sys.exit(f"FAIL: report ({what}) exited {r.returncode}:\n{r.stderr}")
        if not os.path.getsize(os.path.join(out, "sqlite.png")):
            failures.append(f"{what}: no sqlite.png")
        if os.path.exists(os.path.join(out, ".sqlite")):
            failures.append(f"{what}: the plot's data file was left behind")

    synthesize(out)
    report("with host samples")
    with open(os.path.join(out, "results.csv")) as fh:
        if len(fh.read().splitlines()) != 12:
            failures.append("results.csv: want 11 points")
    # SQLite: runs 800, 1000, 1200 -> median 1000 (rep 1: p50 110); guest CPU 300
    has("results.md", "| SQLite library | default | 1 | 1000 (800-1200) | 1 | 110.0 | 220.0 | 300.0 | "
        "22.0 | 0.70 | - | 3 |", "sqlite row")
    has("results.csv", "sqlite,0,1,3,1000,800,1200,1.000,115.0,110.0,220.0,300.0,22.0,27.0,0.70,0.00,120",
        "sqlite csv row")
    # chain, cache 2, 1 in flight: median run 2000 (rep 1), vs SQLite 2.00, 1.75, 2.375
    has("results.md", "| chain, interrupts | 2 | 1 | 2000 (1900-2100) | 2.00x (1.75-2.38) | 110.0 | "
        "220.0 | 50.0 | 22.0 | 2.00 | 2.00 | 3 |", "chain row")
    # constant points: one value, the ratios to 1000, 1200, 800
    has("results.md", "| chain, poll queue | 2 | 8 | 6000 | 6.00x (5.00-7.50) |", "chain-poll row")
    has("results.md", "| user space, O_DIRECT pread | 0 | 1 | 600 | 0.60x (0.50-0.75) |", "pread row")
    has("results.md", "less 1000.0 µs/s of idle", "idle rate")
    has("results.md", "Checked: 1320 lookups of 33 runs equal to sqlite3", "checked")
    has("results.md", "1 of 33 runs above 15 %: chain-poll/2/8 rep 2 (30 %)", "busy host")
    has("results.md", "guest kernel test", "machine")

    # without host samples: the guest CPU is "-", the rest as before
    os.remove(os.path.join(out, "host-samples.csv"))
    os.remove(os.path.join(out, "sqlite.png"))
    report("without host samples")
    has("results.md", "| chain, interrupts | 2 | 1 | 2000 (1900-2100) | 2.00x (1.75-2.38) | 110.0 | "
        "220.0 | - | 22.0 |", "no host samples")
    has("results.md", "Host: no host samples", "no host samples note")

    if os.environ.get("KEEP"):
        print(f"kept {out}")
    else:
        subprocess.run(["rm", "-rf", out], check=True)
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print("bench/sqlite/report: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
