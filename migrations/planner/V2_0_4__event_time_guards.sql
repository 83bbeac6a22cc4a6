-- The time of the event that set each piece of a device's state: an older event delivered late (re-sent after a
-- broker outage longer than the producers' delivery timeout) must not overwrite a newer one.
alter table devices add column capabilities_event_time timestamptz;
alter table devices add column target_event_time timestamptz;
