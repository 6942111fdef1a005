// Signing in with the Cognito user pool (USER_PASSWORD_AUTH), as a browser does it: one
// fetch to the cognito-idp endpoint. In the twin that endpoint is moto's.
// The ID token is kept in sessionStorage (gone when the tab closes), never in a URL.
import { settings } from "./api.js";

const KEY = "convene.idToken";

export class SignInError extends Error {}

/** The claims of a JWT, without checking it (the API checks it; this is for display). */
export function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      [...atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))]
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** The signed-in user's ID token, or null (none, or expired). */
export function token() {
  const jwt = sessionStorage.getItem(KEY);
  if (!jwt) return null;
  const c = claims(jwt);
  if (!c || (c.exp && c.exp * 1000 < Date.now() + 30_000)) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return jwt;
}

/** Who is signed in: {email, name, groups} or null. */
export function user() {
  const jwt = token();
  if (!jwt) return null;
  const c = claims(jwt);
  const groups = c["cognito:groups"] || [];
  return {
    sub: c.sub,
    email: c.email || c["cognito:username"] || "",
    name: c.name || c.given_name || "",
    groups: Array.isArray(groups) ? groups : String(groups).split(","),
  };
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export async function signIn(email, password) {
  const { cognito } = await settings();
  if (!cognito.clientId || !cognito.endpoint) {
    throw new SignInError("Sign-in is not set up for this site (config.js has no user pool).");
  }
  let response;
  try {
    response = await fetch(cognito.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: cognito.clientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
    });
  } catch {
    throw new SignInError("We could not reach the sign-in service. Try again in a moment.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || "").split("#").pop();
    if (type === "NotAuthorizedException" || type === "UserNotFoundException") {
      throw new SignInError("That email and password do not match an account.");
    }
    throw new SignInError(data.message || "Sign-in failed. Try again in a moment.");
  }
  const jwt = data.AuthenticationResult?.IdToken;
  if (!jwt) {
    // A challenge (a new password, MFA) is not something these pages handle.
    throw new SignInError("This account needs a step these pages do not support yet.");
  }
  sessionStorage.setItem(KEY, jwt);
  return user();
}
