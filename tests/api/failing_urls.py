"""The project's URLs plus views that crash, to reach Django's 500 handler."""

from django.urls import path

from sharebook import urls


def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/crash/", crash),
    path("crash/", crash),
    *urls.urlpatterns,
]
handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500
