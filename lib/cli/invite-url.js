"use strict";
// --invite-url 'https://admin.example.com/app/invite?token={token}': the link of each invite.
const { UsageError } = require("./errors");

/** A function invite → link, or undefined without a template. `{token}`, `{id}`, `{email}` are URL-encoded. */
function inviteUrlTemplate(template) {
  if (template === undefined) return undefined;
  if (!template.includes("{token}")) throw new UsageError("--invite-url must contain {token}, e.g. 'https://admin.example.com/app/invite?token={token}'");
  return (invite) =>
    invite?.token
      ? template.replace(/\{(token|id|email)\}/g, (_, key) => encodeURIComponent(invite[key] ?? ""))
      : null;
}

module.exports = { inviteUrlTemplate };
