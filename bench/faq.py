"""How long matching one FAQ question takes: median and p99 of `conversations.faq_match.match`, next to two
trivial baselines measured in the same run (a dict lookup of the normalised question, and the naive
keyword matcher the FAQ started with), plus each one's top-1 accuracy on the evaluation set.

    python -m bench faq        (through the bench dispatcher)
    python -m bench.faq        (directly)

Target: median under 5 ms on the development machine. `--check` exits 1 when the median is over it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tomllib
import unicodedata
from collections.abc import Callable
from pathlib import Path

from conversations import faq_match
from conversations.campaign import Campaign, load_campaign

EVAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "faq_eval.toml"
TARGET_MS = 5.0


def questions(campaign: Campaign) -> list[tuple[str, str]]:
    """(question, expected topic): the evaluation set, or the campaign's own examples without it."""
    if EVAL.is_file():
        data = tomllib.loads(EVAL.read_text(encoding="utf-8"))
        return [(q, topic) for topic, qs in data["topics"].items() for q in qs]
    return [(q, e.id) for e in campaign.faq for q in (*e.examples, *e.examples_en)]


def naive_match(campaign: Campaign, text: str) -> str | None:
    """The keyword matcher this FAQ started with (substring hits of keywords and examples)."""

    def norm(s: str) -> str:
        return unicodedata.normalize("NFKC", s).lower()

    q = norm(text)
    scores: list[tuple[float, str]] = []
    for entry in campaign.faq:
        score = 0.0
        for kw in entry.keywords:
            if norm(kw) in q:
                score += 1.0 + 0.2 * len(kw)
        for ex in (*entry.examples, *entry.examples_en):
            if norm(ex) in q or q in norm(ex):
                score += 3.0
        if score:
            scores.append((score, entry.id))
    scores.sort(reverse=True)
    return scores[0][1] if scores else None


def timings(fn: Callable[[str], object], texts: list[str], rounds: int) -> list[float]:
    """Milliseconds per call, every call timed on its own."""
    for t in texts:  # warm up (caches, the index)
        fn(t)
    gc.collect()
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for t in texts:
            started = clock()
            fn(t)
            samples.append((clock() - started) / 1e6)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench faq", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="passes over the question set (default 30)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the median is over {TARGET_MS} ms")
    args = parser.parse_args(argv)

    campaign = load_campaign()
    started = time.perf_counter()
    faq_match.index_for(campaign)
    build_ms = (time.perf_counter() - started) * 1000
    pairs = questions(campaign)
    texts = [q for q, _ in pairs]

    lookup = {
        faq_match.normalise(x): e.id for e in campaign.faq for x in (*e.examples, *e.examples_en, e.topic, e.topic_en)
    }
    speller = faq_match.index_for(campaign).speller

    def cold(text: str) -> str | None:
        speller.seen.clear()  # every misspelt word corrected afresh, as if never seen before
        return faq_match.match(campaign, text).top

    contenders: list[tuple[str, Callable[[str], str | None]]] = [
        ("matcher (faq_match.match)", lambda t: faq_match.match(campaign, t).top),
        ("matcher, no spelling memo", cold),
        ("baseline: dict lookup", lambda t: lookup.get(faq_match.normalise(t))),
        ("baseline: naive keywords", lambda t: naive_match(campaign, t)),
    ]
    print(f"FAQ matching — {len(campaign.faq)} topics, {len(texts)} questions × {args.rounds} rounds")
    print(f"index built once per campaign in {build_ms:.1f} ms")
    print(f"{'':28} {'median ms':>10} {'p99 ms':>10} {'top-1':>7}")
    results: dict[str, tuple[float, float]] = {}
    for name, fn in contenders:
        samples = timings(fn, texts, args.rounds)
        accuracy = sum(fn(q) == topic for q, topic in pairs) / len(pairs)
        results[name] = (statistics.median(samples), p99(samples))
        print(f"{name:28} {results[name][0]:10.4f} {results[name][1]:10.4f} {accuracy:7.1%}")
    ours = results[contenders[0][0]]
    for name, _ in contenders[2:]:
        base = results[name]
        print(
            f"ratio matcher / {name.removeprefix('baseline: ')}: median ×{ours[0] / base[0]:.1f}, p99 ×{ours[1] / base[1]:.1f}"
        )
    verdict = "under" if ours[0] < TARGET_MS else "OVER"
    print(f"median {ours[0]:.3f} ms: {verdict} the {TARGET_MS:g} ms target")
    return 1 if args.check and ours[0] >= TARGET_MS else 0


if __name__ == "__main__":
    sys.exit(main())
