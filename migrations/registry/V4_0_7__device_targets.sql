-- The version the registry last pinned each device to (its device.target events); null while the device follows the
-- production alias. A rollout records it as the device's previous version, so a revert hands a device that followed
-- the alias back to the alias instead of pinning it to the version it happened to run.
alter table devices add column target_version text;

-- devices pinned before the column existed: by the latest rollout that targeted them (a revert targeted the
-- rollout's previous version, which was then always a fixed version)
update devices d set target_version = p.version
from (select distinct on (rd.device_id) rd.device_id,
             case when rd.state in ('reverting', 'reverted') then rd.previous_version else r.model_version end as version
      from rollout_devices rd join rollouts r on r.rollout_id = rd.rollout_id
      where rd.state <> 'scheduled'
      order by rd.device_id, rd.updated_at desc) p
where d.device_id = p.device_id;
