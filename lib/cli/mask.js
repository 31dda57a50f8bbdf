"use strict";
// No output of the CLI may contain a database password: URLs are shown as `user:***@host`.

/** `scheme://user:password@host/...` → `scheme://user:***@host/...` (also inside longer text). */
function maskUrl(text) {
  return String(text)
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@\s/]*@/gi, "$1:***@")
    .replace(/(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, "$1***");
}

/** The password of a database URL, when it has one. */
function passwordOf(url) {
  if (typeof url !== "string") return undefined;
  try {
    const parsed = new URL(url);
    return parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A masker for one run: URLs' passwords, and the configured password itself wherever it
 * appears (a driver may quote it on its own). Very short passwords are only masked in URLs.
 */
function makeMasker(databaseUrl) {
  const password = passwordOf(databaseUrl);
  return (text) => {
    let masked = maskUrl(text);
    if (password && password.length >= 4) masked = masked.split(password).join("***");
    return masked;
  };
}

module.exports = { maskUrl, makeMasker, passwordOf };
