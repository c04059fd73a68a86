"""The reading budget: how much of a long note the full pipeline reads, so that every note
up to the 20,000-character limit is labelled in bounded time (issue 13).

Why. Every step is linear, but the pipeline is not cheap per character: normalising,
masking, spaCy, our components and the scores cost about 2 units a character and 5 a
token of real notes, and spaCy pays again the first time it meets a whitespace chunk
(its prefix, suffix and infix rules: about 14 units) or a word (a lexeme with two dozen
attributes, then a typo check and feature words: 30 units and 2 a character). (A unit
is a µs of CPU as measured while this 2-core machine was shared: bench/bench.py's
single-note p50 was 0.9-1.0 ms then, 0.36 ms when quiet.) So 20,000 characters of gold
notes took 45 ms of CPU, and 20,000 characters of never-seen words 75 ms in the
tokenizer alone (README, "Hostile input"). Real dispatch notes are shorter than 4,000
characters; the 40,620 committed ones have at most 1,300.

The estimate. ``COST_CHAR`` a character, ``COST_TOKEN`` a token (a run of word
characters or one other character: spaCy's tokens, near enough), ``COST_CHUNK`` a
distinct whitespace chunk that is not a known word form (a chunk over ``RUN_MAX``
characters counts as the slices ``limit_runs`` will cut it into), ``COST_PIECE`` plus
``COST_PIECE_CHAR`` a character for a distinct token that is not one. Known forms: the
rule tables' words and the everyday words of notes (``names_vocab.txt``) in lower,
UPPER and Title case, the placeholders, digits and ASCII punctuation; anything else is
assumed new to spaCy. The estimate reads the note's text only, not what this process
happens to have seen, so a note is always read the same way.

What is read:

- **the whole note** when its estimate is within ``WHOLE_COST``: every committed note,
  and 4,100-5,000 characters of them joined, so any real note (a note of at most
  ``SMALL_CHARS`` characters cannot exceed it and is not even counted);
- else **its head**, the note from its start while the estimate stays within
  ``HEAD_COST`` (counted a block of chunks at a time), **and crisis passages from the
  rest**: the rest is scanned for crisis keywords (the content words of the concept
  lexicons, the shorthand that expands to one, the words a token pattern starts with;
  a set intersection says whether there is any, then one pass a chunk at a time), and
  each hit is read with up to ``WINDOW`` chunks either side within its clause, the
  first occurrence of every keyword before any second one, while the estimate stays
  within ``TAIL_COST``; identical passages are read once. The passages follow the head
  in the note's order, each after ``' ; '``: a clause boundary, so a negation does not
  reach across.

So a long note is still read in full where it matters for safety: its first 3,400 or so
characters of ordinary text as they are, and every crisis word after that with its own context
(negations included), up to a budget that only a flood of distinct crisis passages
exhausts (first occurrences come first, so a flood of one word cannot hide another).
Not read: words after the head that are not near a keyword, and misspelt keywords after
the head (the typo check runs on what is read).

What that bounds: the estimated cost of what is read (``WHOLE_COST``, or ``HEAD_COST +
TAIL_COST`` and the scan of the rest, a handful of C-level string operations a chunk),
and so the characters, tokens and first-sight work behind it. Normalisation before it is
linear and its NFKC bounded (:func:`crisis_nlp.preprocess.text.normalize_characters`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from .text import RUN_MAX, name_vocab, pii_placeholders

# the estimate, in units (see above), from timings of the pipeline's steps on gold notes
# and on never-seen words of 4 to 40 characters (README, "Hostile input")
COST_CHAR = 2
COST_TOKEN = 5
COST_CHUNK = 14
COST_PIECE = 30
COST_PIECE_CHAR = 2  # a new token costs more the longer it is (lexeme attributes, typo check)
# a note estimated within this is read whole (4,000 characters of committed notes, joined:
# up to 22,100; the longest training note, 4,950 characters: 23,561); a longer one as its head and its crisis passages, and the rest of
# WHOLE_COST pays for normalising and scanning the other characters
WHOLE_COST = 24_000
HEAD_COST = 17_000
TAIL_COST = 3_000
HEAD_BLOCK = 64  # chunks estimated at once
# the most a character can add to the estimate: a run of distinct symbols, each a new
# token, so a note this short is within WHOLE_COST uncounted
SMALL_CHARS = WHOLE_COST // (COST_CHAR + COST_TOKEN + COST_PIECE + COST_PIECE_CHAR)
WINDOW = 8  # chunks either side of a keyword: ConText's forward window
SEPARATOR = " ; "

_SYMBOLS = "".join(c for c in map(chr, range(128)) if not c.isalnum() and not c.isspace() and c != "_")
_BLANK = str.maketrans(_SYMBOLS, " " * len(_SYMBOLS))
_DROP = str.maketrans("", "", _SYMBOLS)
# the same on UTF-8 bytes, where no byte of a non-ASCII character is ASCII: str.translate
# looks every non-ASCII character up in a dict (the keyword scan of 15,000 emoji took
# 2.2 ms), bytes.translate is a table lookup (0.3 ms)
_BLANK_BYTES = bytes.maketrans(_SYMBOLS.encode(), b" " * len(_SYMBOLS))
_PIECE = re.compile(r"\w+|[^\w\s]")
_LETTERS = re.compile(r"[^\W\d_]+")
_CLAUSE_END = (";", ".", "!", "?")  # a chunk ending in one of these ends a clause


def _tokens(text: str) -> tuple[list[str], int]:
    """(the tokens of ``text`` that can be new: its runs of word characters, and on
    non-ASCII text its other characters; how many tokens in all). A token is a run of word
    characters or one other character: spaCy's tokens, near enough. On ASCII text the
    runs come from ``str.translate`` and ``split``, five times faster than the regex."""
    if text.isascii():
        words = text.translate(_BLANK).split()
        return words, len(words) + len(text) - len(text.translate(_DROP))  # + its ASCII symbols
    pieces = _PIECE.findall(text)
    return pieces, len(pieces)


class _Estimate:
    """The estimated cost of reading chunks (see the module docstring), given what has
    been read of this note so far."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known
        self.chunks: set[str] = set()  # chunks read, not known
        self.pieces: set[str] = set()  # tokens read, not known

    def cost(self, chunks: list[str]) -> tuple[int, tuple[set[str], set[str]]]:
        """(the cost of reading ``chunks`` next, what they add to what was read)."""
        chars = sum(map(len, chunks)) + len(chunks)
        if max(map(len, chunks), default=0) > RUN_MAX:
            chunks = _slices(chunks)[0]  # what the tokenizer will see
        other = [c for c in chunks if c not in self.known]
        pieces, n_tokens = _tokens(" ".join(other))
        new = set(other).difference(self.chunks)  # (one argument each: linear in the left set)
        new_pieces = set(pieces).difference(self.known).difference(self.pieces)
        cost = (COST_CHAR * chars + COST_TOKEN * (len(chunks) - len(other) + n_tokens) + COST_CHUNK * len(new)
                + COST_PIECE * len(new_pieces) + COST_PIECE_CHAR * sum(map(len, new_pieces)))
        return cost, (new, new_pieces)

    def take(self, added: tuple[set[str], set[str]]) -> None:
        self.chunks |= added[0]
        self.pieces |= added[1]


@dataclass(frozen=True)
class ReadingBudget:
    """Which part of a normalised note the pipeline reads (see the module docstring)."""

    known: frozenset[str]  # word forms assumed cheap for spaCy
    keywords: frozenset[str]  # one-word keywords, lower case
    phrases: dict[str, tuple[str, ...]]  # keywords with punctuation by first word: ' 10 96 ' (punctuation blanked)

    @classmethod
    def from_pipeline(cls, nlp: Language, rules_dir: str | None = None) -> "ReadingBudget":
        """The budget for a pipeline made by :func:`crisis_nlp.preprocess.build_nlp` from
        the tables in ``rules_dir``: they give the known words and the keywords."""
        concepts = nlp.get_pipe("crisis_nlp_concepts")
        shorthand = nlp.get_pipe("crisis_nlp_shorthand")
        words = set(concepts.known_words) | name_vocab(rules_dir) | set(STOP_WORDS)
        known = {f for w in words for f in (w, w.upper(), w.capitalize())}
        known |= set(_SYMBOLS) | set(string.digits) | pii_placeholders(rules_dir)
        content: set[str] = set()
        for items in concepts.phrases.values():
            for phrase in items:
                for variant in concepts.forms.phrase(phrase.lower()):
                    content.update(_LETTERS.findall(variant))
        content |= set(concepts.anchor_words)
        content = {w for w in content if len(w) > 1 and w not in STOP_WORDS}
        keywords = content | {k for k, v in shorthand.table.items() if not content.isdisjoint(_LETTERS.findall(v))}
        single, phrases = set(), {}
        for k in sorted(keywords):
            parts = k.translate(_BLANK).split()
            if len(parts) == 1:
                single.add(parts[0])
            elif parts:
                phrases.setdefault(parts[0], []).append(f" {' '.join(parts)} ")
        return cls(frozenset(known), frozenset(single), {w: tuple(f) for w, f in phrases.items()})

    def select(self, text: str) -> str:
        """The part of ``text`` (after :func:`normalize_characters`) that the pipeline
        reads: the whole note when it fits, else its head and its crisis passages, with
        one space between chunks."""
        if len(text) <= SMALL_CHARS:
            return text
        chunks = text.split()
        estimate = _Estimate(self.known)
        if COST_CHAR * len(text) <= WHOLE_COST and estimate.cost(chunks)[0] <= WHOLE_COST:
            return text  # every committed note, and any real one
        head, rest = self._head(chunks, estimate)  # (the check above took nothing)
        passages = self._passages(rest, estimate)
        return SEPARATOR.join(([head] if head else []) + passages)

    @staticmethod
    def _head(chunks: list[str], estimate: _Estimate) -> tuple[str, list[str]]:
        """(the head's text, the chunks after it). Estimated a block of chunks at a time,
        and the block that crosses the budget chunk by chunk; a chunk longer than
        ``RUN_MAX`` counts as the slices ``limit_runs`` will cut it into, so that even a
        note without spaces has a head. (Blocks: chunk by chunk, the head of 20,000
        characters of gold notes took 2.8 ms, by blocks 0.5 ms.)"""
        items, origin = _slices(chunks) if max(map(len, chunks), default=0) > RUN_MAX else (chunks, None)
        cost = 0
        for start in range(0, len(items), HEAD_BLOCK):
            block = items[start:start + HEAD_BLOCK]
            if COST_CHAR * (sum(map(len, block)) + len(block)) <= HEAD_COST - cost:  # else it cannot fit
                c, added = estimate.cost(block)
                if cost + c <= HEAD_COST:
                    cost += c
                    estimate.take(added)
                    continue
            for x in range(start, start + len(block)):
                c, added = estimate.cost(items[x:x + 1])
                cost += c
                if cost > HEAD_COST:
                    k, j = origin[x] if origin else (x, 0)
                    return " ".join(chunks[:k] + ([chunks[k][:j]] if j else [])), [chunks[k][j:]] + chunks[k + 1:]
                estimate.take(added)
        return " ".join(chunks), []

    def _passages(self, chunks: list[str], estimate: _Estimate) -> list[str]:
        """The crisis passages of ``chunks``, in the note's order (see the module docstring)."""
        # each chunk's words, lower case, punctuation blanked (a line break keeps chunks apart)
        words = "\n".join(chunks).lower().encode("utf-8", "surrogatepass").translate(_BLANK_BYTES).decode(
            "utf-8", "surrogatepass")
        present = set(words.split())
        firsts = self.keywords & present
        if not self.phrases.keys().isdisjoint(present):
            padded = f" {words.replace(chr(10), ' ')} "
            firsts |= {w for w in self.phrases.keys() & present if any(p in padded for p in self.phrases[w])}
        if not firsts:
            return []  # no keyword at all: the common case for junk
        taken = [False] * len(chunks)
        spans: list[tuple[int, int]] = []
        texts: set[str] = set()
        cost = 0
        for i in self._hits(words.split("\n"), firsts):
            if taken[i]:
                continue
            a, b = _window(chunks, i)
            text = " ".join(chunks[a:b])
            if text not in texts:  # the same passage again is read once
                if COST_CHAR * (len(text) + len(SEPARATOR)) > TAIL_COST - cost:
                    break
                c, added = estimate.cost(chunks[a:b])
                c += COST_CHAR * len(SEPARATOR)
                if cost + c > TAIL_COST:
                    break
                estimate.take(added)
                cost += c
                texts.add(text)
                spans.append((a, b))
            taken[a:b] = [True] * (b - a)
        return [" ".join(chunks[a:b]) for a, b in _merged(spans)]

    def _hits(self, per_chunk: list[str], firsts: set[str]) -> Iterator[int]:
        """The chunks holding a keyword: the first occurrence of every keyword, then the
        others, each in the note's order (lazily: reading stops when the budget is spent)."""
        key_of: dict[str, str | None] = {}
        seen: set[str] = set()
        later: list[int] = []
        for i, w in enumerate(per_chunk):
            if " " not in w and w not in firsts:  # (most chunks: no call)
                continue
            key = key_of[w] if w in key_of else key_of.setdefault(w, self._keyword(w))
            if key is None:
                continue
            if key in seen:
                later.append(i)
            else:
                seen.add(key)
                yield i
        yield from later

    def _keyword(self, words: str) -> str | None:
        """A keyword in a chunk's words (lower case, punctuation blanked), if any."""
        distinct = dict.fromkeys(words.split())
        hit = next((w for w in distinct if w in self.keywords), None)
        if hit is None and not self.phrases.keys().isdisjoint(distinct):
            padded = f" {words} "
            hit = next((p for w in distinct for p in self.phrases.get(w, ()) if p in padded), None)
        return hit


def _slices(chunks: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """The chunks as ``limit_runs`` will leave them, a chunk longer than ``RUN_MAX`` cut
    every ``RUN_MAX`` characters, and where each slice starts: (chunk, offset)."""
    origin = [(k, j) for k, c in enumerate(chunks) for j in range(0, len(c), RUN_MAX)]
    return [chunks[k][j:j + RUN_MAX] for k, j in origin], origin


def _window(chunks: list[str], i: int) -> tuple[int, int]:
    """Chunks ``[a, b)`` around chunk ``i``: up to ``WINDOW`` each side, within its clause."""
    a = i
    while a > 0 and i - a < WINDOW and not chunks[a - 1].endswith(_CLAUSE_END):
        a -= 1
    b = i + 1
    while b < len(chunks) and b - i <= WINDOW and not chunks[b - 1].endswith(_CLAUSE_END):
        b += 1
    return a, b


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one, in order."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
