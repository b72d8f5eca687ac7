// Progressive enhancement: the form posts and the page works without this file. With it, answers
// replace the results section without a reload, slow answers say so, rewrites get a copy button, and
// feedback on a rewrite is recorded in place.
"use strict";

(function () {
  const SLOW_MS = 4000;
  const form = document.getElementById("goal-form");
  const status = document.getElementById("status");
  const submit = form.querySelector("button[type=submit]");
  let busy = false;

  function showCopyButtons() {
    document.querySelectorAll("button.copy").forEach(function (button) { button.hidden = false; });
  }

  function setBusy(on) {
    busy = on;
    form.classList.toggle("busy", on);
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
    submit.setAttribute("aria-disabled", String(on));
    document.getElementById("results").setAttribute("aria-busy", String(on));
  }

  // The answer as a document, when it is HTML: every error of the page's own posts comes back so.
  async function htmlOf(response) {
    const type = response.headers.get("content-type") || "";
    return type.includes("text/html")
      ? new DOMParser().parseFromString(await response.text(), "text/html")
      : null;
  }

  // What the server told the person went wrong, in the words of its error page; empty when the answer
  // is not one of ours (a proxy's page, say).
  function errorMessage(page) {
    const message = page && page.getElementById("error-message");
    return message ? message.textContent.replace(/\s+/g, " ").trim() : "";
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) {
      return;
    }
    setBusy(true);
    status.textContent = "Checking your goals…";
    const slow = setTimeout(function () {
      status.textContent = "Still working: suggestions from the AI service can take up to half a minute.";
    }, SLOW_MS);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "text/html" },
      });
      const page = await htmlOf(response);
      // The route's own errors (a paste refused, the service starting, the budget spent) come inside the
      // results; one met before the route (a refused post, a body too large) on a page of its own.
      const fresh = page && page.getElementById("results");
      if (!fresh) {
        status.textContent = errorMessage(page) ||
          "Your goals could not be checked: something went wrong on the server. Try again in a moment.";
        return;
      }
      document.getElementById("results").replaceWith(fresh);
      showCopyButtons();
      const count = fresh.querySelectorAll("article.goal").length;
      status.textContent = count ? "Done: " + count + (count === 1 ? " goal" : " goals") + " checked." : "";
      fresh.focus();
    } catch (error) {
      status.textContent = "Your goals could not be sent: the service did not answer. " +
        "Check your connection and try again.";
    } finally {
      clearTimeout(slow);
      setBusy(false);
    }
  });

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button.copy");
    if (!button) {
      return;
    }
    const source = document.getElementById(button.dataset.copy);
    const label = button.querySelector(".copy-label");
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      label.textContent = "Copied";
      status.textContent = "Copied to the clipboard.";
    } catch (error) {
      // No clipboard access (plain http off localhost, or refused): select it so Ctrl+C copies it.
      selectText(source);
      label.textContent = "Selected";
      status.textContent = "Selected: press Ctrl+C (or Cmd+C) to copy.";
    }
    setTimeout(function () { label.textContent = "Copy"; }, 2500);
  });

  // Feedback forms arrive with each new set of results, so one listener on the document serves them all.
  document.addEventListener("submit", async function (event) {
    const feedback = event.target.closest("form.feedback");
    if (!feedback) {
      return;
    }
    event.preventDefault();
    if (feedback.getAttribute("aria-busy") === "true") {
      return;
    }
    const note = feedback.querySelector(".feedback-status");
    const buttons = feedback.querySelectorAll("button");
    const hadFocus = feedback.contains(document.activeElement);
    feedback.setAttribute("aria-busy", "true");
    buttons.forEach(function (button) { button.setAttribute("aria-disabled", "true"); });
    note.textContent = "Recording…";
    try {
      const response = await fetch(feedback.action, {
        method: "POST",
        // The submitter carries the verdict: the button that was pressed.
        body: new URLSearchParams(new FormData(feedback, event.submitter)),
        headers: { Accept: "text/html" },
      });
      if (response.ok) {
        buttons.forEach(function (button) { button.hidden = true; });
        note.textContent = "Thanks — recorded.";
        if (hadFocus) {
          note.focus();
        }
      } else {
        note.textContent = errorMessage(await htmlOf(response)) ||
          "Not recorded: something went wrong on the server. Try again in a moment.";
      }
    } catch (error) {
      note.textContent = "Not recorded: the service did not answer. Check your connection and try again.";
    } finally {
      feedback.setAttribute("aria-busy", "false");
      buttons.forEach(function (button) { button.removeAttribute("aria-disabled"); });
    }
  });

  showCopyButtons();
})();
