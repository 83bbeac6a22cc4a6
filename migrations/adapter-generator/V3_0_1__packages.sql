-- One row per (model version, configuration) ever generated: identical configurations are generated once.
create table packages (
    model_version  text        not null,
    config_id      text        not null,
    package_sha256 text        not null,
    average_bits   double precision not null,
    artifacts      jsonb       not null,     -- [{role, name, sha256, bytes, url}]
    generate_ms    double precision not null, -- fold + quantize + upload, for operators
    created_at     timestamptz not null default now(),
    primary key (model_version, config_id)
);
