"""Run the pages' ES modules in Debian's Chromium without the app: a blank page on a made-up
origin whose /static/js/ answers from the source tree, so that modules import each other
as they do in the app. No Node: the browser is the only JavaScript engine the tests use."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import CHROMIUM
from helpers.env import missing

SCRIPTS = Path(__file__).resolve().parents[2] / "src/camtel/web/static/js"
ORIGIN = "http://modules.camtel.test"
BLANK = "<!doctype html><title>modules</title>"

#: Runs JavaScript whose `m` is the module; returns what the code returns (JSON values).
Runner = Callable[[str], Any]


@contextmanager
def module_runner(module: str, **values: Any) -> Iterator[Runner]:
    """`module` (a file in static/js) loaded in a blank page; `values` become constants."""
    if CHROMIUM is None:
        missing("chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def answer(route: Any) -> None:
                path = route.request.url.removeprefix(ORIGIN)
                if path.startswith("/static/js/") and (SCRIPTS / path[11:]).is_file():
                    route.fulfill(path=str(SCRIPTS / path[11:]), content_type="text/javascript")
                elif path == "/":
                    route.fulfill(body=BLANK, content_type="text/html")
                else:
                    route.fulfill(status=404)

            page.route(f"{ORIGIN}/**", answer)
            page.goto(f"{ORIGIN}/")
            constants = "".join(f"const {k} = {json.dumps(v)};" for k, v in values.items())

            def run(body: str) -> Any:
                return page.evaluate(
                    f"async () => {{ const m = await import('/static/js/{module}'); {constants}"
                    f" return (() => {{ {body} }})(); }}"
                )

            yield run
        finally:
            browser.close()
