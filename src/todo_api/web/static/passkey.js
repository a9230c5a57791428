// "Sign in with a passkey" on the sign-in page (templates/signin.html): the form stays hidden
// unless the browser can use passkeys. Its button takes the options from the form's
// data-options address (the form's token along), asks the browser for a passkey
// (navigator.credentials.get) and posts the answer with the form; the server checks it.
(() => {
  const form = document.getElementById("passkey");
  if (!form || !window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) return;
  const message = form.querySelector("[role=alert]");
  form.hidden = false;
  form.querySelector("button").addEventListener("click", async () => {
    message.hidden = true;
    try {
      const body = new FormData();
      body.append("csrf_token", form.elements.csrf_token.value);
      const options = await fetch(form.dataset.options, {method: "POST", body});
      if (!options.ok) throw new Error(`options: ${options.status}`);
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(await options.json());
      const credential = await navigator.credentials.get({publicKey});
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch {
      message.hidden = false;  // its text is in the page, in the page's language
    }
  });
})();
