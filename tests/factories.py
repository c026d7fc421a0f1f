"""factory_boy factories for every model the tests build."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert
from episodes.models import Episode
from groups.models import CareGroup, Invitation, Membership
from vitals.models import Device
from vitals.services import device_token_assign
from zones.models import Zone

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CareGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareGroup

    name = factory.Sequence(lambda n: f"Family {n}")
    kind = CareGroup.Kind.FAMILY


class DeviceFactory(factory.django.DjangoModelFactory):
    """A device; its raw token is on `device.token` (tests only)."""

    class Meta:
        model = Device
        skip_postgeneration_save = True

    wearer = factory.SubFactory(UserFactory)
    name = "Watch"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        device = model_class(*args, **kwargs)
        device.token = device_token_assign(device)
        device.save()
        return device


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    wearer = factory.SubFactory(UserFactory)
    kind = Episode.Kind.TACHYCARDIA
    severity = Episode.Severity.HIGH
    source = Episode.Source.RULE
    explanation = "Heart rate 131 at rest"
    location = {"type": "Point", "coordinates": [-3.7038, 40.4168]}


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    episode = factory.SubFactory(EpisodeFactory)
    recipient = factory.SubFactory(UserFactory)


class ZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Zone

    name = factory.Sequence(lambda n: f"Zone {n}")
    group = factory.SubFactory(CareGroupFactory, kind=CareGroup.Kind.COMMUNITY)
    geometry = {"type": "Point", "coordinates": [-3.7038, 40.4168]}
    radius_m = 500


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    group = factory.SubFactory(CareGroupFactory)
    role = Membership.Role.CAREGIVER
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
