-- What share of the activity attempts history implies (attempts 1..n of each activity that started) have an
-- attempt span, by workflow type and task queue, and which instrumentation made them?
WITH attempts AS (
    SELECT a.workflow_type, a.task_queue, a.run_id, a.activity_id, r.k AS attempt
    FROM audit_activities a, LATERAL range(1, a.attempt + 1) AS r(k)
    WHERE a.attempt IS NOT NULL
), matched AS (
    SELECT t.*, s.instrumentation
    FROM attempts t
    LEFT JOIN (SELECT DISTINCT run_id, activity_id, attempt_inferred, instrumentation FROM audit_spans
               WHERE is_attempt) s
      ON s.run_id = t.run_id AND s.activity_id = t.activity_id AND s.attempt_inferred = t.attempt
)
SELECT workflow_type, task_queue, count(*) AS history_attempts,
       count(*) FILTER (WHERE instrumentation IS NOT NULL) AS with_span,
       round(count(*) FILTER (WHERE instrumentation IS NOT NULL) / count(*), 4) AS share,
       coalesce(string_agg(DISTINCT instrumentation, ', ' ORDER BY instrumentation), 'none (history only)')
           AS instrumented_by
FROM matched
GROUP BY ALL
ORDER BY workflow_type, task_queue;
