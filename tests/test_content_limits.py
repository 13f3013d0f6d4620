"""Content checks on hostile and merely large files: bounded memory, clear skip reasons,
and the daemon's loop never waiting on them.

The bombs are real files made here: gzip and zlib streams of zeros built from one
deflate block repeated (a GiB of zeros costs about a MB on disk and no CPU to write),
and a zip whose central directory lists hundreds of thousands of entries. Limits are
proved by bytes, never by how long something took; the one time limit is proved with
an injected clock.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import REPO, ConfigWriter, DaemonFactory, clean_env, wait_until, write_als
from tests.emulator import Emulator
from watcher.config import ImportSettings, WatchFolder
from watcher.daws import Candidate, Limits, Registry, Skipped
from watcher.prober import Probed, ProbeJob, Prober
from watcher.scanner import check_content, content_problem, signature_of

MIB = 1 << 20
GIB = 1 << 30
RSS_LIMIT_KB = 200 * 1024
REGISTRY = Registry()
ALS_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<Ableton MajorVersion="5"><LiveSet>'


def _deflate(data: bytes, wbits: int = -15, final: bool = False) -> bytes:
    """Deflate `data` as self-contained blocks (the dictionary is reset after them)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = compressor.compress(data)
    return out + (compressor.flush() if final else compressor.flush(zlib.Z_FULL_FLUSH))


_ZERO_MIB = _deflate(b"\x00" * MIB)


def write_bomb(path: Path, inflated_mib: int, *, kind: str = "gzip") -> Path:
    """A gzip (`.als`) or qCompress (`.mmpz`) file inflating to `inflated_mib` MiB of
    zeros after a real root element. The checksum is left wrong: a limit stops every
    check long before the trailer, which is the point."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        if kind == "gzip":
            out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
            out.write(_deflate(ALS_HEAD))
        else:
            out.write(struct.pack(">I", 0xFFFFFFF0))
            out.write(_deflate(b"<?xml?>\n<lmms-project>", wbits=15))
        out.writelines(_ZERO_MIB for _ in range(inflated_mib))
        out.write(_deflate(b"</Ableton>\n", final=True) + b"\x00" * 8)
    return path


def write_entry_bomb(path: Path, entries: int) -> Path:
    """A zip (`.song`) whose central directory lists `entries` copies of one member:
    complete and valid in layout, and enough entries to cost zipfile gigabytes."""
    name = b"Song/song.xml"
    data = _deflate(b"<Song/>", final=True)
    crc = zlib.crc32(b"<Song/>")
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), 7, len(name), 0)
    central = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), 7, len(name),
        0, 0, 0, 0, 0, 0,
    ) + name  # fmt: skip
    directory_at = len(local) + len(name) + len(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(local + name + data)
        out.writelines(central * 1000 for _ in range(entries // 1000))
        size = (entries // 1000) * 1000 * len(central)
        count = min((entries // 1000) * 1000, 0xFFFF)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, directory_at, 0))
    return path


def problem_of(path: Path, limits: Limits | None = None) -> tuple[str, str] | None:
    daw = REGISTRY.format_for(path.name)
    assert daw is not None
    return content_problem(Candidate(path, daw), limits or Limits())


# --- the checks, in process ------------------------------------------------------------


def test_a_gzip_bomb_is_too_large_by_its_ratio(tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "Bomb.als", 1024)
    assert bomb.stat().st_size < 2 * MIB
    problem = problem_of(bomb)
    assert problem is not None and problem[0] == "too-large", problem
    assert "decompression bomb" in problem[1] and "scan.max_inflate_ratio" in problem[1]


def test_the_absolute_limit_holds_whatever_the_ratio(tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "Bomb.als", 256)
    limits = Limits(max_inflated_bytes=128 * MIB, max_inflate_ratio=1e9)
    problem = problem_of(bomb, limits)
    assert problem is not None and problem[0] == "too-large"
    assert "scan.max_inflated_bytes" in problem[1]


def test_the_time_limit_with_an_injected_clock(tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "Bomb.als", 64)
    ticks = itertools.count()
    limits = Limits(max_inflate_ratio=1e9, seconds=10, clock=lambda: float(next(ticks)))
    problem = problem_of(bomb, limits)
    assert problem == (
        "too-large",
        "content check took longer than 10 s (scan.content_check_seconds)",
    )


def test_an_lmms_bomb_is_too_large(tmp_path: Path) -> None:
    problem = problem_of(write_bomb(tmp_path / "Bomb.mmpz", 1024, kind="zlib"))
    assert problem is not None and problem[0] == "too-large", problem
    declared = tmp_path / "Declared.mmpz"
    declared.write_bytes(struct.pack(">I", 512 * MIB) + zlib.compress(b"<lmms-project/>"))
    problem = problem_of(declared, Limits(max_inflated_bytes=256 * MIB))
    assert problem is not None and problem[0] == "too-large" and "declares" in problem[1]


def test_a_large_real_looking_set_passes_the_ratio_rule(tmp_path: Path) -> None:
    """Varied XML (as automation is) compresses far less than 200x, so even with the
    ratio judged from the first MiB a 16 MiB document passes."""
    rng = random.Random(7)
    events = "".join(
        f'<FloatEvent Id="{n}" Time="{n * 0.25:g}" Value="{rng.random():.6f}" />\n'
        for n in range(300_000)
    ).encode()
    xml = ALS_HEAD + events + b"</LiveSet></Ableton>\n"
    path = tmp_path / "Big.als"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    path.write_bytes(compressor.compress(xml) + compressor.flush())
    assert len(xml) > 16 * MIB
    assert problem_of(path, Limits(ratio_floor=MIB)) is None


def test_a_cut_gzip_set_is_still_bad_content_not_too_large(tmp_path: Path) -> None:
    path = write_als(tmp_path / "Set.als", padding=200_000)
    path.write_bytes(path.read_bytes()[:-100])
    problem = problem_of(path)
    assert problem is not None and problem[0] == "bad-content" and "truncated" in problem[1]


def test_a_zip_with_a_huge_directory_is_read_entry_by_entry(tmp_path: Path) -> None:
    song = write_entry_bomb(tmp_path / "Many.song", 2000)
    assert problem_of(song) is None
    cut = tmp_path / "Cut.song"
    cut.write_bytes(song.read_bytes()[:-40])
    problem = problem_of(cut)
    assert problem is not None and "damaged" in problem[1]


def test_check_content_keeps_its_one_line_answer(tmp_path: Path) -> None:
    daw = REGISTRY.format_for("x.als")
    assert daw is not None and daw.check is not None
    detail = check_content(Candidate(tmp_path / "Gone.als", daw))
    assert detail is not None and "cannot read" in detail
    assert daw.check(io.BytesIO(ALS_HEAD)) is not None  # one argument still works


# --- scan --dry-run in a subprocess: peak memory ---------------------------------------

_PEAK = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr, "kb": peak}))
"""


def test_dry_run_over_bombs_stays_small_and_says_too_large(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    studio = tmp_path / "studio"
    write_bomb(studio / "Bomb Project" / "Bomb.als", 1024)
    write_bomb(studio / "Chip" / "Bomb.mmpz", 1024, kind="zlib")
    write_entry_bomb(studio / "Many" / "Many.song", 600_000)
    write_als(studio / "Fine Project" / "Fine.als")
    config = write_config([studio])
    argv = [sys.executable, "-m", "watcher", "scan", "--dry-run", "--explain"]
    wrapper = subprocess.run(
        [sys.executable, "-c", _PEAK, *argv, "--config", str(config)],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
        timeout=300,
        check=True,
    )
    result = json.loads(wrapper.stdout)
    assert result["code"] == 0, result["err"]
    lines = [json.loads(x) for x in result["out"].splitlines()]
    skipped = {Path(x["path"]).name: x["skipped"] for x in lines if "skipped" in x}
    assert skipped == {"Bomb.als": "too-large", "Bomb.mmpz": "too-large"}
    sent = {Path(x["projectPath"]).name for x in lines if "projectPath" in x}
    assert sent == {"Fine.als", "Many.song"}
    assert result["kb"] < RSS_LIMIT_KB, f"peak RSS {result['kb'] // 1024} MiB"


# --- the daemon: the loop keeps moving while a bomb is checked ------------------------


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


@pytest.mark.daemon
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_the_daemon_imports_other_projects_while_a_bomb_is_checked(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    """A 16 GiB bomb under limits set high enough that checking it takes a long while:
    a set saved meanwhile is imported within quiet_seconds and a few seconds, and the
    daemon's peak RSS stays small. Before the prober, the loop inflated the bomb itself."""
    config = write_config([studio], scan={"max_inflate_ratio": 1e9, "max_inflated_bytes": 64 * GIB})
    proc = daemon(config)
    proc.wait_watching()
    bomb = write_bomb(studio / "Bomb Project" / "Bomb.als", 16 * 1024)
    proc.wait_for("content_check_started", path=str(bomb), timeout=30)
    other = write_als(studio / "Other Project" / "Other.als")
    wait_until(
        lambda: str(other) in emulator.imported_paths(),
        timeout=0.5 + 10,
        what="the other set imported while the bomb is checked",
    )
    peak = _peak_rss_kb(proc.proc.pid)
    assert peak < RSS_LIMIT_KB, f"peak RSS {peak // 1024} MiB"
    assert proc.stop() == 0


# --- the prober ------------------------------------------------------------------------


def _open_in_this_process(path: Path) -> bool:
    fds = Path("/proc/self/fd")
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_stopping_the_prober_cancels_a_check_in_progress(tmp_path: Path) -> None:
    """A 64 GiB bomb under limits that let it run: stop() ends the check at its next
    piece instead of leaving a thread inflating past shutdown."""
    bomb = write_bomb(tmp_path / "Bomb Project" / "Bomb.als", 64 * 1024)
    daw = REGISTRY.format_for(bomb.name)
    assert daw is not None
    results: list[Probed] = []
    prober = Prober(results.append, workers=1)
    prober.start()
    limits = Limits(max_inflated_bytes=1 << 40, max_inflate_ratio=1e9)
    signature = signature_of(bomb, daw)
    assert signature is not None
    folder = WatchFolder(path=tmp_path)
    prober.submit(ProbeJob(Candidate(bomb, daw), folder, ImportSettings(), signature, limits))
    wait_until(lambda: _open_in_this_process(bomb), what="the check to open the bomb")
    assert prober.stop(timeout=60)
    [probed] = results
    assert isinstance(probed.result, Skipped)
    assert (probed.result.reason, probed.result.detail) == (
        "too-large",
        "content check cancelled: the watcher is stopping",
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_in_place_of_a_set_does_not_hang_the_check(tmp_path: Path) -> None:
    """A FIFO swapped in between the stat and the check: opening it must not block."""
    pipe = tmp_path / "Set.als"
    os.mkfifo(pipe)
    assert problem_of(pipe) == ("bad-content", "Set.als is not a regular file")
