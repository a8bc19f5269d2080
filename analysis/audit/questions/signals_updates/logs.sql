-- Which signals and updates did each run receive, and which were rejected? The handlers' 'signal received' and
-- 'update received' records, and 'update rejected' when the validator refuses.
SELECT workflow_type, run_id,
       CASE WHEN event = 'signal received' THEN 'signal ' ELSE 'update ' END
           || coalesce(attributes->>'$.signal', attributes->>'$.update')
           || CASE WHEN event = 'update rejected' THEN ' rejected' ELSE ' accepted' END AS subject,
       count(*) AS value, NULL AS detail
FROM audit_logs
WHERE event IN ('signal received', 'update received', 'update rejected') AND run_id IS NOT NULL
GROUP BY ALL;
