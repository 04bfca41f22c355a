// socialcrm console: small behaviours htmx does not cover. No inline script anywhere (the CSP
// allows scripts from this origin only), nothing evaluated, customer text only ever set as text.
(function () {
  "use strict";

  function baseTitle() {
    return (document.body.dataset.title || document.title).replace(/^\(\d+\)\s*/, "");
  }

  // The unread count in the tab title, refreshed with the inbox rows.
  function updateTitle() {
    var rows = document.getElementById("rows");
    if (!rows) return;
    var unread = parseInt(rows.dataset.unread || "0", 10);
    document.title = (unread > 0 ? "(" + unread + ") " : "") + baseTitle();
  }

  // The character counter against the platform's limit.
  function bindCounter(root) {
    var box = (root || document).querySelector("#reply-text");
    var counter = document.getElementById("reply-count");
    if (!box || !counter || box.dataset.bound) return;
    box.dataset.bound = "1";
    var limit = parseInt(box.dataset.limit || "0", 10);
    function count() {
      var used = Array.from(box.value).length;
      if (limit) {
        counter.textContent = used + " / " + limit;
        counter.classList.toggle("over", used > limit);
      } else {
        counter.textContent = used + " characters";
      }
    }
    box.addEventListener("input", function () {
      // A canned answer: "/name" replaced by its text.
      var match = /^\/([a-z0-9_-]+)$/.exec(box.value.trim());
      if (match) {
        var pick = document.querySelector('.canned-pick[data-text][data-name="' + match[1] + '"]');
        if (pick) box.value = pick.dataset.text;
      }
      count();
    });
    count();
  }

  // Ctrl/Cmd + Enter sends the reply.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target && event.target.closest ? event.target.closest("form.reply, form.note") : null;
    if (!form) return;
    event.preventDefault();
    var send = form.querySelector('button[type="submit"][value="0"]') || form.querySelector('button[type="submit"]');
    if (send) form.requestSubmit(send);
  });

  // Tabs: reply and private note.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest("[role=tab]") : null;
    if (!tab) return;
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
  });

  // A confirmation that names what it acts on: the button stays disabled until it is typed.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.dataset || !input.dataset.confirm) return;
    var button = document.getElementById(input.dataset.confirmButton);
    if (button) button.disabled = input.value.trim() !== input.dataset.confirm;
  });

  function ready(root) {
    updateTitle();
    bindCounter(root);
  }

  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSettle", function (event) { ready(event.target); });
})();
