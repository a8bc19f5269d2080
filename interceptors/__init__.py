"""Drop-in Temporal interceptors: OpenTelemetry spans and structlog JSON logs that join with workflow history."""

from temporal_lens.interceptors._exactly_once import ExactlyOnceRunner
from temporal_lens.interceptors._interceptor import LensInterceptor
from temporal_lens.interceptors.logs import TemporalContextAdder, drop_during_replay, get_logger
from temporal_lens.interceptors.plugin import PASSTHROUGH_MODULES, LensPlugin, lens_runner, with_passthrough
from temporal_lens.interceptors.telemetry import Telemetry, configure_telemetry, current_telemetry, structlog_processors

__all__ = [
    "PASSTHROUGH_MODULES",
    "ExactlyOnceRunner",
    "LensInterceptor",
    "LensPlugin",
    "Telemetry",
    "TemporalContextAdder",
    "configure_telemetry",
    "current_telemetry",
    "drop_during_replay",
    "get_logger",
    "lens_runner",
    "structlog_processors",
    "with_passthrough",
]
