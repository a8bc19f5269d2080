-- Which spans and log records name a run the history does not have (run ids outside the collected window, or
-- deleted past retention)?
WITH named AS (
    SELECT 'traces' AS source, run_id FROM audit_spans WHERE run_id IS NOT NULL
    UNION ALL
    SELECT 'logs', run_id FROM logs WHERE run_id IS NOT NULL
)
SELECT n.source, count(*) AS rows, count(DISTINCT n.run_id) AS unknown_runs,
       list(DISTINCT n.run_id)[1:5] AS examples
FROM named n
WHERE NOT EXISTS (SELECT 1 FROM workflows w WHERE w.run_id = n.run_id)
GROUP BY ALL
ORDER BY n.source;
