"""`paperfeed web`: the local reading room in the browser.

`room.Room` is the one door into the library, `safety.Guard` checks every request (Host,
token, CSRF, CSP), `app.create_app` wires pages to both, `serve` runs it under uvicorn.
"""

from __future__ import annotations

from paperfeed.web.server import serve

__all__ = ["serve"]
