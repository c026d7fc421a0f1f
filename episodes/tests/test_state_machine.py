"""The episode lifecycle table, without a database."""

from __future__ import annotations

import pytest

from episodes import state_machine as sm

LEGAL = {
    (sm.OPEN, sm.ESCALATING),
    (sm.OPEN, sm.ACKNOWLEDGED),
    (sm.OPEN, sm.RESOLVED),
    (sm.ESCALATING, sm.ACKNOWLEDGED),
    (sm.ESCALATING, sm.RESOLVED),
    (sm.ACKNOWLEDGED, sm.ESCALATING),
    (sm.ACKNOWLEDGED, sm.RESOLVED),
}
STATES = [sm.OPEN, sm.ESCALATING, sm.ACKNOWLEDGED, sm.RESOLVED]


@pytest.mark.parametrize("current", STATES)
@pytest.mark.parametrize("target", STATES)
def test_only_legal_transitions_pass(current, target):
    if (current, target) in LEGAL:
        sm.transition_check(current, target)
    else:
        with pytest.raises(sm.IllegalTransition):
            sm.transition_check(current, target)


def test_resolved_is_final():
    assert sm.TRANSITIONS[sm.RESOLVED] == frozenset()
    assert sm.RESOLVED not in sm.ACTIVE_STATES
