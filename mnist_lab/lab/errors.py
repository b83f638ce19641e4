"""The one error the lab answers a request with: a status code and one sentence for the page.

Every module of the lab raises it; `create_app` turns it into {"error": "..."} with its status.
"""

from __future__ import annotations


class LabError(Exception):
    """A request the lab answers with `status` and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:
        return f"LabError({self.status}, {str(self)!r})"
