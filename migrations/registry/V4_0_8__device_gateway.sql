-- Per-device credentials of the device gateway: a device authenticates with a bearer token of 256 random bits that
-- the registry issued at enrolment; only the token's sha256 is stored (a leaked table gives no usable token, and a
-- token that random needs no slow hash). Revoking stamps revoked_at; rows are kept as the device's credential history.
create table device_credentials (
    token_sha256 char(64)    primary key,
    device_id    text        not null,
    issued_at    timestamptz not null default now(),
    issued_by    text        not null,
    revoked_at   timestamptz,
    revoked_by   text,
    last_used_at timestamptz
);
-- at most one live credential per device: re-enrolment revokes the old one in the same transaction
create unique index device_credentials_live on device_credentials (device_id) where revoked_at is null;

-- The latest adapter-ready of each device, as the generator published it (artifacts and signed manifest): what the
-- gateway hands the device when it asks for its package, and the event id it is known by (the ETag).
alter table devices add column adapter_ready jsonb;
alter table devices add column adapter_event_id text;
