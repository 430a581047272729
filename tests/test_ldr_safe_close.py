"""ldr_patterns.safe_close: safe_close() never masks an error, close_once() is Mock-proof."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock, Mock, NonCallableMock

import httpx
import pytest
from ldr_patterns.safe_close import close_once, safe_close

LOGGER = "ldr_patterns.safe_close"


def failing_file():
    """A real file object whose close() fails: buffered bytes cannot be flushed to /dev/full."""
    f = open("/dev/full", "wb")  # noqa: SIM115
    f.write(b"data")
    return f


def test_none_is_a_clean_noop(caplog):
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert safe_close(None, "nothing") is True
    assert caplog.records == []


def test_real_client_closes_cleanly(local_url):
    client = httpx.Client(base_url=local_url, timeout=5)
    assert client.get("/").text == "ok"
    assert safe_close(client, "client") is True
    assert client.is_closed


def test_failing_close_is_logged_not_raised(caplog):
    f = failing_file()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert safe_close(f, "report writer") is False
    assert f.closed  # io releases the descriptor even though the flush failed
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "report writer" in record.getMessage()
    assert isinstance(record.exc_info[1], OSError)


def test_original_exception_reaches_the_caller():
    def work() -> None:
        f = failing_file()
        try:
            raise ValueError("the real problem")
        finally:
            safe_close(f, "writer")

    with pytest.raises(ValueError, match="the real problem") as info:
        work()
    assert info.value.__context__ is None


def test_bare_close_would_mask_it():
    def work() -> None:
        f = failing_file()
        try:
            raise ValueError("the real problem")
        finally:
            f.close()

    with pytest.raises(OSError) as info:
        work()
    assert isinstance(info.value.__context__, ValueError)


def test_explicit_logger_is_used(caplog):
    log = logging.getLogger("test.safe_close.explicit")
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert safe_close(failing_file(), "x", logger=log) is False
    assert [r.name for r in caplog.records] == [log.name]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_propagate(interrupt):
    resource = Mock()
    resource.close.side_effect = interrupt
    with pytest.raises(interrupt):
        safe_close(resource, "interrupted")


def test_object_without_close_is_reported(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert safe_close(object(), "plain object") is False
    assert "plain object" in caplog.records[0].getMessage()


@pytest.mark.parametrize("mock_class", [Mock, MagicMock, NonCallableMock])
def test_unspecced_mock_sentinel_is_truthy_but_not_true(mock_class):
    value = getattr(mock_class(), "_ldr_closed", False)
    assert value  # the trap a truthiness guard falls into
    assert value is not True


@pytest.mark.parametrize("mock_class", [Mock, MagicMock])
def test_close_once_closes_an_unspecced_mock_exactly_once(mock_class):
    client = mock_class()
    assert close_once(client, "mock client") is True
    assert close_once(client, "mock client") is True
    client.close.assert_called_once_with()
    assert client._ldr_closed is True


def test_close_once_with_spec_set_cannot_mark_but_closes():
    client = Mock(spec_set=httpx.Client)
    assert close_once(client, "strict mock") is True
    client.close.assert_called_once_with()


def test_close_once_retries_after_a_failed_close():
    client = Mock(spec=httpx.Client)
    client.close.side_effect = [OSError("busy"), None]
    assert close_once(client, "flaky") is False
    assert getattr(client, "_ldr_closed", None) is None
    assert close_once(client, "flaky") is True
    assert close_once(client, "flaky") is True
    assert client.close.call_count == 2


def test_close_once_on_a_real_client(local_url):
    client = httpx.Client(base_url=local_url, timeout=5)
    client.get("/")
    assert close_once(client, "real client") is True
    assert client.is_closed and client._ldr_closed is True
    assert close_once(None, "absent") is True
