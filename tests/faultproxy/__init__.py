"""A fault-injecting HTTP proxy on loopback, for the fault suite.

Put it between the CLI and a loopback Hub or the test registry; each rule picks a route
(method + path pattern) and a fault (delay, hang, reset, truncate, corrupt, status) and
applies it to the first N matching requests; everything else is relayed unchanged.
"""

from .proxy import FaultProxy
from .rules import Fault, Kind, Rule

__all__ = ["Fault", "FaultProxy", "Kind", "Rule"]
