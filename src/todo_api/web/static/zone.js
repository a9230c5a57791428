// A new account's time zone from the browser: fills the sign-up form's hidden `timezone` field
// with the zone the browser runs in (the server checks it is one it knows; without JavaScript
// the field stays empty and the account starts in UTC, changed in Settings → Profile).
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  for (const field of document.querySelectorAll('input[type="hidden"][name="timezone"]')) {
    field.value = zone;
  }
})();
