// Adding a passkey (settings, Security): the form's submit asks the server for the creation
// options, lets the browser make the passkey (WebAuthn), puts it in the form's `credential`
// field and posts the form as usual; a problem is said in the form's alert.
const form = document.getElementById("passkey-form");
if (form) {
  const problem = document.getElementById("passkey-problem");
  const say = (text) => {
    problem.textContent = text;
    problem.hidden = false;
  };
  form.addEventListener("submit", async (event) => {
    if (form.elements.credential.value) return; // made: the form goes
    event.preventDefault();
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(form.dataset.unsupported || "This browser cannot make passkeys.");
      return;
    }
    try {
      const body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
      const answer = await fetch(form.dataset.options, { method: "POST", body });
      const options = await answer.json();
      if (!answer.ok) {
        say(options.error);
        return;
      }
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
      const credential = await navigator.credentials.create({ publicKey });
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.requestSubmit();
    } catch (error) {
      say(error.message || String(error));
    }
  });
}
