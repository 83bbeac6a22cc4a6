-- Each retraining request answered: the version it produced (a retrain is not repeated after a crash).
create table trainings (
    request_id     text primary key,
    parent_version text        not null,
    result_version text        not null,
    seconds        double precision not null,
    created_at     timestamptz not null default now()
);
