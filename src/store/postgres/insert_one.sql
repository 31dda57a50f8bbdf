-- createInvites of one invite outside a caller's transaction (src/store/postgres/insert.rs,
-- INSERT_ONE: what it does and its parameters). The part between "-- roles" and
-- "-- end roles" is sent only for an invite that has roles.
with taken as (
  -- Takes the lock, then reads the users with a snapshot of its own taken after it
  -- (the statement's snapshot is older than the lock): see medusa_invites_lock_email_v1.
  select "medusa_invites_lock_email_v1"($10, $11, $2::text) as held
),
inserted as (
  insert into "invite" (id, email, accepted, token, expires_at, metadata, created_at, updated_at, deleted_at)
  select $1::text, $2::text, $3::boolean, $4::text, to_timestamp($5::float8 / 1000), $6::text::jsonb,
         to_timestamp($7::float8 / 1000), to_timestamp($8::float8 / 1000), to_timestamp($9::float8 / 1000)
  where not (select held from taken)
  returning 1
),
-- roles
roles as (
  insert into "medusa_invites_roles" (invite_id, roles)
  select $1::text, $14::text::jsonb where $14::text is not null and exists (select 1 from inserted)
),
-- end roles
outbox as (
  insert into "medusa_invites_outbox" (created_at, events)
  select to_timestamp($13::float8 / 1000), $12::text
  where $12::text is not null and exists (select 1 from inserted)
  returning id
)
select (select held from taken) as user_holds_email, (select id from outbox) as outbox_id
