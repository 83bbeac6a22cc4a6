-- Rollouts target devices at versions other than the production alias's (device.target events), so the
-- planner keeps every registered version's front and each device's target.
alter table devices alter column capabilities drop not null;          -- a target may arrive before capabilities
alter table devices alter column capabilities_event_id drop not null;
alter table devices add column target_version text;                  -- null: follow the alias
alter table devices add column rollout_id text;

create table versions (
    model_version text primary key,
    front         jsonb       not null,      -- [FrontEntry] from the model-registered event
    registered_at timestamptz not null default now()
);
