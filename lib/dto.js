"use strict";
// Medusa's DTOs from the native results: times become Dates, metadata JSON text an object.
const { checkLength } = require("./wire");
const { PART, nextTurn } = require("./parts");

/** The tokens of a response one by one: `tokens` is their text joined by "\n". */
function tokenReader(tokens) {
  // A replay stored by an earlier version holds an array.
  if (Array.isArray(tokens)) return (i) => tokens[i];
  let from = 0;
  return () => {
    let to = tokens.indexOf("\n", from);
    if (to === -1) to = tokens.length;
    const token = tokens.slice(from, to);
    from = to + 1;
    return token;
  };
}

/** The DTOs of created invites, built a part at a time (see `PART`). */
async function inviteDtos(items, { now, expiresAt, ids, tokens, times }) {
  const dtos = new Array(items.length);
  const nextToken = tokenReader(tokens);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % PART === 0) await nextTurn();
    const item = items[i];
    dtos[i] = {
      id: ids[i],
      email: item.email,
      accepted: item.accepted === true,
      token: nextToken(i),
      expires_at: new Date(expiresAt),
      metadata: item.metadata ? JSON.parse(item.metadata.$json) : null,
      created_at: new Date(now),
      updated_at: new Date(now),
      deleted_at: null,
      roles: item.roles ? item.roles.$array.slice() : null,
    };
  }
  for (const [index, createdAt, updatedAt, deletedAt] of times) {
    dtos[index].created_at = new Date(createdAt);
    dtos[index].updated_at = new Date(updatedAt);
    dtos[index].deleted_at = deletedAt === null ? null : new Date(deletedAt);
  }
  return dtos;
}

/**
 * A stored invite or user (native JSON, keys already in DTO order) as Medusa's InviteDTO or
 * UserDTO: metadata parsed, times as Dates, roles null when none.
 */
function storedDto(row) {
  const dto = { ...row };
  if (row.expires_at !== undefined) dto.expires_at = new Date(row.expires_at);
  dto.metadata = row.metadata === null ? null : JSON.parse(row.metadata);
  dto.created_at = new Date(row.created_at);
  dto.updated_at = new Date(row.updated_at);
  dto.deleted_at = row.deleted_at === null ? null : new Date(row.deleted_at);
  dto.roles = row.roles ?? null;
  return dto;
}

/** `config.select`: `id` and the selected keys, in DTO key order (Medusa always adds the id). */
function selector(config) {
  const select = config?.select;
  if (!Array.isArray(select)) return (dto) => dto;
  checkLength(select.length);
  const wanted = new Set(["id", ...select.filter((key) => typeof key === "string")]);
  return (dto) => {
    const out = {};
    for (const key of Object.keys(dto)) if (wanted.has(key)) out[key] = dto[key];
    return out;
  };
}

/** softDelete/restore results: `{ invite_id: [...] }` (or `user_id`), or `{}` when nothing matched (as Medusa). */
const linkable = (key, ids) => (ids.length > 0 ? { [key]: ids } : {});

module.exports = { inviteDtos, storedDto, selector, linkable };
