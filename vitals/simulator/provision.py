"""Devices for simulated watches: the demo wearers first, then `sim-NNNN@pulsera.demo` wearers in a
"Simulated wearers" facility group. Idempotent; tokens are rotated (only hashes are stored)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from accounts.models import User
from groups.models import CareGroup, Membership
from groups.services import consents_sync, group_create
from vitals.models import Device, VitalSample
from vitals.services import device_token_assign

DEMO_WEARERS = ["rosa@pulsera.demo", "tom@pulsera.demo", "lin@pulsera.demo"]
SIM_GROUP = "Simulated wearers"
COORDINATOR = "sim-coordinator@pulsera.demo"


@dataclass
class ProvisionedWatch:
    device_id: int
    wearer_id: int
    wearer: str
    token: str
    next_sequence: int  # a real watch keeps counting after a restart


def _sim_wearers(count: int) -> list[User]:
    if count <= 0:
        return []
    emails = [f"sim-{i:04d}@pulsera.demo" for i in range(1, count + 1)]
    existing = {u.email: u for u in User.objects.filter(email__in=emails)}
    missing = []
    for i, email in enumerate(emails, start=1):
        if email not in existing:
            user = User(email=email, display_name=f"Simulated wearer {i}", time_zone="Europe/Madrid")
            user.set_unusable_password()
            missing.append(user)
    User.objects.bulk_create(missing, batch_size=1000)
    users = list(User.objects.filter(email__in=emails).order_by("email"))
    coordinator = User.objects.filter(email=COORDINATOR).first()
    if coordinator is None:
        coordinator = User.objects.create_user(
            email=COORDINATOR, password="pulsera-demo", display_name="Simulation coordinator"
        )
    group = CareGroup.objects.filter(name=SIM_GROUP).first() or group_create(
        name=SIM_GROUP, kind=CareGroup.Kind.FACILITY, created_by=coordinator
    )
    members = set(Membership.objects.filter(group=group).values_list("user_id", flat=True))
    Membership.objects.bulk_create(
        [Membership(group=group, user=u, role=Membership.Role.WEARER) for u in users if u.id not in members],
        batch_size=1000,
    )
    consents_sync(group)
    return users


@transaction.atomic
def watches_provision(count: int) -> list[ProvisionedWatch]:
    """`count` wearers with one watch each, with fresh tokens."""
    demo = {u.email: u for u in User.objects.filter(email__in=DEMO_WEARERS)}
    wearers = [demo[e] for e in DEMO_WEARERS if e in demo][:count]
    wearers += _sim_wearers(count - len(wearers))
    devices = {
        d.wearer_id: d for d in Device.objects.filter(wearer__in=wearers, revoked_at__isnull=True).order_by("id")
    }
    tokens: dict[int, str] = {}
    new = []
    for wearer in wearers:
        device = devices.get(wearer.id)
        if device is None:
            device = Device(wearer=wearer, name=f"{wearer.get_short_name()}'s watch")
            new.append(device)
            devices[wearer.id] = device
        tokens[wearer.id] = device_token_assign(device)
    Device.objects.bulk_create(new, batch_size=1000)
    Device.objects.bulk_update(
        [d for d in devices.values() if d not in new], ["token_hash", "token_prefix"], batch_size=1000
    )
    last = dict(
        VitalSample.objects.filter(device__in=[d.id for d in devices.values()])
        .values("device_id")
        .annotate(last=Max("sequence"))
        .values_list("device_id", "last")
    )
    watches = [
        ProvisionedWatch(
            device_id=devices[w.id].id,
            wearer_id=w.id,
            wearer=w.email,
            token=tokens[w.id],
            next_sequence=last.get(devices[w.id].id, -1) + 1,
        )
        for w in wearers
    ]
    _demo_tokens_update([w for w in watches if w.wearer in DEMO_WEARERS])
    return watches


def _demo_tokens_update(watches: list[ProvisionedWatch]) -> None:
    """Keep var/demo-devices.json (written by seed_demo) true after rotating the demo watches' tokens."""
    path = settings.VAR_DIR / "demo-devices.json"
    if not watches or not path.exists():
        return
    tokens = json.loads(path.read_text())
    for watch in watches:
        tokens[watch.wearer] = {
            "device_id": watch.device_id,
            "name": tokens.get(watch.wearer, {}).get("name", ""),
            "token": watch.token,
        }
    path.write_text(json.dumps(tokens, indent=2))
