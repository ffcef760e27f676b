"""A local stand-in for Voucherify's Segment endpoints, with recording and fault injection.

- :class:`StubServer`  in-process (background thread), for tests.
- :class:`StubControl` talks to a stub in another process through ``/_stub/...``.
- ``python -m dev.stub`` runs one in the foreground. See docs/stub.md.
"""

from .app import SEGMENT_PATHS, Credentials, StubState, build_app
from .control import StubControl
from .faults import FaultConfig, ScriptStep
from .recording import RecordedRequest
from .server import DEFAULT_APPLICATION_ID, DEFAULT_SECRET_KEY, StubServer, serve

__all__ = [
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_SECRET_KEY",
    "SEGMENT_PATHS",
    "Credentials",
    "FaultConfig",
    "RecordedRequest",
    "ScriptStep",
    "StubControl",
    "StubServer",
    "StubState",
    "build_app",
    "serve",
]
