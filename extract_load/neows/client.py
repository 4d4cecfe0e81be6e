"""HTTP client for NeoWs: retries with capped, seeded backoff, rate limits, strict JSON, and no key leaks.

Behaviour, in the order a request meets it:

- **API key**: sent as the ``X-Api-Key`` header (api.nasa.gov's gateway, api-umbrella, accepts it), so it
  never appears in a URL, a log line or an error message; ``api_key_transport="query"`` sends it as the
  ``api_key`` query parameter instead (urllib3's DEBUG request lines are then scrubbed by a log filter).
  Every error message and every string of every response (NeoWs
  echoes the key in its ``links``) is scrubbed of the key and of any ``api_key=...`` parameter.
- **Rate limit**: ``X-RateLimit-Remaining`` is read from every response. When it is at or below
  ``min_rate_limit_remaining`` the next request raises :class:`RateLimitBudgetExhaustedError` instead of being
  sent, so callers can stop cleanly and resume on the next run.
- **Bytes**: a 200's body is decoded by the ``charset`` its ``Content-Type`` declares, else as UTF-8, else
  as Windows-1252 (archives of NeoWs responses hold both; the decoding used is returned with the document).
  A body shorter than its ``Content-Length``, or whose JSON ends before the document does, is truncated
  (retried). A complete body that no decoding reads, or that is not a JSON object, raises
  :class:`NeoWsBodyError` at once: the same bytes would come back on every attempt.
- **Retries**: 429, 5xx, timeouts, connection resets, truncated bodies and a 200 whose body is HTML are
  retried, up to ``max_attempts`` attempts in all. The wait is the response's
  ``Retry-After`` when it has one (a wait longer than ``max_retry_after`` gives up at once), else capped
  exponential backoff ``min(cap, base * 2**(n-1))`` scaled by a jitter factor in [0.5, 1) drawn from a
  ``random.Random(jitter_seed)``, so a run's waits are reproducible. Other 4xx are not retried; 404 raises
  :class:`NeoWsNotFoundError`. Giving up raises :class:`NeoWsError` naming the request and every attempt's cause.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import requests

logger = logging.getLogger(__name__)

_API_KEY_PARAM = re.compile(r"([?&])api_key=[^&#\s\"']*&?")


class NeoWsError(RuntimeError):
    """A NeoWs request failed for good: not retryable, or still failing after every attempt."""


class NeoWsNotFoundError(NeoWsError):
    """The API (or the replay server) answered 404 for this request."""


class NeoWsBodyError(NeoWsError):
    """A complete 200 body that cannot be decoded or is not a JSON object: permanent for this request.

    Attributes:
        cause: what is wrong with the body (the message without the request).
        body_bytes: size of the body.
        body_sha256: hex SHA-256 of the body (the same bytes give the same digest on a later run).
        excerpt: up to 200 characters around the failure, undecodable bytes replaced.
    """

    def __init__(self, message: str, cause: str, body: bytes = b"", excerpt: str = "") -> None:
        super().__init__(message)
        self.cause = cause
        self.body_bytes = len(body)
        self.body_sha256 = hashlib.sha256(body).hexdigest()
        self.excerpt = excerpt


class RateLimitBudgetExhaustedError(NeoWsError):
    """``X-RateLimit-Remaining`` reached the configured floor: no further request is sent this run."""


class NeoWsRateLimitedError(NeoWsError):
    """Every attempt ended in 429 (or the last one did): the API refuses requests for now."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries. Defaults suit the live API; tests shrink the waits."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    jitter_seed: int | None = 0
    max_retry_after: float = 60.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_base, backoff_cap and max_retry_after must not be negative")


@dataclass
class ClientStats:
    """What the client did, for run summaries and tests."""

    requests: int = 0
    retries: int = 0
    waits: list[float] = field(default_factory=list)
    rate_limit_limit: int | None = None
    rate_limit_remaining: int | None = None


@dataclass(frozen=True)
class Fetched:
    """A JSON object the API answered, and how its body was decoded.

    ``decoding`` is ``declared:<charset>``, ``utf-8`` or ``fallback:windows-1252``.
    """

    document: dict[str, Any]
    decoding: str


@dataclass
class _Failure:
    reason: str
    retryable: bool
    retry_after: float | None = None
    not_found: bool = False
    rate_limited: bool = False
    body: bytes | None = None
    excerpt: str = ""


FALLBACK_ENCODING = "windows-1252"
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


class BodyDecodeError(ValueError):
    """No decoding (declared charset, UTF-8, Windows-1252) reads the body."""

    def __init__(self, message: str, excerpt: str) -> None:
        super().__init__(message)
        self.excerpt = excerpt


def decode_body(body: bytes, content_type: str = "") -> tuple[str, str]:
    """The text of a body and the decoding used: the declared charset, else UTF-8, else Windows-1252.

    Returns:
        ``(text, decoding)``: ``decoding`` is ``declared:<charset>``, ``utf-8`` or ``fallback:windows-1252``.

    Raises:
        BodyDecodeError: every decoding fails (each one's first bad byte is named).
    """
    declared = _CHARSET.search(content_type or "")
    tries: list[tuple[str, str]] = []
    if declared:
        tries.append((declared.group(1).lower(), f"declared:{declared.group(1).lower()}"))
    tries += [("utf-8", "utf-8"), (FALLBACK_ENCODING, f"fallback:{FALLBACK_ENCODING}")]
    causes = []
    for codec, decoding in tries:
        try:
            return body.decode(codec), decoding
        except LookupError:
            causes.append(f"unknown charset {codec!r}")
        except UnicodeDecodeError as exc:
            causes.append(f"{codec}: byte 0x{body[exc.start]:02x} at offset {exc.start}")
    first_bad = body.decode("utf-8", errors="replace")
    raise BodyDecodeError("undecodable body (" + "; ".join(causes) + ")", first_bad[:200])


def redact(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` and without the value of any ``api_key=`` URL parameter.

    The parameter is removed whole (``?a=1&api_key=K&b=2`` becomes ``?a=1&b=2``), so a redacted link
    stays a usable URL.
    """
    if secret:
        text = text.replace(secret, "<redacted>")

    def _drop(match: re.Match[str]) -> str:
        separator, tail = match.group(1), match.group(0).endswith("&")
        return separator if tail else ""

    return _API_KEY_PARAM.sub(_drop, text)


def redact_json(value: Any, secret: str | None = None) -> Any:
    """A copy of a parsed JSON document with :func:`redact` applied to every string (keys untouched)."""
    if isinstance(value, str):
        return redact(value, secret) if ("api_key=" in value or (secret and secret in value)) else value
    if isinstance(value, dict):
        return {key: redact_json(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item, secret) for item in value]
    return value


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _RedactingFilter(logging.Filter):
    """Scrubs ``api_key=`` parameters from log records (urllib3 logs request lines at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = redact(message), ()
        return True


def _install_log_redaction() -> None:
    for name in ("urllib3.connectionpool", "urllib3.connection"):
        target = logging.getLogger(name)
        if not any(isinstance(existing, _RedactingFilter) for existing in target.filters):
            target.addFilter(_RedactingFilter())


class NeoWsClient:
    """GET JSON documents from a NeoWs base URL (live ``https://api.nasa.gov/neo/rest/v1`` or the replay server).

    Args:
        base_url: URL up to and including ``/neo/rest/v1``.
        api_key: the api.nasa.gov key; never logged or put into error messages.
        policy: retry, backoff and timeout settings.
        min_rate_limit_remaining: stop (raise :class:`RateLimitBudgetExhaustedError`) before a request once the
            last ``X-RateLimit-Remaining`` seen is at or below this.
        api_key_transport: ``"header"`` (``X-Api-Key``, the default) or ``"query"`` (``api_key=``).
        session: a ``requests.Session`` to use (one is created otherwise).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        policy: RetryPolicy | None = None,
        min_rate_limit_remaining: int = 0,
        api_key_transport: Literal["header", "query"] = "header",
        session: requests.Session | None = None,
    ) -> None:
        if api_key_transport not in ("header", "query"):
            raise ValueError(f"api_key_transport must be 'header' or 'query', got {api_key_transport!r}")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.policy = policy or RetryPolicy()
        self.min_rate_limit_remaining = min_rate_limit_remaining
        self.api_key_transport = api_key_transport
        self.session = session or requests.Session()
        self.stats = ClientStats()
        self._rng = random.Random(self.policy.jitter_seed)
        _install_log_redaction()

    def __repr__(self) -> str:
        return f"NeoWsClient(base_url={self.base_url!r}, api_key=<redacted>)"

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``base_url/path?params`` and return the JSON object (see :meth:`fetch`)."""
        return self.fetch(path, params).document

    def fetch(self, path: str, params: Mapping[str, Any] | None = None) -> Fetched:
        """GET ``base_url/path?params``: the JSON object and its body's decoding, retrying transient failures.

        Args:
            path: endpoint below the base URL, e.g. ``"feed"`` or ``"neo/browse"``.
            params: query parameters (never the API key: the client adds it).

        Returns:
            The parsed JSON object, with the API key scrubbed from every string, and the decoding used.

        Raises:
            RateLimitBudgetExhaustedError: the rate-limit floor was reached before a request.
            NeoWsNotFoundError: the endpoint answered 404.
            NeoWsBodyError: a complete body that cannot be decoded or is not a JSON object (not retried).
            NeoWsError: a non-retryable answer, or every attempt failed.
        """
        query = {key: str(value) for key, value in (params or {}).items()}
        described = self.describe(path, query)
        causes: list[str] = []
        failure: _Failure | None = None
        attempts = 0
        for attempt in range(1, self.policy.max_attempts + 1):
            self._check_budget(described)
            attempts = attempt
            fetched, failure = self._attempt(path, query)
            if failure is None:
                return fetched
            causes.append(f"attempt {attempt}: {failure.reason}")
            if not failure.retryable or attempt == self.policy.max_attempts:
                break
            wait = self._wait_before_retry(attempt, failure)
            if wait is None:
                causes.append(
                    f"Retry-After {failure.retry_after:g} s exceeds max_retry_after={self.policy.max_retry_after:g} s"
                )
                break
            logger.warning(
                "NeoWs GET %s: %s; retry %d of %d in %.2f s",
                described,
                failure.reason,
                attempt,
                self.policy.max_attempts - 1,
                wait,
            )
            self.stats.retries += 1
            self.stats.waits.append(wait)
            time.sleep(wait)
        assert failure is not None
        message = f"NeoWs GET {described} failed after {attempts} attempt(s): " + "; ".join(causes)
        message = redact(message, self._api_key)
        if failure.body is not None:
            cause = redact(failure.reason, self._api_key)
            raise NeoWsBodyError(message, cause, failure.body, redact(failure.excerpt, self._api_key))
        error = (
            NeoWsNotFoundError if failure.not_found else NeoWsRateLimitedError if failure.rate_limited else NeoWsError
        )
        raise error(message)

    def describe(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The request as it may be shown: base URL, path and query, without the API key."""
        query = urlencode({key: str(value) for key, value in (params or {}).items()})
        url = f"{self.base_url}/{path.lstrip('/')}" + (f"?{query}" if query else "")
        return redact(url, self._api_key)

    def _check_budget(self, described: str) -> None:
        remaining = self.stats.rate_limit_remaining
        if remaining is not None and remaining <= self.min_rate_limit_remaining:
            raise RateLimitBudgetExhaustedError(
                f"NeoWs rate limit: X-RateLimit-Remaining is {remaining} (floor {self.min_rate_limit_remaining}); "
                f"not sending GET {described}"
            )

    def _wait_before_retry(self, attempt: int, failure: _Failure) -> float | None:
        if failure.retry_after is not None:
            return None if failure.retry_after > self.policy.max_retry_after else failure.retry_after
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def _attempt(self, path: str, query: dict[str, str]) -> tuple[Fetched | None, _Failure | None]:
        params = dict(query)
        headers = {"Accept": "application/json"}
        if self.api_key_transport == "query":
            params["api_key"] = self._api_key
        else:
            headers["X-Api-Key"] = self._api_key
        url = f"{self.base_url}/{path.lstrip('/')}"
        self.stats.requests += 1
        try:
            response = self.session.get(
                url,
                params=params,
                headers=headers,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
            )
        except requests.Timeout:
            reason = f"timed out (connect {self.policy.connect_timeout:g} s, read {self.policy.read_timeout:g} s)"
            return None, _Failure(reason, retryable=True)
        except requests.exceptions.ChunkedEncodingError as exc:
            return None, _Failure(f"response body cut short: {self._clean(exc)}", retryable=True)
        except requests.ConnectionError as exc:
            return None, _Failure(f"connection failed: {self._clean(exc)}", retryable=True)
        except requests.RequestException as exc:
            return None, _Failure(f"request failed: {self._clean(exc)}", retryable=False)
        self._read_rate_limit(response)
        return self._interpret(response)

    def _interpret(self, response: requests.Response) -> tuple[Fetched | None, _Failure | None]:
        status = response.status_code
        if status != 200:
            snippet = redact(response.text[:200].strip().replace("\n", " "), self._api_key)
            reason = f"HTTP {status} {response.reason}" + (f": {snippet}" if snippet else "")
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                return None, _Failure(reason, retryable=True, retry_after=retry_after, rate_limited=status == 429)
            if status in (401, 403):
                reason += " (is the API key valid? set sources.neows.api_key)"
            return None, _Failure(reason, retryable=False, not_found=status == 404)
        body = response.content
        content_type = response.headers.get("Content-Type", "")
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and not response.headers.get("Content-Encoding") and int(length) != len(body):
            return None, _Failure(f"response body cut short: {len(body)} of Content-Length {length} bytes", True)
        if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
            return None, _Failure(f"HTTP 200 with an HTML body ({content_type or 'no Content-Type'}), not JSON", True)
        try:
            text, decoding = decode_body(body, content_type)
        except BodyDecodeError as exc:
            return None, _Failure(f"HTTP 200 with an {exc} ({len(body)} bytes)", False, body=body, excerpt=exc.excerpt)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"({len(body)} bytes, {decoding}): {exc}"
            if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):  # ends inside the document
                return None, _Failure(f"HTTP 200 with truncated JSON {where}", retryable=True)
            excerpt = text[max(0, exc.pos - 100) : exc.pos + 100]
            return None, _Failure(f"HTTP 200 with invalid JSON {where}", False, body=body, excerpt=excerpt)
        if not isinstance(document, dict):
            reason = f"HTTP 200 with a JSON {type(document).__name__}, not an object"
            return None, _Failure(reason, retryable=False, body=body, excerpt=text[:200])
        return Fetched(redact_json(document, self._api_key), decoding), None

    def _read_rate_limit(self, response: requests.Response) -> None:
        for header, attribute in (
            ("X-RateLimit-Remaining", "rate_limit_remaining"),
            ("X-RateLimit-Limit", "rate_limit_limit"),
        ):
            value = response.headers.get(header, "").strip()
            if value.isdigit():
                setattr(self.stats, attribute, int(value))
        logger.debug("NeoWs rate limit remaining: %s", self.stats.rate_limit_remaining)

    def _clean(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self._api_key)
