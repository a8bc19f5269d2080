-- How many runs of each type ended in each status? The outcome our interceptor puts on a run's RunWorkflow span
-- (the contrib's workflow spans end at once and say nothing of how the run ended).
SELECT workflow_type, run_id, 'status' AS subject,
       CASE outcome WHEN 'continued_as_new' THEN 'CONTINUED_AS_NEW' ELSE upper(outcome) END AS value,
       strftime(date_trunc('hour', min(start_time) OVER (PARTITION BY run_id)), '%Y-%m-%d %H:00') AS detail
FROM audit_spans
WHERE name LIKE 'RunWorkflow:%' AND instrumentation = 'lens' AND run_id IS NOT NULL;
