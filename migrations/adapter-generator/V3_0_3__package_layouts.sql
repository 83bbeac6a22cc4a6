-- A configuration of a version is packaged once per layout a device can run: the packed layout of the Java runtime
-- (encoder versions) or GGUF for llama.cpp under one type mapping (decoder versions: model.gguf and adapter.gguf).
alter table packages add column layout text not null default 'coalora-packed';
alter table packages drop constraint packages_pkey;
alter table packages add primary key (model_version, config_id, layout);
