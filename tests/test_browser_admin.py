"""A staff clinician uses the admin in a real browser: logs in, finds an escalating episode, reads its
timeline, and acknowledges it with the admin action (which goes through the episode service)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts.services import clinician_role_ensure
from alerts.notify import alert_send
from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_escalate, episode_open
from tests.browser import browser, screenshot  # noqa: F401  (fixture)
from tests.factories import PASSWORD, UserFactory


def log_in(browser, base_url: str, user) -> None:  # noqa: F811
    """Log in through the form and wait until the admin index has loaded (the session is set)."""
    browser.get(f"{base_url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(user.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: "/admin/login/" not in b.current_url)
    assert browser.find_element(By.ID, "logout-form")


@pytest.fixture
def nurse(db):
    user = UserFactory(email="nurse@example.com", display_name="Nurse Kim", is_staff=True)
    user.groups.add(clinician_role_ensure())
    return user


@pytest.fixture
def escalating_episode(wearer, caregiver):
    episode, _ = episode_open(
        wearer=wearer,
        kind=Episode.Kind.DESATURATION,
        source=Episode.Source.RULE,
        severity=Episode.Severity.CRITICAL,
        explanation="SpO2 86% for 4 minutes at rest",
    )
    episode_escalate(episode=episode, reason="No answer to the check-in within 60 s")
    alert_send(episode=episode, recipient=caregiver, level="critical", purpose="page", message="Please look")
    return episode


@pytest.mark.django_db(transaction=True)
def test_a_clinician_acknowledges_an_episode_in_the_admin(browser, live_server, nurse, escalating_episode):  # noqa: F811
    log_in(browser, live_server.url, nurse)

    browser.get(f"{live_server.url}/admin/episodes/episode/?state__exact=escalating")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    assert "Rosa Garcia" in rows[0].text
    assert "Low blood oxygen" in rows[0].text
    screenshot(browser, "admin-episodes-escalating")

    rows[0].find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("acknowledge")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert "Acknowledged 1 episode(s)." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text

    browser.get(f"{live_server.url}/admin/episodes/episode/{escalating_episode.id}/change/")
    timeline = browser.find_element(By.ID, "events-group").text
    for expected in ("Opened", "Escalated", "Alert created", "Acknowledged", "Nurse Kim"):
        assert expected in timeline
    assert not browser.find_elements(By.CSS_SELECTOR, ".deletelink")  # history is never deleted
    screenshot(browser, "admin-episode-timeline")

    escalating_episode.refresh_from_db()
    assert escalating_episode.state == Episode.State.ACKNOWLEDGED
    assert escalating_episode.acknowledged_by == nurse
    assert escalating_episode.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED, actor=nurse).exists()


@pytest.mark.django_db(transaction=True)
def test_a_clinician_cannot_delete_history(browser, live_server, nurse, escalating_episode):  # noqa: F811
    log_in(browser, live_server.url, nurse)
    browser.get(f"{live_server.url}/admin/episodes/episodeevent/")
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "select[name=action] option")]
    assert "delete_selected" not in options
    browser.get(f"{live_server.url}/admin/vitals/vitalsample/")
    assert "Add vital sample" not in browser.page_source
