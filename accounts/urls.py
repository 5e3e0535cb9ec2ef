from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from accounts.views import SignUpView

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="auth-token"),
    path("users/", SignUpView.as_view(), name="sign-up"),
]
