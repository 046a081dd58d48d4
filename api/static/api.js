// Talking to the attune API: JSON in and out, one readable message per failure.

/** A failed request: `message` is the server's one-line `detail` when it gave one. */
export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** Fetch `path` as JSON; `options.body` is sent as JSON. 401 sends the phone to /pair. */
export async function request(path, options = {}) {
  const init = { credentials: "same-origin", ...options, headers: { Accept: "application/json" } };
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) { location.href = "/pair"; throw new ApiError("pairing needed", 401); }
  if (!response.ok) {
    let message = `the request failed (${response.status})`;
    try { const body = await response.json(); if (typeof body.detail === "string") message = body.detail; } catch (_) { /* keep */ }
    throw new ApiError(message, response.status);
  }
  return response.status === 204 ? null : response.json();
}

/** `a=1&b=x%20y` from an object; empty and missing values are left out. */
export function query(params) {
  return Object.entries(params).filter(([, v]) => v != null && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}
