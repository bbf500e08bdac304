"""The exceptions a script catches; each message names the thing and the fix. (ConfigError,
for a city config the host cannot use, is defined by the native module.)"""
from __future__ import annotations


class Backpressure(RuntimeError):
    """The client's outgoing queue is full: the message was dropped (and counted). Retry later."""


class Unavailable(RuntimeError):
    """A store downstream cannot take the message now (a durable subscriber's outbox is full)."""


# citylink_status values (sdk/include/citylink/abi.h).
_OK, _INVALID, _STATE, _NOT_GRANTED, _TOO_LARGE, _MALFORMED, _BACKPRESSURE, _UNAVAILABLE = 0, 1, 3, 5, 6, 7, 8, 9


def raise_for_status(status: int, topic: str, why: str) -> None:
    """Turns a publish status into the exception a script would catch for it."""
    if status == _OK:
        return
    text = f"publish {topic!r}: {why or 'refused (status %d)' % status}"
    if status == _NOT_GRANTED:
        raise PermissionError(text)
    if status in (_INVALID, _TOO_LARGE, _MALFORMED):
        raise ValueError(text)
    if status == _BACKPRESSURE:
        raise Backpressure(text)
    if status == _UNAVAILABLE:
        raise Unavailable(text)
    raise RuntimeError(text)
