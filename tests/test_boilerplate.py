"""CAD wrapping lines are dropped before anything reads the note, and nothing else is."""

import shutil

import pytest

from crisis_nlp.preprocess import analyze
from crisis_nlp.preprocess.boilerplate import BoilerplateRules, boilerplate_rules
from crisis_nlp.resources import rule_files

RULES = boilerplate_rules()

WRAPPING = [
    # unit status, alone or with times, several units, status after a stamp
    "E12 ENRT 14:02:10", "M7 ONSCN", "ASSGN / ENRT 06:17 / 06:20", "[22:41] E12 AVAIL",
    "ASSGN 14:02 ENRT 14:05 ONSCN 14:11 CMPLT 14:40", "E3 M12 BC2 ENRT 01:12:09", "AMB24 10-98",
    "ALL UNITS CLR", "14:40 M7 CLR, CMPLT", "[03:12] B4 enroute",
    # paging lists of unit ids
    "Dispatch received by unit B4", "Successfully paged: M7, E12, BC2", "Units: E3 / M12",
    # call numbers, dates and times
    "CALL # 2021-000123", "Call Date/Time: 08/18/2019 04:35:35", "INC 21-000123 // 14:02",
    "CAD INCIDENT NUMBER: 12345678", "Date/Time Rcvd: 01/03/2021 16:29:53", "Page 1 of 2",
    # banners and machine tails
    "*** CAD PAGE ***", "--- End of CAD page ---", "==== END OF MESSAGE ====", "END OF MESSAGE", "--- End of",
    "*** FOR OFFICIAL USE ONLY ***",
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole use "
    "of the intended recipient(s).",
    "This message was sent from an unmonitored mailbox. Please do not reply to this e-mail.",
    "Sent from the county CAD paging system. Reply STOP to unsubscribe.",
]

CONTENT = [
    # call types and codes that carry meaning, even beside a unit or a status word
    "EDP 10-96", "M7 10-96", "25C01 // M12 E3 ENRT", "Dispatch CAD Code: 23C01", "17A02",
    "E12 ENRT, pt has a knife", "M7 ONSCN pt unresponsive", "*** SUICIDE THREAT ***", "*** 10-96 ***",
    "CIT notified", "Successfully paged: CIT, MOBILE CRISIS", "time: he said tonight is the night",
    "FIRST UNIT ADV NOTHING FOUND", "PT TOOK 30 PILLS", "NO WEAPONS", "call back if he leaves",
    "This e-mail from his school says he wants to die", "INC 21-000123 pt threatening to jump",
    "POSS OD", "UNK IF WEAPONS", "ALL UNITS be advised subj has a gun",
]


@pytest.mark.parametrize("line", WRAPPING)
def test_wrapping_lines_are_boilerplate(line):
    assert RULES.is_boilerplate(line)
    assert RULES.is_boilerplate(line.lower()) and RULES.is_boilerplate("  " + line + "  ")


@pytest.mark.parametrize("line", CONTENT)
def test_lines_with_anything_else_are_kept(line):
    assert not RULES.is_boilerplate(line)


def test_strip_drops_whole_lines_and_pager_fields_keeping_the_rest_as_written():
    note = "CALL # 2021-000123\nPT STATES SHE TOOK 30 OF HER SERTRALINE\nE12 ENRT 14:02:10\n*** CAD PAGE ***"
    assert RULES.strip(note) == "PT STATES SHE TOOK 30 OF HER SERTRALINE"
    pager = "OD | 6187 SUMMIT BLVD | PT TOOK PILLS | E2 ARVD 16:33:21 | NO WEAPONS"
    assert RULES.strip(pager) == "OD | 6187 SUMMIT BLVD | PT TOOK PILLS | NO WEAPONS"
    assert RULES.strip("a / b // c ENRT") == "a / b // c ENRT"  # slashes inside a line never split it


def test_a_note_with_no_wrapping_or_only_wrapping_is_unchanged():
    for note in ("pt states he wants to die\nhas a gun", "E12 ENRT 14:02\n*** CAD PAGE ***", ""):
        assert RULES.strip(note) == note


def test_appended_wrapping_leaves_the_features_as_they_were():
    note = "RP states brother said he'd end it tonight, has a handgun, ETOH"
    wrapped = ("Call Date/Time: 08/18/2019 04:35:35\n" + note + "\nM7 ENRT 14:02:10\nDispatch received by unit B4\n"
               "--- End of CAD page ---")
    assert analyze(wrapped).features == analyze(note).features


def test_an_empty_table_drops_nothing():
    empty = BoilerplateRules.from_table({})
    assert empty.empty and not empty.is_boilerplate("E12 ENRT 14:02:10")
    assert empty.strip("x\nE12 ENRT") == "x\nE12 ENRT"


def test_a_version_snapshotted_before_the_table_drops_nothing(tmp_path):
    """A model version trained before boilerplate.json keeps its features (its snapshot
    has no such table); a snapshot with the table drops as the package does."""
    for p in rule_files():
        if p.name != "boilerplate.json":
            shutil.copy(p, tmp_path / p.name)
    assert boilerplate_rules(str(tmp_path)).empty
    (tmp_path / "boilerplate.json").write_text((rule_files()[0].parent / "boilerplate.json").read_text())
    boilerplate_rules.cache_clear()
    assert boilerplate_rules(str(tmp_path)).is_boilerplate("E12 ENRT 14:02:10")


def test_the_shipped_versions_before_2_7_have_no_table():
    """default@2.6.0 and older were trained without the table: their scores do not change."""
    from pathlib import Path

    models = Path(__file__).resolve().parents[1] / "models" / "default"
    old = [v for v in models.iterdir() if v.is_dir() and tuple(map(int, v.name.split("."))) < (2, 7, 0)]
    assert old
    for v in old:
        assert not (v / "rules" / "boilerplate.json").exists()
        assert boilerplate_rules(str(v / "rules")).empty
