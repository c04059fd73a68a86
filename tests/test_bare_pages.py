"""Bare pages: a call-type header or a protocol block, where, when and which units, and
nothing more ("in front of or instead of a sentence", shared/cad-genre.md). Written by hand
at stop 34, not by the generator and not taken from a gold set. The shipped model must
read a crisis code the way the taxonomy does (an EDP / psych code is psychosis, a suicide
code suicidal, an overdose code substance_use and medical) and an ordinary code as no
behavioural-health call. Measured on default@2.16.0 and 2.17.0: 10 of 12 crisis pages (missed: a
bare "Nature: PSYCHIATRIC" page, whose word alone is no psych code in the tables, and a
"PUBLIC INTOX" page, which has no fallback), 0 of 12 ordinary pages labelled."""

import pytest

CRISIS = [  # (page, the label its code gives)
    ("10-96\n455 W LINCOLN AVE APT 12\nUNIT 3B ENRT 0214", "psychosis"),
    ("EDP - WALMART PARKING LOT 2200 HWY 50 - CB 555-0147", "psychosis"),
    ("TYPE: MENTAL // 1800 BLK DEWEY ST // ADAM12 DISP 19:40 // ADAM12 ONSCN 19:52", "psychosis"),
    ("Nature: PSYCHIATRIC\nLoc: 31 CANAL ST, REAR\nCaller: neighbor\nM14 AND SGT2 ASSIGNED", "psychosis"),
    ("Chief Complaint: Psychiatric / Abnormal Behavior / Suicide Attempt\nDispatch CAD Code: 25A01\n"
     "Problem: MENTAL\n40-year-old, Male, Conscious, Breathing.\nM6 ENRT", "psychosis"),
    ("SUICIDE THREAT PRI 1 / 7720 OLD FARM RD / XST BELL RD / E4 M4 ENRT", "suicidal"),
    ("ATTEMPTED SUICIDE\n1200 RIVERVIEW CT #3\nRcvd 23:05\nM11 DISP 23:06", "suicidal"),
    ("SUICIDAL PERSON - 600 COLLEGE AVE, DORM B - CAMPUS PD NOTIFIED", "suicidal"),
    ("OVERDOSE\n5 PARK PLAZA, APT 9C\nM2 E7 ENRT 04:11\nPD TO STAGE", "substance_use"),
    ("OD / POISONING - 1442 S 4TH ST - CALLER HUNG UP - M9 ENRT", "substance_use"),
    ("Chief Complaint: Overdose / Poisoning (Ingestion)\nDeterminant: 23C01\nProblem: POSS OD\n"
     "19-year-old, Female, Conscious, Breathing.\nM3 ASSGN", "substance_use"),
    ("PUBLIC INTOX // IFO GREYSTONE BAR 88 MAIN // P3 ENRT", "substance_use"),
]
ORDINARY = [
    "ALARM-COMM\n900 INDUSTRIAL PKWY\nZONE 4 MOTION\nP7 ENRT 02:40",
    "NOISE COMPLAINT / 22 ELM CT / P2 DISP 23:15",
    "THEFT - 3100 MALL RD - CB 555-0121 - ADAM4 ENRT",
    "TRAFFIC HAZARD // I-70 EB MM 212 // DEBRIS IN LANE 2 // TROOPER 14 ENRT",
    "ANIMAL COMPLAINT\n77 COUNTRY LN\nACO NOTIFIED",
    "SMOKE INVESTIGATION - 401 PINE ST - E3 L1 BC2 ENRT",
    "PARKING COMPLAINT / 15 HARBOR WAY / BLOCKING DRIVEWAY / P9 DISP",
    "WELFARE CHECK\n14 ORCHARD LN\nP5 ENRT 10:02",
    "CIVIL STANDBY - 2901 LAKE DR APT 4 - P6 ASSGN",
    "FOUND PROPERTY // CITY LIBRARY 200 N MAIN // P8 ENRT",
    "911 HANGUP\n808 SUMMIT AVE\nCB NO ANSWER\nP1 DISP 01:12",
    "Chief Complaint: Falls\nDispatch CAD Code: 17A02\n80-year-old, Female, Conscious, Breathing.\nM5 ENRT",
]


@pytest.fixture(scope="module")
def read(model):
    return (model.classify_batch([p for p, _ in CRISIS]), model.classify_batch(ORDINARY))


def test_a_bare_crisis_page_reads_as_its_code_says(read):
    crisis, _ = read
    hits = [label in r.categories for (_, label), r in zip(CRISIS, crisis)]
    assert sum(hits) >= 10, [p for (p, _), h in zip(CRISIS, hits) if not h]
    for (page, label), r in zip(CRISIS, crisis):
        if label == "substance_use" and "INTOX" not in page:
            assert "medical" in r.flags and r.response_mode == "ems", page  # an overdose: medical first


def test_a_bare_ordinary_page_is_no_crisis_call(read):
    _, ordinary = read
    assert [r.categories for r in ordinary] == [[] for _ in ORDINARY]
    assert {r.response_mode for r in ordinary} == {"standard_dispatch"}
