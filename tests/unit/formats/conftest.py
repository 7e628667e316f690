"""Fixtures for the format tests: SDK-recorded multi-agent traces and a fixed price table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from otlp_payloads import encode_request, fake_pricer, record_multi_agent_run, request_to_json

from mao.domain.formats import semconv


@pytest.fixture()
def fixed_prices() -> Iterator[Callable[..., float | None]]:
    semconv.use_pricer(fake_pricer)
    yield fake_pricer
    semconv.use_pricer(None)


@pytest.fixture(scope="session")
def sdk_spans() -> list[Any]:
    return record_multi_agent_run()


@pytest.fixture(scope="session")
def multi_agent_protobuf(sdk_spans: list[Any]) -> bytes:
    return encode_request(sdk_spans).SerializeToString()


@pytest.fixture(scope="session")
def multi_agent_json_hex(sdk_spans: list[Any]) -> bytes:
    return request_to_json(encode_request(sdk_spans), hex_ids=True)


@pytest.fixture(scope="session")
def multi_agent_json_base64(sdk_spans: list[Any]) -> bytes:
    return request_to_json(encode_request(sdk_spans), hex_ids=False)
