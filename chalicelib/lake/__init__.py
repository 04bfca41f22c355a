"""The data lake: every stored interaction's facts, every event and the topics' hourly counts, as
pseudonymised JSON records that Kinesis Data Firehose writes to S3 by table and day, for Athena,
QuickSight or any engine that reads the lake (docs/lake.md).

`records` turns what the bus carries into records (pure); `archive` is the use case the lake
queue's consumer runs. Nothing here names a person: customers appear by a pseudonym made from a
random key kept on their profile (erasure deletes it, and with it every way back), other ids by a
keyed hash under the stage's key.
"""
