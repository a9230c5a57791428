// Mentions in a comment: typing "@" and letters in a textarea with data-members opens the
// listbox it controls (aria-controls) with the members whose names match; arrow keys move,
// Enter or a click picks (inserting "@Name", which the server writes as the mention the
// comments API reads, "@[Name](id)"),
// Escape closes. Delegated from the document, so that a task pane htmx swaps in works too.
(function () {
  "use strict";
  var TYPED = /(^|\s)@([^\s@[\]()]*)$/u;

  function state(box) {
    var list = document.getElementById(box.getAttribute("aria-controls"));
    var before = box.value.slice(0, box.selectionStart);
    var found = TYPED.exec(before);
    return { list: list, found: found, caret: box.selectionStart };
  }

  function close(box, list) {
    if (!list) return;
    list.hidden = true;
    list.replaceChildren();
    box.removeAttribute("aria-activedescendant");
  }

  function active(list) {
    return list.querySelector('[aria-selected="true"]');
  }

  function choose(box, list, option) {
    var now = state(box);
    if (!now.found) return close(box, list);
    var start = now.caret - now.found[2].length - 1;
    var mention = "@" + option.dataset.name + " ";
    box.value = box.value.slice(0, start) + mention + box.value.slice(now.caret);
    box.selectionStart = box.selectionEnd = start + mention.length;
    close(box, list);
    box.focus();
  }

  function mark(box, list, option) {
    list.querySelectorAll('[role="option"]').forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
    });
    box.setAttribute("aria-activedescendant", option.id);
  }

  function open(box) {
    var now = state(box);
    if (!now.list) return;
    if (!now.found) return close(box, now.list);
    var typed = now.found[2].toLowerCase();
    var members = JSON.parse(box.dataset.members || "[]").filter(function (member) {
      return member[0].toLowerCase().indexOf(typed) !== -1;
    });
    if (!members.length) return close(box, now.list);
    now.list.replaceChildren();
    members.forEach(function (member, index) {
      var option = document.createElement("li");
      option.setAttribute("role", "option");
      option.id = now.list.id + "-" + index;
      option.dataset.name = member[0];
      option.dataset.id = member[1];
      option.textContent = member[0];
      now.list.appendChild(option);
    });
    now.list.hidden = false;
    mark(box, now.list, now.list.firstElementChild);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("textarea[data-members]")) open(event.target);
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("textarea[data-members]")) return;
    var list = document.getElementById(box.getAttribute("aria-controls"));
    if (!list || list.hidden) return;
    var current = active(list);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? current.nextElementSibling : current.previousElementSibling;
      mark(box, list, next || current);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(box, list, current);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(box, list);
    }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest('[role="listbox"] [role="option"]');
    if (!option) return;
    event.preventDefault(); // the textarea keeps the focus
    var list = option.parentElement;
    var box = document.querySelector('textarea[aria-controls="' + list.id + '"]');
    if (box) choose(box, list, option);
  });

  document.addEventListener("focusout", function (event) {
    var box = event.target;
    if (box.matches && box.matches("textarea[data-members]")) {
      close(box, document.getElementById(box.getAttribute("aria-controls")));
    }
  });
})();
