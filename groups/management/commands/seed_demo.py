"""`manage.py seed_demo`: a realistic family, a community with zones, devices and some history.

Idempotent: running it again changes nothing that exists (history is added only to wearers who
have none). Device tokens are rotated on every run and written to var/demo-devices.json, because
only their hashes are stored.
"""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import clinician_role_ensure
from alerts.escalation import episode_close, episode_take
from alerts.models import Alert, EscalationPolicy, EscalationStep
from alerts.notify import alert_send
from episodes.models import Episode
from episodes.services import episode_escalate, episode_open
from groups.models import CareGroup, Membership
from groups.services import group_create, member_add
from vitals.models import Device, VitalSample
from vitals.services import device_register, device_token_rotate, samples_ingest
from vitals.validation import ParsedBatch, SampleInput
from zones.models import Zone

PASSWORD = "pulsera-demo"
PEOPLE = [
    # email, display name, phone, time zone, admin access (superuser / clinician / none)
    ("admin@pulsera.demo", "Pulsera Admin", "", "UTC", "superuser"),
    ("nurse@pulsera.demo", "Nurse Kim Lee", "+34600100008", "Europe/Madrid", "clinician"),
    ("rosa@pulsera.demo", "Rosa Garcia", "+34600100001", "Europe/Madrid", ""),
    ("elena@pulsera.demo", "Elena Garcia", "+34600100002", "Europe/Madrid", ""),
    ("marco@pulsera.demo", "Marco Garcia", "+34600100003", "Europe/Madrid", ""),
    ("dr.patel@pulsera.demo", "Dr. Amara Patel", "+34600100004", "Europe/Madrid", ""),
    ("sam@pulsera.demo", "Sam Rivera", "+34600100005", "Europe/Madrid", ""),
    ("tom@pulsera.demo", "Tom Okafor", "+34600100006", "Europe/Madrid", ""),
    ("lin@pulsera.demo", "Lin Chen", "+34600100007", "Europe/Madrid", ""),
]
ROLES = {
    "rosa@pulsera.demo": "wears a watch; family: Elena (admin) and Marco look after her, Dr. Patel is her clinician",
    "elena@pulsera.demo": "Rosa's daughter: admin of the Garcia family, first to be paged",
    "marco@pulsera.demo": "Rosa's son: second to be paged",
    "dr.patel@pulsera.demo": "clinician of the Garcia family",
    "sam@pulsera.demo": "coordinator of the Maple Court community",
    "tom@pulsera.demo": "Maple Court neighbour with a watch",
    "lin@pulsera.demo": "Maple Court neighbour with a watch",
    "admin@pulsera.demo": "staff superuser: everything in the clinical admin at /admin/",
    "nurse@pulsera.demo": "staff clinician: the admin with the 'Clinicians' role (no deletes, history read-only)",
}
MAPLE_COURT = {
    "type": "Polygon",
    "coordinates": [
        [[-3.7060, 40.4150], [-3.7010, 40.4150], [-3.7010, 40.4185], [-3.7060, 40.4185], [-3.7060, 40.4150]]
    ],
}
RIVERSIDE = {"type": "Point", "coordinates": [-3.7200, 40.4100]}
HISTORY_HOURS = 6


class Command(BaseCommand):
    help = "Create (or top up) the demo family, community, zones, devices and history, and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            people = {email: self._person(email, name, phone, tz, access) for email, name, phone, tz, access in PEOPLE}
            family = self._group("The Garcia family", CareGroup.Kind.FAMILY, people["elena@pulsera.demo"])
            self._member(family, people["rosa@pulsera.demo"], Membership.Role.WEARER)
            self._member(family, people["marco@pulsera.demo"], Membership.Role.CAREGIVER, 2)
            self._member(family, people["dr.patel@pulsera.demo"], Membership.Role.CLINICIAN)
            Membership.objects.filter(group=family, user=people["elena@pulsera.demo"]).update(escalation_order=1)
            self._policy(family)

            community = self._group("Maple Court neighbours", CareGroup.Kind.COMMUNITY, people["sam@pulsera.demo"])
            for email in ("rosa@pulsera.demo", "tom@pulsera.demo", "lin@pulsera.demo"):
                self._member(community, people[email], Membership.Role.WEARER)
            Zone.objects.get_or_create(
                name="Maple Court", group=community, defaults={"kind": Zone.Kind.NEIGHBOURHOOD, "geometry": MAPLE_COURT}
            )
            Zone.objects.get_or_create(
                name="Riverside Park",
                group=community,
                defaults={"kind": Zone.Kind.NEIGHBOURHOOD, "geometry": RIVERSIDE, "radius_m": 400},
            )

        tokens = {}
        for email in ("rosa@pulsera.demo", "tom@pulsera.demo", "lin@pulsera.demo"):
            wearer = people[email]
            device, token = self._device(wearer)
            tokens[email] = {"device_id": device.id, "name": device.name, "token": token}
            if not VitalSample.objects.filter(wearer=wearer).exists():
                self._history(device, seed=device.id)
                self.stdout.write(f"  added {HISTORY_HOURS} h of vitals for {wearer}")
        self._episodes(people)

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        token_file = settings.VAR_DIR / "demo-devices.json"
        token_file.write_text(json.dumps(tokens, indent=2))
        self._print_logins(token_file)

    # ---- building blocks (each idempotent) ---------------------------------------------------

    def _person(self, email: str, name: str, phone: str, tz: str, access: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=PASSWORD, display_name=name, phone=phone, time_zone=tz,
                is_staff=bool(access), is_superuser=access == "superuser",
            )  # fmt: skip
            self.stdout.write(f"  created {email}")
        if access == "clinician":
            user.groups.add(clinician_role_ensure())
        return user

    def _group(self, name: str, kind: str, admin: User) -> CareGroup:
        group = CareGroup.objects.filter(name=name).first()
        return group or group_create(name=name, kind=kind, created_by=admin)

    def _member(self, group: CareGroup, user: User, role: str, order: int | None = None) -> None:
        if not Membership.objects.filter(group=group, user=user).exists():
            member_add(group=group, user=user, role=role, escalation_order=order)

    def _policy(self, group: CareGroup) -> None:
        policy, created = EscalationPolicy.objects.get_or_create(group=group, defaults={"name": "Family chain"})
        if not created:
            return
        steps = [
            {"action": EscalationStep.Action.NOTIFY_NEXT_CAREGIVER, "channel": Alert.Channel.EMAIL},
            {"action": EscalationStep.Action.WAIT, "wait_minutes": 5},
            {"action": EscalationStep.Action.NOTIFY_NEXT_CAREGIVER, "channel": Alert.Channel.EMAIL},
            {"action": EscalationStep.Action.WAIT, "wait_minutes": 5},
            {"action": EscalationStep.Action.NOTIFY_ALL_CAREGIVERS, "channel": Alert.Channel.EMAIL},
            {"action": EscalationStep.Action.REPEAT, "repeat_times": 2},
        ]
        for position, step in enumerate(steps, start=1):
            EscalationStep.objects.create(policy=policy, position=position, **step)

    def _device(self, wearer: User) -> tuple[Device, str]:
        device = Device.objects.filter(wearer=wearer).first()
        if device is None:
            return device_register(wearer=wearer, name=f"{wearer.get_short_name()}'s watch")
        return device, device_token_rotate(device=device)

    def _history(self, device: Device, *, seed: int) -> None:
        """A plausible resting day: a gentle circadian heart rate, noise, a walk, SpO2 in the 90s."""
        rng = random.Random(seed)
        now = timezone.now().replace(second=0, microsecond=0)
        start = now - timedelta(hours=HISTORY_HOURS)
        resting = rng.uniform(62, 74)
        samples = []
        for minute in range(HISTORY_HOURS * 60):
            at = start + timedelta(minutes=minute)
            walking = 150 <= minute < 180
            hour = at.hour + at.minute / 60
            heart = resting + 4 * math.sin((hour - 16) / 24 * 2 * math.pi) + rng.gauss(0, 2) + (28 if walking else 0)
            samples.append(
                SampleInput(
                    sequence=minute,
                    recorded_at=at,
                    heart_rate=round(heart, 1),
                    hrv_ms=round(max(8.0, 45 - (heart - resting) * 0.8 + rng.gauss(0, 5)), 1),
                    spo2=round(min(100.0, rng.gauss(96.5, 0.8)), 1),
                    respiratory_rate=round(rng.gauss(15, 1.2), 1),
                    skin_temp_c=round(rng.gauss(33.2, 0.3), 2),
                    steps=rng.randint(80, 110) if walking else rng.choice([0, 0, 0, 2, 5]),
                    motion_g=round(rng.uniform(1.1, 1.6) if walking else rng.uniform(0.98, 1.05), 3),
                )
            )
        for chunk in range(0, len(samples), 500):
            samples_ingest(
                device=device, batch=ParsedBatch(samples=samples[chunk : chunk + 500], rejected=[], battery_pct=None)
            )
        device.battery_pct = rng.randint(55, 95)
        device.save(update_fields=["battery_pct"])

    def _episodes(self, people: dict[str, User]) -> None:
        rosa, elena, marco = people["rosa@pulsera.demo"], people["elena@pulsera.demo"], people["marco@pulsera.demo"]
        if Episode.objects.filter(wearer=rosa).exists():
            return
        # Three days ago: resting tachycardia at night, Elena paged and acknowledged, Rosa recovered.
        episode, _ = episode_open(
            wearer=rosa,
            kind=Episode.Kind.TACHYCARDIA,
            source=Episode.Source.RULE,
            severity=Episode.Severity.HIGH,
            score=0.91,
            explanation="Heart rate 128 at rest at 03:10; her usual is 66 ± 5 at this hour. Not exercising.",
        )
        episode_escalate(episode=episode, reason="No answer to the check-in within 60 s.")
        alert_send(
            episode=episode, purpose=Alert.Purpose.PAGE, level=Alert.Level.URGENT, recipient=elena,
            message="High heart rate for Rosa: she did not answer 'are you OK?'.",
        )  # fmt: skip
        episode_take(episode=episode, by=elena, response=Alert.Response.CALLED_THEM)
        episode_close(
            episode=episode,
            by=elena,
            resolution=Episode.Resolution.RECOVERED,
            note="Called her; she felt dizzy, resting now.",
        )
        self._backdate(episode, days=3)
        # Yesterday: an SOS pressed by mistake, resolved by Marco as a false alarm.
        episode, _ = episode_open(
            wearer=rosa,
            kind=Episode.Kind.SOS,
            source=Episode.Source.SOS,
            severity=Episode.Severity.CRITICAL,
            actor=rosa,
        )
        episode_close(
            episode=episode,
            by=marco,
            resolution=Episode.Resolution.FALSE_ALARM,
            note="Pressed by mistake while gardening.",
        )
        self._backdate(episode, days=1)
        self.stdout.write("  added Rosa's episode history")

    def _backdate(self, episode: Episode, *, days: int) -> None:
        shift = timedelta(days=days)
        episode.refresh_from_db()
        Episode.objects.filter(id=episode.id).update(
            started_at=episode.started_at - shift,
            acknowledged_at=episode.acknowledged_at - shift if episode.acknowledged_at else None,
            resolved_at=episode.resolved_at - shift if episode.resolved_at else None,
        )
        for event in episode.events.all():
            event.at -= shift
            event.save(update_fields=["at"])
        for alert in episode.alerts.all():
            alert.created_at -= shift
            alert.acknowledged_at = alert.acknowledged_at - shift if alert.acknowledged_at else None
            alert.save(update_fields=["created_at", "acknowledged_at"])

    def _print_logins(self, token_file: Any) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nDemo ready. Every demo login uses the password '{PASSWORD}':"))
        for email, _, _, _, _ in PEOPLE:
            self.stdout.write(f"  {email:<24} {ROLES[email]}")
        self.stdout.write(f"Device tokens for the demo watches (rotated on each run): {token_file}\n")
