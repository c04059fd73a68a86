import pytest

from crisis_nlp.errors import PolicyError
from crisis_nlp.model.policy import ResponsePolicy


@pytest.fixture(scope="module")
def policy():
    return ResponsePolicy.default()


@pytest.mark.parametrize(
    "cats, flags, cues, mode, rule",
    [
        ([], ["weapon", "violence"], ["weapon_against_others"], "standard_dispatch", "not_behavioural_health"),
        (["suicidal"], ["violence"], ["violence_in_progress"], "law_enforcement", "danger_to_others_now"),
        (["substance_use"], ["weapon", "violence"], ["weapon_against_others"], "law_enforcement", "danger_to_others_now"),
        (["suicidal"], ["medical"], [], "ems", "medical_emergency"),
        (["suicidal"], ["weapon"], [], "co_responder", "safety_uncertain"),
        (["depression_isolation"], ["violence"], [], "co_responder", "safety_uncertain"),
        (["anxiety_panic"], [], ["agitated_unknown_safety"], "co_responder", "safety_uncertain"),
        (["suicidal"], [], ["public_place"], "co_responder", "safety_uncertain"),
        (["suicidal"], [], ["caller_is_person", "wants_to_talk"], "mobile_crisis", "someone_needs_to_go"),
        (["grief_loss"], [], [], "mobile_crisis", "someone_needs_to_go"),  # third party
        (["grief_loss"], [], ["caller_is_person", "wants_to_talk"], "crisis_line", "caller_wants_help"),
        (["resource_request"], [], ["caller_is_person"], "crisis_line", "caller_wants_help"),
        (["anxiety_panic"], [], ["caller_is_person"], "mobile_crisis", "fallback_send_someone"),
    ],
)
def test_default_policy_follows_the_taxonomy(policy, cats, flags, cues, mode, rule):
    d = policy.decide(cats, flags, cues)
    assert (d.mode, d.rule.id) == (mode, rule)


def test_an_agency_can_change_a_mode():
    toml = """
name = "county-x"
[[rules]]
id = "no_crisis"
when = ["no_category"]
mode = "standard_dispatch"
[[rules]]
id = "everything_else"
when = ["always"]
mode = "co_responder"
"""
    p = ResponsePolicy.from_toml(toml)
    assert p.decide(["suicidal"], [], []).mode == "co_responder"
    assert p.decide([], [], []).mode == "standard_dispatch"


@pytest.mark.parametrize(
    "toml, msg",
    [
        ('[[rules]]\nid="a"\nwhen=["flag:gun"]\nmode="ems"', "unknown condition"),
        ('[[rules]]\nid="a"\nwhen=["always"]\nmode="police"', "unknown mode"),
        ('[[rules]]\nid="a"\nwhen="always"\nmode="ems"', "non-empty list"),
        ('[[rules]]\nid="a"\nmode="ems"', "missing key 'when'"),
        ("rules = [", "not valid TOML"),
        ('colour = "red"', "unknown keys"),
    ],
)
def test_malformed_policies_are_rejected_with_a_reason(toml, msg):
    with pytest.raises(PolicyError, match=msg):
        ResponsePolicy.from_toml(toml)


def test_a_policy_without_a_catch_all_says_so():
    p = ResponsePolicy.from_toml('[[rules]]\nid="a"\nwhen=["no_category"]\nmode="standard_dispatch"')
    with pytest.raises(PolicyError, match="always"):
        p.decide(["suicidal"], [], [])
