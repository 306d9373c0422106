-- The highest-scoring anomalies of the last minutes, newest first among equal scores.
-- @param minutes UInt32 = 60
-- @param limit UInt32 = 20
SELECT ts, source, name, value, anomaly_score AS score, anomaly_detector AS detector
FROM {table:Identifier}
WHERE is_anomaly = 1 AND ts >= now() - INTERVAL {minutes:UInt32} MINUTE
ORDER BY anomaly_score DESC, time_ns DESC
LIMIT {limit:UInt32}
