import json
import signal
import sys
from pathlib import Path

from eventyard.stack._process import PidFile, read_log_tail, spawn
from tests.support.eventually import eventually


def test_spawned_process_is_tracked_until_killed(tmp_path: Path) -> None:
    pid_file = PidFile(path=tmp_path / "p.pid")
    log = tmp_path / "p.log"
    pid = spawn(
        [sys.executable, "-c", "import time; print('hello', flush=True); time.sleep(60)"],
        log_path=log,
        pid_file=pid_file,
    )
    assert pid_file.pid() == pid
    assert pid_file.signal(signal.SIGKILL, group=True)
    assert pid_file.wait_gone(10)
    assert pid_file.pid() is None
    assert not pid_file.path.exists()
    assert "hello" in read_log_tail(log)


def test_kill_group_returns_once_every_process_of_the_group_is_gone(tmp_path: Path) -> None:
    pid_file = PidFile(path=tmp_path / "p.pid")
    children = tmp_path / "children"
    script = (
        "import subprocess, sys, time; "
        "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']) "
        "for _ in range(3)]; "
        f"open({str(children)!r}, 'w').write(' '.join(str(k.pid) for k in kids)); "
        "time.sleep(60)"
    )
    pid = spawn([sys.executable, "-c", script], log_path=tmp_path / "p.log", pid_file=pid_file)
    eventually(
        lambda: children.exists() and children.read_text(),
        timeout=10,
        interval=0.05,
        description="the children to start",
    )
    kids = [int(p) for p in children.read_text().split()]
    assert pid_file.kill_group(10)
    for kid in [pid, *kids]:
        stat = Path(f"/proc/{kid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    assert not pid_file.kill_group(10)  # not running any more


def test_stale_pid_file_of_a_dead_process_is_cleared(tmp_path: Path) -> None:
    pid_file = PidFile(path=tmp_path / "p.pid")
    pid_file.path.write_text(json.dumps({"pid": 2**22 - 1, "start": 1}))
    assert pid_file.pid() is None
    assert not pid_file.path.exists()


def test_pid_reused_by_another_program_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    pid_file = PidFile(path=tmp_path / "p.pid")
    pid_file.write(1)  # init runs, but with another start time than the one recorded below
    record = json.loads(pid_file.path.read_text())
    pid_file.path.write_text(json.dumps({"pid": 1, "start": record["start"] + 12345}))
    assert pid_file.pid() is None


def test_garbage_pid_file_counts_as_not_running(tmp_path: Path) -> None:
    pid_file = PidFile(path=tmp_path / "p.pid")
    pid_file.path.write_text("not json")
    assert pid_file.pid() is None


def test_log_tail_keeps_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert read_log_tail(log, 3).splitlines() == ["line 97", "line 98", "line 99"]
    assert read_log_tail(tmp_path / "missing.log") == ""
