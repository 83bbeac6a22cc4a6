-- Append-only audit log of every operator action on the registry's API (every request that changes state,
-- allowed or denied): who, what, the outcome. Rows are never updated or deleted (triggers refuse it).
create table audit_log (
    id            bigserial   primary key,
    at            timestamptz not null default now(),
    actor         text,                 -- the authenticated user, or the user name claimed by rejected credentials
    authenticated boolean     not null,
    roles         text,                 -- the actor's roles when authenticated
    method        text        not null,
    path          text        not null, -- path and query
    status        int         not null, -- the HTTP status answered (401/403 for denied attempts)
    remote        text                  -- client address
);
create index audit_log_at on audit_log (at);

create function audit_log_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % refused', tg_op;
end
$$;
create trigger audit_log_no_change before update or delete on audit_log for each row execute function audit_log_is_append_only();
create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_is_append_only();
