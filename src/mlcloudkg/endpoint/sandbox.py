"""What a query evaluation process may do: no network, bounded memory, no core dumps.

The guard refuses SERVICE and foreign FROM before a query reaches the engine; this is the second wall, for the day
a query gets past the guard. It works at the operating-system level (Linux), so it holds whatever the engine does:
- a network namespace of its own, with no interface up: the engine cannot reach any host, loopback included;
- a cap on the process's data memory: a query that builds huge strings fails instead of exhausting the machine
  (CONCAT doubling a string 30 times in a 1 KB query would ask for 16 GB);
- no core dumps: a process stopped at the memory cap would otherwise write gigabytes to disk.
"""

from __future__ import annotations

import ctypes
import os
import resource

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> str | None:
    """Move this process into a new, empty network namespace. Returns None, or why it could not be done.

    Must run before the process starts threads: the kernel refuses a user namespace to a threaded process. Root
    may create a network namespace directly; any other user creates a user namespace too, which changes nothing
    about file access (the kernel checks files against the real user)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        unshare = libc.unshare
    except (OSError, AttributeError):
        return "this system has no unshare(2)"
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if unshare(flags) != 0:
        return f"unshare(2) failed: {os.strerror(ctypes.get_errno())}"
    return None


def limit_memory(max_bytes: int) -> None:
    """Cap the data memory (heap and anonymous mappings) of this process and forbid core dumps."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
