"""The real `python -m bot demo` process, used from a phone-sized Chromium: a full report in
Vietnamese from /start to the case code, by tapping buttons by their label and typing."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

# The labels the demo shows, in one place so a wording change is a one-line fix here.
LABELS = {
    "language": "Tiếng Việt",
    "consent": "Đồng ý",
    "menu_report": "Báo mâu thuẫn, tranh chấp",
    "field": "Đất đai",
    "group": "Tổ dân phố số 3",
    "where_next": "Tiếp tục",
    "people": "3–5",
    "danger_no": "Không",
    "files_skip": "Bỏ qua",
    "contact_no": "Không chia sẻ",
    "send": "Gửi phản ánh",
    "send_text": "Gửi",  # the page's own send button
}
PROGRESS = "Bước {step}/8"
ADDRESS = "Số 12 ngõ 34 phố Hoa Mai"
DESCRIPTION = "Nhà bên cạnh xây tường lấn sang lối đi chung của ngõ, hai bên đã cãi nhau nhiều lần."
CASE_CODE = re.compile(r"HG-\d{4}-\d{6}")
START_TIMEOUT = 90.0
STEP_TIMEOUT_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_lines(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def wait_for_url(process: subprocess.Popen, lines: queue.Queue, log: list[str]) -> str:
    """The URL the demo prints once it serves, e.g. "hoagiai demo: open http://127.0.0.1:8080/chat"."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        log.append(line)
        match = re.search(r"https?://\S+", line)
        if match:
            return match.group(0)
    process.kill()
    raise AssertionError("the demo printed no URL; its output:\n" + "".join(log))


def wait_for_health(base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@pytest.fixture
def demo(tmp_path) -> Iterator[str]:
    """The demo process on a free port with its own SQLite file; yields the chat URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOAGIAI_")}
    env.update(
        HOAGIAI_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        HOAGIAI_WEB_PORT=str(port),
        HOAGIAI_UPLOAD_DIR=str(tmp_path / "uploads"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    log: list[str] = []
    try:
        url = wait_for_url(process, lines, log)
        base = re.sub(r"/chat/?$", "", url)
        wait_for_health(base)
        yield f"{base}/chat"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def button(page, label: str):
    """A button of the latest bot message whose label is `label`, ignoring a leading icon."""
    name = re.compile(r"^[^\w]*\s*" + re.escape(label) + r"\s*$")
    return page.locator(".choices").last.get_by_role("button", name=name)


def tap(page, label: str) -> None:
    from playwright.sync_api import expect

    target = button(page, label)
    expect(target).to_be_enabled(timeout=STEP_TIMEOUT_MS)
    target.click()


def type_and_send(page, text: str) -> None:
    page.locator("#text").fill(text)
    page.get_by_role("button", name=LABELS["send_text"], exact=True).click()


def expect_bot(page, text: str | re.Pattern) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".msg-bot").last).to_contain_text(text, timeout=STEP_TIMEOUT_MS)


def test_demo_report_from_start_to_case_code(phone, demo, artifacts):
    page = phone
    try:
        page.goto(demo)
        tap(page, LABELS["language"])
        tap(page, LABELS["consent"])
        tap(page, LABELS["menu_report"])
        expect_bot(page, PROGRESS.format(step=1))
        tap(page, LABELS["field"])
        expect_bot(page, PROGRESS.format(step=2))
        tap(page, LABELS["group"])
        expect_bot(page, PROGRESS.format(step=3))
        type_and_send(page, ADDRESS)
        tap(page, LABELS["where_next"])
        expect_bot(page, PROGRESS.format(step=4))
        type_and_send(page, DESCRIPTION)
        expect_bot(page, PROGRESS.format(step=5))
        tap(page, LABELS["people"])
        tap(page, LABELS["danger_no"])
        expect_bot(page, PROGRESS.format(step=6))
        tap(page, LABELS["files_skip"])
        expect_bot(page, PROGRESS.format(step=7))
        tap(page, LABELS["contact_no"])
        expect_bot(page, PROGRESS.format(step=8))
        tap(page, LABELS["send"])
        expect_bot(page, CASE_CODE)
        assert CASE_CODE.search(page.locator(".msg-bot").last.inner_text())
        page.screenshot(path=str(artifacts / "web-demo-report.png"), full_page=False)
    except Exception:
        page.screenshot(path=str(artifacts / "web-demo-report-failure.png"))
        raise
