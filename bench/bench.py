#!/usr/bin/env python3
"""bench/bench.py - times waitchain against its peers on large cached recordings.

Not a test: a measuring instrument (see bench/README.md). For each cached recording variant
(bench/record.sh makes them in ${WC_BENCH_CACHE:-/var/tmp/waitchain-bench}) and each format
(capture.perf.data, capture.trace.dat), runs --reps times and keeps the median of:

  cat FILE > /dev/null             (page-cache read floor, file warmed first)
  waitchain import FILE -o DB      (default threads; and once more with WC_THREADS=1 to check
                                    that both give identical tables, see digest())
  floor DB                         (bench/floor.c: SQLite storing the same chunks, same pragmas)
  floor --rows DB                  (the issue's floor: SQLite inserting as many rows of the same
                                    shape as the tables hold, prepared INSERT, one transaction)
  waitchain analyze DB
  waitchain report DB (HTML and text) and bench/report_load.mjs if present
  perf script / perf sched timehist (perf.data), trace-cmd report (trace.dat), all > /dev/null

Wall time and peak RSS come from /usr/bin/time (-f '%e %M', the same counters `time -v` prints).
Prints a table, PASS/FAIL per target of the issue, and writes bench/RESULTS.md (--results).
Command lines of waitchain can be changed with WC_BENCH_IMPORT / _ANALYZE / _REPORT_HTML /
_REPORT_TEXT (Python format strings with {bin} {file} {db} {out}).
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CACHE = os.environ.get("WC_BENCH_CACHE", "/var/tmp/waitchain-bench")
VARIANTS = ["bql-nostacks-v6", "bql-stacks-v6", "bql-nostacks-zstd", "bql-stacks-zstd",
            "msg-nostacks-v6", "msg-stacks-zstd"]
FORMATS = [("perf.data", "capture.perf.data"), ("trace.dat", "capture.trace.dat")]

CMD = {
    "import": os.environ.get("WC_BENCH_IMPORT", "{bin} import {file} -o {db} -f --no-analyze -q"),
    "analyze": os.environ.get("WC_BENCH_ANALYZE", "{bin} analyze --quiet {db}"),
    "report_html": os.environ.get("WC_BENCH_REPORT_HTML", "{bin} report {db} --format html -o {out}"),
    "report_text": os.environ.get("WC_BENCH_REPORT_TEXT", "{bin} report {db} --format text -o {out}"),
}

MIB = 1024 * 1024


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_timed(argv, env=None, stdout=subprocess.DEVNULL, timeout=3600):
    """Runs argv under /usr/bin/time; returns (wall seconds, peak RSS bytes, exit code, CPU seconds
    user+sys)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%e %M %U %S", "-o", tf.name] + argv
        e = dict(os.environ)
        if env:
            e.update(env)
        t0 = time.monotonic()
        p = subprocess.run(full, stdout=stdout, stderr=subprocess.PIPE, env=e, timeout=timeout)
        wall = time.monotonic() - t0
        rss, cpu = 0, None
        for line in tf.read().splitlines():
            m = re.match(r"^([\d.]+) (\d+) ([\d.]+) ([\d.]+)$", line.strip())
            if m:
                rss = int(m.group(2)) * 1024
                cpu = float(m.group(3)) + float(m.group(4))
        if p.returncode != 0:
            log("  command failed (%d): %s\n  %s" % (p.returncode, " ".join(argv),
                                                     p.stderr.decode(errors="replace")[-2000:]))
        return wall, rss, p.returncode, cpu


def measure(name, argv, reps, env=None, before=None):
    """Runs argv reps times (before() first each time); returns dict(median, min, rss, ok, all)."""
    walls, rsss, cpus, ok = [], [], [], True
    for _ in range(reps):
        if before:
            before()
        w, r, rc, c = run_timed(argv, env=env)
        if rc != 0:
            ok = False
            break
        walls.append(w)
        rsss.append(r)
        if c is not None:
            cpus.append(c)
    res = {"name": name, "ok": ok, "all": walls,
           "median": statistics.median(walls) if walls else None,
           "rss": max(rsss) if rsss else None,
           "cpu": statistics.median(cpus) if cpus else None}
    log("  %-22s %s" % (name, ("%.3f s (runs %s) cpu %.2f s rss %.0f MiB" % (
        res["median"], " ".join("%.2f" % x for x in walls), res["cpu"] or 0, res["rss"] / MIB))
        if ok else "FAILED"))
    return res


def fmt_cmd(key, **kw):
    return [a.format(**kw) for a in CMD[key].split()]


def digest(db):
    """Per-table digest of a waitchain database: row count, sums of integer columns and of text
    lengths. Volatile capture keys (import time, date, paths) are left out. Two imports of the
    same file must give the same digest whatever the thread count."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    out = {}
    # columnar tables (virtual: Python cannot load their module) are
    # compared through their shadow tables, which hold every byte of them
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'")]
    for t in sorted(tables):
        if t == "capture":
            rows = con.execute("SELECT key, value FROM capture WHERE key NOT IN "
                               "('imported_at','import_seconds','source_file','warnings')"
                               " ORDER BY key").fetchall()
            out[t] = rows
            continue
        cols = con.execute('PRAGMA table_info("%s")' % t.replace('"', '""')).fetchall()
        exprs = ["count(*)"]
        for c in cols:
            name = '"%s"' % c[1].replace('"', '""')
            exprs.append("total(%s)" % name if "INT" in (c[2] or "").upper()
                         else "total(length(%s))" % name)
        out[t] = list(con.execute('SELECT %s FROM "%s"' % (",".join(exprs), t)).fetchone())
    con.close()
    return out


def db_rows(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    n = {}
    for (t, sql) in con.execute("SELECT name, sql FROM sqlite_master WHERE type='table' "
                                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%\\_\\_%' ESCAPE '\\'").fetchall():
        if sql.startswith("CREATE VIRTUAL TABLE"):
            # columnar: rows are counted by its chunks
            n[t] = con.execute('SELECT coalesce(sum(n), 0) FROM "%s__chunk"' % t).fetchone()[0]
        else:
            n[t] = con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0]
    ev = None
    try:
        r = con.execute("SELECT value FROM capture WHERE key='events'").fetchone()
        ev = int(r[0]) if r and r[0] is not None else None
    except sqlite3.Error:
        pass
    if ev is None:
        try:
            ev = con.execute("SELECT sum(count) FROM event_count").fetchone()[0]
        except sqlite3.Error:
            ev = None
    con.close()
    return n, ev


def read_events_txt(vdir):
    d = {}
    try:
        for line in open(os.path.join(vdir, "events.txt")):
            k, _, v = line.partition(" ")
            d[k] = int(v)
    except (OSError, ValueError):
        pass
    return d


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:
        return "?"


def machine(binary):
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "host": platform.node(), "nproc": sh("nproc"), "cpu": cpu, "ram": mem,
        "kernel": platform.release(), "perf": sh("perf version"),
        "trace-cmd": sh("trace-cmd --version 2>&1 | grep -m1 version"),
        "sqlite": sqlite3.sqlite_version, "cc": sh("cc --version | head -1"),
        "waitchain": sh("%s --version 2>&1 | head -1" % binary) + " (git " +
                     sh("git -C %s rev-parse --short HEAD" % REPO) + ", worktree may be dirty)",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def floor_part(args, r, db, work, reps, key, extra, label):
    """Runs bench/floor.c (with EXTRA arguments) REPS times on DB; r[KEY] = the median."""
    fl = []
    out = os.path.join(work, "floor.db")
    for _ in range(reps):
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run([args.floor] + extra + [db, out], capture_output=True, text=True)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        fcpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        m = re.search(r"^floor rows (\d+) insert_seconds ([\d.]+) index_seconds ([\d.]+) "
                      r"total_seconds ([\d.]+) bytes (\d+)", p.stdout, re.M)
        if m:
            fl.append((float(m.group(4)), float(m.group(2)), float(m.group(3)), int(m.group(5)), fcpu,
                       int(m.group(1))))
        else:
            log("  %s failed: %s" % (label, p.stderr[-500:]))
            break
    if fl:
        fl.sort()
        med = fl[len(fl) // 2]
        r[key] = {"median": med[0], "insert": med[1], "index": med[2], "bytes": med[3],
                  "cpu": med[4], "rows": med[5], "ok": True}
        log("  %-22s %.3f s (insert %.3f + index %.3f) for %d rows, cpu %.2f s (whole process, "
            "incl. reading the sample rows)" % (label, med[0], med[1], med[2], med[5], med[4]))
    try:
        os.unlink(out)
    except OSError:
        pass


def analysis_part(args, r, db, work):
    """waitchain analyze and report (HTML, text, chromium load) of DB, into r."""
    variant, fmt, reps = r["variant"], r["format"], args.reps
    r["analyze"] = measure("waitchain analyze", fmt_cmd("analyze", bin=args.bin, db=db), reps)
    html = os.path.join(work, "%s.%s.html" % (variant, fmt))
    txt = os.path.join(work, "%s.%s.txt" % (variant, fmt))
    if r["analyze"]["ok"]:
        r["report_html"] = measure("report html", fmt_cmd("report_html", bin=args.bin, db=db, out=html), reps)
        r["report_text"] = measure("report text", fmt_cmd("report_text", bin=args.bin, db=db, out=txt), reps)
        if os.path.exists(html):
            r["html_bytes"] = os.path.getsize(html)
            loader = os.path.join(HERE, "report_load.mjs")
            if os.path.exists(loader) and shutil.which("node"):
                try:
                    p = subprocess.run(["node", loader, html, "--json", "--runs", str(reps)],
                                       capture_output=True, text=True, timeout=900)
                    try:
                        summ = json.loads(p.stdout.strip().splitlines()[-1])["summary"]
                        r["report_load"] = summ
                        r["report_load_ms"] = summ["load_ms"]
                        log("  %-22s %.0f ms" % ("report load (chromium)", summ["load_ms"]))
                    except (ValueError, KeyError, IndexError):
                        r["report_load"] = (p.stderr.strip() or p.stdout.strip())[-300:]
                        log("  report_load.mjs failed: %s" % r["report_load"][-200:])
                except subprocess.TimeoutExpired:
                    log("  report_load.mjs timed out")
        if os.path.exists(txt):
            r["text_bytes"] = os.path.getsize(txt)


def bench_file(args, variant, fmt, path, work):
    log("== %s %s (%.0f MiB)" % (variant, fmt, os.path.getsize(path) / MIB))
    r = {"variant": variant, "format": fmt, "file": path, "file_bytes": os.path.getsize(path),
         "reps": args.reps, "load_before": os.getloadavg()}
    reps = args.reps
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL)          # warm the page cache
    r["cat"] = measure("cat (page cache)", ["cat", path], reps)
    db = os.path.join(work, "%s.%s.db" % (variant, fmt))
    db1 = os.path.join(work, "%s.%s.t1.db" % (variant, fmt))

    def rm(p):
        return lambda: [os.path.exists(x) and os.unlink(x) for x in (p, p + "-journal", p + "-wal")]

    r["import"] = measure("waitchain import", fmt_cmd("import", bin=args.bin, file=path, db=db),
                          reps, before=rm(db))
    if not r["import"]["ok"]:
        return r
    r["import_t1"] = measure("import WC_THREADS=1", fmt_cmd("import", bin=args.bin, file=path, db=db1),
                             1 if args.quick else reps, env={"WC_THREADS": "1"}, before=rm(db1))
    r["db_bytes"] = os.path.getsize(db)
    rows, ev = db_rows(db)
    r["rows"] = rows
    r["rows_total"] = sum(rows.values())
    r["events"] = ev
    if r["import_t1"]["ok"]:
        d1, d2 = digest(db1), digest(db)
        r["identical"] = d1 == d2
        if not r["identical"]:
            r["digest_diff"] = [t for t in set(d1) | set(d2) if d1.get(t) != d2.get(t)]
            log("  DIGEST MISMATCH in tables: %s" % r["digest_diff"])
    if args.floor and os.path.exists(args.floor):
        floor_part(args, r, db, work, reps, "floor", [], "sqlite floor (chunks)")
        if args.module and os.path.exists(args.module):
            floor_part(args, r, db, work, reps, "row_floor", ["--rows", args.module],
                       "sqlite row floor")
    analysis_part(args, r, db, work)
    if not args.skip_peers:
        if fmt == "perf.data":
            r["perf_script"] = measure("perf script", ["perf", "script", "-i", path], reps)
            r["perf_timehist"] = measure("perf sched timehist",
                                         ["perf", "sched", "timehist", "-i", path], reps)
        else:
            r["tc_report"] = measure("trace-cmd report", ["trace-cmd", "report", "-i", path], reps)
    if not args.keep_db:
        for p in (db1,):
            if os.path.exists(p):
                os.unlink(p)
    return r


def med(r, k):
    v = r.get(k)
    return v["median"] if v and v.get("ok") and v.get("median") is not None else None


def cpu(r, k):
    v = r.get(k)
    return v["cpu"] if v and v.get("ok") and v.get("cpu") is not None else None


JUDGE = "cpu"


def tm(r, k):
    """The time targets are judged on: CPU seconds (user+sys) with --judge cpu, else wall."""
    return cpu(r, k) if JUDGE == "cpu" else med(r, k)


def targets(r):
    """[(target, value text, PASS/FAIL/n/a)] for one file's results."""
    out = []
    imp = tm(r, "import")

    def add(name, ok, val):
        out.append((name, val, "n/a" if ok is None else ("PASS" if ok else "FAIL")))
    peer = "perf_script" if r["format"] == "perf.data" else "tc_report"
    pname = "perf script" if r["format"] == "perf.data" else "trace-cmd report"
    p = tm(r, peer)
    ratio = p / imp if p and imp else None
    pw, iw = med(r, peer), med(r, "import")
    add("import >= 5x faster than %s" % pname, None if ratio is None else ratio >= 5,
        ("%.2fx" % ratio if ratio else "-") + (" (wall %.2fx)" % (pw / iw) if pw and iw else ""))
    rss = max([x for x in (r.get("import", {}).get("rss"), r.get("analyze", {}).get("rss")) if x] or [0])
    an = tm(r, "analyze")
    # an analysis of a small file can take 0.00 CPU seconds: measured, not missing
    add("import+analyze peak RSS < 256 MiB", (rss < 256 * MIB) if rss and an is not None else None,
        "%.0f MiB" % (rss / MIB) if rss else "-")
    add("analyze adds < 50% to import", (an / imp < 0.5) if an is not None and imp else None,
        "+%.0f%%" % (100 * an / imp) if an is not None and imp else "-")
    rf = (r.get("row_floor") or {}).get("cpu" if JUDGE == "cpu" else "median")
    add("import within 2x of the SQLite floor (same rows, same shape, prepared INSERT)",
        (imp / rf <= 2) if imp and rf else None,
        "%.2fx" % (imp / rf) if imp and rf else "-")
    fl = (r.get("floor") or {}).get("cpu" if JUDGE == "cpu" else "median")
    out.append(("import / storage floor (SQLite storing the columnar chunks only; no target)",
                "%.2fx" % (imp / fl) if imp and fl else "-", "info"))
    t1, iw = med(r, "import_t1"), med(r, "import")
    add("threads: identical to WC_THREADS=1", r.get("identical"),
        ("wall speedup %.2fx" % (t1 / iw)) if t1 and iw else "-")
    ic = cpu(r, "import")
    add("import uses both cores (CPU/wall > 1.2)", (ic / iw > 1.2) if ic and iw else None,
        "CPU/wall %.2f" % (ic / iw) if ic and iw else "-")
    return out


def f(x, spec="%.2f"):
    return spec % x if x is not None else "-"


def render(results, mach, args):
    L = []
    L.append("# waitchain benchmark results\n")
    reps = sorted(set(r.get("reps", args.reps) for r in results)) or [args.reps]
    L.append("Generated by `bench/run.sh` (bench/bench.py, reps=%s, median of runs; per recording "
             "in the Targets table) on %s.\n" % ("/".join(map(str, reps)), mach["date"]))
    L.append("## Machine\n")
    for k in ("host", "nproc", "cpu", "ram", "kernel", "perf", "trace-cmd", "sqlite", "cc", "waitchain"):
        L.append("- %s: %s" % (k, mach[k]))
    L.append("")
    L.append("## Times (seconds, median) and throughput\n")
    L.append("| recording | format | MiB | events | cat | import | Mev/s | import T=1 | row floor | chunk floor | analyze | report html | report text | perf script | perf timehist | trace-cmd report | peer/import | RSS imp/an MiB | DB B/event | HTML KiB | load ms |")
    L.append("|" + "---|" * 21)
    for r in results:
        imp, ev = med(r, "import"), r.get("events")
        peer = med(r, "perf_script") if r["format"] == "perf.data" else med(r, "tc_report")
        L.append("| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["variant"], r["format"], r["file_bytes"] / MIB, ev if ev else "-",
            f(med(r, "cat")), f(imp), f(ev / imp / 1e6 if ev and imp else None),
            f(med(r, "import_t1")), f((r.get("row_floor") or {}).get("median")),
            f((r.get("floor") or {}).get("median")), f(med(r, "analyze")),
            f(med(r, "report_html")), f(med(r, "report_text")),
            f(med(r, "perf_script")), f(med(r, "perf_timehist")), f(med(r, "tc_report")),
            f(peer / imp if peer and imp else None, "%.2fx"),
            "%s/%s" % (f((r.get("import") or {}).get("rss") and r["import"]["rss"] / MIB, "%.0f"),
                       f((r.get("analyze") or {}).get("rss") and r["analyze"]["rss"] / MIB, "%.0f")),
            f(r["db_bytes"] / ev if ev and r.get("db_bytes") else None, "%.1f"),
            f(r.get("html_bytes") and r["html_bytes"] / 1024, "%.0f"),
            f(r.get("report_load_ms"), "%.0f")))
    L.append("")
    L.append("### CPU seconds (user+sys, median), less sensitive to other load on the machine\n")
    L.append("| recording | format | import | Mev/s | import T=1 | row floor | chunk floor | analyze | report html | report text | perf script | perf timehist | trace-cmd report |")
    L.append("|" + "---|" * 13)
    for r in results:
        ic, ev = cpu(r, "import"), r.get("events")
        L.append("| %s | %s | %s | %s | %s | %s |" % (r["variant"], r["format"], f(ic),
            f(ev / ic / 1e6 if ev and ic else None), f(cpu(r, "import_t1")),
            " | ".join(f(cpu(r, k)) for k in ("row_floor", "floor", "analyze", "report_html", "report_text",
                                               "perf_script", "perf_timehist", "tc_report"))))
    L.append("")
    L.append("events = events read by the importer (capture key `events`, else sum of event_count); "
             "Mev/s = events / import time; T=1 = WC_THREADS=1; row floor = bench/floor.c --rows "
             "(the issue's floor: as many rows of the same shape as the database's tables hold, "
             "columnar tables as ordinary rowid tables, one transaction, one prepared INSERT per "
             "table, then the same indexes); chunk floor = bench/floor.c (the rows SQLite "
             "physically stores: the columnar tables' compressed chunks, ~3 k rows, and the "
             "ordinary tables); "
             "RSS = peak resident set from /usr/bin/time.\n")
    L.append("## Targets\n")
    L.append("Time targets judged on %s (--judge).\n" % ("CPU seconds, user+sys" if JUDGE == "cpu" else "wall-clock medians"))
    L.append("| recording | format | reps | load avg (1 min) | target | value | result |")
    L.append("|---|---|---|---|---|---|---|")
    for r in results:
        la = r.get("load_before")
        for name, val, res in targets(r):
            L.append("| %s | %s | %s | %s | %s | %s | **%s** |" % (
                r["variant"], r["format"], r.get("reps", args.reps),
                "%.1f" % la[0] if la else "-", name, val, res))
    L.append("")
    L.append("## Rows stored (from the import's database)\n")
    for r in results:
        if r.get("rows"):
            L.append("- %s %s: %s" % (r["variant"], r["format"], ", ".join(
                "%s %d" % kv for kv in sorted(r["rows"].items()) if kv[1])))
    L.append("")
    L.append("## Notes\n")
    L.append("- perf's own `export-to-sqlite.py` is not a peer: it stores no tracepoint samples at all, "
             "only hardware samples and `--switch-events` context switches, without wakers or futexes.")
    L.append("- Peers print to /dev/null: `perf script -i F`, `perf sched timehist -i F`, `trace-cmd report -i F`.")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("WC_BIN", "/tmp/build-bench/waitchain"))
    ap.add_argument("--floor", default=os.environ.get("WC_FLOOR", "/tmp/build-bench/wc-floor"))
    ap.add_argument("--module", default=None,
                    help="the columnar SQLite module for the row floor (default: "
                         "waitchain_sqlite.so beside --bin)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--formats", default="perf.data,trace.dat")
    ap.add_argument("--work", default=os.path.join(CACHE, "work"))
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--json", default=None, help="also write raw results as JSON")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--judge", choices=("cpu", "wall"), default="cpu",
                    help="judge time targets on CPU seconds (default: robust on a shared, "
                         "loaded machine) or on wall-clock medians")
    ap.add_argument("--quick", action="store_true", help="WC_THREADS=1 import once only")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--render-only", action="store_true",
                    help="only rewrite the results from --json (no runs)")
    ap.add_argument("--redo-analysis", action="store_true",
                    help="load --json, rerun analyze/report where they failed (DBs kept in --work), "
                         "rewrite the results")
    ap.add_argument("--file", action="append", default=[],
                    help="benchmark this file instead of cached variants (repeatable)")
    args = ap.parse_args()
    global JUDGE
    JUDGE = args.judge
    os.makedirs(args.work, exist_ok=True)
    args.bin = os.path.abspath(args.bin)
    if args.module is None:
        args.module = os.path.join(os.path.dirname(args.bin), "waitchain_sqlite.so")
    results = []
    fmts = args.formats.split(",")
    jobs = []
    if args.file:
        for p in args.file:
            fmt = "perf.data" if open(p, "rb").read(8) in (b"PERFILE2", b"PERFFILE") else "trace.dat"
            jobs.append((os.path.basename(os.path.dirname(os.path.abspath(p))) or p, fmt, p))
    else:
        for v in args.variants.split(","):
            for fmt, name in FORMATS:
                p = os.path.join(CACHE, v, name)
                if fmt in fmts and os.path.exists(p) and os.path.exists(os.path.join(CACHE, v, "events.txt")):
                    jobs.append((v, fmt, p))
                elif fmt in fmts:
                    log("skip %s %s: not recorded (bench/record.sh %s)" % (v, fmt, v))
    if args.render_only:
        jobs = []
        results = json.load(open(args.json))
    elif args.redo_analysis:
        jobs = []
        results = json.load(open(args.json))
        for r in results:
            db = os.path.join(args.work, "%s.%s.db" % (r["variant"], r["format"]))
            if not (r.get("analyze") or {}).get("ok") and os.path.exists(db):
                log("== %s %s: analyze/report" % (r["variant"], r["format"]))
                analysis_part(args, r, db, args.work)
                json.dump(results, open(args.json, "w"), indent=1, default=str)
    for v, fmt, p in jobs:
        results.append(bench_file(args, v, fmt, p, args.work))
        if args.json:
            json.dump(results, open(args.json, "w"), indent=1, default=str)
    mach = machine(args.bin)
    text = render(results, mach, args)
    if args.results and args.results != "-":
        with open(args.results, "w") as fh:
            fh.write(text)
    print(text)
    fail = any(res == "FAIL" for r in results for _, _, res in targets(r))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
