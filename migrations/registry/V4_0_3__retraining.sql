-- Retraining requests the registry raised from telemetry, and what answered them.
create table retraining_requests (
    request_id     text primary key,
    model_version  text        not null references model_versions,
    config_ids     jsonb       not null,     -- the configurations to add to the training set
    reason         text        not null,
    evidence       jsonb       not null,     -- the telemetry that triggered it (devices, measured, predicted, margin)
    result_version text references model_versions,   -- the version the trainer registered for it
    created_at     timestamptz not null default now()
);
create index retraining_open on retraining_requests (model_version) where result_version is null;
