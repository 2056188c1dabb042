"""PCESP call content comes over UDP, which has no back-pressure: the listener asks the
kernel for a wide receive buffer so a burst is held while the pipeline is busy, and says
so when the kernel grants less than it asked."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from calea.intake.listener import widen_receive_buffer


def _rmem_max() -> int:
    return int(Path("/proc/sys/net/core/rmem_max").read_text())


def test_the_buffer_grows_beyond_the_default() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        before = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        wanted = min(_rmem_max(), 4 << 20)
        granted = widen_receive_buffer(sock, wanted)
        assert granted == sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert granted >= wanted > before


def test_a_grant_below_the_wish_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    wanted = _rmem_max() * 4  # the kernel grants at most twice rmem_max
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, caplog.at_level(logging.WARNING):
        granted = widen_receive_buffer(sock, wanted)
    assert granted < wanted
    assert "net.core.rmem_max" in caplog.text
