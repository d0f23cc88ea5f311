import socket
from collections.abc import Iterator

import pytest

from eventyard.stack import PortInUse
from eventyard.stack._ports import choose_port, is_free


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_configured_port_in_use_fails_naming_port_and_setting(busy_port: int) -> None:
    with pytest.raises(PortInUse) as caught:
        choose_port(
            component="kafka",
            configured=busy_port,
            setting="EVENTYARD_KAFKA_PORT",
            remembered=None,
            usual=1,
            taken=set(),
        )
    assert str(busy_port) in str(caught.value)
    assert "EVENTYARD_KAFKA_PORT" in str(caught.value)


def test_usual_port_in_use_falls_back_to_a_free_one_and_says_so(busy_port: int) -> None:
    choice = choose_port(
        component="kafka",
        configured=None,
        setting="X",
        remembered=None,
        usual=busy_port,
        taken=set(),
    )
    assert choice.port != busy_port
    assert is_free(choice.port)
    assert choice.note is not None
    assert f"port {busy_port} is in use, using {choice.port}" in choice.note


def test_remembered_port_is_preferred_when_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    choice = choose_port(
        component="c", configured=None, setting="X", remembered=free, usual=1, taken=set()
    )
    assert choice == type(choice)(port=free)


def test_ports_given_to_other_components_are_not_reused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    choice = choose_port(
        component="c", configured=None, setting="X", remembered=None, usual=free, taken={free}
    )
    assert choice.port != free
