"""Escalation chains as data: the snapshot taken when an episode starts, and walking it. Pure.

A walk runs from the current step through every notify step up to the next wait, the end of the
chain, or a repeat (which jumps back to the first step until it has repeated `repeat_times`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOTIFY_ACTIONS = frozenset(
    {"notify_person", "notify_role", "notify_all_caregivers", "notify_next_caregiver", "notify_emergency_contacts"}
)

# Used when a group has no chain of its own. Distress: the primary caregiver, then the next, then
# everyone including emergency contacts, twice more. No data: gentler, and no emergency contacts.
DEFAULT_STEPS: dict[str, list[dict[str, Any]]] = {
    "distress": [
        {"action": "notify_next_caregiver", "channel": "email"},
        {"action": "wait", "wait_minutes": 5},
        {"action": "notify_next_caregiver", "channel": "email"},
        {"action": "wait", "wait_minutes": 5},
        {"action": "notify_all_caregivers", "channel": "sms"},
        {"action": "notify_emergency_contacts", "channel": "sms"},
        {"action": "wait", "wait_minutes": 10},
        {"action": "repeat", "repeat_times": 2},
    ],
    "no_data": [
        {"action": "notify_next_caregiver", "channel": "email"},
        {"action": "wait", "wait_minutes": 60},
        {"action": "notify_all_caregivers", "channel": "email"},
    ],
}
DEFAULT_REMINDER_MINUTES = {"distress": 15, "no_data": 0}


def step_normalise(step: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        "position": position,
        "action": step["action"],
        "person_id": step.get("person_id"),
        "role": step.get("role", ""),
        "channel": step.get("channel", "in_app"),
        "wait_minutes": int(step.get("wait_minutes") or 0),
        "repeat_times": int(step.get("repeat_times") or 0),
    }


def snapshot_default(purpose: str, group_id: int | None) -> dict[str, Any]:
    steps = DEFAULT_STEPS[purpose]
    return {
        "policy_id": None,
        "group_id": group_id,
        "name": "Default chain",
        "purpose": purpose,
        "reminder_minutes": DEFAULT_REMINDER_MINUTES[purpose],
        "steps": [step_normalise(s, i + 1) for i, s in enumerate(steps)],
    }


def chain_problems(steps: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a chain as a whole (each step checks itself)."""
    problems = []
    if not any(s["action"] in NOTIFY_ACTIONS for s in steps):
        problems.append("A chain needs at least one step that notifies someone.")
    for i, s in enumerate(steps):
        if s["action"] == "repeat" and not any(t["action"] == "wait" for t in steps[:i]):
            problems.append(f"Step {s['position']} repeats without a wait before it: it would page in a tight loop.")
    return problems


@dataclass
class Walk:
    notify: list[dict[str, Any]] = field(default_factory=list)
    wait_minutes: int | None = None  # None: the chain ended
    step_index: int = 0
    repeats_done: int = 0

    @property
    def finished(self) -> bool:
        return self.wait_minutes is None


def walk(steps: list[dict[str, Any]], step_index: int, repeats_done: int) -> Walk:
    """The notify steps to run now from `step_index`, and how long to wait before the next walk."""
    out = Walk(step_index=step_index, repeats_done=repeats_done)
    jumped = False
    while out.step_index < len(steps):
        step = steps[out.step_index]
        out.step_index += 1
        if step["action"] in NOTIFY_ACTIONS:
            out.notify.append(step)
        elif step["action"] == "wait":
            out.wait_minutes = step["wait_minutes"]
            return out
        elif step["action"] == "repeat" and out.repeats_done < step["repeat_times"] and not jumped:
            out.repeats_done += 1
            out.step_index = 0
            jumped = True  # one jump per walk: a chain without waits can't loop here
            if out.notify:
                out.wait_minutes = 1
                return out
    return out
