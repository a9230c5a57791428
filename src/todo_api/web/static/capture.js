// Capture at speed: quick add (templates/list.html's `form.quick`) adds in place. The form's own
// post is sent by fetch and its answer (the list again, after the redirect) gives the page its
// tasks and sidebar, so the new row stands where the list puts it; the box is emptied and keeps
// the focus (a phone's keyboard stays open) for the next task, and the live region says what
// was added. A refusal (its message, or the offer for a `#list` that is not there) is shown
// beside the box, the text kept. Offline, static/offline.js keeps the post as it keeps any.
// Without JavaScript the form posts as it always did. Below: choices that apply when chosen.
(() => {
  const announce = (text) => {
    const live = document.getElementById("announce");
    if (live) live.textContent = text;
  };

  // What the answer says beside the box (a message or the offer), in place of what was there.
  const saidBeside = (form, next) => {
    for (const old of form.querySelectorAll("[data-quick-said]")) old.remove();
    const box = form.elements.text;
    const said = next?.querySelector("form.quick [data-quick-said]") || next?.querySelector("#main > .message[role=alert]");
    if (!said) {
      box.removeAttribute("aria-invalid");
      return;
    }
    const put = document.importNode(said, true);
    put.dataset.quickSaid = "";
    form.append(put);
    box.setAttribute("aria-invalid", "true");
  };

  // The page's live parts (the tasks, the sidebar) as the answer has them.
  const partsFrom = (next) => {
    for (const part of document.querySelectorAll("[data-live][id]")) {
      const fresh = next.getElementById(part.id);
      if (!fresh) continue;
      const put = document.importNode(fresh, true);
      part.replaceWith(put);
      window.htmx?.process(put);
    }
    document.dispatchEvent(new CustomEvent("app:live"));
  };

  // A tap on `Add` (or on an offer's button) leaves the focus in the box: the keyboard stays.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest?.("form.quick button")) event.preventDefault();
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("quick")) return;
    event.preventDefault();
    const box = form.elements.text;
    const body = new FormData(form, event.submitter);
    const text = box.value;
    const before = new Set([...document.querySelectorAll("#tasks-part li.task[id]")].map((row) => row.id));
    const emptied = () => {
      box.value = "";
      document.getElementById("quick-preview")?.replaceChildren();
      saidBeside(form, null);
      box.focus();
    };
    let answer;
    try {
      answer = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
    } catch {
      // The network went as it was sent: kept on the device, sent again later.
      if (!window.appOffline) return form.submit();
      await window.appOffline.keep(new URL(form.action).pathname, new URLSearchParams(body), "quick", null);
      return emptied();
    }
    const next = new DOMParser().parseFromString(await answer.text(), "text/html");
    if (!answer.ok) {
      saidBeside(form, next);
      box.focus();
      return;
    }
    partsFrom(next);
    emptied();
    const added = [...document.querySelectorAll("#tasks-part li.task[id]")].find((row) => !before.has(row.id));
    const title = added?.querySelector(".body > a")?.textContent || text;
    announce((form.dataset.added || "{title}").replace("{title}", title));
  });

  // --- choices that apply when chosen ------------------------------------------------------
  // A list's `Sort` (form.sort), the search and filter (form.find: htmx sends it as one types)
  // and any form marked `data-chosen` take effect as chosen: their button (`Apply`, `Show`)
  // is not shown. A choice that is kept (a sort) is the form's own post, its answer's parts
  // put in place of the page's, the focus kept where it was. Files chosen for a task upload at
  // once (static/files.js).
  const CHOSEN = "form.sort, form.find, form[data-chosen]";
  const buttonsAway = () => {
    for (const form of document.querySelectorAll(CHOSEN)) {
      if (!form.querySelector("select, input:not([type=hidden])")) continue; // its buttons are the choices
      for (const button of form.querySelectorAll("button[type=submit]:not([name])")) button.hidden = true;
    }
  };
  document.addEventListener("DOMContentLoaded", buttonsAway);
  document.addEventListener("htmx:load", buttonsAway);
  document.addEventListener("app:live", buttonsAway);

  document.addEventListener("change", async (event) => {
    const chosen = event.target.closest?.("select");
    const form = chosen?.form;
    if (!form?.matches(CHOSEN) || form.method !== "post") return;
    const was = document.activeElement?.id;
    let answer;
    try {
      answer = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
    } catch {
      return form.submit(); // (the browser's own way says what went wrong)
    }
    if (!answer.ok || !answer.redirected) return form.submit();
    partsFrom(new DOMParser().parseFromString(await answer.text(), "text/html"));
    history.replaceState(null, "", answer.url);
    if (was) document.getElementById(was)?.focus();
  });
})();
