-- Front coverage (the coverage trigger of telemetry-driven retraining): what each device could hold, in average
-- bits, against the nearest configuration of its version's front it can run.
alter table devices
    add column budget_bits       double precision,  -- average bits per quantized weight its memory holds (front's bytes-per-bit line)
    add column coverage_gap_bits double precision,  -- budget (capped at the front's top) minus the largest front configuration it can run
    add column weight_bits       jsonb;             -- its kernels' weight bit-widths, sorted (devices are grouped by them)
create index devices_coverage on devices (model_version) where coverage_gap_bits is not null;

-- budgets a coverage request asks the trainer to add (null for accuracy requests)
alter table retraining_requests add column budgets jsonb;
