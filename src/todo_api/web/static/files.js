// A task's files (templates/_files.html, _comments.html): files chosen or dropped on the Files
// part are sent one at a time to the form's address (XMLHttpRequest, for the upload's
// progress), each asking for JSON; the bar (<progress>) and a live region say how far it is,
// and a refusal is said in plain words. Then the part is fetched again in place. A comment's
// chosen files go first the same way, and the comment is posted with their ids. Without
// JavaScript both forms post the files themselves. Files chosen upload at once.
(() => {
  const send = (url, token, file, form) => new Promise((resolve) => {
    const body = new FormData();
    body.append("csrf_token", token);
    body.append("file", file, file.name);
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Accept", "application/json");
    const bar = form.querySelector("progress");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.setAttribute("value", String(Math.round((100 * event.loaded) / event.total)));
    });
    request.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(request.responseText); } catch { answer = null; }
      if (request.status === 201) return resolve({ made: answer });
      const words = JSON.parse(document.querySelector("[data-upload]")?.dataset.words || "{}");
      // This page's own refusal says it in words; the body limit's only gives its code.
      const said = answer?.said || words[answer?.code] || words[""];
      resolve({ error: said });
    });
    request.addEventListener("error", () => {
      const words = JSON.parse(document.querySelector("[data-upload]")?.dataset.words || "{}");
      resolve({ error: words[""] });
    });
    request.send(body);
  });

  const say = (form, text) => { form.querySelector(".upload-status").textContent = text; };
  const fill = (template, name) => (template || "%(name)s").replace("%(name)s", name);

  // Each file in turn; the first refused stops the rest. Returns the ids made, or null.
  const upload = async (form, url, files) => {
    const token = form.querySelector("input[name=csrf_token]").value;
    const shown = form.querySelector(".upload-progress");
    const upload = document.querySelector("[data-upload]");
    const ids = [];
    const words = JSON.parse(upload?.dataset.words || "{}");
    for (const file of files) {
      if (file.size > Number(upload?.dataset.maxBytes || Infinity)) {
        shown.hidden = true; // a refusal leaves no empty bar
        say(form, `${file.name}: ${words.PAYLOAD_TOO_LARGE}`);
        return null;
      }
      shown.hidden = false;
      form.querySelector("progress").setAttribute("value", "0");
      say(form, fill(upload?.dataset.sending, file.name));
      const result = await send(url, token, file, form);
      if (result.error) {
        shown.hidden = true;
        say(form, `${file.name}: ${result.error}`);
        return null;
      }
      for (const made of result.made) ids.push(made.id);
      say(form, fill(upload?.dataset.done, file.name));
    }
    shown.hidden = true;
    return ids;
  };

  // The task's page again, its Files, Comments and Activity parts in place of these.
  const refresh = async (said) => {
    const page = await (await fetch(location.href, { credentials: "same-origin" })).text();
    const next = new DOMParser().parseFromString(page, "text/html");
    for (const id of ["files", "comments", "activity"]) {
      const part = next.getElementById(id);
      if (part && document.getElementById(id)) document.getElementById(id).replaceWith(part);
    }
    const form = document.querySelector("[data-upload]");
    if (form && said) say(form, said);
  };

  const uploadToTask = async (form, files) => {
    if (!files.length) return;
    const ids = await upload(form, form.action, files);
    if (ids !== null) await refresh(form.querySelector(".upload-status").textContent);
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.matches("[data-upload]")) {
      event.preventDefault();
      const input = form.querySelector("input[type=file]");
      await uploadToTask(form, [...input.files]);
      return;
    }
    if (!form.matches("[data-upload-to]")) return;
    const input = form.querySelector("input[type=file]");
    if (!input.files.length || form.dataset.sent) return;  // a comment alone posts as it is
    event.preventDefault();
    const ids = await upload(form, form.dataset.uploadTo, [...input.files]);
    if (ids === null) return;
    for (const id of ids) {
      const field = document.createElement("input");
      field.type = "hidden";
      field.name = "attachment_ids";
      field.value = id;
      form.append(field);
    }
    input.value = "";
    form.dataset.sent = "yes";
    form.submit();
  });

  // Files chosen upload at once: no `Upload` to press (it stays without JavaScript).
  const ready = () => {
    for (const button of document.querySelectorAll("[data-upload] button[type=submit]")) button.hidden = true;
  };
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:load", ready);
  document.addEventListener("change", async (event) => {
    const input = event.target;
    const form = input.closest?.("[data-upload]");
    if (!form || input.type !== "file" || !input.files.length) return;
    const files = [...input.files];
    input.value = "";
    await uploadToTask(form, files);
    ready(); // (the part fetched again holds a new form)
  });

  // Dropping files on the Files part uploads them.
  const part = (event) => event.target.closest?.("#files[data-drop]");
  document.addEventListener("dragover", (event) => {
    const where = part(event);
    if (!where || !event.dataTransfer?.types?.includes("Files")) return;
    event.preventDefault();
    where.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => part(event)?.classList.remove("dropping"));
  document.addEventListener("drop", async (event) => {
    const where = part(event);
    if (!where || !event.dataTransfer?.files?.length) return;
    event.preventDefault();
    where.classList.remove("dropping");
    await uploadToTask(where.querySelector("[data-upload]"), [...event.dataTransfer.files]);
  });
})();
