"""The console demo walked as a person at a terminal would: `eqa-bot demo` in a subprocess with a pipe
for stdin, one line at a time, each press chosen by the button's label on the screen just printed.
Through the lab's submission, the reviewer's decision and the lab hearing of it; then the demo restarted
on the same database (no --fresh) must answer the very first line. Any traceback or logged warning in
the output fails the walk."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests import image_samples as samples

PROMPT = re.compile(r"\n(王检验|李审核|新用户)> $")
BUTTON = re.compile(r"\[(\d+)\] ([^\[\]]*?)(?=   \[|\n|$)")
# What must never reach the terminal: a crash, a logged warning or error, Fluent's complaint.
NOISE = re.compile(r"Traceback|\b(WARNING|ERROR|CRITICAL)\b|Unknown external|Error:|Exception")


class Terminal:
    """The demo process, driven line by line; every chunk of output is kept for the final check."""

    def __init__(self, cwd: Path, database: Path, *, fresh: bool = False) -> None:
        env = {**os.environ, "EQA_DATA_DIR": str(cwd / "data"), "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
        env["EQA_NOW"] = "2025-02-10T10:00:00+08:00"  # the demo's own fixed clock, stated
        env.pop("EQA_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--database", f"sqlite+aiosqlite:///{database}"]
            + (["--fresh"] if fresh else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # warnings and tracebacks land in the same transcript
            env=env,
            cwd=cwd,
        )
        self.transcript = ""
        self._chunks: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.screen = self._until_prompt()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            self._chunks.put(chunk)
        self._chunks.put(b"")

    def _until_prompt(self, timeout: float = 90) -> str:
        raw = b""
        deadline = time.monotonic() + timeout
        while True:
            try:
                chunk = self._chunks.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no prompt within {timeout}s; output so far:\n{self.transcript}{raw.decode()}"
                ) from None
            raw += chunk
            text = raw.decode("utf-8", errors="replace")
            if not chunk or PROMPT.search(text):
                self.transcript += text
                assert chunk, f"the demo ended unexpectedly:\n{self.transcript}"
                return text

    def line(self, text: str) -> str:
        assert self.proc.stdin is not None
        self.transcript += text + "\n"
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        self.screen = self._until_prompt()
        return self.screen

    def press(self, label: str) -> str:
        """Type the number of the newest button whose label holds `label`."""
        boxes = self.screen.split("┌─ ")
        for box in reversed(boxes):
            found = [(n, text) for n, text in BUTTON.findall(box)]
            if found:
                for n, text in found:
                    if label in text:
                        return self.line(n)
                raise AssertionError(f"no button {label!r} on screen; buttons: {[t for _, t in found]}")
        raise AssertionError(f"no buttons on screen:\n{self.screen}")

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        if self.proc.poll() is None:  # a failed walk must not leave the demo running
            self.proc.kill()
            self.proc.wait(timeout=30)

    def quit(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b":quit\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0, self.transcript
        while (chunk := self._chunks.get(timeout=10)) != b"":
            self.transcript += chunk.decode("utf-8", errors="replace")
        return self.transcript


def _clean(transcript: str) -> None:
    noise = [line for line in transcript.splitlines() if NOISE.search(line)]
    assert not noise, "the demo printed:\n" + "\n".join(noise)


@pytest.mark.timeout(300)
def test_the_demo_walks_from_submission_to_decision_and_restarts(tmp_path: Path) -> None:
    page1, page2 = tmp_path / "协议1.jpg", tmp_path / "协议2.jpg"
    page1.write_bytes(samples.jpeg(samples.document(seal=True)))
    page2.write_bytes(samples.jpeg(samples.document(seal=True, seed=2)))
    licence = tmp_path / "许可证.jpg"
    licence.write_bytes(samples.jpeg(samples.document(seal=False, seed=3)))
    db = tmp_path / "demo.sqlite3"

    with Terminal(tmp_path, db) as term:
        assert "继续申报" in term.line("/start")
        # Step 1: last year's tests.
        assert "第一步" in term.press("继续申报")
        term.press("全血细胞计数")
        term.press("全选")
        term.press("返回专业列表")
        term.press("查看汇总并提交")
        screen = term.press("确认提交")
        # Step 2: the plan, answering whatever the demo lab does not have yet.
        for _ in range(12):
            if "请核对" in screen and "申购" in screen:
                break
            if "联系电话" in screen and "请输入" in screen:
                screen = term.line("0371-66668888")
            elif "科室负责人" in screen and "请输入" in screen:
                screen = term.line("张伟")
            elif "开票单位名称" in screen and "请输入" in screen:
                screen = term.line("郑州市第一人民医院")
            elif "收件人电话" in screen and "请输入" in screen:
                screen = term.line("13912345678")
            elif "邮政编码" in screen and "请输入" in screen:
                screen = term.line("450052")
            else:
                screen = term.press("下一步")
        assert "第三步" in term.press("确认申购")
        # Step 3: the agreement PDF (Fluent once warned here), the signed pages as an album, the licence.
        assert ".pdf" in term.press("下载缓交协议")
        term.press("上传签字盖章的协议")
        screen = term.line(f":album {page1} {page2}")
        assert "第 1 个文件" in screen and "第 2 个文件" in screen and "已收到 2 份" in screen, screen
        term.press("缓交协议已传完")
        term.press("上传执业许可证")
        term.line(f":file {licence}")
        screen = term.press("执业许可证已传完")
        if "没有变化" in screen:
            screen = term.press("没有变化")
        screen = term.press("提交审核")
        assert "已提交" in screen and "中心审核员" in screen, screen  # the card waits in the reviewers' chat
        # The reviewer decides; the lab hears of it.
        screen = term.line(":as reviewer")
        assert "新的申报待审核" in screen, screen
        screen = term.press("✅ 通过")
        assert "已通过" in screen, screen
        screen = term.line(":as lab")
        assert "审核通过" in screen, screen
        _clean(term.quit())

    # Restarted on the same database: the first line is a new update, answered like any other.
    with Terminal(tmp_path, db) as again:
        screen = again.line("/status")
        assert "┌─ 助手" in screen and "已通过" in screen, screen
        _clean(again.quit())


def test_pdf_templates_pass_every_variable_through(caplog: pytest.LogCaptureFixture) -> None:
    from conversations.i18n import catalog

    for lang in ("zh", "en"):
        labels = catalog().templates(lang, "pdf-")
        assert "{until}" in labels["pdf-receipt-licence-kept"]
        assert "{title}" in labels["pdf-receipt-title"] and "{page}" in labels["pdf-page"]
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
