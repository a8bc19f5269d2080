"""A receiver for the legacy Jaeger agent protocol: compact-Thrift `emitBatch` datagrams on UDP (port 6831).

Services still on `jaeger-client` (retired, but deployed) send their spans this way. Datagrams are decoded with
jaeger-client's own generated Thrift types (the optional `legacy` extra), turned into the query-API JSON shape and
stored through the same mapping as Jaeger JSON files. A bad datagram is counted and logged, never fatal.
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from temporal_lens.collectors.addresses import OpenListenerError, is_loopback, join_host_port
from temporal_lens.collectors.db import BatchWriter
from temporal_lens.collectors.jaeger import jaeger_spans_table

SPAN_SOURCE_JAEGER_AGENT = "jaeger-agent"
DEFAULT_AGENT_PORT = 6831
_MAX_DATAGRAM = 65_535
_TAG_TYPES = {0: "string", 1: "float64", 2: "bool", 3: "int64", 4: "binary"}
_REF_TYPES = {0: "CHILD_OF", 1: "FOLLOWS_FROM"}
_log = logging.getLogger(__name__)


class AgentDatagramError(ValueError):
    """A datagram is not a compact-Thrift `emitBatch` call."""


def decode_emit_batch(datagram: bytes) -> dict[str, Any]:
    """Decode one agent datagram into a Jaeger JSON document (`{"data": [trace, ...]}`).

    Raises:
        AgentDatagramError: not a compact-Thrift `emitBatch` message, or truncated.
        ImportError: jaeger-client (the `legacy` extra) is not installed.
    """
    from jaeger_client.thrift_gen.agent import Agent
    from thrift.protocol import TCompactProtocol
    from thrift.transport import TTransport

    protocol = TCompactProtocol.TCompactProtocol(TTransport.TMemoryBuffer(datagram))
    try:
        name, _, _ = protocol.readMessageBegin()
        if name != "emitBatch":
            raise AgentDatagramError(f"not an emitBatch call but {name!r}")
        args = Agent.emitBatch_args()
        args.read(protocol)
        protocol.readMessageEnd()
    except AgentDatagramError:
        raise
    except Exception as err:  # thrift raises a mix of protocol, transport, struct and unicode errors on garbage
        raise AgentDatagramError(f"not a compact-Thrift emitBatch datagram ({type(err).__name__}: {err})") from err
    batch = args.batch
    if batch is None or batch.process is None:
        raise AgentDatagramError("emitBatch without a batch or process")
    process = {"serviceName": batch.process.serviceName, "tags": [_tag(tag) for tag in batch.process.tags or []]}
    traces: dict[str, list[dict[str, Any]]] = {}
    for span in batch.spans or []:
        trace_id = _trace_hex(span.traceIdHigh, span.traceIdLow)
        traces.setdefault(trace_id, []).append(_span(span, trace_id))
    return {"data": [{"traceID": t, "spans": spans, "processes": {"p1": process}} for t, spans in traces.items()]}


def _span(span: Any, trace_id: str) -> dict[str, Any]:
    references = [
        {
            "refType": _REF_TYPES.get(ref.refType, "CHILD_OF"),
            "traceID": _trace_hex(ref.traceIdHigh, ref.traceIdLow),
            "spanID": _id_hex(ref.spanId),
        }
        for ref in span.references or []
    ]
    if span.parentSpanId and not any(ref["refType"] == "CHILD_OF" for ref in references):
        references.insert(0, {"refType": "CHILD_OF", "traceID": trace_id, "spanID": _id_hex(span.parentSpanId)})
    return {
        "traceID": trace_id,
        "spanID": _id_hex(span.spanId),
        "operationName": span.operationName or "",
        "references": references,
        "startTime": span.startTime,
        "duration": span.duration or 0,
        "tags": [_tag(tag) for tag in span.tags or []],
        "logs": [
            {"timestamp": log.timestamp, "fields": [_tag(f) for f in log.fields or []]} for log in span.logs or []
        ],
        "processID": "p1",
    }


def _tag(tag: Any) -> dict[str, Any]:
    kind = _TAG_TYPES.get(tag.vType, "string")
    value = {"string": tag.vStr, "float64": tag.vDouble, "bool": tag.vBool, "int64": tag.vLong}.get(kind)
    if kind == "binary":
        value = base64.b64encode(tag.vBinary or b"").decode("ascii")
    return {"key": tag.key, "type": kind, "value": value}


def _id_hex(signed: int | None) -> str:
    return format((signed or 0) & (2**64 - 1), "016x")  # Thrift's i64 is signed; ids are unsigned


def _trace_hex(high: int | None, low: int | None) -> str:
    return _id_hex(high) + _id_hex(low)


class JaegerAgentReceiver:
    """Listens for agent datagrams on UDP and stores their spans with `source='jaeger-agent'`.

    Use as a context manager, or call `start()` / `stop()`. Counters: `datagrams_received`,
    `datagrams_rejected` (not decodable), `spans_received`, `spans_stored`, `store_failures`.

    Args:
        writer: where spans go; re-sent spans are skipped by primary key.
        host, port: where to listen; port 0 picks a free port (read it back from `port` after start).
        insecure: listen beyond loopback; the agent protocol has no token, so anyone who reaches the port can
            write (refused otherwise: OpenListenerError).
    """

    def __init__(self, writer: BatchWriter, host: str = "127.0.0.1", port: int = 0, *, insecure: bool = False) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        if not insecure and not is_loopback(host):
            raise OpenListenerError(
                f"the Jaeger agent receiver on udp {join_host_port(host, port)} would accept spans from anyone who "
                "can reach this machine, and the agent protocol has no token: listen on 127.0.0.1, or pass "
                "--insecure to accept that"
            )
        self._writer = writer
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self.datagrams_received = 0
        self.datagrams_rejected = 0
        self.spans_received = 0
        self.spans_stored = 0
        self.store_failures = 0

    def start(self) -> JaegerAgentReceiver:
        """Bind the UDP socket and start the receiving thread.

        Raises:
            OSError: the address cannot be bound; the message names it.
            ImportError: jaeger-client (the `legacy` extra) is not installed.
        """
        if self._socket is not None:
            raise RuntimeError("receiver already started")
        try:
            import jaeger_client.thrift_gen.agent.Agent  # noqa: F401  (fail here, not on the first datagram)
        except ImportError as err:
            raise ImportError(f"the Jaeger agent receiver needs jaeger-client: pip install 'temporal-lens[legacy]' "
                              f"({err})") from err
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self._host, self._port))
        except OSError as err:
            sock.close()
            raise OSError(err.errno, f"cannot start Jaeger agent receiver on {self._host}:{self._port}: "
                          f"{err.strerror or err}") from err
        sock.settimeout(0.2)  # how often the thread checks for stop()
        self._socket = sock
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="jaeger-agent-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop receiving; datagrams already read are stored first. Safe to call twice."""
        thread, sock = self._thread, self._socket
        self._thread = self._socket = None
        self._stopping.set()
        if thread is not None:
            thread.join()
        if sock is not None:
            sock.close()

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("receiver not started; call start() or use it as a context manager")
        return self._socket.getsockname()[1]

    @property
    def address(self) -> tuple[str, int]:
        return self._host, self.port

    def wait_for_datagrams(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` datagrams have been handled (stored or rejected); False if `timeout` passed first."""
        with self._progress:
            return self._progress.wait_for(lambda: self.datagrams_received >= count, timeout)

    def _serve(self) -> None:
        sock = self._socket
        assert sock is not None
        while not self._stopping.is_set():
            try:
                datagram = sock.recv(_MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError as err:
                if self._stopping.is_set():
                    return
                _log.warning("jaeger agent receiver: receive failed: %s", err)
                continue
            self._handle(datagram)

    def _handle(self, datagram: bytes) -> None:
        rejected = received = stored = failed = 0
        try:
            table = jaeger_spans_table(decode_emit_batch(datagram), source=SPAN_SOURCE_JAEGER_AGENT)
        except (AgentDatagramError, ValueError) as err:
            rejected = 1
            _log.warning("jaeger agent receiver: dropped a %d-byte datagram: %s", len(datagram), err)
        else:
            received = table.num_rows
            try:
                stored = self._writer.insert("spans", table) if received else 0
            except Exception as err:  # storage trouble must not end the receiver; the count shows the loss
                failed = 1
                _log.error("jaeger agent receiver: could not store %d spans: %s: %s", received, type(err).__name__, err)
        with self._progress:
            self.datagrams_received += 1
            self.datagrams_rejected += rejected
            self.spans_received += received
            self.spans_stored += stored
            self.store_failures += failed
            self._progress.notify_all()

    def __enter__(self) -> JaegerAgentReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
