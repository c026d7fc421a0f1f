"""The episode lifecycle as data: which state may follow which. Pure, no ORM.

    open ──────────► escalating ◄────► acknowledged
      │                  │                  │
      └──────────────────┴──────────────────┴──► resolved (final)

`open`: just detected; the wearer is being checked on. `escalating`: caregivers are being paged.
`acknowledged`: a responder has taken it; "can't respond" or an expired ETA sends it back to
`escalating`. `resolved` is final: a new problem opens a new episode.
"""

from __future__ import annotations

from pulsera.lib.api_errors import DomainConflict

OPEN = "open"
ESCALATING = "escalating"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"

TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({ESCALATING, ACKNOWLEDGED, RESOLVED}),
    ESCALATING: frozenset({ACKNOWLEDGED, RESOLVED}),
    ACKNOWLEDGED: frozenset({ESCALATING, RESOLVED}),
    RESOLVED: frozenset(),
}
ACTIVE_STATES = frozenset({OPEN, ESCALATING, ACKNOWLEDGED})


class IllegalTransition(DomainConflict):
    code = "illegal_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"An episode that is {current} cannot become {target}.")
        self.current = current
        self.target = target


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


def transition_check(current: str, target: str) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
