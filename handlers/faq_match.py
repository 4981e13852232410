"""Matching a free-text question to an FAQ topic of the campaign file."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from conversations.campaign import Campaign


@dataclass(frozen=True)
class Match:
    best: str | None  # a confident answer
    candidates: tuple[str, ...]  # nearest topics when unsure


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def match(campaign: Campaign, text: str) -> Match:
    q = _norm(text)
    scores: list[tuple[float, str]] = []
    for entry in campaign.faq:
        score = 0.0
        for kw in entry.keywords:
            if _norm(kw) in q:
                score += 1.0 + 0.2 * len(kw)
        for ex in (*entry.examples, *entry.examples_en):
            if _norm(ex) in q or q in _norm(ex):
                score += 3.0
        if score:
            scores.append((score, entry.id))
    scores.sort(reverse=True)
    if not scores:
        return Match(None, ())
    top = scores[0][0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    if top >= 2.0 and top >= 1.5 * second:
        return Match(scores[0][1], tuple(i for _, i in scores[:3]))
    return Match(None, tuple(i for _, i in scores[:3]))
