-- Records, errors and the error rate per source over the last minutes, worst first.
-- @param minutes UInt32 = 60
SELECT source,
       count() AS records,
       countIf(severity IN ('error', 'fatal')) AS errors,
       round(errors / records, 4) AS error_rate
FROM {table:Identifier}
WHERE ts >= now() - INTERVAL {minutes:UInt32} MINUTE
GROUP BY source
ORDER BY error_rate DESC, errors DESC, source
