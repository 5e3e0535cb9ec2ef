from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from rest_framework.authtoken.views import obtain_auth_token

from sharebook.accounts import SignUpView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", obtain_auth_token, name="auth-token"),
    path("api/users/", SignUpView.as_view(), name="sign-up"),
    path("api/", include("books.urls")),
    path("api/", include("places.urls")),
    path("api/", include("notifications.urls")),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.strip("/")
    urlpatterns.append(
        re_path(
            rf"^{media_prefix}/(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )
