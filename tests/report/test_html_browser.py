"""report.html in a real headless Chromium: what a person would see, and nothing blocked.

Chromium comes from the system's packages (`.ci/run` tries `apt-get install chromium`); where
it is missing the test is skipped, saying so. Each run gets a fresh profile folder, and only
the browser process this test started is ended, by its PID, if it does not exit by itself.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_html import FIELDS, HEADERS, HOSTILE, Page

from bulkmail.models import InputInfo, Outcome, Problem, Row, Severity, Stage, Status, Summary
from bulkmail.report.writer import ReportWriter

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium on this machine (apt-get install chromium; .ci/run tries it): "
    "report.html was not rendered in a browser",
)
# What the test's browser needs, and no more: no network of its own, no first-run pages.
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root in a container, Chromium's sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",  # console messages, a blocked style or load among them
    "--v=0",
)
GREEN, RED = (0x2E, 0x7D, 0x32), (0xC6, 0x28, 0x28)  # the outcome bars: created, failed


def _report(folder: Path) -> Path:
    outcomes = [
        Outcome(
            Row(n, (f"box{n}@x.org", "Secret-pw-1", "imap.x.org", "")),
            Status.CREATED,
            attempts=1,
            elapsed=0.2,
            latency=0.1,
        )
        for n in range(2, 12)
    ]
    outcomes += [
        Outcome(
            Row(12 + i, (bad, "Secret-pw-1", "imap.bad.org", "")),
            Status.FAILED,
            stage=Stage.PORTAL,
            code="mailbox-login-refused",
            message=f"{bad} refused",
            attempts=1,
            elapsed=0.3,
            latency=0.2,
        )
        for i, bad in enumerate(HOSTILE)
    ]
    outcomes.append(
        Outcome(
            Row(20, ("nobody", "pw", "", "")),
            Status.FAILED,
            stage=Stage.VALIDATION,
            problems=(Problem(20, "email", "email-invalid", Severity.ERROR, "no @", "fix"),),
        )
    )
    folder.mkdir()
    with ReportWriter(folder, HEADERS, FIELDS) as writer:
        for outcome in outcomes:
            writer.add(outcome)
        summary = Summary(
            "import",
            len(outcomes),
            dict(writer.counts),
            1,
            InputInfo("in.csv", "csv"),
            "2026-11-23T19:30:05",
            "2026-11-23T19:30:09",
            4.0,
            problems=dict(writer.problem_counts),
        )
        paths = writer.finish(summary)
    assert paths.html is not None
    return paths.html


def _browse(tmp_path: Path, *args: str) -> tuple[bytes, str]:
    """Run the browser on `args` with a new profile; return its stdout and stderr."""
    assert BROWSER is not None
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    ) as browser:
        try:
            # A bound on a stuck browser, not a measure: a page renders in about a second.
            out, err = browser.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            browser.kill()  # this test's browser only, by its PID
            browser.communicate()
            pytest.fail(f"{BROWSER} did not exit within 120 s: {' '.join(command)}")
    assert browser.returncode == 0, err.decode(errors="replace")[-2000:]
    return out, err.decode(errors="replace")


def test_a_browser_shows_the_counts_and_groups_and_blocks_nothing(tmp_path: Path) -> None:
    page = _report(tmp_path / "report")
    dom, log = _browse(tmp_path, "--dump-dom", page.as_uri())
    seen = Page(dom.decode())
    text = " ".join(" ".join(seen.texts).split())
    assert "bulkmail import report" in text
    assert "created 10 failed 5 total 15" in text
    assert "mailbox-login-refused : 4 rows" in text and "email-invalid : 1 row" in text
    assert "Failures by mail server" in text and "imap.bad.org 4" in text
    for bad in HOSTILE:
        assert bad in seen.text  # text, as the DOM holds it, not elements
    assert {tag for tag, _ in seen.tags}.isdisjoint({"script", "img", "a"})
    assert "Secret-pw-1" not in dom.decode()
    # The style sheet applied (its hash matched the policy), and nothing else was tried.
    assert "Content Security Policy" not in log, log


def test_a_screenshot_of_the_page_is_not_blank(tmp_path: Path) -> None:
    page = _report(tmp_path / "report")
    shot = tmp_path / "shot.png"
    _browse(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=800,700",
        "--force-device-scale-factor=0.5",  # a quarter of the pixels to decode
        page.as_uri(),
    )
    width, height, pixels = _decode_png(shot.read_bytes())
    assert (width, height) == (400, 350)
    colours = {tuple(p[:3]) for p in pixels}
    assert len(colours) > 20  # text, tables and bars, anti-aliased: not a blank page
    assert _near(GREEN, colours) and _near(RED, colours)  # the outcome bars were drawn


def _near(colour: Sequence[int], colours: set[tuple[int, ...]]) -> bool:
    return any(all(abs(a - b) <= 8 for a, b in zip(colour, c, strict=True)) for c in colours)


def _decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Return width, height and the pixels (bytes of 3 or 4 channels) of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + size
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 4 if colour_type == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], previous, channels)
        rows.append(line)
        previous = line
    pixels = [row[x : x + channels] for row in rows for x in range(0, stride, channels)]
    return width, height, pixels


def _unfilter(kind: int, line: bytes, up: bytes, bpp: int) -> bytes:
    """Undo one scanline's filter: None, Sub, Up, Average or Paeth (the PNG filter types)."""
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 255 for a, b in zip(line, up, strict=True))
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        above = up[i]
        if kind == 1:
            out[i] = (out[i] + left) & 255
        elif kind == 3:
            out[i] = (out[i] + (left + above) // 2) & 255
        else:
            corner = up[i - bpp] if i >= bpp else 0
            p = left + above - corner
            pa, pb, pc = abs(p - left), abs(p - above), abs(p - corner)
            best = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            out[i] = (out[i] + best) & 255
    return bytes(out)
