"""How long the fee-deferral agreement takes to render: 2 and 16 specialties, next to a plain reportlab page
(one CJK paragraph in the same embedded font, no tables, no QR code) measured in the same run.

    python -m bench pdf        (through the bench dispatcher)
    python -m bench.pdf        (directly)

Every call renders a document for another lab, so the QR code is encoded afresh each time (the encoding is
cached per text, which would flatter repeated renders). Targets: median ≤ 15 ms (2 specialties) and
≤ 25 ms (16) on the development machine; `--check` exits 1 when one is over. The CPU is shared here, so
read the ratios to the baseline as much as the milliseconds.
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from conversations.campaign import load_campaign
from conversations.flows.journey import PDF_PLACEHOLDERS
from conversations.i18n import catalog
from storage.pdf import AgreementData, find_cjk_font, render_agreement

TARGETS_MS = {2: 15.0, 16: 25.0}


def agreement_maker(count: int) -> Callable[[], bytes]:
    campaign = load_campaign()
    labels = catalog().templates("zh", "pdf-", PDF_PLACEHOLDERS)
    names = [s.name for s in campaign.specialties][:count]
    serial = itertools.count(1)

    def render() -> bytes:
        code = f"HN0371-{next(serial):04d}"  # another lab each time: a new QR text
        return render_agreement(
            AgreementData(
                centre=campaign.centre,
                title=campaign.fees.agreement_title,
                year=campaign.year,
                lab_code=code,
                lab_name="郑州市第七人民医院检验科",
                institution="综合医院",
                specialties=names,
                body=campaign.fees.agreement_body,
                generated_on=date(2025, 2, 10),
                document_id=f"{campaign.id}-{code}",
                labels=labels,
                organisation="郑州市第七人民医院",
                credit_code="12410000415800547X",
                address="郑州市金水区建设东路1号",
                head="王建国",
            )
        )

    return render


def plain_page() -> Callable[[], bytes]:
    font = find_cjk_font()
    style = ParagraphStyle("plain", fontName=font.name, fontSize=11, leading=17, wordWrap="CJK")
    text = "".join(load_campaign().fees.agreement_body)

    def render() -> bytes:
        out = io.BytesIO()
        SimpleDocTemplate(out, pagesize=A4).build([Paragraph(text, style)])
        return out.getvalue()

    return render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench pdf", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="renders of each document (default 40)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a median is over its target")
    args = parser.parse_args(argv)

    contenders: list[tuple[str, Callable[[], bytes]]] = [
        ("baseline: plain reportlab page", plain_page()),
        ("agreement, 2 specialties", agreement_maker(2)),
        ("agreement, 16 specialties", agreement_maker(16)),
    ]
    for _, fn in contenders:  # warm up: fonts registered, styles built
        fn()
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name, _ in contenders}
    clock = time.perf_counter_ns
    for _ in range(args.rounds):  # interleaved, so a busy moment of the machine hits all alike
        for name, fn in contenders:
            started = clock()
            fn()
            samples[name].append((clock() - started) / 1e6)
    print(f"PDF rendering — {args.rounds} renders each, font {find_cjk_font().name}")
    print(f"{'':32} {'median ms':>10} {'min ms':>8} {'× baseline':>11}")
    base = statistics.median(samples[contenders[0][0]])
    medians: dict[str, float] = {}
    for name, _ in contenders:
        medians[name] = statistics.median(samples[name])
        print(f"{name:32} {medians[name]:10.2f} {min(samples[name]):8.2f} {medians[name] / base:11.2f}")
    over = False
    for count, target in TARGETS_MS.items():
        got = medians[f"agreement, {count} specialties"]
        over |= got > target
        print(f"{count} specialties: {got:.2f} ms, {'within' if got <= target else 'OVER'} the {target:g} ms target")
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
