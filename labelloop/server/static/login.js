// The sign-in form: starts a cookie session, then goes where the visitor was headed.

const form = document.querySelector("#login-form");
const error = document.querySelector("#login-error");
const submit = document.querySelector("#login-submit");

// Only a path on this site, so a crafted link cannot bounce the visitor elsewhere.
function destination() {
  const next = new URLSearchParams(location.search).get("next") || "";
  const safe = next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") && !next.startsWith("/login");
  return safe ? next : "/label";
}

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    showError("Enter your username and password.");
    return;
  }
  error.hidden = true;
  submit.disabled = true;
  submit.textContent = "Signing in…";
  try {
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
      credentials: "same-origin",
    });
    if (response.ok) {
      location.assign(destination());
      return;
    }
    if (response.status === 401) {
      showError("Wrong username or password.");
      form.password.value = "";
      form.password.focus();
    } else {
      let detail = `${response.status} ${response.statusText}`;
      try {
        const data = await response.json();
        if (typeof data.detail === "string") detail = data.detail;
      } catch {
        // keep the status line
      }
      showError(`Could not sign in: ${detail}.`);
    }
  } catch {
    showError("The server did not answer; check that labelloop is running.");
  }
  submit.disabled = false;
  submit.textContent = "Sign in";
});

// A fresh project has no accounts: say how to add the first one.
fetch("/api/auth/setup", { headers: { Accept: "application/json" } })
  .then((response) => (response.ok ? response.json() : null))
  .then((setup) => {
    if (setup && !setup.has_accounts) document.querySelector("#no-accounts").hidden = false;
  })
  .catch(() => {});
