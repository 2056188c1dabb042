"""The web entrypoint: JSON API under /api/v1 and server-rendered pages.  Thin: parse,
call one service, map the result or error."""
