/* Keeps a product upload's progress bar current: polls its JSON status (data-status-url) and reloads the page
   when the background job is done, so the server renders the result (preview and confirm button, or the
   import summary and errors). No inline script: the admin's Content-Security-Policy needs none. */
(function () {
  "use strict";
  var box = document.querySelector("[data-upload-progress]");
  if (!box) {
    return;
  }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-upload-progress-text]");
  var delay = 1000;
  var MAX_DELAY = 15000;

  function show(status) {
    text.textContent = status.message;
    if (status.total > 0) {
      bar.max = status.total;
      bar.value = status.done;
    } else {
      bar.removeAttribute("value"); // indeterminate: working, no count to show
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          throw new Error("gone");
        }
        if (!response.ok || (response.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
          throw new Error("retry"); // a server hiccup or a log-in page: try again later
        }
        return response.json();
      })
      .then(function (status) {
        if (status.finished) {
          window.location.reload();
          return;
        }
        show(status);
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function (error) {
        if (error.message === "gone") {
          text.textContent = "This upload can no longer be shown. Reload the page.";
          return;
        }
        delay = Math.min(delay * 2, MAX_DELAY);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
