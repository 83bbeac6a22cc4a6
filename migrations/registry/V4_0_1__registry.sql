-- The registry: immutable content-addressed model versions and blobs, aliases with append-only history,
-- the fleet's devices with their assignments and adapters, and evaluation telemetry.

create function coalora_append_only() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: rows are never changed or deleted', tg_table_name;
end $$;

-- content-addressed files (the bytes live in the blob directory under their sha256)
create table blobs (
    sha256     text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
    bytes      bigint      not null check (bytes >= 0),
    created_at timestamptz not null default now()
);

-- a model version is named by the sha256 of its file list and never changes
create table model_versions (
    model_version  text primary key check (model_version ~ '^[0-9a-f]{64}$'),
    parent_version text references model_versions,
    task           text        not null,
    base_model     text        not null,
    files          jsonb       not null,   -- [{name, sha256, bytes}]
    front          jsonb       not null,   -- [{configId, averageBits, predictedAccuracy, weightBits, runtimeFormats, weightBytes, adapterBytes}]
    lineage        jsonb,
    created_at     timestamptz not null default now()
);
create trigger model_versions_immutable before update or delete on model_versions
    for each row execute function coalora_append_only();

-- mutable pointers (production, canary) and every move of them
create table aliases (
    alias         text primary key check (alias ~ '^[a-z][a-z0-9-]{0,31}$'),
    model_version text        not null references model_versions,
    updated_at    timestamptz not null default now()
);
create table alias_history (
    id               bigserial primary key,
    alias            text        not null,
    model_version    text        not null references model_versions,
    previous_version text references model_versions,
    actor            text        not null,
    reason           text        not null,
    at               timestamptz not null default now()
);
create trigger alias_history_append_only before update or delete on alias_history
    for each row execute function coalora_append_only();

-- each device's latest state, assembled from the events about it
create table devices (
    device_id             text primary key,
    capabilities          jsonb,
    capabilities_event_id text,
    capabilities_at       timestamptz,
    assignment_id         text,
    feasible              boolean,
    model_version         text,
    config_id             text,
    average_bits          double precision,
    predicted_accuracy    double precision,
    reason                text,
    assigned_at           timestamptz,
    adapter_assignment_id text,             -- the assignment the latest adapter-ready answered
    package_sha256        text,
    adapter_at            timestamptz
);

-- every assignment ever sent: "what ran where, when"
create table assignments (
    assignment_id      text primary key,
    device_id          text        not null,
    feasible           boolean     not null,
    model_version      text,
    config_id          text,
    average_bits       double precision,
    predicted_accuracy double precision,
    reason             text        not null,
    received_at        timestamptz not null default now()
);
create index assignments_by_device on assignments (device_id, received_at);
create trigger assignments_append_only before update or delete on assignments
    for each row execute function coalora_append_only();

-- generated adapter packages (shared by every device with the same version and configuration)
create table adapters (
    package_sha256 text primary key,
    model_version  text        not null,
    config_id      text        not null,
    average_bits   double precision not null,
    artifacts      jsonb       not null,
    first_seen     timestamptz not null default now()
);

create table telemetry (
    id                     bigserial primary key,
    device_id              text        not null,
    model_version          text        not null,
    config_id              text        not null,
    package_sha256         text        not null,
    accuracy               double precision not null,
    examples               integer     not null,
    latency_ms_per_example double precision not null,
    memory_bytes           bigint      not null,
    measured_at            timestamptz not null,
    received_at            timestamptz not null default now()
);
create index telemetry_by_configuration on telemetry (model_version, config_id);
