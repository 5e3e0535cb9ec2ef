from rest_framework import permissions, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.serializers import USERNAME_TAKEN, SignUpSerializer
from accounts.services import UsernameTaken, sign_up


class SignUpView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    def post(self, request):
        serializer = SignUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = sign_up(**serializer.validated_data)
        except UsernameTaken:
            raise ValidationError({"username": [USERNAME_TAKEN]}) from None
        return Response(SignUpSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(ObtainAuthToken):
    # DRF's view pins its own parsers; use the project's (see sharebook.parsers).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES
