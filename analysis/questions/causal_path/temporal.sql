-- Which service called which for order X? The workflow's task queue (where its code ran) scheduled each activity on
-- the activity's task queue; queue names stand in for services.
-- Temporal in place: the run's history as `temporal workflow show` and the Web UI present it, read one run at
-- a time: every row comes from one run's events; nothing is joined or added up across runs.
-- (An activity's completion carries its scheduled event's type, filled in by the export, so the completions are
-- narrowed by type as the scheduled events are before they are matched.)
WITH sc AS (
    SELECT workflow_id, run_id, task_queue, activity_type
    FROM history_events sc
    WHERE sc.event_type = 'ActivityTaskScheduled' AND sc.activity_type <> 'record_order_status'
      AND (sc.workflow_id LIKE 'order-%' OR sc.workflow_id LIKE 'invoice-%')
      AND EXISTS (SELECT 1 FROM history_events co WHERE co.workflow_id = sc.workflow_id AND co.run_id = sc.run_id
                    AND co.scheduled_event_id = sc.event_id AND co.event_type = 'ActivityTaskCompleted'
                    AND co.activity_type <> 'record_order_status')
)
SELECT DISTINCT substr(sc.workflow_id, strpos(sc.workflow_id, '-') + 1) AS order_id,
       ws.task_queue AS caller, sc.task_queue AS callee, sc.activity_type AS step
FROM sc
JOIN history_events ws ON ws.workflow_id = sc.workflow_id AND ws.run_id = sc.run_id
 AND ws.event_type = 'WorkflowExecutionStarted';
