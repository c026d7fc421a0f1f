"""`manage.py seed_demo` builds the demo and is idempotent."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from alerts.models import Alert
from episodes.models import Episode, EpisodeEvent
from groups.models import CareGroup, Membership
from vitals.models import Device, VitalSample
from zones.models import Zone

MODELS = [User, CareGroup, Membership, Device, VitalSample, Episode, EpisodeEvent, Alert, Zone]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_the_logins(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("seed_demo", stdout=out)
    counts = {model: model.objects.count() for model in MODELS}
    assert counts[User] == 9
    assert counts[VitalSample] == 3 * 6 * 60
    assert counts[Episode] == 2
    assert "elena@pulsera.demo" in out.getvalue()
    assert "pulsera-demo" in out.getvalue()

    call_command("seed_demo", stdout=StringIO())
    assert {model: model.objects.count() for model in MODELS} == counts

    tokens = json.loads((tmp_path / "demo-devices.json").read_text())
    rosa = tokens["rosa@pulsera.demo"]
    from vitals.services import device_by_token

    assert device_by_token(rosa["token"]).id == rosa["device_id"]
    assert Episode.objects.filter(state=Episode.State.RESOLVED).count() == 2
