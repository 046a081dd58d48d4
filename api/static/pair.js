// Exchange a one-time pairing code for a session cookie. The code arrives in the URL
// fragment (never sent to the server, so never in a log) and is posted in the body.
async function pair(code) {
  const status = document.getElementById("pair-status");
  const error = document.getElementById("pair-error");
  error.hidden = true;
  status.textContent = "Pairing…";
  const response = await fetch("/api/pair", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ code }),
  });
  if (response.ok) {
    status.textContent = "Paired. Opening attune…";
    location.replace("/");
    return;
  }
  let message = "That code did not work. Codes are good for one use and ten minutes.";
  try { const body = await response.json(); if (typeof body.detail === "string") message = body.detail; } catch (_) { /* keep */ }
  error.textContent = message;
  error.hidden = false;
  status.textContent = response.status === 410
    ? "Ask for a new code: run `attune pair` again on the computer."
    : "Run `attune pair` again on the computer for a fresh code.";
}

// a module runs once the document is parsed
const fromLink = decodeURIComponent(location.hash.replace(/^#/, ""));
history.replaceState(null, "", "/pair");  // the code leaves the address bar and history
document.getElementById("pair-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  pair(document.getElementById("pair-code").value);
});
if (fromLink) pair(fromLink);
