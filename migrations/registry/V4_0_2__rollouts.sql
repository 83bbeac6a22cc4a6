-- Staged rollouts (hawkBit / AWS IoT jobs semantics): waves with a success threshold (share finished, >=),
-- an error threshold (share failed, >, once a minimum number executed), an accuracy gate from telemetry,
-- and what to do on success (next wave, pause) or failure (pause, abort-keep, abort-revert).

-- what each device last did with a package (device.status events)
alter table devices add column update_status text;         -- applied | failed | rejected
alter table devices add column update_reason text;
alter table devices add column update_assignment_id text;
alter table devices add column update_version text;
alter table devices add column update_at timestamptz;

create table rollouts (
    rollout_id         text primary key,
    model_version      text        not null references model_versions,
    state              text        not null check (state in ('running', 'paused', 'succeeded', 'aborted', 'reverting', 'reverted')),
    current_wave       integer     not null,
    waves              integer     not null check (waves >= 1),
    success_threshold  double precision not null check (success_threshold > 0 and success_threshold <= 1),
    error_threshold    double precision not null check (error_threshold >= 0 and error_threshold < 1),
    error_min_executed integer     not null check (error_min_executed >= 1),
    accuracy_margin    double precision not null check (accuracy_margin >= 0),
    on_wave_success    text        not null check (on_wave_success in ('next-wave', 'pause')),
    on_failure         text        not null check (on_failure in ('pause', 'abort-keep', 'abort-revert')),
    next_on_resume     boolean     not null default false,  -- paused after a successful wave: resume starts the next
    created_by         text        not null,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

create table rollout_devices (
    rollout_id         text        not null references rollouts,
    device_id          text        not null,
    wave               integer     not null,
    state              text        not null check (state in ('scheduled', 'targeted', 'finished', 'failed', 'reverting', 'reverted')),
    previous_version   text,                 -- what it ran before (null: it followed the production alias)
    assignment_id      text,                 -- the assignment the rollout's target produced
    predicted_accuracy double precision,     -- from the Pareto front, for its configuration
    measured_accuracy  double precision,     -- from its telemetry on the rollout's version
    reason             text,
    updated_at         timestamptz not null default now(),
    primary key (rollout_id, device_id)
);
create index rollout_devices_by_device on rollout_devices (device_id);

create table rollout_transitions (
    id         bigserial primary key,
    rollout_id text        not null references rollouts,
    from_state text,
    to_state   text        not null,
    wave       integer     not null,
    actor      text        not null,          -- an operator, or the threshold that decided
    reason     text        not null,
    at         timestamptz not null default now()
);
create trigger rollout_transitions_append_only before update or delete on rollout_transitions
    for each row execute function coalora_append_only();
