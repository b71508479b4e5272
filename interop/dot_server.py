"""A minimal Django OAuth Toolkit server shaped like the two vendors.

Run by interop_test.go (build tag "interop") with Debian's
python3-django-oauth-toolkit and /usr/bin/python3. It serves DOT at
Formlabs' paths and at EnduroSat's, with:

- a confidential client-credentials application (Formlabs-shaped),
- a public password-grant application with refresh tokens (EnduroSat-shaped),
- protected views at both vendors' resource paths.

Configuration comes from the environment (DOT_DB, DOT_TOKEN_LIFETIME and the
credentials below). It listens on a free loopback port and prints
"listening on http://127.0.0.1:PORT" once it is ready.
"""

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="interop-only-not-a-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "oauth2_provider",
    ],
    MIDDLEWARE=[],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DOT_DB"]}},
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    OAUTH2_PROVIDER={
        "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("DOT_TOKEN_LIFETIME", "3600")),
        "ROTATE_REFRESH_TOKEN": True,
        "SCOPES": {"developer-api": "Formlabs-shaped scope", "read": "EnduroSat-shaped scope"},
        "DEFAULT_SCOPES": ["developer-api", "read"],
    },
    LOGGING_CONFIG=None,
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from oauth2_provider import views as oauth_views  # noqa: E402
from oauth2_provider.decorators import protected_resource  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402


@protected_resource()
def printers(request):
    return JsonResponse({"count": 0, "results": []})


@protected_resource()
def satellites(request):
    return JsonResponse({"satellites": []})


urlpatterns = [
    # Formlabs' paths.
    path("developer/v1/o/token/", oauth_views.TokenView.as_view()),
    path("developer/v1/o/revoke_token/", oauth_views.RevokeTokenView.as_view()),
    path("developer/v1/printers/", printers),
    # EnduroSat's paths (no trailing slash).
    path("oauth2/token", oauth_views.TokenView.as_view()),
    path("oauth2/revoke", oauth_views.RevokeTokenView.as_view()),
    path("v1/satellites", satellites),
]


def setup_data():
    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user(os.environ["ES_USERNAME"], password=os.environ["ES_PASSWORD"])
    Application.objects.create(
        name="formlabs-shaped",
        client_id=os.environ["FL_CLIENT_ID"],
        client_secret=os.environ["FL_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        user=user,
    )
    Application.objects.create(
        name="endurosat-shaped",
        client_id=os.environ["ES_CLIENT_ID"],
        client_secret="",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_PASSWORD,
        user=user,
    )


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    setup_data()
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=ThreadingServer, handler_class=QuietHandler)
    print("listening on http://127.0.0.1:%d" % server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
