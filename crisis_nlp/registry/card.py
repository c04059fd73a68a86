"""A model card (Markdown) for a registered version, from its manifest.

Sections follow Mitchell et al., "Model Cards for Model Reporting" (FAT* 2019): model
details, intended use, factors, metrics, evaluation data, training data, quantitative
analyses, ethical considerations, caveats and recommendations. Numbers are the measured
ones of the manifest; where the manifest lacks something the card says so rather than
guessing.
"""

from __future__ import annotations

from typing import Any

from ..labels import HIGH_RISK, LABELS


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _metrics_table(m: dict[str, Any], base: dict[str, Any] | None, base_name: str) -> list[str]:
    head = "| label | precision | recall | F1 | support |"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    if base:
        head += f" F1 of {base_name} | difference |"
        rule += " ---: | ---: |"
    lines = [head, rule]
    for x in LABELS:
        v = m["per_label"][x]
        row = f"| `{x}`{' *' if x in HIGH_RISK else ''} | {_f(v['precision'])} | {_f(v['recall'])} | {_f(v['f1'])} | {v['support']} |"
        if base:
            b = base["per_label"][x]["f1"]
            row += f" {_f(b)} | {v['f1'] - b:+.4f} |"
        lines.append(row)
    c = m["category_micro"]
    lines.append(f"| categories (micro) | {_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])} | {c['support']} |"
                 + (f" {_f(base['category_micro']['f1'])} | {c['f1'] - base['category_micro']['f1']:+.4f} |" if base else ""))
    return lines


def _fairness_section(fair: dict[str, Any] | None, spec: str) -> list[str]:
    """Counterfactual figures (issue 14; ``crisis_nlp.training.fairness``), beside the baseline's."""
    out = ["## Counterfactual fairness", ""]
    if not fair:
        return out + ["- Not measured for this version: compute it with `crisis_nlp.training.fairness.fairness_evaluation` "
                      "(or see `crisis-nlp compare`) before relying on it.", ""]
    rep, base = fair["report"], (fair.get("baseline") or {})
    b_rep, b_spec = base.get("report"), base.get("spec", "baseline")
    t = fair.get("targets", {})
    out += [f"Measured on {rep['notes']} notes ({fair.get('notes_source', '?')}): a sex swap, a race word inserted "
            "before the first person mentioned (5 variants), a name appended (5 names associated with different "
            "groups), and a neutral word inserted as the control. Targets (not for the control): at most "
            f"{t.get('max_changed_share', 0.01):.0%} of notes change, net moves to `law_enforcement` within "
            f"+-{t.get('max_le_net_per_300', 1.0):g} per 300 notes per group, mean violence-score change per group "
            f"within +-{t.get('max_mean_violence_change', 0.005):g}.", ""]
    head = "| test | notes | result changed | mode changed |"
    rule = "| --- | ---: | ---: | ---: |"
    if b_rep:
        head += f" changed, `{b_spec}` |"
        rule += " ---: |"
    out += [head, rule]
    for kind, k in rep["kinds"].items():
        row = (f"| {kind}{' (control)' if kind == 'neutral' else ''} | {k['n']} | {k['changed']} "
               f"({k['changed_share']:.1%}) | {k['mode_changed']} |")
        if b_rep and kind in b_rep["kinds"]:
            bk = b_rep["kinds"][kind]
            row += f" {bk['changed']} ({bk['changed_share']:.1%}) |"
        out.append(row)
    out += ["", "Per group: net moves into `law_enforcement` per 300 notes and mean signed score changes (sex swap: "
            "against the original note; the others: against the mean of the note's five variants)"
            + (f"; `{b_spec}` in brackets." if b_rep else "."), "",
            "| test | group | LE net / 300 | violence | weapon | suicidal |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for kind, k in rep["kinds"].items():
        for g, v in k["groups"].items():
            bv = ((b_rep or {}).get("kinds", {}).get(kind) or {}).get("groups", {}).get(g)
            cells = [f"{v['le_net_per_300']:+.2f}"] + [f"{v['mean_change'][s]:+.4f}" for s in ("violence", "weapon",
                                                                                            "suicidal")]
            if bv:
                bc = [f"{bv['le_net_per_300']:+.2f}"] + [f"{bv['mean_change'][s]:+.4f}"
                                                         for s in ("violence", "weapon", "suicidal")]
                cells = [f"{a} ({b})" for a, b in zip(cells, bc)]
            out.append(f"| {kind} | {g} | " + " | ".join(cells) + " |")
    fails = fair.get("target_failures") or []
    out += ["", f"- `{spec}` misses the targets: " + "; ".join(fails) + "." if fails
            else f"- `{spec}` meets the targets on these notes.", ""]
    return out


def render_model_card(manifest: dict[str, Any]) -> str:
    """Markdown model card for one version (written as ``model_card.md`` by the registry)."""
    m = manifest
    spec = f"{m['name']}@{m['version']}"
    td = m.get("training_data", {})
    ev = m.get("evaluation", {})
    agency = td.get("agency") or {}
    synth = td.get("synthetic")
    held = ev.get("heldout_agency") or ev.get("heldout_families")
    base = (ev.get("baseline") or {}).get("heldout_agency")
    base_name = (ev.get("baseline") or {}).get("spec", "baseline")
    out = [f"# Model card: {spec}", ""]
    out += ["## Model details", "",
            f"- Version `{spec}`, created {m.get('created', '?')}, label schema {m.get('label_schema_version')}; "
            f"seed {m.get('seed')}"
            + (f"; measured against `{m['base_model']}`, the default when it was trained." if m.get("base_model")
               else "."),
            "- Type: spaCy blank English preprocessing (shorthand, concepts, negation) -> TF-IDF word 1-2-grams"
            + (" and character n-grams" if (m.get("params") or {}).get("char_ngram_range") else "")
            + (" and concept features" if (m.get("params") or {}).get("concept_features") else "")
            + " -> one L2 logistic regression per label and policy cue -> thresholds "
            "-> response policy (TOML, stored with this version)."
            + (f" A note longer than {m['window_tokens']} tokens is also read in stretches of that length, and "
               "each score is the lower of the whole note's and the best stretch's (evidence must be local)."
               if m.get("window_tokens") else ""),
            f"- Parameters: {', '.join(f'{k}={v}' for k, v in sorted((m.get('params') or {}).items()))}.",
            f"- Response policy: `{(m.get('policy') or {}).get('name', '?')}` version "
            f"{(m.get('policy') or {}).get('version', '?')} from `{(m.get('policy') or {}).get('source', '?')}`.",
            f"- Libraries: {', '.join(f'{k} {v}' for k, v in (m.get('versions') or {}).items())}.",
            f"- Files: {', '.join(f'`{f}`' for f in sorted(m.get('files') or {}))}; each one's sha256 is in "
            "`manifest.json` and checked before loading. Plain data: no pickle.", ""]
    out += ["## Intended use", "",
            "- Decision support for trained call-takers, dispatchers, clinicians and analysts of the agency whose "
            "notes trained it: a suggested crisis category, risk flags and response mode with the reason.",
            "- Not for: dispatching without a person, downgrading a response a person chose, or notes of other "
            "agencies (their shorthand differs; measure first with `crisis-nlp compare`).", ""]
    out += ["## Factors", "",
            "- Writing style and shorthand vary by agency, shift and writer; the held-out set below shares the "
            "agency's style but not its exact notes. Writers, shifts and call types were not recorded, so "
            "performance per group is unknown.",
            "- Labels with few examples (see support) are measured with wide uncertainty.", ""]
    out += ["## Metrics", "",
            "- Per-label precision, recall, F1 and support; micro-F1 over categories; response-mode accuracy.",
            f"- Thresholds favour recall for the high-risk labels (* : {', '.join(HIGH_RISK)}; best F2 each); "
            "the other categories share one threshold, the best micro-F1 over them (since 2.9.0; before, best F1 "
            "each); 0.5 for policy cues.",
            f"- Protocol: {ev.get('protocol', 'not recorded')}.", ""]
    out += ["## Evaluation data", ""]
    if agency:
        out.append(f"- {agency.get('n_heldout')} held-out notes of `{agency.get('path')}` (stratified by each "
                   "note's rarest label), never used for fitting or threshold tuning.")
    elif held:
        out.append(f"- {held['n']} held-out synthetic notes (phrase banks and styles unseen by the scoring model).")
    if ev.get("gold"):
        out.append(f"- Gold set `{(ev.get('gold_set') or {}).get('path', '?')}`: {ev['gold']['n']} hand-written notes.")
    out.append("")
    out += ["## Training data", ""]
    if agency:
        counts = ", ".join(f"{k} {v}" for k, v in (agency.get("label_counts") or {}).items())
        out.append(f"- Agency notes `{agency.get('path')}` (sha256 `{agency.get('sha256', '')[:16]}...`): "
                   f"{agency.get('n_notes')} notes, {agency.get('n_train')} used for training, weight "
                   f"{agency.get('weight')}; labels from {agency.get('label_format')}"
                   + (f" (`{agency['labels_mapping']}`)" if agency.get("labels_mapping") else "") + ".")
        out.append(f"- Positive notes per label (all agency notes): {counts}.")
    if synth:
        out.append(f"- Synthetic notes `{synth.get('path')}` (sha256 `{synth.get('sha256', '')[:16]}...`): "
                   f"{synth.get('n_used')} notes.")
    elif agency:
        out.append("- No synthetic notes (agency data alone).")
    if not agency:
        out.append(f"- `{td.get('path')}`: {td.get('n_notes')} notes (sha256 `{str(td.get('sha256', ''))[:16]}...`).")
    if td.get("cues"):
        out.append(f"- Policy cues: {td['cues']}.")
    out.append("")
    out += ["## Quantitative analyses", ""]
    if held:
        out.append(f"Held-out notes (n={held['n']})" + (f", with `{base_name}` on the same notes:" if base else ":"))
        out.append("")
        out += _metrics_table(held, base, base_name)
        if "response_mode_accuracy" in held:
            acc = f"- Response-mode accuracy: {held['response_mode_accuracy']:.3f}"
            if base and "response_mode_accuracy" in base:
                acc += f" ({base_name}: {base['response_mode_accuracy']:.3f})"
            out += ["", acc + "."]
        if base:
            worse = [x for x in LABELS if held["per_label"][x]["f1"] < base["per_label"][x]["f1"]]
            out += ["", f"- Worse than `{base_name}` on: {', '.join(worse)}." if worse
                    else f"- Not worse than `{base_name}` on any label."]
    if ev.get("gold"):
        g = ev["gold"]
        out += [f"- Gold set: category micro-F1 {g['category_micro']['f1']:.3f}"
                + (f", response-mode accuracy {g['response_mode_accuracy']:.3f}" if "response_mode_accuracy" in g else "")
                + "."]
    out.append("")
    out += _fairness_section(ev.get("fairness"), spec)
    out += ["## Ethical considerations", "",
            "- Notes describe people in crisis: keep training files and this registry access-controlled; "
            "crisis_nlp never logs note text, but the training file itself holds it.",
            "- Errors are unequal: a missed suicidal, weapon or medical note can cost a life, a false alarm can "
            "send police to a person who needed a clinician. A person reads the note and decides.",
            "- Labels written by an agency carry its habits and biases (who is described as agitated, whose "
            "notes mention weapons); retraining on them can learn those too.", ""]
    out += ["## Caveats and recommendations", "",
            "- Compare with the current default on held-out agency notes (`crisis-nlp compare`) before "
            "`crisis-nlp models promote`; roll back with `crisis-nlp models rollback`.",
            "- Small supports mean noisy numbers; label more notes where `crisis-nlp review` points.",
            "- This card is generated from `manifest.json`; it is documentation and is not covered by the "
            "integrity check.", ""]
    return "\n".join(out)
