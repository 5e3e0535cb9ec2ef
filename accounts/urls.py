from django.urls import path

from accounts.views import SignUpView, TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("users/", SignUpView.as_view(), name="sign-up"),
]
