-- An assignment that runs as GGUF on a device with declared ggufTypes names the GGUF types it maps onto; a device
-- whose declared types change may get the same configuration with other types, which is a new decision.
alter table devices add column gguf_plan text;   -- "MAPPING:TYPE,TYPE" of the assignment's gguf, null without one
