"""The page in a real browser (Debian's Chromium): with and without JavaScript, by keyboard, at 320 px."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Route, expect

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
    expect(page.locator("#status")).to_have_text(
        "Your goals could not be checked (error 500). Something went wrong on our side. "
        "Try again in a moment."
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
