"""youtube.com's Shorts player (provider ``yt-shorts``): ``GET /yt-shorts/shorts/{id}``
answers 200 (an HTML page) for a Short and 303 to ``/watch?v={id}`` for any other video, as
YouTube does; 404 for an id it does not know. Anonymous, with a per-client quota."""

from __future__ import annotations

from aiohttp import web

from sandbox.gate import Gate, ProviderStyle, gate, respond
from sandbox.state import Quota, SandboxState

NAME = "yt-shorts"
ANONYMOUS = "anonymous"
QUOTA = Quota(limit=600, window_seconds=60.0)


def _html(status: int, title: str, headers: dict[str, str] | None = None) -> web.Response:
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body></body></html>"
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


STYLE = ProviderStyle(
    name=NAME,
    unauthorized=lambda: _html(403, "Forbidden"),
    expired=lambda: _html(403, "Forbidden"),
    rate_limited=lambda retry, view: _html(429, "Too Many Requests", {"Retry-After": "60"}),
    server_error=lambda rng: _html(rng.choice((500, 503)), "Error"),
)


def _answer(request: web.Request, g: Gate) -> web.StreamResponse:
    from sandbox.youtube import _reference, _world

    video_id = request.match_info["video_id"]
    video = _world(request).video(video_id, _reference(request))
    if video is None:
        page = b"<html><title>404 Not Found</title></html>"
        return respond(request, g, page, status=404, content_type="text/html")
    if video.short:
        page = f"<html><title>{video.title} - YouTube Shorts</title></html>".encode()
        return respond(request, g, page, content_type="text/html")
    location = f"/watch?v={video_id}"
    return respond(
        request, g, b"", status=303, content_type="text/html", headers={"Location": location}
    )


async def shorts_handler(request: web.Request) -> web.StreamResponse:
    g = await gate(request, STYLE, credential=ANONYMOUS, kind="shorts_page")
    if g.response is not None:
        return g.response
    return _answer(request, g)


def register(app: web.Application, state: SandboxState) -> None:
    state.add_provider(NAME, keys=[ANONYMOUS], quota=QUOTA, secret=lambda _key: {})
    app.router.add_get(f"/{NAME}/shorts/{{video_id}}", shorts_handler)
