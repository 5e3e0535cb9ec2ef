import math

import pytest
from django.core.exceptions import ImproperlyConfigured

from places.checks import check_settings


@pytest.mark.parametrize("radius", [0, -5, math.nan, math.inf, "50", None, True])
def test_a_radius_that_cannot_work_is_refused_at_startup(radius):
    with pytest.raises(ImproperlyConfigured, match="PLACES_DISTANCE_RADIUS_KM"):
        check_settings({"DISTANCE_RADIUS_KM": radius})


@pytest.mark.parametrize("radius", [50, 0.5, 2000])
def test_a_positive_radius_is_accepted(radius):
    check_settings({"DISTANCE_RADIUS_KM": radius})
