"""Feedback from the page over HTTP: the form under each rewrite, posted back, is stored as shown."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from service.schemas import RewriteResponse
from service.store.keys import KeyStore, Scope
from service.taxonomy import KINDS
from service.web.answers import GoalResult
from service.web.feedback import WEB_KEY_NAME, feedback_fields
from service.web.page import DEGRADED_WORDS, templates
from tests.web.conftest import FeedbackSite

# The fields of a "Keep this" post for an embedded rewrite, as the page sends them.
FORM = {
    "goal": "Close 20 deals per month",
    "rewrite": "I will call five lapsed customers every Monday.",
    "goal_kind": "performance",
    "engine": "embedded",
    "verdict": "accepted",
}


class FeedbackForms(HTMLParser):
    """The hidden fields of each feedback form on a page, and where each form posts."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self.actions: list[tuple[str, str]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form" and "feedback" in attr.get("class", "").split():
            self._open = True
            self.forms.append({})
            self.actions.append((attr.get("method", ""), attr.get("action", "")))
        elif tag == "input" and self._open and attr.get("type") == "hidden":
            self.forms[-1][attr["name"]] = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def feedback_forms(page: str) -> FeedbackForms:
    parser = FeedbackForms()
    parser.feed(page)
    return parser


def answered_page(http: httpx.Client, goals: str) -> str:
    response = http.post("/rewrite-form", data={"goals": goals})
    assert response.status_code == 200
    return response.text


def test_each_rewrite_has_a_plain_form_that_posts_to_the_page_not_the_api(client: httpx.Client) -> None:
    page = answered_page(client, "Close 20 deals per month\nBe better at influencing senior people")
    found = feedback_forms(page)
    assert len(found.forms) == page.count('class="rewrite-text"') == 6
    assert set(found.actions) == {("post", "/feedback-form")}
    assert all(set(form) == {"goal", "rewrite", "goal_kind", "engine"} for form in found.forms)
    assert page.count('name="verdict" value="accepted"') == page.count('name="verdict" value="rejected"') == 6
    assert "Keep this" in page
    assert "Not for me" in page
    assert "/v1" not in page
    assert "/v1" not in client.get("/static/page.js").text
    assert "authorization" not in client.get("/static/page.js").text.lower()


def test_posting_a_rewrites_form_stores_that_verdict_durably(feedback_site: FeedbackSite) -> None:
    with httpx.Client(base_url=feedback_site.url, timeout=60) as http:
        page = answered_page(http, "Close 20 deals per month")
        fields = feedback_forms(page).forms[1]
        response = http.post("/feedback-form", data={**fields, "verdict": "rejected"})
    assert response.status_code == 200
    assert "Thanks — recorded" in response.text
    assert "You marked this suggestion as not for you" in " ".join(response.text.split())
    [record] = feedback_site.store.list()
    assert (record.goal, record.rewrite, record.verdict) == (
        "Close 20 deals per month",
        fields["rewrite"],
        "rejected",
    )
    assert (record.goal_kind.value, record.engine) == ("performance", "embedded")
    assert record.key_name == WEB_KEY_NAME
    assert record.subject is None
    assert record.prompt_version is None


def test_an_llm_rewrites_prompt_version_is_stored(feedback_site: FeedbackSite) -> None:
    fields = {**FORM, "engine": "llm", "prompt_version": "rewrite@3"}
    with httpx.Client(base_url=feedback_site.url, timeout=30) as http:
        assert http.post("/feedback-form", data=fields).status_code == 200
    [record] = feedback_site.store.list()
    assert (record.engine, record.prompt_version, record.verdict) == ("llm", "rewrite@3", "accepted")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"verdict": "maybe"}, "the choice: input should be 'accepted' or 'rejected'"),
        ({"verdict": ""}, "the choice: input should be 'accepted' or 'rejected'"),
        ({"goal": " "}, "the goal is empty"),
        ({"goal": "fix\x01bugs"}, "the goal contains a control character (U+0001)"),
        ({"rewrite": "x" * 2001}, "the suggestion: string should have at most 2000 characters"),
        ({"goal_kind": "wish"}, "the goal's kind: input should be 'outcome', 'performance' or 'mastery'"),
    ],
)
def test_a_bad_form_gets_a_readable_422_and_nothing_is_stored(
    feedback_site: FeedbackSite, change: dict[str, str], says: str
) -> None:
    fields = dict(FORM)
    with httpx.Client(base_url=feedback_site.url, timeout=30) as http:
        response = http.post("/feedback-form", data={**fields, **change})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "This feedback could not be recorded" in response.text
    assert says in response.text.replace("&#39;", "'")
    assert 'role="alert"' in response.text
    assert feedback_site.store.count() == 0


@pytest.mark.parametrize(
    "headers",
    [{"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}, {"origin": "https://evil.example"}],
)
def test_a_feedback_post_from_another_site_is_refused_and_not_stored(
    feedback_site: FeedbackSite, headers: dict[str, str]
) -> None:
    fields = dict(FORM)
    with httpx.Client(base_url=feedback_site.url, timeout=30) as http:
        response = http.post("/feedback-form", data=fields, headers=headers)
        same_origin = {"sec-fetch-site": "same-origin", "origin": feedback_site.url}
        assert http.post("/feedback-form", data=fields, headers=same_origin).status_code == 200
    assert response.status_code == 403
    assert "another website" in response.json()["message"]
    assert feedback_site.store.count() == 1


def test_the_page_records_feedback_without_a_key_when_api_keys_exist(feedback_site: FeedbackSite) -> None:
    KeyStore(feedback_site.database).create(name="hr-tool", scopes=[Scope.FEEDBACK])
    fields = dict(FORM)
    with httpx.Client(base_url=feedback_site.url, timeout=30) as http:
        assert http.post("/v1/feedback", json=fields).status_code == 401, "keys are in force for the API"
        assert http.post("/feedback-form", data=fields).status_code == 200
    [record] = feedback_site.store.list()
    assert record.key_name == WEB_KEY_NAME


def _answer(*, rewrite_engines: list[str], llm: bool) -> RewriteResponse:
    scores = {
        "controllability": 0.9,
        "rules_passed": 1.0,
        "failed_rules": [],
        "intent": 0.6,
        "specificity": 1.0,
        "overall": 0.8,
    }
    trace = {
        "model": "m",
        "prompt": "rewrite",
        "prompt_version": "rewrite@7",
        "reasks": 0,
        "usage": {"calls": 1},
    }
    return RewriteResponse.model_validate(
        {
            "goal": "Close 20 deals per month",
            "classification": {
                "kind": "performance",
                "confidence": 0.98,
                "probabilities": {"outcome": 0.01, "performance": 0.98, "mastery": 0.01},
                "reason": "It sets a target.",
                "engine": "embedded",
                "decision": "confident",
            },
            "already_mastery": False,
            "message": "A performance goal.",
            "rewrites": [
                {
                    "text": f"I will practise {n} every week.",
                    "serves": "deals",
                    "progress_measure": "practices",
                    "cadence": "weekly",
                    "rationale": "yours",
                    "scores": scores,
                    "engine": engine,
                }
                for n, engine in enumerate(rewrite_engines)
            ],
            "coaching_questions": [],
            "engine": "llm" if llm else "embedded",
            "llm": trace if llm else None,
        }
    )


def test_the_prompt_version_goes_only_with_a_rewrite_the_llm_wrote() -> None:
    answer = _answer(rewrite_engines=["llm", "embedded"], llm=True)
    by_llm, from_playbook = (feedback_fields(answer, rewrite) for rewrite in answer.rewrites)
    assert by_llm["prompt_version"] == "rewrite@7"
    assert by_llm["engine"] == "llm"
    assert "prompt_version" not in from_playbook
    assert from_playbook["engine"] == "embedded"
    embedded = _answer(rewrite_engines=["embedded"], llm=False)
    assert "prompt_version" not in feedback_fields(embedded, embedded.rewrites[0])


def test_the_rendered_form_carries_the_prompt_version_of_an_llm_rewrite() -> None:
    answer = _answer(rewrite_engines=["llm", "embedded"], llm=True)
    result = GoalResult(number=1, goal=answer.goal, answer=answer)
    html = templates.get_template("_result.html").render(
        result=result, kind_info=KINDS, degraded_words=DEGRADED_WORDS
    )
    forms = feedback_forms(html).forms
    assert [form.get("prompt_version") for form in forms] == ["rewrite@7", None]
    assert [form["rewrite"] for form in forms] == [rewrite.text for rewrite in answer.rewrites]
