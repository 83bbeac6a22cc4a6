-- Each device's latest evaluation telemetry, kept on its row so the coalora_telemetry_accuracy gauge reads one row
-- per device (bounded by the fleet) instead of scanning the ever-growing telemetry table.
alter table devices
    add column telemetry_accuracy     double precision,  -- accuracy of its latest telemetry
    add column telemetry_average_bits double precision;  -- exact average bits of the configuration that telemetry measured

update devices d set telemetry_accuracy = l.accuracy, telemetry_average_bits = l.bits
from (select distinct on (t.device_id) t.device_id, t.accuracy,
             coalesce(a.average_bits, (select (e->>'averageBits')::float from model_versions m, jsonb_array_elements(m.front) e
                                       where m.model_version = t.model_version and e->>'configId' = t.config_id)) bits
      from telemetry t left join adapters a on a.package_sha256 = t.package_sha256
      order by t.device_id, t.id desc) l
where d.device_id = l.device_id;
