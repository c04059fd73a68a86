"""Benchmark: time per note on hostile input (issue 13, item 1). Prints numbers; asserts
nothing. Run: python bench/bench_pathological.py [--repeat 3] [--only NAME]

Each case is one note of at most 20,000 characters (the API limit): long runs of
punctuation, the regexes that used to be quadratic, long tokens, combining marks, emoji,
many newlines or digits, URLs, names. Every case is timed through
``crisis_nlp.load_model().classify`` and ``classify_batch([note], explain=False)``; the
first call on a note is cold (spaCy's tokenizer caches each chunk it has seen), so both
the first call and the later ones are reported. CPU time (``time.process_time``) is
printed beside wall time, since this machine is shared and wall time swings with load;
CPU time swings too (other processes slow the shared cores), so a speed reference is
printed first: the gold single-note p50 of bench/bench.py, 0.36 ms when the machine is
quiet.
After loading, the model is frozen out of the garbage collector's scans (``gc.freeze``),
as ``crisis-nlp serve`` does; without it a full collection over the model's objects
(about 0.1 s) lands in whichever note happens to trigger it (``--no-freeze``).

``--with-vocab`` adds notes of thousands of never-seen random words: not pathological in
the quadratic sense, but each new word type costs spaCy a lexeme and the scorer a row
(paid once per type); printed apart.

``--http`` then starts ``crisis-nlp serve`` (see bench/bench_http.py) and prints the
latency of ``GET /healthz``, polled every 10 ms from one client, while another client
posts the whole corpus (each random case a fresh variant per round) to
``/v1/classify/batch`` in requests just under the 2 MB body limit (``--http-only``: that
part alone). Needs the [serve] extra and httpx.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 20_000


def _fit(s: str) -> str:
    return s[:LIMIT]


def _random(alphabet: str, seed: int, n: int = LIMIT) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def _words(alphabet: str, seed: int, lo: int = 3, hi: int = 9) -> str:
    rng = random.Random(seed)
    out, n = [], 0
    while n < LIMIT:
        w = "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))
        out.append(w)
        n += len(w) + 1
    return _fit(" ".join(out))


def _gold() -> list[str]:
    return [json.loads(x)["text"] for x in (ROOT / "tests/data/gold.jsonl").read_text().splitlines() if x.strip()]


def corpus() -> dict[str, Callable[[int], str]]:
    """Case name -> a function of a seed giving the note (the seed only matters where
    the case is random)."""
    c: dict[str, Callable[[int], str]] = {}
    # spaCy's tokenizer on long runs without spaces (64-150 s each before)
    for name, ch in (("apostrophes", "'"), ("double quotes", '"'), ("hashes", "#"), ("open parens", "("),
                     ("exclamations", "!"), ("dots", "."), ("dashes", "-"), ("slashes", "/")):
        c[f"{name} x20000"] = lambda s, ch=ch: ch * LIMIT
    c["'!?.,;:' x3333"] = lambda s: _fit("!?.,;:" * 3334)
    c["random punctuation"] = lambda s: _random(string.punctuation, s)
    c["random punctuation, spaced every 8"] = lambda s: _fit(" ".join(_random(string.punctuation, s, 8) for _ in range(2300)))
    # regexes that were quadratic (normalisation and masking)
    c["'a\\nb' + 19990 spaces + 'c'"] = lambda s: "a\nb" + " " * 19990 + "c"
    c["'no' x9990 + ' 1'"] = lambda s: "no" * 9990 + " 1"
    c["'rm' x9990 + ' 1'"] = lambda s: "rm" * 9990 + " 1"
    c["'unit' x4990 + ' 1'"] = lambda s: "unit" * 4990 + " 1"
    c["'tag-' x4990 + '1'"] = lambda s: "tag-" * 4990 + "1"
    c["'case no' x + digits"] = lambda s: _fit("casenoa-" * 2499 + "1")
    c["e-mail: 'a' x19990 + '@b'"] = lambda s: "a" * 19990 + "@b"
    c["e-mail: 'a@' x9999"] = lambda s: "a@" * 9999
    c["e-mail: 'a.' x9990 + '@b'"] = lambda s: "a." * 9990 + "@b"
    c["e-mail: 'x@y.' x"] = lambda s: _fit("x@y." * 5000)
    c["dob + spaces + date"] = lambda s: "dob" + " " * 19980 + "1/2/80"
    c["address: '12 ' + long word"] = lambda s: _fit("12 " + "a" * 19990 + " st")
    c["ipv6-ish ':1' x"] = lambda s: _fit(":1" * 10000)
    c["ip-ish '1.' x"] = lambda s: _fit("1." * 10000)
    c["card-ish '1 ' x"] = lambda s: _fit("1 " * 10000)
    c["card groups '4111 ' x"] = lambda s: _fit("4111 " * 4000)
    c["'+1 ' x"] = lambda s: _fit("+1 " * 6666)
    # long tokens and many tokens
    c["'a' x20000"] = lambda s: "a" * LIMIT
    c["random alphanumerics, no spaces"] = lambda s: _random(string.ascii_letters + string.digits, s)
    c["random printable, no spaces"] = lambda s: _random(string.ascii_letters + string.digits + string.punctuation, s)
    c["'a.' x10000"] = lambda s: "a." * 10000
    c["'a,' x10000"] = lambda s: "a," * 10000
    c["'a ' x10000"] = lambda s: "a " * 10000
    c["'. ' x10000"] = lambda s: ". " * 10000
    # Unicode
    c["combining acute after 'a' x10000"] = lambda s: "a\u0301" * 10000
    c["combining marks alone x20000"] = lambda s: "\u0301" * LIMIT
    c["mixed combining marks"] = lambda s: _random("".join(map(chr, range(0x300, 0x36F))), s)
    c["emoji x20000"] = lambda s: "\U0001F600" * LIMIT
    c["random emoji"] = lambda s: _random("".join(map(chr, range(0x1F600, 0x1F650))), s)
    c["emoji ZWJ family x"] = lambda s: _fit("\U0001F468\u200d\U0001F469\u200d\U0001F467" * 4000)
    c["NFKC expanding U+FDFA x20000"] = lambda s: "\ufdfa" * LIMIT
    c["fullwidth letters"] = lambda s: _random("".join(map(chr, range(0xFF21, 0xFF3B))) + " ", s)
    c["CJK, no spaces"] = lambda s: _random("".join(map(chr, range(0x4E00, 0x4F00))), s)
    # whitespace
    c["newlines x20000"] = lambda s: "\n" * LIMIT
    c["'a\\n' x10000"] = lambda s: "a\n" * 10000
    c["'\\r\\n \\t' x5000"] = lambda s: "\r\n \t" * 5000
    c["spaces x20000"] = lambda s: " " * LIMIT
    c["U+2028 x20000"] = lambda s: "\u2028" * LIMIT
    c["control 0x1c x20000"] = lambda s: "\x1c" * LIMIT
    # digits and numbers
    c["digits x20000"] = lambda s: "1" * LIMIT
    c["'555-' x5000"] = lambda s: "555-" * 5000
    c["random digits and separators"] = lambda s: _random("0123456789 -./()+", s)
    # URLs
    c["'http://' + 'a' x"] = lambda s: _fit("http://" + "a" * LIMIT)
    c["'http://x.com/' x"] = lambda s: _fit("http://x.com/" * 1600)
    c["'www.' x5000"] = lambda s: "www." * 5000
    c["'a.com ' x"] = lambda s: _fit("a.com " * 3400)
    # names
    c["'John Smith ' x"] = lambda s: _fit("John Smith " * 1900)
    c["'RP name is ' x"] = lambda s: _fit("RP name is " * 1900)
    c["'Smith, John, ' x"] = lambda s: _fit("Smith, John, " * 1600)
    c["'Mr ' x"] = lambda s: _fit("Mr " * 6700)
    c["'son Will ' x"] = lambda s: _fit("son Will " * 2300)
    # realistic long notes
    gold = _gold()
    c["gold notes joined, 20,000 chars"] = lambda s: _fit(" ".join(random.Random(s).sample(gold, len(gold))))
    c["personal-data corpus joined, 20,000 chars"] = lambda s: _fit(" ".join(_masking_notes(s)))
    return c


def vocab_corpus() -> dict[str, Callable[[int], str]]:
    return {"random lower-case words (new types)": lambda s: _words(string.ascii_lowercase, 1000 + s),
            "random capitalised words (new types)": lambda s: _words(string.ascii_uppercase, 2000 + s, 2, 8)}


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _masking_notes(seed: int) -> list[str]:
    notes = [n for cases in _bench_module("bench_masking").format_corpus().values() for n, _secret in cases]
    random.Random(seed).shuffle(notes)
    return notes


def _time(f: Callable[[], object]) -> tuple[float, float]:
    from crisis_nlp.errors import CrisisNLPError

    w, c = time.perf_counter(), time.process_time()
    try:
        f()
    except CrisisNLPError:  # an empty note (only newlines or spaces) is refused: timed all the same
        pass
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def run(cases: dict[str, Callable[[int], str]], model, repeat: int) -> list[tuple[str, list, list]]:
    rows = []
    for name, make in cases.items():
        single, batch = [], []
        for k in range(repeat + 1):
            note = make(k)
            assert len(note) <= LIMIT, name
            single.append(_time(lambda: model.classify(note)))
            batch.append(_time(lambda: model.classify_batch([note], explain=False)))
        rows.append((name, single, batch))
        print(f"  {name:48s} classify first {single[0][0]:7.1f} ms (cpu {single[0][1]:6.1f}), "
              f"max {max(x[0] for x in single):7.1f} (cpu {max(x[1] for x in single):6.1f}); "
              f"batch max {max(x[0] for x in batch):7.1f} ms (cpu {max(x[1] for x in batch):6.1f})", flush=True)
    return rows


def summary(label: str, rows) -> None:
    for which, idx in (("classify", 1), ("classify_batch(explain=False)", 2)):
        wall = sorted(x[0] for r in rows for x in r[idx])
        cpu = sorted(x[1] for r in rows for x in r[idx])
        worst = max(rows, key=lambda r: max(x[1] for x in r[idx]))
        p99 = lambda v: v[min(len(v) - 1, int(0.99 * len(v)))]
        print(f"{label}, {which}: worst {wall[-1]:.1f} ms wall / {cpu[-1]:.1f} ms cpu "
              f"(worst case by cpu: {worst[0]}); p99 {p99(wall):.1f} ms wall / {p99(cpu):.1f} ms cpu; "
              f"over {len(wall)} calls on {len(rows)} cases")


def speed_reference(model) -> str:
    """How fast the machine is right now: bench/bench.py's single-note p50 on the gold notes
    (0.36 ms on this machine when quiet, README). Every number below scales with it."""
    gold = _gold()
    lat = []
    for i in range(2000):
        t = time.perf_counter()
        model.classify(gold[i % len(gold)])
        lat.append(time.perf_counter() - t)
    lat.sort()
    return (f"speed reference: gold single-note classify() p50 {lat[len(lat) // 2] * 1000:.2f} ms "
            f"(0.36 ms on this machine when quiet)")


def _requests(notes: list[str], max_bytes: int) -> list[list[dict]]:
    """The notes as batch request bodies, each under ``max_bytes`` of JSON (as httpx sends it)."""
    out: list[list[dict]] = [[]]
    size = 0
    for note in notes:
        n = len(json.dumps({"text": note})) + 2
        if out[-1] and size + n > max_bytes:
            out.append([])
            size = 0
        out[-1].append({"text": note})
        size += n
    return out


def http_run(cases: dict[str, Callable[[int], str]], rounds: int) -> None:
    """/healthz latency while batches of the corpus run on the HTTP server."""
    import httpx

    from crisis_nlp.serve.http import MAX_BATCH, MAX_BODY_BYTES

    lat: list[float] = []
    batch: list[tuple[int, float]] = []
    stop = threading.Event()
    with _bench_module("bench_http").server() as base:

        def poll() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    c.get("/healthz").raise_for_status()
                    lat.append(time.perf_counter() - t)
                    time.sleep(0.01)

        with httpx.Client(base_url=base, timeout=600) as c:
            for note in _gold():  # warm, as in the in-process runs
                c.post("/v1/classify", json={"text": note}).raise_for_status()
            poller = threading.Thread(target=poll)
            poller.start()
            try:
                for k in range(rounds):
                    notes = [n for make in cases.values() if (n := make(k)).strip()]  # blank notes get 400
                    for body in _requests(notes, MAX_BODY_BYTES - 4096):
                        for i in range(0, len(body), MAX_BATCH):
                            t = time.perf_counter()
                            c.post("/v1/classify/batch", json={"notes": body[i:i + MAX_BATCH]}).raise_for_status()
                            batch.append((len(body[i:i + MAX_BATCH]), time.perf_counter() - t))
            finally:
                stop.set()
                poller.join()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    n_notes = sum(n for n, _t in batch)
    print(f"HTTP: {len(batch)} batch requests ({n_notes} hostile notes, {rounds} rounds) took "
          f"{sum(t for _n, t in batch):.1f} s (slowest request {max(t for _n, t in batch):.2f} s for "
          f"{max(batch, key=lambda x: x[1])[0]} notes)")
    print(f"HTTP GET /healthz while they ran: {len(lat)} polls, p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, "
          f"max {lat[-1] * 1000:.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="later calls per case (each on a fresh variant where random)")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("--with-vocab", action="store_true", help="also notes of thousands of never-seen words")
    ap.add_argument("--no-freeze", action="store_true", help="leave the loaded model in the garbage collector's scans")
    ap.add_argument("--http", action="store_true", help="also /healthz latency while the corpus runs on the server")
    ap.add_argument("--http-only", action="store_true", help="only the --http part")
    ap.add_argument("--rounds", type=int, default=3, help="--http: times the corpus is posted")
    args = ap.parse_args()
    cases = corpus()
    if args.with_vocab:
        cases.update(vocab_corpus())
    if args.only:
        cases = {k: v for k, v in cases.items() if args.only in k}
    if args.http_only:
        http_run(cases, args.rounds)
        return 0

    from crisis_nlp import load_model

    model = load_model()
    for note in _gold():  # warm, as a running service is
        model.classify(note)
    if not args.no_freeze:
        import gc

        gc.collect()
        gc.freeze()  # as `crisis-nlp serve` does: the loaded model leaves the collector's scans
    print(speed_reference(model))
    plain = {k: v for k, v in cases.items() if k not in vocab_corpus()}
    vocab = {k: v for k, v in cases.items() if k in vocab_corpus()}
    print(f"model {model.version}; {len(plain)} pathological cases of at most {LIMIT:,} characters")
    summary("pathological corpus", run(plain, model, args.repeat))
    if vocab:
        print("notes of never-seen words (a lexeme and a scorer row per new word type)")
        summary("never-seen words", run(vocab, model, args.repeat))
    if args.http:
        http_run(cases, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
