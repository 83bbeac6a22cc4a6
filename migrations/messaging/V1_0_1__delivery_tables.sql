-- Delivery tables every service's schema carries (see migrations/README.md).
-- inbox: ids of events already applied, so a redelivered event is applied once (idempotent consumer).
create table inbox (
    event_key   text primary key,            -- CloudEvents source + ' ' + id, or topic/partition/offset for unreadable records
    topic       text        not null,
    outcome     text        not null check (outcome in ('applied', 'dead-lettered', 'ignored')),
    received_at timestamptz not null default now()
);

-- outbox: records to publish, written in the same transaction as the state they announce; a relay sends
-- them in seq order with an idempotent producer and deletes them once the broker acknowledged.
create table outbox (
    seq        bigserial primary key,
    topic      text        not null,
    record_key text,
    value      bytea       not null,
    headers    jsonb       not null default '{}'::jsonb,   -- header name -> value (UTF-8 text)
    created_at timestamptz not null default now()
);
