"""Exit statuses of the contract (spec §2); one place, so every command agrees."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ENTRY_FAILED = 1  # the run finished but some entry failed, was canceled or expired
    INVALID = 2  # the manifest or the command line is invalid; nothing was sent
    FATAL = 3  # account-level error (bad key, arrears, region) or another fatal error
    INTERRUPTED = 130  # Ctrl-C / SIGTERM; state saved, safe to resume
