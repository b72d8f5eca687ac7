"""The page in a real browser (Debian's Chromium): with and without JavaScript, by keyboard, at 320 px."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError
from prometheus_client.parser import text_string_to_metric_families

from service.web.feedback import WEB_KEY_NAME
from tests.web.conftest import FeedbackSite

THREE_GOALS = (
    "1. Close 20 deals per month\n2. Be better at influencing senior people\n3. Read one report a week"
)
AXE = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"


def paste_and_check(page: Page, goals: str) -> None:
    page.get_by_label("Your goals").fill(goals)
    page.get_by_role("button", name="Check my goals").click()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations of impact serious or critical."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_three_pasted_goals_get_three_results_without_a_reload(page: Page, artifacts: Path) -> None:
    page.goto("/")
    page.evaluate("window.notReloaded = true")
    paste_and_check(page, THREE_GOALS)
    goals = page.locator("article.goal")
    expect(goals).to_have_count(3)
    expect(goals.nth(0).locator(".badge")).to_have_text("Performance goal")
    expect(goals.nth(1).locator(".badge")).to_have_text("Outcome goal")
    expect(goals.nth(2).locator(".badge")).to_have_text("Mastery goal")
    expect(goals.nth(0).locator(".rewrite-text")).to_have_count(3)
    expect(goals.nth(0).locator("button.copy").first).to_be_visible()
    expect(page.locator("#status")).to_have_text("Done: 3 goals checked.")
    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith("/")
    page.screenshot(path=artifacts / "three-goals-desktop.png", full_page=True)


def test_a_rewrite_is_copied_to_the_clipboard(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    paste_and_check(page, "Close 20 deals per month")
    first = page.locator(".rewrite").first
    first.get_by_role("button", name="Copy suggestion 1 for goal 1").click()
    expect(first.locator(".copy-label")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first.locator(".rewrite-text").inner_text()


def test_keyboard_only_path_with_visible_focus(page: Page, artifacts: Path) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "goals"
    page.keyboard.type("Close 20 deals per month\nbe a better leader")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("article.goal")).to_have_count(2)
    # Focus moves to the results, so the next Tab reaches the first copy button.
    expect(page.locator("#results")).to_be_focused()
    page.keyboard.press("Tab")
    copy = page.get_by_role("button", name="Copy suggestion 1 for goal 1")
    expect(copy).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px"
    page.keyboard.press("Enter")
    # Its accessible name changes with the label, so look the label up from the list item.
    expect(page.locator(".rewrite .copy-label").first).to_have_text("Copied")
    page.screenshot(path=artifacts / "keyboard-focus.png")


def test_form_works_with_javascript_off(browser: Browser, base_url: str, artifacts: Path) -> None:
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    paste_and_check(page, THREE_GOALS)
    page.wait_for_url("**/rewrite-form")
    expect(page.locator("article.goal")).to_have_count(3)
    expect(page.locator(".badge").first).to_have_text("Performance goal")
    expect(page.locator("button.copy").first).to_be_hidden()
    expect(page.get_by_label("Your goals")).to_have_value(THREE_GOALS)
    page.screenshot(path=artifacts / "no-javascript.png", full_page=True)
    context.close()


def test_a_script_goal_is_shown_as_text(page: Page) -> None:
    goal = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    page.goto("/")
    paste_and_check(page, goal)
    expect(page.locator("article.goal .goal-text")).to_have_text(goal)
    assert page.evaluate("window.pwned") is None
    assert page.locator("article.goal img").count() == 0


def test_a_failing_server_gets_a_message_a_person_understands(page: Page, console_errors: list[str]) -> None:
    page.route(
        "**/rewrite-form",
        lambda route: route.fulfill(
            status=500,
            json={"error": "internal", "message": "Something went wrong on our side."},
        ),
    )
    page.goto("/")
    paste_and_check(page, "sell more")
    # Not one of the server's own error pages (a proxy's, say): no status code, no JSON, what to do.
    expect(page.locator("#status")).to_have_text(
        "Your goals could not be checked: something went wrong on the server. Try again in a moment."
    )
    page.unroute("**/rewrite-form")
    page.route("**/rewrite-form", lambda route: route.abort())
    page.get_by_role("button", name="Check my goals").click()
    expect(page.locator("#status")).to_contain_text("the service did not answer")
    console_errors.clear()  # the browser logs the failed loads provoked here


def test_a_slow_answer_shows_that_it_is_loading(page: Page) -> None:
    held: list[Route] = []
    page.route("**/rewrite-form", lambda route: held.append(route))
    page.goto("/")
    paste_and_check(page, "sell more")
    expect(page.locator("#status")).to_have_text("Checking your goals…")
    expect(page.locator("#results")).to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("button", name="Check my goals")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#status")).to_contain_text("Still working", timeout=10_000)
    held[0].continue_()
    expect(page.locator("article.goal")).to_have_count(1)
    expect(page.locator("#results")).to_have_attribute("aria-busy", "false")


def test_no_serious_accessibility_violations(page: Page) -> None:
    page.goto("/")
    assert serious_violations(page) == []
    paste_and_check(page, THREE_GOALS + "\n4. " + "a" * 1001)
    expect(page.locator("article.goal")).to_have_count(4)
    page.locator("details.questions").first.locator("summary").click()
    assert serious_violations(page) == []


def test_usable_at_320_px_wide(browser: Browser, base_url: str, artifacts: Path) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto("/")
    paste_and_check(page, THREE_GOALS)
    expect(page.locator("article.goal")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert serious_violations(page) == []
    page.screenshot(path=artifacts / "three-goals-320px.png", full_page=True)
    context.close()


def test_keep_this_records_the_rewrite_in_place_at_320_px(
    browser: Browser, feedback_site: FeedbackSite, artifacts: Path
) -> None:
    context = browser.new_context(base_url=feedback_site.url, viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto("/")
    page.evaluate("window.notReloaded = true")
    paste_and_check(page, "Close 20 deals per month")
    first = page.locator(".rewrite").first
    first.get_by_role("button", name="Keep this suggestion 1 for goal 1").click()
    expect(first.locator(".feedback-status")).to_have_text("Thanks — recorded.")
    expect(first.locator(".feedback button")).to_have_count(2)
    expect(first.locator(".feedback button").first).to_be_hidden()
    expect(first.locator(".feedback button").last).to_be_hidden()
    expect(page.get_by_role("button", name="Not for me — suggestion 2 for goal 1")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    [record] = feedback_site.store.list()
    assert (record.goal, record.verdict, record.goal_kind.value) == (
        "Close 20 deals per month",
        "accepted",
        "performance",
    )
    assert record.rewrite == first.locator(".rewrite-text").inner_text()
    assert record.key_name == WEB_KEY_NAME
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert serious_violations(page) == []
    page.screenshot(path=artifacts / "feedback-recorded-320px.png", full_page=True)
    context.close()


def test_not_for_me_by_keyboard_leaves_the_focus_on_the_confirmation(
    page: Page, feedback_site: FeedbackSite, artifacts: Path
) -> None:
    page.goto(f"{feedback_site.url}/")
    paste_and_check(page, "Close 20 deals per month")
    expect(page.locator("#results")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Keep this suggestion 1 for goal 1")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Not for me — suggestion 1 for goal 1")).to_be_focused()
    page.screenshot(path=artifacts / "feedback-keyboard-focus.png")
    page.keyboard.press("Enter")
    status = page.locator(".rewrite").first.locator(".feedback-status")
    expect(status).to_have_text("Thanks — recorded.")
    expect(status).to_be_focused()
    assert [r.verdict for r in feedback_site.store.list()] == ["rejected"]
    # The next Tab goes on to the next suggestion, not back to the top of the page.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Copy suggestion 2 for goal 1")).to_be_focused()


def test_a_refused_feedback_says_why_and_keeps_the_buttons(
    page: Page, feedback_site: FeedbackSite, console_errors: list[str]
) -> None:
    page.goto(f"{feedback_site.url}/")
    paste_and_check(page, "Close 20 deals per month")
    first = page.locator(".rewrite").first
    first.locator("input[name=goal_kind]").evaluate("input => { input.value = 'wish'; }")
    first.get_by_role("button", name="Keep this suggestion 1 for goal 1").click()
    expect(first.locator(".feedback-status")).to_contain_text(
        "This feedback could not be recorded (the goal's kind: input should be"
    )
    expect(first.get_by_role("button", name="Keep this suggestion 1 for goal 1")).to_be_visible()
    assert feedback_site.store.count() == 0
    console_errors.clear()  # the browser logs the 422 answer provoked here


def test_feedback_works_with_javascript_off_and_back_shows_no_kept_results(
    browser: Browser, feedback_site: FeedbackSite, artifacts: Path
) -> None:
    context = browser.new_context(base_url=feedback_site.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    paste_and_check(page, THREE_GOALS)
    page.wait_for_url("**/rewrite-form")
    chosen = page.locator("article.goal").nth(1).locator(".rewrite-text").first.inner_text()
    page.get_by_role("button", name="Not for me — suggestion 1 for goal 2").click()
    page.wait_for_url("**/feedback-form")
    expect(page.get_by_role("heading", name="Thanks — recorded")).to_be_visible()
    expect(page.locator(".chosen")).to_have_text(chosen)
    [record] = feedback_site.store.list()
    assert (record.goal, record.rewrite, record.verdict) == (
        "Be better at influencing senior people",
        chosen,
        "rejected",
    )
    page.screenshot(path=artifacts / "feedback-no-javascript.png", full_page=True)
    # The results were not kept (no-store): Back shows none, and Chromium asks before it posts the goals
    # again (its "Confirm Form Resubmission" page, which Playwright reports as a cache miss).
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    expect(page.locator("article.goal")).to_have_count(0)
    assert rewrite_form_posts(feedback_site.url) == 1
    context.close()


def test_the_pages_that_answer_a_feedback_form_have_no_serious_violations(
    page: Page, feedback_site: FeedbackSite, artifacts: Path, console_errors: list[str]
) -> None:
    # axe needs scripts, so the form is sent as it is without them: submit() skips the page's handler.
    page.goto(f"{feedback_site.url}/")
    paste_and_check(page, "Close 20 deals per month")
    page.locator("form.feedback").first.evaluate(
        "form => { form.append(Object.assign(document.createElement('input'), "
        "{type: 'hidden', name: 'verdict', value: 'accepted'})); form.submit(); }"
    )
    page.wait_for_url("**/feedback-form")
    expect(page.get_by_role("heading", name="Thanks — recorded")).to_be_visible()
    assert serious_violations(page) == []
    page.goto(f"{feedback_site.url}/")
    paste_and_check(page, "Close 20 deals per month")
    page.locator("form.feedback").first.evaluate("form => form.submit()")
    expect(page.get_by_role("heading", name="Your feedback was not recorded")).to_be_visible()
    assert serious_violations(page) == []
    page.screenshot(path=artifacts / "feedback-refused.png", full_page=True)
    assert feedback_site.store.count() == 1
    console_errors.clear()  # the browser logs the 422 answer provoked here


def rewrite_form_posts(url: str) -> float:
    """How many goal pastes the server answered, from its Prometheus metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_total")
        and sample.labels.get("route") == "/rewrite-form"
        and sample.labels.get("method") == "POST"
    )


def test_confidence_is_a_word_and_a_heading_is_left_out(page: Page) -> None:
    page.goto("/")
    paste_and_check(page, "Goals for 2026:\n" + THREE_GOALS)
    goals = page.locator("article.goal")
    expect(goals).to_have_count(3)
    note = "Left out as a heading, not a goal: “Goals for 2026:”."
    expect(page.locator("#results .note")).to_have_text(note)
    expect(goals.nth(0).locator(".confidence")).to_have_text("likely")
    expect(page.locator("#results")).not_to_contain_text("% sure")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_a_french_goal_gets_a_notice_instead_of_english_rewrites(
    browser: Browser, base_url: str, artifacts: Path, javascript: bool
) -> None:
    context = browser.new_context(base_url=base_url, java_script_enabled=javascript)
    page = context.new_page()
    page.goto("/")
    paste_and_check(page, "Lire un rapport sectoriel chaque semaine\nRead one industry report a week")
    goals = page.locator("article.goal")
    expect(goals).to_have_count(2)
    french, english = goals.nth(0), goals.nth(1)
    expect(french.locator(".notice")).to_contain_text("This goal looks like French.")
    expect(french.locator(".confidence")).to_have_text(
        "unsure: the goal is in French; the built-in engine reads English only"
    )
    expect(french.locator(".rewrite")).to_have_count(0)
    engine = "Answered by the built-in engine, which reads English only."
    expect(french.locator(".engine")).to_have_text(engine)
    expect(english.locator(".notice")).to_have_count(0)
    page.screenshot(path=artifacts / f"french-goal-{'js-on' if javascript else 'js-off'}.png", full_page=True)
    context.close()
