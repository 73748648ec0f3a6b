"""Flushing a server's prefix cache between runs, where the engine has an endpoint for it:
SGLang `POST /flush_cache`, vLLM `POST /reset_prefix_cache`. `auto` tries them in that
order and remembers the one that answered; an engine with neither (llama.cpp's server)
is measured as it is, and each document says so."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

from bench.client.api import auth_headers

AUTO_PATHS = ("/flush_cache", "/reset_prefix_cache")
FLUSH_TIMEOUT_S = 30.0


def _post(url: str) -> int | None:
    """The HTTP status of `POST url` (None when the server could not be reached)."""
    request = urllib.request.Request(url, data=b"", method="POST", headers=auth_headers())
    try:
        with urllib.request.urlopen(request, timeout=FLUSH_TIMEOUT_S) as response:
            response.read(4096)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return None


class Flusher:
    """`flush()` before each run of one server; `setting` is the study's `[server] flush`."""

    def __init__(self, base_url: str, setting: str):
        self.base_url = base_url.rstrip("/")
        self.candidates = (
            () if setting == "none" else AUTO_PATHS if setting == "auto" else (setting,)
        )
        self.found: str | None = None
        self.tried = False

    def flush(self) -> str:
        """Flush the cache; a note for the result document saying what happened."""
        if not self.candidates:
            return "prefix cache not flushed ([server] flush = none)"
        if self.found is not None:
            status = _post(self.base_url + self.found)
            if status == 200:
                return f"prefix cache flushed (POST {self.found})"
            return f"prefix cache flush failed (POST {self.found}: {status or 'no answer'})"
        if self.tried:
            return "prefix cache not flushed (the server has no flush endpoint)"
        self.tried = True
        answers = []
        for path in self.candidates:
            status = _post(self.base_url + path)
            if status == 200:
                self.found = path
                return f"prefix cache flushed (POST {path})"
            answers.append(f"{path}: {status or 'no answer'}")
        return f"prefix cache not flushed (no flush endpoint: {', '.join(answers)})"
