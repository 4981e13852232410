"""The FAQ evaluation set (tests/data/faq_eval.toml): how often the matcher's first choice is right on
questions it has never seen, and that it stays quiet when it should."""

from __future__ import annotations

import tomllib
from pathlib import Path

from conversations.campaign import load_campaign
from conversations.faq_match import match, normalise

EVAL = tomllib.loads((Path(__file__).parent / "data" / "faq_eval.toml").read_text(encoding="utf-8"))
CAMPAIGN = load_campaign()
QUESTIONS = [(q, topic) for topic, qs in EVAL["topics"].items() for q in qs]


def test_the_set_is_large_varied_and_unseen() -> None:
    assert len(QUESTIONS) >= 80
    assert {topic for _, topic in QUESTIONS} <= set(CAMPAIGN.faq_by_id)
    english = [q for q, _ in QUESTIONS if q.isascii()]
    mixed = [q for q, _ in QUESTIONS if not q.isascii() and any("a" <= ch.lower() <= "z" for ch in q)]
    assert len(english) >= 15 and len(mixed) >= 5
    # Not one question is an example of the campaign file: this measures generalisation, not recall.
    examples = {normalise(x).strip(" ?？") for e in CAMPAIGN.faq for x in (*e.examples, *e.examples_en)}
    assert not [q for q, _ in QUESTIONS if normalise(q).strip(" ?？") in examples]


def test_top1_accuracy_is_at_least_90_percent() -> None:
    results = [(q, topic, match(CAMPAIGN, q)) for q, topic in QUESTIONS]
    wrong = [(q, topic, m.candidates) for q, topic, m in results if m.top != topic]
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= 0.90, f"top-1 accuracy {accuracy:.1%}; wrong: {wrong}"
    # A confident answer is rarely the wrong one (an unsure reply costs a tap; a wrong answer misleads).
    confident = [(q, topic, m.best) for q, topic, m in results if m.best is not None]
    confidently_wrong = [c for c in confident if c[2] != c[1]]
    assert len(confident) >= 0.8 * len(results)
    assert len(confidently_wrong) <= 0.05 * len(confident), confidently_wrong


def test_out_of_scope_questions_are_recognised() -> None:
    for q in EVAL["other"]["out_of_scope"]:
        result = match(CAMPAIGN, q)
        assert result.out_of_scope is not None and result.best is None, q


def test_unrelated_questions_get_no_confident_answer() -> None:
    for q in EVAL["other"]["no_match"]:
        assert match(CAMPAIGN, q).best is None, q
