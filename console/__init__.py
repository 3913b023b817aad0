"""The web console: a few server-rendered pages over the read models (flows and their
step graphs, experiments, mailings, a contact's timeline), behind the API key. Jinja2
templates and one stylesheet; no build step, no JavaScript needed to read it."""

from fastapi import FastAPI

from console.routes import LoginRequired, pages, public, to_login


def mount(app: FastAPI) -> None:
    app.include_router(public)
    app.include_router(pages)
    app.add_exception_handler(LoginRequired, to_login)
