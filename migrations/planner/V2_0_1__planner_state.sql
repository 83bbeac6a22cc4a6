-- The planner's state: each device's latest capabilities and the decision it was last sent,
-- and the front it plans from (one row per alias it follows).
create table devices (
    device_id             text primary key,
    capabilities          jsonb       not null,
    capabilities_event_id text        not null,
    feasible              boolean,                -- null until a version is promoted
    model_version         text,
    config_id             text,
    runtime_format        text,
    assignment_id         text,
    reason                text,
    updated_at            timestamptz not null default now()
);

create table fronts (
    alias         text primary key,
    model_version text        not null,
    promoted      jsonb       not null,           -- the model-promoted event data, front included
    updated_at    timestamptz not null default now()
);
