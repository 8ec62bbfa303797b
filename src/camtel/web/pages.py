"""What every page route shares: the services, the signed-in person, and rendering."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from camtel.accounts.caller import Caller
from camtel.services import Services
from camtel.web.render import render
from camtel.web.session import page_caller


class SignInRequired(Exception):
    """A page for signed-in people was asked for without a session: go to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


PageServices = Annotated[Services, Depends(services_of)]


async def optional_caller(request: Request, services: PageServices) -> Caller | None:
    return await page_caller(request, services)


async def required_caller(request: Request, services: PageServices) -> Caller:
    caller = await page_caller(request, services)
    if caller is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInRequired(request.url.path + query)
    return caller


MaybeSignedIn = Annotated[Caller | None, Depends(optional_caller)]
SignedIn = Annotated[Caller, Depends(required_caller)]


def sign_in_url(next_url: str) -> str:
    return f"/login?next={quote(next_url, safe='/')}"


def app_page(
    request: Request,
    services: Services,
    caller: Caller,
    template: str,
    *,
    scripts: tuple[str, ...] = (),
    **context: Any,
) -> HTMLResponse:
    """A page of the signed-in app (its template sets its own translated title)."""
    return render(
        request,
        template,
        settings=services.settings,
        caller=caller,
        scripts=scripts,
        **context,
    )
