"""PostgreSQL 15 as a throwaway cluster with logical decoding, for Debezium and the libraries."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path
from typing import ClassVar

import psycopg

from eventyard.stack._component import Component, LaunchSpec, PortSpec, Report
from eventyard.stack._errors import ComponentFailed, ConfigError, PrerequisiteMissing
from eventyard.stack._install import find_pg_bin_dir
from eventyard.stack._process import as_account, read_log_tail

__all__ = ["Postgres"]

# initdb refuses to run as root; as root the cluster belongs to this account.
_SERVICE_USER = "postgres"


class Postgres(Component):
    """A PostgreSQL cluster under ``<state_dir>/postgres`` listening on 127.0.0.1."""

    name: ClassVar[str] = "postgres"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=55432, setting="EVENTYARD_PG_PORT"),
    )
    # SIGINT is PostgreSQL's "fast" shutdown: sessions are closed, nothing waits on clients.
    stop_signal: ClassVar[signal.Signals] = signal.SIGINT

    _bin: Path | None = None

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the Unix socket goes (kept inside the state folder)."""
        return self.home / "run"

    @property
    def dsn(self) -> str:
        """Connection string of the ``postgres`` database as superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.ports['port']}/postgres"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(_SERVICE_USER)
        except KeyError as missing:
            raise PrerequisiteMissing(
                f"the '{_SERVICE_USER}' account",
                "install Debian's postgresql package, which creates it (initdb refuses root)",
            ) from missing
        return _SERVICE_USER

    def _binary(self, name: str) -> str:
        assert self._bin is not None, "install() runs before the binaries are used"
        return str(self._bin / name)

    def install(self, report: Report) -> None:
        self._bin = find_pg_bin_dir(self.settings.pg_bin_dir, log_path=self.log_path)

    def _check_reachable(self, user: str) -> None:
        """The service account must be able to walk down to the data folder."""
        account = pwd.getpwnam(user)
        for folder in reversed(self.home.parents):
            mode = folder.stat()
            if mode.st_uid == account.pw_uid:
                continue
            bit = stat.S_IXGRP if mode.st_gid == account.pw_gid else stat.S_IXOTH
            if not mode.st_mode & bit:
                raise ConfigError(
                    f"postgres: the '{user}' account cannot enter {folder} (mode "
                    f"{stat.filemode(mode.st_mode)}), which holds the state folder; run "
                    f"'chmod o+x {folder}' or set EVENTYARD_STATE_DIR to a folder it can reach"
                )

    def prepare(self) -> None:
        user = self._run_as()
        if user is not None:
            self._check_reachable(user)
        for folder in (self.home, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if user is not None:
                account = pwd.getpwnam(user)
                os.chown(folder, account.pw_uid, account.pw_gid)
        if (self.data_dir / "PG_VERSION").exists():
            return
        argv = [
            self._binary("initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, cwd=self.home, check=False, **as_account(user)
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise ComponentFailed(
                self.name, "initdb failed", self.log_path, read_log_tail(self.log_path)
            )

    def launch(self) -> LaunchSpec:
        settings = {
            "wal_level": "logical",
            "listen_addresses": "127.0.0.1",
            "port": str(self.ports["port"]),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": "300",
            "max_wal_senders": "20",
            "max_replication_slots": "20",
            "fsync": "on" if self.settings.pg_fsync else "off",
            "log_min_messages": "warning",
        }
        argv = [self._binary("postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return LaunchSpec(argv=argv, cwd=self.home, user=self._run_as())

    def probe(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def endpoints(self) -> dict[str, str]:
        return {"EVENTYARD_PG_DSN": self.dsn}
