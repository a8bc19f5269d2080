"""docker-compose.yml and the collector config, checked statically (no Docker engine runs on these machines)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment; the compose checks need it")

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return _load(COMPOSE)["services"]


@pytest.fixture(scope="module")
def collector() -> dict:
    return _load(ROOT / "deploy" / "otel-collector.yaml")


def _study_defaults() -> dict[str, str]:
    from temporal_lens.cli import study

    return {name: p.default for name, p in inspect.signature(study).parameters.items()}


def _published(service: dict) -> dict[int, int]:
    """Host port -> container port, from the short `ports` syntax ("HOST:CONTAINER" or "IP:HOST:CONTAINER")."""
    published = {}
    for entry in service.get("ports", []):
        parts = str(entry).split("/")[0].split(":")
        assert len(parts) in (2, 3), f"publish {entry!r} as HOST:CONTAINER"
        published[int(parts[-2])] = int(parts[-1])
    return published


def _port(address: str) -> int:
    return int(address.rstrip("/").rpartition(":")[2])


def _service_publishing(services: dict[str, dict], host_port: int) -> str:
    owners = [name for name, s in services.items() if host_port in _published(s)]
    assert len(owners) == 1, f"host port {host_port} is published by {owners}, expected exactly one service"
    return owners[0]


def test_the_external_defaults_point_at_services_that_publish_those_ports(services) -> None:
    defaults = _study_defaults()
    expected = {
        "temporal_address": ("temporal", 7233),
        "otlp_endpoint": ("otel-collector", 4317),
        "ui_url": ("temporal-ui", 8080),
    }
    for option, (service, container_port) in expected.items():
        host_port = _port(defaults[option])
        assert _service_publishing(services, host_port) == service, option
        assert _published(services[service])[host_port] == container_port, option
        assert services[service]["image"].startswith(
            {"temporal": "temporalio/", "otel-collector": "otel/", "temporal-ui": "temporalio/ui:"}[service]
        )
    assert _published(services["jaeger"]) == {16686: 16686}
    assert _published(services["otel-collector"])[4318] == 4318


def test_temporal_persists_in_postgresql(services) -> None:
    temporal = services["temporal"]["environment"]
    assert temporal["DB"].startswith("postgres")
    assert temporal["POSTGRES_SEEDS"] in services
    assert services[temporal["POSTGRES_SEEDS"]]["image"].startswith("postgres:")
    mounted = services["temporal"]["volumes"][0].split(":")[0]
    config_file = temporal["DYNAMIC_CONFIG_FILE_PATH"].rpartition("/")[2]
    assert isinstance(_load(ROOT / mounted / config_file), dict)


def test_every_image_is_pinned_to_an_exact_tag(services) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: {image} is not an exact version"
    assert services["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")


def test_dependencies_exist_and_healthy_conditions_have_health_checks(services) -> None:
    conditions = set()
    for name, service in services.items():
        for target, how in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            conditions.add(how["condition"])
            if how["condition"] == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), f"{target} has no health check"
    assert conditions == {"service_healthy"}
    # The study needs Temporal healthy (namespace registered) before `up --wait` returns.
    assert "temporal" in {t for s in services.values() for t in s.get("depends_on", {})}


def test_published_host_ports_do_not_collide(services) -> None:
    ports = [port for service in services.values() for port in _published(service)]
    assert len(ports) == len(set(ports)), sorted(ports)
    receiver_port = _port(_study_defaults()["receive_grpc"])
    assert receiver_port not in ports, "the study's receiver listens on the host; no container may publish its port"


def test_collector_fans_out_to_jaeger_and_to_the_studys_receiver(services, collector) -> None:
    mount = next(v for v in services["otel-collector"]["volumes"] if "otel-collector.yaml" in v)
    assert mount.split(":")[0] == "./deploy/otel-collector.yaml"
    assert "host.docker.internal:host-gateway" in services["otel-collector"]["extra_hosts"]

    exporters = collector["exporters"]
    to_jaeger = [n for n, e in exporters.items() if e["endpoint"].partition(":")[0] == "jaeger"]
    to_lens = [n for n, e in exporters.items() if e["endpoint"].startswith("host.docker.internal:")]
    assert len(to_jaeger) == 1 and len(to_lens) == 1
    assert _port(exporters[to_jaeger[0]]["endpoint"]) == 4317
    assert "4317" in [str(p) for p in services["jaeger"].get("expose", [])]
    assert _port(exporters[to_lens[0]]["endpoint"]) == _port(_study_defaults()["receive_grpc"])

    grpc_in = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert _port(grpc_in) == _published(services["otel-collector"])[4317]
    pipelines = collector["service"]["pipelines"]
    assert pipelines["traces"]["receivers"] == ["otlp"]
    assert set(pipelines["traces"]["exporters"]) == {to_jaeger[0], to_lens[0]}
    assert pipelines["logs"]["receivers"] == ["otlp"]
    assert to_lens[0] in pipelines["logs"]["exporters"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in collector[kind], f"{kind} {component} is used but not defined"
    for extension in collector["service"].get("extensions", []):
        assert extension in collector["extensions"]


def _study_envvar(option: str) -> str:
    from typing import get_args, get_type_hints

    from temporal_lens.cli import study

    hint = get_type_hints(study, include_extras=True)[option]
    (info,) = [a for a in get_args(hint) if hasattr(a, "envvar")]
    return info.envvar


def test_the_collector_sends_the_token_the_study_reads_from_the_same_variable(services, collector) -> None:
    variable = _study_envvar("otlp_token")
    exporter = next(e for e in collector["exporters"].values() if e["endpoint"].startswith("host.docker.internal:"))
    assert exporter["headers"] == {"authorization": f"Bearer ${{env:{variable}}}"}
    # compose hands the host's variable to the collector, and refuses to start without it (`:?`) rather than let
    # the collector send an empty token
    passed = services["otel-collector"]["environment"][variable]
    assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", passed), passed
    assert all(variable not in str(s.get("environment", {})) for n, s in services.items() if n != "otel-collector")


def test_every_published_port_is_on_the_hosts_loopback_only(services) -> None:
    for name, service in services.items():
        for entry in service.get("ports", []):
            assert str(entry).startswith("127.0.0.1:"), f"{name} publishes {entry} on every interface"


def test_the_studys_receiver_listens_on_the_docker_bridge_not_every_interface() -> None:
    from temporal_lens.bridge import DOCKER_BRIDGE

    host = _study_defaults()["receive_grpc"].rpartition(":")[0]
    assert host == DOCKER_BRIDGE


def test_the_compose_temporal_registers_every_search_attribute_the_orders_upsert(services) -> None:
    from temporal_lens.sample_app.model import ORDER_SEARCH_ATTRIBUTES
    from temporal_lens.search_attributes import search_attribute_types

    check = " ".join(services["temporal"]["healthcheck"]["test"][1:])
    assert "temporal operator search-attribute create" in check
    for name, type_name in search_attribute_types(ORDER_SEARCH_ATTRIBUTES).items():
        assert f"--name {name} --type {type_name}" in check, name
