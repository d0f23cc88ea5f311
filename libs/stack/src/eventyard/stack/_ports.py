"""Choosing ports: a configured port must be free; otherwise the usual port, else any free one."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass

from eventyard.stack._errors import PortInUse

__all__ = ["PortChoice", "choose_port", "is_free", "port_answers"]


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``host:port`` and it can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# Fallback ports come from below Linux's ephemeral range (32768-60999): a port the kernel hands
# to outgoing connections (or to another program's bind to port 0) could otherwise take a
# stopped component's remembered port before it restarts.
_FALLBACK_RANGE = range(20000, 32768)


def _any_free_port(taken: set[int]) -> int:
    candidates = [p for p in random.sample(_FALLBACK_RANGE, 200) if p not in taken]
    for candidate in candidates:
        if is_free(candidate):
            return candidate
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, kw_only=True)
class PortChoice:
    """A chosen port, and a note when it is not the one usually used."""

    port: int
    note: str | None = None


def choose_port(
    *,
    component: str,
    configured: int | None,
    setting: str,
    remembered: int | None,
    usual: int,
    taken: set[int],
) -> PortChoice:
    """Pick the port for ``component``.

    ``configured`` comes from the environment and must be free; ``remembered`` is what the
    component used last time (kept, so restarts keep their endpoints); ``usual`` is the default.
    ``taken`` holds ports already handed to other components in this run.
    """
    if configured is not None:
        if configured in taken or not is_free(configured):
            raise PortInUse(component, configured, setting)
        return PortChoice(port=configured)
    for candidate in (remembered, usual):
        if candidate is not None and candidate not in taken and is_free(candidate):
            return PortChoice(port=candidate)
    port = _any_free_port(taken)
    wanted = remembered or usual
    return PortChoice(port=port, note=f"{component}: port {wanted} is in use, using {port}")
