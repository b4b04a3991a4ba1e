"""Login and logout pages. The rules (lock-out, counting failures) are in the services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from safecommunity.accounts.forms import LoginForm
from safecommunity.accounts.models import User
from safecommunity.accounts.services import LoginLocked, audit_record, login_attempt


def current_user(request: HttpRequest) -> User:
    """The logged-in user of a request; views call it behind ``login_required``."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied  # unreachable behind login_required; refuse rather than guess
    return user


def _safe_next(request: HttpRequest) -> str:
    """Where to go after logging in: ``next`` if it points at this site, else the home page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Log in. A wrong password and an unknown username get the same message; a locked
    account is told until when (local time)."""
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = login_attempt(
                    request=request,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
            except LoginLocked as locked:
                until = timezone.localtime(locked.until)
                form.add_error(
                    None,
                    _(
                        "Too many failed logins: this account is locked until %(time)s. "
                        "Try again later or ask an administrator."
                    )
                    % {"time": until.strftime("%H:%M")},
                )
            else:
                if user is not None:
                    login(request, user)
                    audit_record(actor=user, action="login", request=request)
                    return HttpResponseRedirect(_safe_next(request))
                form.add_error(None, _("Wrong username or password."))
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    return render(request, "accounts/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so a link or an image cannot log anyone out)."""
    if isinstance(request.user, User):
        audit_record(actor=request.user, action="logout", request=request)
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
