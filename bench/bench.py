"""Benchmark: single-note latency, batch throughput, import + load time, preprocessing
share. Prints numbers; asserts nothing. Run: python bench/bench.py [--repeat 20]

Notes are the two hand-written gold sets repeated (so the numbers reflect real note lengths).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20, help="times the gold set is repeated for throughput")
    ap.add_argument("--single", type=int, default=3000, help="single-note calls to time")
    ap.add_argument("--freeze-gc", action="store_true", help="gc.freeze() after loading, as the service does")
    ap.add_argument("--model", default=None, help="model spec (default: the registry's default), e.g. default@2.6.0")
    args = ap.parse_args()

    code = ("import time; t=time.perf_counter(); import crisis_nlp; t1=time.perf_counter(); "
            f"m=crisis_nlp.load_model({args.model!r}); m.classify('warm up'); t2=time.perf_counter(); "
            "print(t1-t, t2-t1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"import crisis_nlp: {float(out[0]) * 1000:.0f} ms; load_model() + first note: {float(out[1]) * 1000:.0f} ms")

    from crisis_nlp import load_model
    from crisis_nlp.preprocess import note_features

    model = load_model(args.model)
    gold = [json.loads(x)["text"] for name in ("gold.jsonl", "gold_cad.jsonl")
            for x in (ROOT / "tests/data" / name).read_text().splitlines() if x.strip()]
    words = [len(t.split()) for t in gold]
    print(f"model {model.version}; notes: {len(gold)} gold notes, median {statistics.median(words):.0f} words, "
          f"max {max(words)}; cpus: {os.cpu_count()}")

    for note in gold:
        model.classify(note)  # warm caches (tokenizer, char n-grams), as a running service has them
    if args.freeze_gc:
        import gc

        gc.collect()
        gc.freeze()  # what `crisis-nlp serve` does after loading: the model leaves the GC's scans
    short = [g for g in gold if len(g.split()) <= 100]
    for label, pool in (("notes <= 100 words (the target)", short), ("all gold notes", gold)):
        lat = []
        for i in range(args.single):
            note = pool[i % len(pool)]
            t = time.perf_counter()
            model.classify(note)
            lat.append(time.perf_counter() - t)
        lat.sort()
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
        print(f"single note classify(), {label}: p50 {q(0.5):.3f} ms, p90 {q(0.9):.3f} ms, "
              f"p99 {q(0.99):.3f} ms over {len(lat)} calls ({len(pool)} distinct notes)")

    notes = gold * args.repeat
    t = time.perf_counter()
    model.classify_batch(notes)
    dt = time.perf_counter() - t
    print(f"classify_batch(): {len(notes) / dt:,.0f} notes/s ({len(notes)} notes, 1 process)")
    t = time.perf_counter()
    model.classify_batch(notes, explain=False)
    dtb = time.perf_counter() - t
    print(f"classify_batch(explain=False), the bulk path: {len(notes) / dtb:,.0f} notes/s")

    t = time.perf_counter()
    note_features(notes)
    dp = time.perf_counter() - t
    print(f"preprocessing alone: {len(notes) / dp:,.0f} notes/s ({dp / dt:.0%} of batch time)")

    import spacy

    tok = spacy.blank("en").tokenizer
    t = time.perf_counter()
    for _ in tok.pipe(notes):
        pass
    dtk = time.perf_counter() - t
    print(f"bare spaCy tokenizer: {len(notes) / dtk:,.0f} notes/s")
    size = sum(p.stat().st_size for p in model.path.rglob("*") if p.is_file())
    print(f"model folder size: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
