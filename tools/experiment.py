"""Train one configuration into /work/exp/reg/NAME and print its numbers.
usage: exp.py NAME '{"C": 4, ...}' [data.jsonl.gz]"""
import json, sys, time, glob, random
from pathlib import Path
from crisis_nlp.training.train import train
from crisis_nlp import load_model
from crisis_nlp.training.behaviour import run_checks
name, params = sys.argv[1], json.loads(sys.argv[2])
data = sys.argv[3] if len(sys.argv) > 3 else "/work/main/training_data_synthetic/notes.jsonl.gz"
reg = Path("/work/exp/reg") / name
import shutil
if not (reg / "default" / "2.0.0").exists():  # the fairness baseline of the manifest
    shutil.copytree("/work/main/models/default/2.0.0", reg / "default" / "2.0.0")
    shutil.copy("/work/main/models/default/CURRENT", reg / "default" / "CURRENT") if Path("/work/main/models/default/CURRENT").exists() else None
import os
VERSION = os.environ.get("EXP_VERSION", "2.2.0")
t = time.time()
# keep the held-out predictions before the rules, so rule variants can be measured later
# (/work/exp/reg/NAME/heldout_pre_rules.npz) without training again
import numpy as np
import crisis_nlp.training.train as _train
_orig_apply = _train.apply_to_features
def _save_then_apply(P, features, settings, outputs, thresholds, *rest):
    reg.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(reg / "heldout_pre_rules.npz", P=P, features=np.array(features, dtype=object).astype(str),
                        outputs=np.array(outputs), thresholds=json.dumps(thresholds))
    return _orig_apply(P, features, settings, outputs, thresholds, *rest)
_train.apply_to_features = _save_then_apply
# ... and the tuning folds' (0-1) calibrated scores, the first call of label_thresholds, with their
# feature strings, so a rule setting can be chosen on folds 0-1 and reported on folds 2-3
_seen = {}
_orig_features, _orig_thresholds = _train.note_features_and_windows, _train.label_thresholds
def _keep_features(*a, **k):
    out = _orig_features(*a, **k)
    _seen["feats"] = out[0]
    return out
def _keep_tune(Y, P, outputs):
    th = _orig_thresholds(Y, P, outputs)
    if "tune" not in _seen:
        _seen["tune"] = (Y, P, th)
    else:  # the second call: all four folds, calibrated as shipped
        _seen["all"] = (Y, P, th)
    return th
_train.note_features_and_windows, _train.label_thresholds = _keep_features, _keep_tune
_window = params.pop("window_tokens", 64)
entry = train(data, version=VERSION, registry=reg, params=params, n_jobs=2, window_tokens=_window,
              seed=int(os.environ.get("EXP_SEED", "0")),
              gold_path=["/work/main/tests/data/gold_cad.jsonl", "/work/main/tests/data/gold.jsonl",
                         "/work/main/tests/data/gold_fresh.jsonl", "/work/main/tests/data/gold_regional.jsonl",
                         "/work/main/tests/data/gold_east.jsonl"],
              progress=lambda m: print(" ", m, flush=True))
from crisis_nlp.training.labelled import load_labelled
_fold = np.full(len(_seen["feats"]), -1)
for _k, _tr, _te, _ in _train.family_folds(load_labelled(data), 0):
    _fold[_te] = _k
_tidx = np.flatnonzero(np.isin(_fold, [0, 1]))
np.savez_compressed(reg / "tune_pre_rules.npz", Y=_seen["tune"][0], P=_seen["tune"][1], idx=_tidx,
                    features=np.array([_seen["feats"][i] for i in _tidx], dtype=object).astype(str),
                    thresholds=json.dumps(_seen["tune"][2]))
np.savez_compressed(reg / "all_folds.npz", Y=_seen["all"][0], P=_seen["all"][1], thresholds=json.dumps(_seen["all"][2]))
man = json.loads((Path(entry.path) / "manifest.json").read_text())
ev = man["evaluation"]
def row(tag, m):
    c = m["category_micro"]; r = m.get("per_label", {})
    get = lambda l, k: r.get(l, {}).get(k, float("nan"))
    oc = m.get("other_calls_labelled_crisis", float("nan"))
    ce = m.get("calibration_error", {})
    print(f"RESULT {name} {tag}: F1 {c['f1']:.3f} suic_R {get('suicidal','recall'):.3f} "
          f"wpn_R {get('weapon','recall'):.3f} viol_R {get('violence','recall'):.3f} viol_P {get('violence','precision'):.3f} "
          f"med_R {get('medical','recall'):.3f} psy_F1 {get('psychosis','f1'):.3f} other {oc if isinstance(oc,float) else oc} "
          f"mode {m['response_mode_accuracy']:.3f} ece_max {max(ce.values()) if ce else float('nan'):.3f}")
row("heldout", ev["heldout_families"])
for k, g in ev["gold_sets"].items():
    row(k, g)
m = load_model(f"default@{VERSION}", registry=reg)
gold = {f: [json.loads(l) for l in open(f"/work/main/tests/data/{f}")] for f in ("gold_cad.jsonl", "gold.jsonl")}
for f, rows in gold.items():
    rep = run_checks(m, [g["text"] for g in rows], ids=[g["id"] for g in rows])
    print(f"RESULT {name} behaviour {f}: invariance {rep.invariance_failure_rate:.3f} directional {rep.directional_failure_rate:.3f}")
other = [g["text"] for rows in gold.values() for g in rows if not g["categories"]]
rng = random.Random(0)
for k in (1, 6, 12):
    texts = ["\n".join(rng.sample(other, k)) for _ in range(300)] if k > 1 else other
    n = sum(1 for r in m.classify_batch(texts) if r.categories)
    print(f"RESULT {name} pileup k={k}: {n/len(texts):.3f}")
alone = m.classify_batch(other, explain=False)
clean = [t for t, r in zip(other, alone) if not r.categories]
rng = random.Random(0)
pages = ["\n".join(rng.sample(clean, 6)) for _ in range(300)]
print(f"RESULT {name} joined clean k=6: {sum(1 for r in m.classify_batch(pages, explain=False) if r.categories)/300:.3f} (clean {len(clean)})")
for f in sorted(glob.glob("/work/longdata/*.jsonl")):
    rows = [json.loads(l) for l in open(f)]
    res = m.classify_batch([r["text"] for r in rows])
    if "categories" in rows[0]:
        oth = [x for r, x in zip(rows, res) if not r["categories"]]
        cr = [x for r, x in zip(rows, res) if r["categories"]]
        acc = sum(r["response_mode"] == x.response_mode for r, x in zip(rows, res))
        print(f"RESULT {name} {Path(f).name}: other->crisis {sum(1 for x in oth if x.categories)}/{len(oth)} crisis found {sum(1 for x in cr if x.categories)}/{len(cr)} mode {acc}/{len(rows)}")
    else:
        n = sum(1 for x in res if x.categories)
        print(f"RESULT {name} {Path(f).name}: crisis {n}/{len(rows)}")
fair = ev.get("fairness") or {}
print(f"RESULT {name} time {time.time()-t:.0f}s fairness keys {list(fair)[:6]}")
json.dump(fair, open(f"/work/exp/{name}.fair.json", "w"), indent=1, default=str)
