-- Which service ran each step of order X? History names the task queue an activity was scheduled on and the worker
-- identity (pid@host) that started it, not a service: here each service polls a queue of its own name.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
-- (A completion carries its scheduled event's activity_type, filled in by the export, so the completions are
-- narrowed by type as the scheduled events are before they are matched.)
SELECT DISTINCT substr(sc.workflow_id, strpos(sc.workflow_id, '-') + 1) AS order_id,
       sc.activity_type AS step, sc.task_queue AS service
FROM history_events sc
WHERE sc.event_type = 'ActivityTaskScheduled' AND sc.activity_type <> 'record_order_status'
  AND (sc.workflow_id LIKE 'order-%' OR sc.workflow_id LIKE 'invoice-%')
  AND EXISTS (SELECT 1 FROM history_events co WHERE co.workflow_id = sc.workflow_id AND co.run_id = sc.run_id
                AND co.scheduled_event_id = sc.event_id AND co.event_type = 'ActivityTaskCompleted'
                AND co.activity_type <> 'record_order_status');
