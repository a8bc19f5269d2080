"""configure_telemetry(): idempotent, reads the OpenTelemetry environment, writes every record."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.interceptor_support import closed_port


def test_configure_telemetry_is_idempotent_and_reads_the_environment(tmp_path) -> None:
    script = """
import json, sys
from temporal_lens.interceptors import configure_telemetry, get_logger
first = configure_telemetry(log_path=sys.argv[1])
second = configure_telemetry(service_name="ignored")
get_logger().info("hello")
# Values orjson refuses (an int beyond 64 bits, a non-string key) and values JSON lacks still make a record.
get_logger().info("odd values", big=2**70, mapping={1: "one"}, thing=object.__new__(type("Thing", (), {})))
on_disk = open(sys.argv[1]).read().count("\\n")  # before any flush or shutdown: a killed process keeps them
resource = dict(first.tracer_provider.resource.attributes)
from opentelemetry.sdk.resources import Resource
plain = Resource(resource, first.tracer_provider.resource.schema_url)  # what exporters group spans by
same_key = plain == first.tracer_provider.resource and hash(plain) == hash(first.tracer_provider.resource)
first.shutdown()
print(json.dumps({"same": first is second, "service": first.service_name, "endpoint": first.otlp_endpoint,
                  "team": resource.get("team"), "on_disk": on_disk, "same_key": same_key}))
"""
    env = {"PATH": "/usr/bin:/bin", "OTEL_SERVICE_NAME": "svc-from-env", "OTEL_RESOURCE_ATTRIBUTES": "team=lens",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"127.0.0.1:{closed_port()}"}
    completed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.jsonl")], env=env,
                               capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(completed.stdout.splitlines()[-1])
    assert report == {"same": True, "service": "svc-from-env", "endpoint": env["OTEL_EXPORTER_OTLP_ENDPOINT"],
                      "team": "lens", "on_disk": 2, "same_key": True}
    record, odd = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert record["event"] == "hello" and record["service.name"] == "svc-from-env" and record["level"] == "info"
    for written in (record, odd):  # orjson's rendering and the fallback's write the TimeStamper's text
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", written["timestamp"]), written
    assert odd["big"] == 2**70 and odd["mapping"] == {"1": "one"} and odd["thing"].startswith("<__main__.Thing")
