"""host:port parsing, joining and wildcard-to-loopback mapping, shared by the CLI, the study and the receivers."""

from __future__ import annotations

import pytest

from temporal_lens.collectors import dialable_host, join_host_port, parse_host_port


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:4317", ("127.0.0.1", 4317)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("localhost:65535", ("localhost", 65535)),
    ("[::1]:4318", ("::1", 4318)),
    ("[::]:14317", ("::", 14317)),
])
def test_host_port_parses(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text, option="--grpc") == expected


@pytest.mark.parametrize("text", ["nowhere", ":4317", "host:", "host:port", "host:65536", "host:-1", ""])
def test_a_bad_address_names_the_option_and_the_value(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_host_port(text, option="--udp")
    assert str(raised.value) == f"--udp must be host:port, got {text!r}"


def test_ipv6_hosts_are_bracketed_once() -> None:
    assert join_host_port("127.0.0.1", 4317) == "127.0.0.1:4317"
    assert join_host_port("::1", 4317) == "[::1]:4317"
    assert join_host_port("[::1]", 4317) == "[::1]:4317"
    assert parse_host_port(join_host_port("::1", 4317), option="x") == ("::1", 4317)


def test_wildcards_are_dialed_on_the_loopback_of_their_family() -> None:
    assert dialable_host("0.0.0.0") == "127.0.0.1"
    assert dialable_host("") == "127.0.0.1"
    assert dialable_host("::") == "::1"
    assert dialable_host("10.1.2.3") == "10.1.2.3"
