from rest_framework import viewsets
from rest_framework.response import Response

from places.models import Place
from places.near import fetch_page
from places.serializers import (
    NearPlaceSerializer,
    PlaceDetailSerializer,
    PlaceSerializer,
    read_near,
)
from places.services import get_nearby_places

# Nearby places shown with one place.
NEARBY_LIMIT = 20


class PlaceViewSet(viewsets.ReadOnlyModelViewSet):
    """Places by id; ``?near=LAT,LON&radius_km=R`` lists them nearest first."""

    queryset = Place.objects.order_by("id")
    serializer_class = PlaceSerializer

    def list(self, request, *args, **kwargs):
        near = read_near(request.query_params)
        if near is None:
            return super().list(request, *args, **kwargs)

        places = self.get_queryset()
        page = self.paginate_queryset(near.rank(places))
        serializer = NearPlaceSerializer(fetch_page(places, page), many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        place = self.get_object()
        place.nearby = get_nearby_places(place, NEARBY_LIMIT)
        return Response(PlaceDetailSerializer(place).data)
