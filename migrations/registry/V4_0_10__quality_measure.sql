-- What a version predicts and its devices measure is a quality in one measure: accuracy for a classifier (higher is
-- better) or perplexity for a decoder (lower is better). The measure is the version's; every value column that held
-- an accuracy now holds a quality in its version's measure, and says so by its name.
alter table model_versions
    add column kind text not null default 'encoder' check (kind in ('encoder', 'decoder')),  -- what the bundle is
    add column measure text not null default 'accuracy' check (measure in ('accuracy', 'perplexity'));

alter table devices rename column predicted_accuracy to predicted_quality;
alter table devices rename column telemetry_accuracy to telemetry_quality;
alter table devices add column telemetry_measure text;  -- the measure of its latest telemetry's version
update devices set telemetry_measure = 'accuracy' where telemetry_quality is not null;
alter table assignments rename column predicted_accuracy to predicted_quality;
alter table telemetry rename column accuracy to quality;
alter table telemetry add column tokens_per_second double precision;  -- text generation only
alter table rollouts rename column accuracy_margin to quality_margin;
alter table rollout_devices rename column predicted_accuracy to predicted_quality;
alter table rollout_devices rename column measured_accuracy to measured_quality;

-- A front entry's predicted quality: "predicted", or "predictedAccuracy" on entries written before measures existed.
create function coalora_predicted(entry jsonb) returns double precision language sql immutable as $$
    select coalesce((entry->>'predicted')::double precision, (entry->>'predictedAccuracy')::double precision)
$$;
