"""The response policy: predicted labels + situational cues -> one response mode.

Kept outside the classifier as a small pure function over a data table (TOML), so an
agency can change who responds without retraining, and so the rule that fired can be
shown to the dispatcher.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import PolicyError
from ..labels import CATEGORIES, CUES, FLAGS, RESPONSE_MODES
from ..resources import read_text

_KINDS = {"category": CATEGORIES, "flag": FLAGS, "cue": CUES}


@dataclass(frozen=True)
class PolicyRule:
    id: str
    mode: str
    when: tuple[tuple[tuple[bool, str, str], ...], ...]  # alternatives of (negated, kind, id)
    description: str = ""


@dataclass(frozen=True)
class PolicyDecision:
    mode: str
    rule: PolicyRule
    rule_number: int
    matched: tuple[str, ...]  # the atoms of the alternative that held


def _parse_atom(text: str, where: str) -> tuple[bool, str, str]:
    neg = text.startswith("!")
    body = text[1:] if neg else text
    if body in ("always", "no_category", "any_category"):
        return neg, body, ""
    kind, sep, ident = body.partition(":")
    if not sep or kind not in _KINDS or ident not in _KINDS[kind]:
        raise PolicyError(
            f"{where}: unknown condition {text!r}; use always, no_category, any_category, "
            "category:<id>, flag:<id> or cue:<id> with ids from shared/taxonomy.md."
        )
    return neg, kind, ident


def split_outputs(on: Sequence[bool], outputs: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The (categories, flags, cues) that are on, each in taxonomy order: the one place
    where a row of thresholded outputs becomes what the policy decides on."""
    got = {o for o, v in zip(outputs, on) if v}
    return (tuple(c for c in CATEGORIES if c in got), tuple(f for f in FLAGS if f in got),
            tuple(c for c in CUES if c in got))


class ResponsePolicy:
    """An ordered list of rules; the first whose condition holds decides the mode."""

    def __init__(self, rules: list[PolicyRule], *, name: str = "custom", version: str = "0") -> None:
        if not rules:
            raise PolicyError("a policy needs at least one rule.")
        self.rules = rules
        self.name = name
        self.version = version

    @classmethod
    def from_dict(cls, table: Mapping[str, Any]) -> "ResponsePolicy":
        unknown = set(table) - {"name", "version", "rules"}
        if unknown:
            raise PolicyError(f"policy has unknown keys {sorted(unknown)}; allowed: name, version, rules.")
        rules = []
        for i, raw in enumerate(table.get("rules", []), 1):
            where = f"policy rule {i}"
            extra = set(raw) - {"id", "mode", "when", "description"}
            if extra:
                raise PolicyError(f"{where}: unknown keys {sorted(extra)}.")
            try:
                rid, mode, when = raw["id"], raw["mode"], raw["when"]
            except KeyError as exc:
                raise PolicyError(f"{where}: missing key {exc.args[0]!r} (need id, mode, when).") from None
            if mode not in RESPONSE_MODES:
                raise PolicyError(f"{where} ({rid}): unknown mode {mode!r}; allowed: {', '.join(RESPONSE_MODES)}.")
            if isinstance(when, str) or not when:
                raise PolicyError(f"{where} ({rid}): 'when' must be a non-empty list of conditions.")
            alts = tuple(
                tuple(_parse_atom(a.strip(), f"{where} ({rid})") for a in alt.split("+")) for alt in when
            )
            rules.append(PolicyRule(rid, mode, alts, raw.get("description", "")))
        return cls(rules, name=str(table.get("name", "custom")), version=str(table.get("version", "0")))

    @classmethod
    def from_toml(cls, text: str) -> "ResponsePolicy":
        try:
            return cls.from_dict(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"policy file is not valid TOML: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> "ResponsePolicy":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
        return cls.from_toml(text)

    @classmethod
    def default(cls) -> "ResponsePolicy":
        return cls.from_toml(read_text("policy_default.toml"))

    def decide(
        self, categories: Collection[str], flags: Collection[str], cues: Collection[str]
    ) -> PolicyDecision:
        """Apply the rules in order and return the first that holds."""
        have = {"category": set(categories), "flag": set(flags), "cue": set(cues)}
        for number, rule in enumerate(self.rules, 1):
            for alt in rule.when:
                if all(self._holds(atom, have) for atom in alt):
                    names = tuple(("!" if n else "") + (f"{k}:{i}" if i else k) for n, k, i in alt)
                    return PolicyDecision(rule.mode, rule, number, names)
        raise PolicyError(
            f"policy {self.name!r} has no rule for this note; end it with a rule whose when is ['always']."
        )

    @staticmethod
    def _holds(atom: tuple[bool, str, str], have: dict[str, set[str]]) -> bool:
        neg, kind, ident = atom
        if kind == "always":
            value = True
        elif kind == "no_category":
            value = not have["category"]
        elif kind == "any_category":
            value = bool(have["category"])
        else:
            value = ident in have[kind]
        return value != neg
