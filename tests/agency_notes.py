"""A small invented agency: its writers put "SXI" for suicidal ideation, shorthand the
shipped model does not know (the shipped model scores these notes near 0 for suicidal)."""

import csv
import itertools
import json
import random

WHO = ["son", "daughter", "husband", "wife", "brother", "sister", "roommate", "neighbor", "dad", "mom",
       "nephew", "friend", "boyfriend", "grandson", "coworker"]
PLACE = ["at residence", "in his room", "at apt 3", "in the garage", "at the motel", "in the backyard",
         "on scene", "at work", "at the house", "in vehicle"]
LEAD = ["RP states", "RP adv", "caller reports", "per RP", "RP adv that"]
EVENTS = ["loud music", "car blocking driveway", "bike stolen from porch", "lost wallet", "dog barking all night",
          "package taken", "fence damaged", "locked out of car", "trash fire in can, out now", "tree branch on road"]
# notes never seen in training: other people, other places
HELD_OUT_SXI = ["RP states cousin SXI at the cabin", "caller adv uncle SXI in the shed",
                "per RP stepdad SXI at the campground", "RP adv girlfriend SXI in the laundry room"]


def agency_rows(seed: int = 1, n_pos: int = 60, n_neg: int = 60) -> list[dict]:
    rng = random.Random(seed)
    pos = list(itertools.product(LEAD, WHO, PLACE))
    neg = list(itertools.product(LEAD, EVENTS, PLACE))
    rng.shuffle(pos)
    rng.shuffle(neg)
    rows = [{"text": f"{a} {b} SXI {c}", "categories": "suicidal", "flags": "", "response_mode": "mobile_crisis"}
            for a, b, c in pos[:n_pos]]
    rows += [{"text": f"{a} {b} {c}", "categories": "", "flags": "", "response_mode": "standard_dispatch"}
             for a, b, c in neg[:n_neg]]
    rng.shuffle(rows)
    return [{"id": f"cx-{i}", **r} for i, r in enumerate(rows)]


def write_csv(rows: list[dict], path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_jsonl(rows: list[dict], path):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
