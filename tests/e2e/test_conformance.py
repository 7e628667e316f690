"""Every endpoint of the API reference is a route in template.yaml and is answered by the local stack.

``NOT_YET_BUILT`` lists the endpoints still to come; it may only shrink. An endpoint that is
built but still listed fails the test, so the list stays honest.
"""

import re

import pytest

from mao.api.reference import endpoints
from mao_local.template import Template
from tests.conftest import REPO_ROOT, datasets_path

pytestmark = pytest.mark.e2e

REFERENCE = REPO_ROOT / "docs" / "api-reference.md"  # the product's API contract, kept in the repo

NOT_YET_BUILT: set[tuple[str, str]] = set()


def reference_endpoints() -> list[tuple[str, str]]:
    return endpoints(REFERENCE)


def test_the_repository_copy_of_the_reference_is_current():
    upstream = datasets_path().parent / "spec" / "api-reference.md"
    if not upstream.is_file():
        pytest.skip("no upstream copy of the API reference beside the repository")
    assert REFERENCE.read_text() == upstream.read_text(), "docs/api-reference.md is stale: copy it again"


def template_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in Template.load(REPO_ROOT / "template.yaml").routes()}


def test_the_reference_is_parsed_completely():
    found = reference_endpoints()
    assert len(found) == len(set(found)) == 90
    assert ("POST", "/api/v1/tenants/{tenant_id}/traces/ingest") in found
    assert ("GET", "/api/v1/tenants/{tenant_id}/agents") in found
    assert ("GET", "/api/v1/dify/apps") in found and ("POST", "/api/v1/dify/apps") in found
    assert ("POST", "/api/v1/traces/claude-code/ingest") in found
    assert ("GET", "/health") in found and ("GET", "/api/v1/health") in found


def test_every_reference_endpoint_is_a_template_route_unless_listed_as_not_yet_built():
    routes = template_routes()
    missing = [e for e in reference_endpoints() if e not in routes and e not in NOT_YET_BUILT]
    assert missing == [], f"reference endpoints without a route: {missing}"


def test_the_not_yet_built_list_only_names_real_endpoints_that_are_really_missing():
    found = set(reference_endpoints())
    assert found >= NOT_YET_BUILT, f"not in the reference: {NOT_YET_BUILT - found}"
    built = NOT_YET_BUILT & template_routes()
    assert not built, f"built now, remove from NOT_YET_BUILT: {sorted(built)}"


def _concrete(path: str, tenant_id: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: tenant_id if m.group(0) == "{tenant_id}" else "probe-id", path)


def test_the_local_stack_answers_every_routed_endpoint(client, tenant):
    routed = [e for e in reference_endpoints() if e not in NOT_YET_BUILT]
    assert routed
    for method, path in routed:
        resp = client.request(method, _concrete(path, tenant.tenant_id), headers=tenant.headers, json={})
        assert resp.status_code != 405, f"{method} {path}: 405"
        if resp.status_code == 404:
            assert resp.json()["error"]["code"] != "route_not_found", f"{method} {path} is not served"
