-- How many runs of each type ended in each status, and when did they start? The workflows table, one row a run.
SELECT workflow_type, run_id, 'status' AS subject, status AS value,
       strftime(date_trunc('hour', start_time), '%Y-%m-%d %H:00') AS detail
FROM workflows;
