-- Sequence numbers of signed package manifests: each manifest gets one above every earlier one, so a device that
-- refuses numbers not above the last it applied can never be sent back to an older package by a replay.
create sequence manifest_sequence;
