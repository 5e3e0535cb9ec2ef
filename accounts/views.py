from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.serializers import USERNAME_TAKEN, SignUpSerializer
from accounts.services import UsernameTaken, sign_up
from sharebook.throttling import SignUpThrottle, TokenThrottle

TOKEN = inline_serializer("Token", {"token": serializers.CharField()})


class SignUpView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [SignUpThrottle]
    serializer_class = SignUpSerializer  # for the schema

    @extend_schema(responses={201: SignUpSerializer})
    def post(self, request):
        serializer = SignUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = sign_up(**serializer.validated_data)
        except UsernameTaken:
            raise ValidationError({"username": [USERNAME_TAKEN]}) from None
        return Response(SignUpSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(ObtainAuthToken):
    """POST obtains the caller's token; DELETE revokes it."""

    # DRF's view pins its own parsers; use the project's (see sharebook.parsers).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES
    throttle_classes = [TokenThrottle]

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    @extend_schema(responses={200: TOKEN})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        # Every token of the user: the API gives each user one.
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
