"""Benchmark of ``crisis-nlp relabel``: rows per second and peak memory (RSS of the whole
process tree) against spaCy's bare tokenizer on the same notes. Prints numbers, asserts
nothing.

    python bench/bench_relabel.py                     # 100k rows, --jobs 1 and 2
    python bench/bench_relabel.py --rows 1000000 --jobs 2

Notes: the committed synthetic set (training_data_synthetic/notes.jsonl.gz, 40k notes)
cycled to ``--rows`` rows with fresh ids and an old call type; written once as JSONL (or
CSV / Parquet with ``--format``) in ``--workdir``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "training_data_synthetic" / "notes.jsonl.gz"
CALL_TYPES = ["DISTURBANCE", "WELFARE CHECK", "MENTAL", "THEFT", "MEDICAL", "ASSAULT", "SUSPICIOUS", "TRAFFIC"]


def load_notes() -> list[str]:
    with gzip.open(NOTES, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def write_input(path: Path, notes: list[str], rows: int, fmt: str) -> None:
    recs = ({"incident_no": f"inc-{i:08d}", "call_type": CALL_TYPES[i % len(CALL_TYPES)],
             "narrative": notes[i % len(notes)]} for i in range(rows))
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    elif fmt == "csv":
        import csv

        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["incident_no", "call_type", "narrative"])
            w.writeheader()
            w.writerows(recs)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        recs = list(recs)
        pq.write_table(pa.Table.from_pylist(recs), path, row_group_size=65536)


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(parts[1]), int(parts[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run_relabel(src: Path, out: Path, jobs: int) -> tuple[float, int, float]:
    """Wall seconds, peak tree RSS and CPU seconds (user + system, whole tree) of one
    ``crisis-nlp relabel`` run. CPU seconds do not depend on other load on the machine."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "crisis_nlp.cli", "relabel", str(src), "-o", str(out), "--text-field",
           "narrative", "--jobs", str(jobs), "--quiet"]
    t = time.perf_counter()
    p = subprocess.Popen(cmd)
    peak = 0
    while p.poll() is None:
        peak = max(peak, tree_rss(p.pid))
        time.sleep(0.1)
    dt = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"relabel failed with status {p.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dt, peak, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    ap.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    ap.add_argument("--workdir", default="/tmp/crisis_nlp_bench")
    args = ap.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    notes = load_notes()
    src = work / f"calls_{args.rows}.{args.format}"
    if not src.exists():
        write_input(src, notes, args.rows, args.format)
    print(f"{args.rows:,} rows ({len(notes):,} distinct synthetic notes cycled), {args.format}, "
          f"{src.stat().st_size / 1e6:.0f} MB; cpus: {os.cpu_count()}", flush=True)

    import spacy

    tok = spacy.blank("en").tokenizer
    cycled = (notes[i % len(notes)] for i in range(args.rows))
    t, c = time.perf_counter(), time.process_time()
    for _ in tok.pipe(cycled, batch_size=1000):
        pass
    tok_rate = args.rows / (time.perf_counter() - t)
    tok_cpu = time.process_time() - c
    print(f"spaCy bare tokenizer (1 process): {tok_rate:,.0f} notes/s ({args.rows / tok_cpu:,.0f} per CPU second)",
          flush=True)

    # for context, not the yardstick: the same tokenizer with the chunk cache crisis_nlp sets
    from crisis_nlp.preprocess.pipeline import TOKENIZER_CACHE

    tok = spacy.blank("en").tokenizer
    tok.max_cache_size = TOKENIZER_CACHE
    cycled = (notes[i % len(notes)] for i in range(args.rows))
    c = time.process_time()
    for _ in tok.pipe(cycled, batch_size=1000):
        pass
    big_cache = args.rows / (time.process_time() - c)
    print(f"  (the same with crisis_nlp's tokenizer cache of {TOKENIZER_CACHE:,} chunks: {big_cache:,.0f} notes "
          "per CPU second)", flush=True)

    result = {"rows": args.rows, "format": args.format, "tokenizer_rows_per_s": round(tok_rate),
              "tokenizer_big_cache_rows_per_cpu_s": round(big_cache)}
    for jobs in [int(j) for j in args.jobs.split(",")]:
        out = work / f"out_{args.rows}_j{jobs}.{args.format}"
        # The output is the bench's own scratch: a run killed last time leaves its parts, and
        # relabel would (rightly) refuse to start over them.
        shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)
        out.unlink(missing_ok=True)
        dt, peak, cpu = run_relabel(src, out, jobs)
        rate = args.rows / dt
        print(f"relabel --jobs {jobs}: {dt:.1f} s wall, {rate:,.0f} rows/s ({rate / tok_rate:.2f} x tokenizer), "
              f"{cpu:.0f} CPU s ({args.rows / cpu:,.0f} rows per CPU second), "
              f"peak RSS {peak / 2**20:,.0f} MiB (process tree)", flush=True)
        result[f"jobs{jobs}"] = {"seconds": round(dt, 1), "rows_per_s": round(rate), "cpu_seconds": round(cpu, 1),
                                 "peak_rss_mib": round(peak / 2**20)}
        out.unlink()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
