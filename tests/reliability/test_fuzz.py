"""API fuzzing: every function's OpenAPI document, in-process; a few examples per operation in the
default run, a deeper pass in the slow stage."""

from __future__ import annotations

import pytest

from tests.reliability.fuzzing import FuzzReport, app_of, fuzz_app, http_functions, unlimited_rate

pytestmark = pytest.mark.e2e


def _fuzz(stack, tenant, examples: int) -> FuzzReport:
    report = FuzzReport()
    with unlimited_rate():
        for logical in http_functions(stack):
            fuzz_app(app_of(stack, logical), tenant.tenant_id, tenant.headers, examples, report)
    return report


def test_every_operation_survives_a_few_generated_requests(stack, tenant):
    report = _fuzz(stack, tenant, examples=3)
    assert report.operations >= 100
    assert not report.failures, "\n".join(report.failures)


@pytest.mark.slow
def test_every_operation_survives_a_deeper_fuzzing_pass(stack, tenant):
    report = _fuzz(stack, tenant, examples=25)
    print(f"fuzzing: {report.operations} operations, {report.requests} requests, statuses {report.statuses}")
    assert not report.failures, "\n".join(report.failures)
