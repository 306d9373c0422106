-- One series (source and name) from some minutes before to some minutes after a moment.
-- @param source String
-- @param name String
-- @param at DateTime
-- @param minutes UInt32 = 5
SELECT time_ns, ts, value, unit, severity, body, is_anomaly, anomaly_score
FROM {table:Identifier}
WHERE source = {source:String} AND name = {name:String}
  AND ts >= {at:DateTime} - INTERVAL {minutes:UInt32} MINUTE
  AND ts <= {at:DateTime} + INTERVAL {minutes:UInt32} MINUTE
ORDER BY time_ns
