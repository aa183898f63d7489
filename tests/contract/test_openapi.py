"""The spec and the routes describe the same API: no route the spec lacks, no spec path without a route."""

from __future__ import annotations

import yaml

from adapters.http.app import route_table
from adapters.http.routes.meta import SPEC_PATH

METHODS = {"get", "post", "put", "patch", "delete"}


def spec_table() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def test_every_route_is_in_the_spec_and_every_spec_path_is_routed():
    routes = set(route_table())
    assert routes - spec_table() == set(), "routes missing from openapi.yaml"
    assert spec_table() - routes == set(), "openapi.yaml names routes that do not exist"


def test_spec_is_openapi_3_1():
    spec = yaml.safe_load(SPEC_PATH.read_text())
    assert spec["openapi"].startswith("3.1")
