// Talking to the Convene API: one place that knows the base URL, the error shape
// {"error": {"code", "message", "fields"}} and the sign-in settings.
import config from "../config.js";
import { token } from "./auth.js";

let settingsPromise = null;

/** The API base and the Cognito settings: config.js, completed from the twin's
 * /_local/config when config.js leaves cognito empty (only the twin has that route). */
export function settings() {
  if (!settingsPromise) settingsPromise = loadSettings();
  return settingsPromise;
}

async function loadSettings() {
  const out = {
    apiBase: (config.apiBase || "").replace(/\/$/, ""),
    cognito: { ...config.cognito },
  };
  if (!out.cognito.clientId && config.twinConfig) {
    try {
      const response = await fetch(config.twinConfig, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const twin = await response.json();
        out.cognito = {
          region: twin.region,
          clientId: twin.client_id,
          endpoint: twin.moto_endpoint,
        };
        out.twin = true;
      }
    } catch {
      // Not the twin: sign-in stays unavailable until config.js names a user pool.
    }
  }
  if (out.cognito.region && !out.cognito.endpoint) {
    out.cognito.endpoint = `https://cognito-idp.${out.cognito.region}.amazonaws.com/`;
  }
  return out;
}

/** The URL of an API path (for fetch and for a form's action). */
export async function apiUrl(path) {
  const { apiBase } = await settings();
  return `${apiBase}${path}`;
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `The request failed (${status}).`);
    this.status = status;
    this.code = error?.code || "unknown";
    this.fields = error?.fields || {};
  }
}

/** fetch + the error shape. Returns {status, data}; throws ApiError for any 4xx/5xx or a
 * network failure (status 0). `auth: true` sends the signed-in user's ID token. */
export async function request(path, { method = "GET", body, auth = false, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const idToken = auth ? token() : null;
  if (idToken) init.headers.Authorization = `Bearer ${idToken}`;
  let response;
  try {
    response = await fetch(await apiUrl(path), init);
  } catch {
    throw new ApiError(0, {
      code: "network",
      message: "We could not reach the server. Check your connection and try again.",
    });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error || {
      code: "http_" + response.status,
      message: response.status >= 500
        ? "Something went wrong on our side. Please try again in a moment."
        : `The request failed (${response.status}).`,
    });
  }
  return { status: response.status, data };
}

/** For what loads more than once (a list, a count): the returned function sends like
 * `request`, and answers only the latest call. An older call's answer or error, arriving
 * after a newer call was made, gives null, so a late answer never replaces a newer one. */
export function latestOnly() {
  let last = 0;
  return async (path, options) => {
    const ticket = ++last;
    try {
      const answer = await request(path, options);
      return ticket === last ? answer : null;
    } catch (error) {
      if (ticket === last) throw error;
      return null;
    }
  };
}

/** A fresh key per form render: a double submit or a retry sends the same key, so the
 * API answers it once (Powertools idempotency on the server). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
