"""`sluice query --token`: a consumer on its own machine asks a Sluice server over HTTP with its API token — the
same governed path as the portal and the API, the answer streamed to a file or standard output, the signed
receipt kept. Only the standard library: a consumer's machine needs nothing else."""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sluice.cli.context import err, fail, out
from sluice.gateway.schemas import QueryRequest

DEFAULT_URL = "http://127.0.0.1:8000"
CHUNK = 1024**2
TIMEOUT = 900


def ask(
    url: str, token: str, request: QueryRequest, *, fmt: str, output: Path | None, receipt_file: Path | None
) -> None:
    endpoint = _endpoint(url, fmt)
    body = request.model_dump_json(exclude_none=True).encode("utf-8")
    call = urllib.request.Request(  # noqa: S310 - the scheme is checked in _endpoint
        endpoint,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        response = urllib.request.urlopen(call, timeout=TIMEOUT)  # noqa: S310 - http(s) only, checked above
    except urllib.error.HTTPError as exc:
        fail(f"{url} refused the query ({exc.code}): {_message(exc.read())}")
    except urllib.error.URLError as exc:
        fail(f"cannot reach {url}: {exc.reason}")
    with response:
        if fmt == "json":
            answer: dict[str, Any] = json.loads(response.read())
            receipt = answer.pop("receipt")
            text = json.dumps(answer, ensure_ascii=False, indent=2)
            if output is None:
                out.print_json(text)
            else:
                output.write_text(text, "utf-8")
            rows, truncated = answer["row_count"], answer["truncated"]
        else:
            receipt = json.loads(base64.b64decode(response.headers["X-Sluice-Receipt"]))
            with output.open("wb") if output is not None else nullcontext(sys.stdout.buffer) as sink:
                while chunk := response.read(CHUNK):
                    sink.write(chunk)
            rows, truncated = int(response.headers["X-Sluice-Rows"]), response.headers["X-Sluice-Truncated"] == "true"
    if receipt_file is not None:
        receipt_file.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), "utf-8")
    if output is not None:
        err.print(f"{rows} rows written to {output}")
    if truncated:
        err.print(f"truncated at {rows} rows (--limit, or the platform's export limit)")


def _endpoint(url: str, fmt: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fail(f"--url must be an http(s) address such as {DEFAULT_URL}, not {url!r}")
    return f"{url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'format': fmt})}"


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")
