"""Who is browsing, and whether a form really came from our own page.

**Session.** Signing in creates a 12-hour API token named ``portal``; the browser keeps its secret in the
``sluice_session`` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). It is checked like any bearer token —
hashed lookup, expiry, revocation, disabled account — so signing out (which revokes it), an operator revoking
it, or disabling the account ends the session at once; a stolen cookie is worth no more than a token. Over HTTPS
both cookies carry the ``__Host-`` prefix: the browser then keeps them only if they are Secure, for path ``/``
and for this exact host, so a sibling subdomain cannot plant or overwrite them.

**CSRF.** Every form carries ``csrf``: SHA-256 over a random per-browser value (the ``sluice_csrf`` cookie,
HttpOnly, SameSite=Strict) and the session's secret. A forged form from another site has neither cookie value to
compute it from, and a token from before signing in or out no longer matches. Unsafe requests must also come
from our own origin when the browser says where they come from (``Origin``, else ``Referer``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from sluice.errors import Forbidden, Unauthenticated
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_token
from sluice.platform import Platform


class FormLimits(TypedDict, total=False):
    """What a form may hold, checked while it is parsed (the shape FastAPI's ``form_limits`` takes)."""

    max_fields: int
    max_files: int
    max_part_size: int


# FastAPI's defaults would allow 1 000 fields of 1 MB each on every page's form.
SMALL_FORMS = FormLimits(max_fields=200, max_files=0, max_part_size=16 * 1024)
FORM_BODY_MAX = 1024 * 1024

SESSION_COOKIE = "sluice_session"
CSRF_COOKIE = "sluice_csrf"
SESSION_NAME = "portal"


@dataclass(frozen=True)
class Visitor:
    """The person behind a request: their actor, their session secret (if signed in), their CSRF seed."""

    actor: Actor
    session_secret: str | None
    csrf_seed: str
    new_seed: bool  # the seed is new: the response must set the cookie

    @property
    def signed_in(self) -> bool:
        return self.actor.is_user

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.csrf_seed, self.session_secret)


def cookie_name(request: Request, base: str) -> str:
    """``__Host-<base>`` over HTTPS (the browser enforces Secure, path / and no Domain), else ``<base>``."""
    return f"__Host-{base}" if request.url.scheme == "https" else base


def visitor(request: Request, platform: Platform) -> Visitor:
    seed = request.cookies.get(cookie_name(request, CSRF_COOKIE), "")
    new_seed = len(seed) != 43  # token_urlsafe(32)
    if new_seed:
        seed = secrets.token_urlsafe(32)
    secret = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    actor = Actor.anonymous()
    if secret:
        try:
            actor = actor_for_token(platform, secret)
        except Unauthenticated:
            secret = None  # expired, revoked or unknown: browse as the public (the cookie is cleared)
    return Visitor(actor=actor, session_secret=secret, csrf_seed=seed, new_seed=new_seed)


def signed_in_visitor(request: Request, platform: Platform) -> Visitor | Response:
    """The visitor, or — when nobody is signed in — the redirect to the sign-in page and back here."""
    who = visitor(request, platform)
    if not who.signed_in:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return who


def csrf_token(seed: str, session_secret: str | None) -> str:
    message = f"sluice-csrf\0{seed}\0{session_secret or ''}".encode()
    return hashlib.sha256(message).hexdigest()


def check_origin(request: Request) -> None:
    """Refuse a form sent from another site (checkable before its body is read)."""
    if not _same_origin(request):
        raise Forbidden("this form was sent from another site; open the page here and send it again")


def check_form(request: Request, who: Visitor, token: str | None) -> None:
    """Refuse a form that did not come from one of our pages in this browser and this session."""
    check_origin(request)
    if who.new_seed or not token or not hmac.compare_digest(token.encode(), who.csrf_token.encode()):
        raise Forbidden("this form has expired (you may have signed in or out since); reload the page and try again")


def _same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed is None  # an opaque origin ("null") is refused; no header at all is allowed
    origin = urlsplit(claimed)
    here = request.url
    return (origin.scheme, origin.netloc) == (here.scheme, here.netloc)


def remember(response: Response, request: Request, who: Visitor) -> None:
    """Set the CSRF cookie when it is new; clear a session cookie that no longer signs anyone in."""
    secure = request.url.scheme == "https"
    if who.new_seed:
        csrf = cookie_name(request, CSRF_COOKIE)
        response.set_cookie(csrf, who.csrf_seed, httponly=True, samesite="strict", secure=secure, path="/")
    if request.cookies.get(cookie_name(request, SESSION_COOKIE)) and who.session_secret is None:
        end_session(response, request)


def start_session(response: Response, request: Request, secret: str, seconds: int) -> None:
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE),
        secret,
        max_age=seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def end_session(response: Response, request: Request) -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(cookie_name(request, SESSION_COOKIE), path="/", secure=secure, httponly=True)
