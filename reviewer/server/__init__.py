"""The team gateway (`reviewer serve`): the ReviewQueue protocol over HTTP, with tokens and
roles, in front of a `SqlQueue`. Needs the `server` extra (FastAPI, uvicorn)."""
