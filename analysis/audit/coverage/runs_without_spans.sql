-- Which runs in history have no span at all, by workflow type and task queue (with up to five of their run ids)?
WITH spanned AS (SELECT DISTINCT run_id FROM audit_spans WHERE run_id IS NOT NULL)
SELECT w.workflow_type, w.task_queue, count(*) AS runs, count(*) FILTER (WHERE s.run_id IS NULL) AS runs_without_spans,
       list(w.run_id ORDER BY w.run_id) FILTER (WHERE s.run_id IS NULL)[1:5] AS examples
FROM workflows w
LEFT JOIN spanned s ON s.run_id = w.run_id
GROUP BY ALL
ORDER BY w.workflow_type, w.task_queue;
