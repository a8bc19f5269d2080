"""Shortcut: hooks into SDK internals where no public API offers what we need.

- Timers: the Temporal SDK offers no timer hook; the workflow event loop's timer factory (`loop._timer_impl`) is
  wrapped on one run's loop, and a timer's sequence number read from its handle (`handle._seq`).
- Nexus: an operation handle keeps its result in a task of the workflow's loop (`handle._task`).
- structlog: a proxy that cached its assembled logger (`cache_logger_on_first_use`) keeps it in its instance dict
  (`vars(proxy)["bind"]`); calling that logger directly skips the proxy on every record.

Each hook decides once whether it applies, and where the SDK has changed does nothing: timers go untraced, a Nexus
span ends once the operation has started, the proxy is called as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from temporal_lens.interceptors._tracing import report_once


class TimerObserver(Protocol):
    """Called when a durable timer has been made, with its delay and id (the SDK's sequence number): returns what
    to call when it fires and when it is canceled."""

    def __call__(self, delay: float, timer_id: str) -> tuple[Callable[[], None], Callable[[], None]]: ...


def observe_timers(loop: asyncio.AbstractEventLoop, observer: TimerObserver) -> bool:
    """Have `observer` see every durable timer (asyncio.sleep, workflow.sleep, wait_condition timeouts) of this
    run's loop; False when the SDK's loop has no timer factory to wrap (nothing changed)."""
    original = getattr(loop, "_timer_impl", None)
    if original is None or getattr(original, "_lens_traced", False):
        return False

    def traced_timer(delay: float, options: Any, callback: Callable[..., Any], *args: Any, context: Any = None):
        events: tuple[Callable[[], None], Callable[[], None]] = (_nothing, _nothing)

        def fired(*callback_args: Any) -> Any:
            _safely(events[0])
            return callback(*callback_args)

        handle = original(delay, options, fired, *args, context=context)
        try:
            events = observer(delay, str(getattr(handle, "_seq", "")))
        except Exception as err:
            report_once("timers", err)
        cancel = handle.cancel

        def cancelled() -> None:
            _safely(events[1])
            cancel()

        handle.cancel = cancelled
        return handle

    traced_timer._lens_traced = True  # type: ignore[attr-defined]
    loop._timer_impl = traced_timer  # type: ignore[attr-defined]
    return True


def _nothing() -> None:
    pass


def _safely(call: Callable[[], None]) -> None:
    try:
        call()
    except Exception as err:
        report_once("timers", err)


def nexus_result(handle: Any) -> asyncio.Future[Any] | None:
    """The future that resolves with a Nexus operation's result, or None if the SDK no longer keeps one."""
    outcome = getattr(handle, "_task", None)
    return outcome if isinstance(outcome, asyncio.Future) else None


class LifecycleLogger:
    """A structlog logger for our lifecycle records that goes around the proxy once structlog has cached the
    assembled logger (it will never assemble another for that proxy)."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self._bound: Any = None

    def info(self, event: str, **fields: Any) -> None:
        logger = self._bound
        if logger is None:
            logger = self._proxy.bind()
            if "bind" in vars(self._proxy):
                self._bound = logger
        logger.info(event, **fields)
